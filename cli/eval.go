package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"codeberg.org/sbinet/npyio/npy"
	"github.com/urfave/cli/v2"

	"github.com/vkcnn/vkcnn"
	"github.com/vkcnn/vkcnn/internal/atomicfile"
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
			&cli.IntFlag{Name: "batch-size", Value: vkcnn.DefaultEvalBatch, Usage: "samples a step"},
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
	run, dev, prec, err := openRun(c)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, dev.Close()) }()
	e, err := dev.Evaluate(run, vkcnn.EvalOptions{Data: c.String("data"), Batch: c.Int("batch-size"), Precision: prec,
		Logits: c.String("logits") != "", Stream: c.Bool("stream"), Warnings: c.App.ErrWriter, Bars: barsOnStderr(c)})
	if err != nil {
		return err
	}
	w := c.App.Writer
	fmt.Fprintf(w, "Data: %s\n", e.Data)
	if e.Streamed != "" {
		fmt.Fprintln(w, e.Streamed)
	}
	fmt.Fprintf(w, "Test loss: %.4f\nTest accuracy: %.4f\nTest error: %.2f%%\n", e.Loss, e.Acc, 100*(1-e.Acc))
	fmt.Fprintln(w, "Confusion matrix (rows: true class, columns: predicted):")
	fmt.Fprint(w, confusionTable(e.Confusion, e.Names))
	if path := c.String("logits"); path != "" {
		if err := atomicfile.Write(path, func(w io.Writer) error { return npy.Write(w, e.Logits) }); err != nil {
			return fmt.Errorf("write logits: %w", err)
		}
		fmt.Fprintf(w, "Wrote %s (%d x %d float32)\n", path, len(e.Logits), run.Classes())
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
