package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"

	"codeberg.org/sbinet/npyio/npy"
	"github.com/urfave/cli/v2"

	"github.com/vkcnn/vkcnn/internal/atomicfile"
	"github.com/vkcnn/vkcnn/nn"
	"github.com/vkcnn/vkcnn/runfolder"
	"github.com/vkcnn/vkcnn/vk"
)

func evalCommand() *cli.Command {
	return &cli.Command{
		Name:      "eval",
		Usage:     "test a trained run: loss, accuracy, error and the confusion matrix",
		UsageText: "vkcnn eval --run DIR [--data DIR] [--logits FILE.npy] [--batch-size N] [--stream] [--device D]",
		Description: "An image folder is read as the run read it (its --image-size and --color);\n" +
			"a single tree of class folders is tested on the part the run held out with\n" +
			"its --val-split and --seed.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "run", Required: true, Usage: "run folder written by vkcnn train"},
			&cli.StringFlag{Name: "logits", Usage: "write the test samples x classes float32 pre-softmax outputs, in test-file order, as .npy"},
			&cli.IntFlag{Name: "batch-size", Value: 100, Usage: "samples a step"},
			dataFlag,
			streamFlag,
			precisionFlag,
			deviceFlag,
		},
		OnUsageError: usageError,
		Action:       evaluate,
	}
}

func evaluate(c *cli.Context) (err error) {
	if c.Int("batch-size") <= 0 {
		return fmt.Errorf("--batch-size %d must be positive", c.Int("batch-size"))
	}
	model, params, err := runfolder.Load(c.String("run"))
	if err != nil {
		return err
	}
	// An image folder is read as the run read it (a single tree: the
	// test set is the part it held out).
	rec, err := runfolder.ReadRecord(c.String("run"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	opts, err := recordedOptions(rec)
	if err != nil {
		return err
	}
	data, err := loadData(c, opts)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, data.Close()) }()
	if err := checkModel(filepath.Join(c.String("run"), runfolder.ModelFile), model, data); err != nil {
		return err
	}
	test := data.Test
	// The test set streams as train would stream it; the memory check
	// counts it where it is resident.
	stream := false
	ctx, net, err := openNet(c, model, params, c.Int("batch-size"), func(info vk.DeviceInfo) int {
		if stream = streamed(c, info, model.Input(), test.N, test.N); stream {
			return 0
		}
		return test.N
	})
	if err != nil {
		return err
	}
	defer closeDevice(ctx, &err)
	defer net.Close()
	set, err := upload(net, test, stream)
	if err != nil {
		return err
	}
	set.Norm = rec.Normalize
	classes := model.Classes
	confusion := make([][]int, classes)
	for i := range confusion {
		confusion[i] = make([]int, classes)
	}
	var logits [][]float32
	loss, acc, err := nn.Evaluate(net, set, nil, func(batch []int) error {
		pred, err := net.Predictions()
		if err != nil {
			return err
		}
		for i, idx := range batch {
			confusion[min(int(test.Labels[idx]), classes-1)][pred[i]]++
		}
		if c.String("logits") == "" {
			return nil
		}
		z, err := net.Logits()
		if err != nil {
			return err
		}
		for i := range batch {
			logits = append(logits, z[i*classes:(i+1)*classes])
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("evaluate %s on the test set: %w (nothing written)", c.String("run"), err)
	}
	w := c.App.Writer
	fmt.Fprintf(w, "Data: %s\n", data)
	if stream {
		fmt.Fprintln(w, streamedLine([2]bool{false, true}, 0))
	}
	fmt.Fprintf(w, "Test loss: %.4f\nTest accuracy: %.4f\nTest error: %.2f%%\n", loss, acc, 100*(1-acc))
	fmt.Fprintln(w, "Confusion matrix (rows: true class, columns: predicted):")
	fmt.Fprint(w, confusionTable(confusion, data.Names))
	if path := c.String("logits"); path != "" {
		if err := atomicfile.Write(path, func(w io.Writer) error { return npy.Write(w, logits) }); err != nil {
			return fmt.Errorf("write logits: %w", err)
		}
		fmt.Fprintf(w, "Wrote %s (%d x %d float32)\n", path, len(logits), classes)
	}
	return nil
}

// confusionTable lays out the confusion matrix, each row headed by its
// class's number and name where names has one.
func confusionTable(confusion [][]int, names []string) string {
	heads := make([]string, len(confusion))
	headWidth, width := 0, 6
	for i, row := range confusion {
		heads[i] = numberedClass(names, i)
		headWidth = max(headWidth, len(heads[i]))
		for _, n := range row {
			width = max(width, len(fmt.Sprint(n))+1)
		}
	}
	var b strings.Builder
	b.WriteString(strings.Repeat(" ", headWidth))
	for j := range confusion {
		fmt.Fprintf(&b, "%*d", width, j)
	}
	b.WriteString("\n")
	for i, row := range confusion {
		fmt.Fprintf(&b, "%-*s", headWidth, heads[i])
		for _, n := range row {
			fmt.Fprintf(&b, "%*d", width, n)
		}
		b.WriteString("\n")
	}
	return b.String()
}
