// Package cli is the vkcnn command line: commands, flags and output.
package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/vkcnn/vkcnn"
	"github.com/vkcnn/vkcnn/keras"
	"github.com/vkcnn/vkcnn/nn"
	"github.com/vkcnn/vkcnn/nn/kernels"
	"github.com/vkcnn/vkcnn/vk"
)

// Exit statuses beyond 0 and 1 (bad input, usage and any other failure):
// schedulers such as Slurm can requeue a run on statusDevice
// (EX_TEMPFAIL), and a smaller batch may fit after statusMemory.
const (
	statusInternal    = 2
	statusMemory      = 3
	statusDevice      = 75
	statusInterrupted = 130
)

// Main runs the command line and returns the process's exit status. Every
// failure is one line on stderr: status 1, or as exitStatus says.
func Main(args []string) (status int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "vkcnn: internal error: %v (please report this)\n", r)
			status = statusInternal
		}
	}()
	if err := newApp(os.Stdout, os.Stderr).Run(args); err != nil {
		msg := oneLine(err)
		if errors.Is(err, vk.ErrHang) {
			msg += " (if the work is only slow, raise --watchdog or VKCNN_WATCHDOG)"
		}
		fmt.Fprintf(os.Stderr, "vkcnn: %s\n", msg)
		return exitStatus(err)
	}
	return 0
}

// exitStatus is the status a command's error ends the process with: its
// own, statusDevice for a lost or hung device, statusMemory where memory
// ran out or a network does not fit, else 1.
func exitStatus(err error) int {
	var exit exitError
	switch {
	case errors.As(err, &exit):
		return exit.status
	case errors.Is(err, vkcnn.ErrDeviceLost), errors.Is(err, vkcnn.ErrHang):
		return statusDevice
	case errors.Is(err, vkcnn.ErrOutOfDeviceMemory), errors.Is(err, vkcnn.ErrOutOfHostMemory):
		return statusMemory
	}
	return 1
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

func newApp(stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:  "vkcnn",
		Usage: "train convolutional networks with Vulkan compute shaders",
		Description: "vkcnn runs every kernel as a hand-written Vulkan compute shader, on any\n" +
			"Vulkan 1.1 device: NVIDIA, AMD and Intel GPUs, or Mesa's lavapipe on the CPU.",
		Writer:    stdout,
		ErrWriter: stderr,
		Flags: []cli.Flag{
			&cli.BoolFlag{
				Name:  "validate",
				Usage: "enable the Khronos validation layer; any message it reports is an error (or set VKCNN_VALIDATE=1)",
			},
			&cli.BoolFlag{
				Name:  "validate-sync",
				Usage: "--validate with the layer's synchronization validation too (or set VKCNN_VALIDATE=sync)",
			},
			&cli.DurationFlag{
				Name:    "watchdog",
				Value:   vk.DefaultWatchdog,
				Usage:   "take the device as hung when work takes longer than this (training: or 20 times its median step, if longer)",
				EnvVars: []string{"VKCNN_WATCHDOG"},
			},
		},
		Commands: []*cli.Command{devicesCommand(), summaryCommand(), trainCommand(), evalCommand(), predictCommand(),
			plotCommand(), augmentCommand(), reproduceCommand(), benchCommand(), tuneCommand(), exportCommand()},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return fmt.Errorf("unknown command %q (see --help)", c.Args().First())
			}
			return cli.ShowAppHelp(c)
		},
		OnUsageError:    usageError,
		ExitErrHandler:  func(*cli.Context, error) {},
		HideHelpCommand: true,
	}
	return app
}

// usageError keeps flag mistakes to one line instead of the help text.
func usageError(_ *cli.Context, err error, _ bool) error {
	return fmt.Errorf("%w (see --help)", err)
}

// deviceFlag chooses the device for commands that open one.
var deviceFlag = &cli.StringFlag{
	Name:    "device",
	Usage:   "device index or name substring (see vkcnn devices); default: discrete GPU, then integrated, virtual, CPU, among those with device memory",
	EnvVars: []string{"VKCNN_DEVICE"},
}

// deviceOptions are the device and validation the command's flags and
// the environment choose.
func deviceOptions(c *cli.Context) vk.Options {
	validate, sync := vk.ValidateFromEnv()
	return vk.Options{Device: c.String("device"), Validate: validate || c.Bool("validate"),
		SyncValidation: sync || c.Bool("validate-sync"), Watchdog: c.Duration("watchdog")}
}

// libraryDeviceOptions are the device the command's flags choose, with
// the pipeline cache; what goes wrong with the cache is a warning.
func libraryDeviceOptions(c *cli.Context) vkcnn.DeviceOptions {
	opts := deviceOptions(c)
	return vkcnn.DeviceOptions{Device: opts.Device, Validate: opts.Validate, SyncValidation: opts.SyncValidation,
		Watchdog: opts.Watchdog, PipelineCacheDir: vkcnn.DefaultPipelineCacheDir(),
		Warn: func(err error) { fmt.Fprintf(c.App.ErrWriter, "vkcnn: warning: %v\n", err) }}
}

// openLibraryDevice opens the device the command's flags choose.
func openLibraryDevice(c *cli.Context) (*vkcnn.Device, error) {
	return vkcnn.OpenDevice(libraryDeviceOptions(c))
}

// openRun loads the run folder --run names and opens the device for it,
// with --precision; the caller closes the device.
func openRun(c *cli.Context) (*vkcnn.Run, *vkcnn.Device, kernels.Precision, error) {
	prec, err := flagPrecision(c)
	if err != nil {
		return nil, nil, prec, err
	}
	run, err := vkcnn.LoadRun(c.String("run"))
	if err != nil {
		return nil, nil, prec, err
	}
	dev, err := openLibraryDevice(c)
	return run, dev, prec, err
}

// openDevice is openLibraryDevice's device, for commands that drive nn
// themselves.
func openDevice(c *cli.Context) (*vk.Context, error) {
	dev, err := openLibraryDevice(c)
	if err != nil {
		return nil, err
	}
	return dev.Context(), nil
}

// modelFlag names a preset or a model file.
var modelFlag = &cli.StringFlag{Name: "model", Value: vkcnn.DefaultModel, Usage: "standard, small, resnet20, mobilenet (the last two shaped by the data set where one is read), or a model file: model.json, or Keras' model.to_json() JSON or .keras archive"}

// lenientFlag lets a Keras file's regularizers and constraints be dropped.
var lenientFlag = &cli.BoolFlag{Name: "lenient", Usage: "read a Keras model file without its regularizers and constraints, which vkcnn lacks (a warning line each), instead of refusing it"}

// loadSpec reads the model that --model names: a preset, a model.json
// or a Keras file.
func loadSpec(c *cli.Context) (nn.ModelSpec, error) {
	warn := func(line string) { fmt.Fprintf(c.App.ErrWriter, "vkcnn: warning: %s\n", line) }
	return keras.Load(c.String("model"), keras.Options{Lenient: c.Bool("lenient"), Warn: warn})
}

// loadModel builds the model that --model names.
func loadModel(c *cli.Context) (*nn.Model, error) {
	spec, err := loadSpec(c)
	if err != nil {
		return nil, err
	}
	return nn.Build(spec)
}

// openBench checks a measuring command's --batch-size and --reps, builds
// the model --model names and opens the device.
func openBench(c *cli.Context, batch, reps int) (*nn.Model, *vk.Context, error) {
	if batch <= 0 || reps <= 0 {
		return nil, nil, fmt.Errorf("--batch-size and --reps must be positive (got %d, %d)", batch, reps)
	}
	model, err := loadModel(c)
	if err != nil {
		return nil, nil, err
	}
	ctx, err := openDevice(c)
	if err != nil {
		return nil, nil, err
	}
	return model, ctx, nil
}

// printJSON prints v for machines, indented.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// precisionFlag chooses the arithmetic of the convolutions and dense
// products.
var precisionFlag = &cli.StringFlag{Name: "precision", Value: "fp32",
	Usage: "arithmetic of the convolutions and dense products: fp32; bf16 (bf16 inputs, fp32 sums); or bf16x3 (each input a bf16 high and low part, three products: near fp32) on the device's cooperative matrices (tensor cores), emulated on a CPU device"}

// flagPrecision reads --precision.
func flagPrecision(c *cli.Context) (kernels.Precision, error) {
	p, err := kernels.ParsePrecision(c.String("precision"))
	if err != nil {
		return p, fmt.Errorf("--precision: %w", err)
	}
	return p, nil
}

// checkPrecision says why the device cannot run a precision.
func checkPrecision(info vk.DeviceInfo, prec kernels.Precision) error {
	if err := kernels.CheckPrecision(info, prec); err != nil {
		return fmt.Errorf("--precision %s: %w", prec, err)
	}
	return nil
}

// loadTuning reads the device's tuned kernel choices at a precision the
// device must run; a cache it cannot read costs speed, not the run, so
// that is a warning.
func loadTuning(c *cli.Context, ctx *vk.Context, prec kernels.Precision) (kernels.Tuning, error) {
	if err := checkPrecision(ctx.Info, prec); err != nil {
		return kernels.Tuning{}, err
	}
	t, err := kernels.LoadTuning(ctx.Info, prec)
	if err != nil {
		fmt.Fprintf(c.App.ErrWriter, "vkcnn: warning: %v; using the default kernels\n", err)
	}
	return t, nil
}

// closeDevice closes ctx and joins what it reports (validation messages,
// objects left open) to the command's error.
func closeDevice(ctx *vk.Context, err *error) {
	*err = errors.Join(*err, ctx.Close())
}
