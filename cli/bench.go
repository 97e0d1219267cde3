package cli

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/vkcnn/vkcnn/cli/internal/measure"
	"github.com/vkcnn/vkcnn/nn/kernels"
)

func benchCommand() *cli.Command {
	return &cli.Command{
		Name:         "bench",
		Usage:        "measure kernels on the chosen device",
		OnUsageError: usageError,
		Subcommands: []*cli.Command{{
			Name:      "gemm",
			Usage:     "verify, then time C = A*B (M x K times K x N) for GEMM variants",
			UsageText: "vkcnn bench gemm --m M --n N --k K [--reps R] [--variant V|all] [--warp TILE]... [--precision P] [--json] [--device D]",
			Flags: []cli.Flag{
				&cli.IntFlag{Name: "m", Value: 1024, Usage: "rows of A and C"},
				&cli.IntFlag{Name: "n", Value: 1024, Usage: "columns of B and C"},
				&cli.IntFlag{Name: "k", Value: 1024, Usage: "columns of A, rows of B"},
				&cli.IntFlag{Name: "reps", Value: 10, Usage: "timed repetitions, after one verified run and runs until the rate settles"},
				&cli.StringFlag{Name: "variant", Usage: "GEMM variant (" + variantNames() + ") or all, warp variants split over k as by default; default: the device's default"},
				warpFlag,
				precisionFlag,
				&cli.BoolFlag{Name: "json", Usage: "print JSON for machines"},
				deviceFlag,
			},
			OnUsageError: usageError,
			Action:       benchGemm,
		}, benchAllCommand(), benchShadersCommand(), benchPrecisionCommand()},
	}
}

// warpFlag adds warp kernels of tiles that kernels.GemmVariants does not
// list, for finding a device's best.
var warpFlag = &cli.StringSliceFlag{Name: "warp", Usage: "also a warp kernel of another `TILE`, BMxBNxBK/WMxWN/WMIxWNI (tile, warp tile, 4x4 blocks an invocation: warp128 is 128x128x16/64x32/2x2); repeatable"}

// warpVariants are the variants --warp names.
func warpVariants(c *cli.Context) ([]kernels.GemmVariant, error) {
	var out []kernels.GemmVariant
	for _, tile := range c.StringSlice("warp") {
		v, err := kernels.ParseWarpVariant(tile)
		if err != nil {
			return nil, fmt.Errorf("--warp: %w", err)
		}
		out = append(out, v)
	}
	return out, nil
}

func variantNames() string {
	var names []string
	for _, v := range kernels.GemmVariants {
		names = append(names, v.Name)
	}
	return fmt.Sprint(names)
}

func benchGemm(c *cli.Context) (err error) {
	m, n, k, reps := c.Int("m"), c.Int("n"), c.Int("k"), c.Int("reps")
	if m <= 0 || n <= 0 || k <= 0 {
		return fmt.Errorf("--m, --n and --k must be positive (got %d, %d, %d)", m, n, k)
	}
	if reps <= 0 {
		return fmt.Errorf("--reps must be positive (got %d)", reps)
	}
	prec, err := flagPrecision(c)
	if err != nil {
		return err
	}
	ctx, err := openDevice(c)
	if err != nil {
		return err
	}
	defer closeDevice(ctx, &err)
	if err := checkPrecision(ctx.Info, prec); err != nil {
		return err
	}

	product := kernels.Gemm{M: m, N: n, K: k}
	var choices []kernels.Choice
	switch name := c.String("variant"); name {
	case "":
		choices = []kernels.Choice{kernels.Default(ctx.Info, product, prec)}
	case "all":
		for _, v := range kernels.GemmVariants {
			ch, err := kernels.For(ctx.Info, product, v, prec)
			if err != nil {
				fmt.Fprintf(c.App.ErrWriter, "skipping %s: %v\n", v.Name, err)
				continue
			}
			choices = append(choices, ch)
		}
	default:
		v, err := kernels.GemmVariantByName(name)
		if err != nil {
			return err
		}
		ch, err := kernels.For(ctx.Info, product, v, prec)
		if err != nil {
			return err
		}
		choices = []kernels.Choice{ch}
	}
	extra, err := warpVariants(c)
	if err != nil {
		return err
	}
	for _, v := range extra {
		ch, err := kernels.For(ctx.Info, product, v, prec)
		if err != nil {
			return fmt.Errorf("--warp: %w", err)
		}
		choices = append(choices, ch)
	}

	var results []measure.GemmResult
	for _, ch := range choices {
		r, err := measure.Gemm(ctx, product.With(ch).(kernels.Gemm), reps)
		if err != nil {
			return fmt.Errorf("gemm %dx%dx%d, %s: %w", m, n, k, r.Variant, err)
		}
		results = append(results, r)
		if !c.Bool("json") {
			fmt.Fprintf(c.App.Writer, "gemm %dx%dx%d %-17s on %s: max |error| %.2g over %d entries; min %s, median %s; %.1f GFLOPS best, %.1f median (%s, %d reps after a warm-up of %s)\n",
				m, n, k, r.Variant, r.Device, r.MaxError, r.Checked, seconds(r.MinSeconds), seconds(r.MedianSeconds), r.BestGFLOPS, r.MedianGFLOPS, r.Timer, reps, r.Warmup)
		}
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, results)
	}
	return nil
}

func seconds(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(10 * time.Microsecond).String()
}
