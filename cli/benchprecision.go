package cli

import (
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"

	"codeberg.org/sbinet/npyio/npz"
	"github.com/urfave/cli/v2"

	"github.com/vkcnn/vkcnn/cli/internal/measure"
	"github.com/vkcnn/vkcnn/dataset"
	"github.com/vkcnn/vkcnn/internal/atomicfile"
	"github.com/vkcnn/vkcnn/nn"
	"github.com/vkcnn/vkcnn/nn/kernels"
	"github.com/vkcnn/vkcnn/nn/ref"
	"github.com/vkcnn/vkcnn/runfolder"
)

func benchPrecisionCommand() *cli.Command {
	return &cli.Command{
		Name:  "precision",
		Usage: "measure how far each precision's convolution lies from float64, at the standard model's second convolution",
		Description: "Runs the forward product of the standard model's conv2d_2 (50176 x 256 x 6400 at batch 64)\n" +
			"at each precision and prints, over --samples output entries drawn at random, the max and\n" +
			"RMS of |C - C64| / (|A|.|B|)ij: the error against float64 relative to the sum of the\n" +
			"absolute values of the entry's terms. Then TF32's (PyTorch's default for convolutions\n" +
			"on NVIDIA GPUs) as the host emulates it: inputs rounded to 11 significant bits, exact\n" +
			"sums. --inputs uniform draws both operands from [-1, 1]; model feeds the first\n" +
			"--batch-size test images through conv2d_1 with the weights of --run (default: the\n" +
			"initial weights of --seed). --npz writes the operands (x NHWC, w HWIO, flat, and\n" +
			"their shape) for bench/precision_torch.py, which measures PyTorch's on a GPU.",
		UsageText: "vkcnn bench precision --list [--runs] [--device D]\n" +
			"vkcnn bench precision [--inputs uniform|model] [--run DIR] [--batch-size 64] [--samples 10000] [--precision P|all] [--seed 1] [--npz FILE] [--json] [--data DIR] [--device D]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "inputs", Value: "uniform", Usage: "uniform ([-1, 1]) or model (test images through conv2d_1)"},
			&cli.StringFlag{Name: "run", Usage: "with --inputs model: the weights of this run folder of the standard model"},
			&cli.IntFlag{Name: "batch-size", Value: 64, Usage: "images: the product has 784 rows an image"},
			&cli.IntFlag{Name: "samples", Value: 10000, Usage: "output entries checked against float64"},
			&cli.StringFlag{Name: "precision", Value: "all", Usage: strings.Join(kernels.PrecisionNames(), ", ") + " or all"},
			&cli.BoolFlag{Name: "list", Usage: "print the precisions' names, one a line, fp32 first, and measure nothing (for scripts)"},
			&cli.BoolFlag{Name: "runs", Usage: "with --list: only those the device runs (vkcnn devices' precisions line)"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "seed of the uniform inputs, the initial weights and the sample"},
			&cli.StringFlag{Name: "npz", Usage: "also write the operands to this NumPy archive"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON for machines"},
			dataFlag,
			deviceFlag,
		},
		OnUsageError: usageError,
		Action:       benchPrecision,
	}
}

type benchPrecisionResult struct {
	Device  string                   `json:"device"`
	Driver  string                   `json:"driver"`
	Inputs  string                   `json:"inputs"`
	Shape   [3]int                   `json:"shape"` // M, N, K of the product
	Samples int                      `json:"samples"`
	Errors  []measure.PrecisionError `json:"errors"`
}

// listPrecisions prints the precisions' names, or with --runs those that
// the device runs.
func listPrecisions(c *cli.Context) (err error) {
	names := kernels.PrecisionNames()
	if c.Bool("runs") {
		ctx, err := openDevice(c)
		if err != nil {
			return err
		}
		defer closeDevice(ctx, &err)
		names = nil
		for _, p := range kernels.Precisions {
			if kernels.CheckPrecision(ctx.Info, p) == nil {
				names = append(names, p.String())
			}
		}
	}
	fmt.Fprintln(c.App.Writer, strings.Join(names, "\n"))
	return nil
}

func benchPrecision(c *cli.Context) (err error) {
	if c.Bool("list") {
		return listPrecisions(c)
	}
	batch, samples, seed := c.Int("batch-size"), c.Int("samples"), c.Uint64("seed")
	if batch <= 0 || samples <= 0 {
		return fmt.Errorf("--batch-size and --samples must be positive (got %d, %d)", batch, samples)
	}
	precs := kernels.Precisions
	if c.String("precision") != "all" {
		prec, err := flagPrecision(c)
		if err != nil {
			return err
		}
		precs = []kernels.Precision{prec}
	}
	conv, x, w, err := precisionOperands(c, batch, seed)
	if err != nil {
		return err
	}
	if path := c.String("npz"); path != "" {
		if err := writeOperands(path, conv, x, w); err != nil {
			return err
		}
	}
	ctx, err := openDevice(c)
	if err != nil {
		return err
	}
	defer closeDevice(ctx, &err)
	for _, prec := range precs {
		if err := checkPrecision(ctx.Info, prec); err != nil {
			return err
		}
	}
	res := benchPrecisionResult{Device: ctx.Info.Name, Driver: ctx.Info.DriverInfo, Inputs: c.String("inputs"), Samples: samples,
		Shape: [3]int{conv.Batch * conv.H * conv.W, conv.Cout, conv.KH * conv.KW * conv.Cin}}
	if res.Errors, err = measure.ConvPrecision(ctx, conv, x, w, precs, samples, seed); err != nil {
		return fmt.Errorf("measure the precisions of conv2d_2: %w", err)
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, res)
	}
	out := c.App.Writer
	fmt.Fprintf(out, "conv2d_2 forward, %dx%dx%d, %s inputs, on %s (%s): |C - C64| / (|A|.|B|)ij over %d sampled entries\n",
		res.Shape[0], res.Shape[1], res.Shape[2], res.Inputs, res.Device, res.Driver, samples)
	rows := [][]string{{"precision", "kernel", "max", "RMS"}}
	for _, e := range res.Errors {
		rows = append(rows, []string{e.Precision, e.Variant, fmt.Sprintf("%.3g", e.Max), fmt.Sprintf("%.3g", e.RMS)})
	}
	printMarkdownTable(out, rows)
	return nil
}

// precisionOperands are conv2d_2 of the standard model at batch and its
// operands: uniform in [-1, 1], or the model's (the first test images
// through conv2d_1, and conv2d_2's kernel) with --run's weights or the
// initial ones.
func precisionOperands(c *cli.Context, batch int, seed uint64) (kernels.Conv, []float32, []float32, error) {
	spec, err := nn.Preset("standard")
	if err != nil {
		return kernels.Conv{}, nil, nil, err
	}
	model, err := nn.Build(spec)
	if err != nil {
		return kernels.Conv{}, nil, nil, err
	}
	first, second := model.Layers[0], model.Layers[1]
	conv := kernels.Conv{Batch: batch, H: second.In.H, W: second.In.W, Cin: second.In.C, Cout: second.Out.C, KH: second.Spec.KernelSize[0], KW: second.Spec.KernelSize[1]}
	switch c.String("inputs") {
	case "uniform":
		rng := rand.New(rand.NewPCG(seed, 0x756e69)) // "uni"
		uniform := func(n int) []float32 {
			v := make([]float32, n)
			for i := range v {
				v[i] = 2*rng.Float32() - 1
			}
			return v
		}
		return conv, uniform(batch * conv.H * conv.W * conv.Cin), uniform(conv.KH * conv.KW * conv.Cin * conv.Cout), nil
	case "model":
	default:
		return conv, nil, nil, fmt.Errorf("--inputs %q: uniform or model", c.String("inputs"))
	}
	params := model.Init(seed)
	if dir := c.String("run"); dir != "" {
		run, p, err := runfolder.Load(dir)
		if err != nil {
			return conv, nil, nil, err
		}
		if run.ParamFloats != model.ParamFloats || run.Spec.Name != spec.Name {
			return conv, nil, nil, fmt.Errorf("--run %s: a run of the %s model, not the standard one", dir, run.Spec.Name)
		}
		params = p
	}
	data, err := dataset.Load(dataset.Dir(c.String("data")))
	if err != nil {
		return conv, nil, nil, err
	}
	test := data.Test
	if g := model.Input().Geometry(); test.N < batch || data.Geometry != g {
		return conv, nil, nil, fmt.Errorf("--inputs model takes %d test images of %v; %s has %d of %v", batch, g, data.Dir, test.N, data.Geometry)
	}
	images := make([]float32, batch*first.In.Size())
	for i := range images {
		images[i] = float32(test.Images[i]) / 255
	}
	param := func(l *nn.Layer, name string) []float32 {
		i := slices.IndexFunc(l.Params, func(p *nn.Param) bool { return p.Name == l.Spec.Name+"."+name })
		p := l.Params[i]
		return params[p.Offset : p.Offset+p.Size()]
	}
	g1 := ref.ConvGeom{Batch: batch, H: first.In.H, W: first.In.W, Cin: first.In.C, Cout: first.Out.C, KH: first.Spec.KernelSize[0], KW: first.Spec.KernelSize[1]}
	x := ref.ConvForward(g1, images, param(first, "kernel"), param(first, "bias"), first.Spec.Activation == "relu")
	return conv, x, param(second, "kernel"), nil
}

// writeOperands writes a convolution's operands, flat, and their shape
// (batch, height, width, input and output channels, kernel height and
// width) as a NumPy archive.
func writeOperands(path string, c kernels.Conv, x, w []float32) error {
	shape := []int64{int64(c.Batch), int64(c.H), int64(c.W), int64(c.Cin), int64(c.Cout), int64(c.KH), int64(c.KW)}
	err := atomicfile.Write(path, func(out io.Writer) error {
		z := npz.NewWriter(out)
		for _, entry := range []struct {
			name  string
			value any
		}{{"x", x}, {"w", w}, {"shape", shape}} {
			if err := z.Write(entry.name+".npy", entry.value); err != nil {
				return err
			}
		}
		return z.Close()
	})
	if err != nil {
		return fmt.Errorf("--npz: %w", err)
	}
	return nil
}
