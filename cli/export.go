package cli

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/vkcnn/vkcnn"
	"github.com/vkcnn/vkcnn/onnx"
)

func exportCommand() *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "write a trained run's inference graph as an ONNX model",
		UsageText: "vkcnn export --run DIR --onnx FILE",
		Description: fmt.Sprintf("The ONNX model (opset %d) takes %q, float32 NCHW [N, C, H, W], pixels\n"+
			"in [0, 1], any batch size N, and gives %q (the softmax) and %q,\n"+
			"float32 [N, classes]. Dropout is left out; batch normalization uses the moving\n"+
			"statistics, as vkcnn eval does. A run trained with --normalize has its\n"+
			"normalization in the graph, after the input. The metadata's %q lists the\n"+
			"classes' names where the run's data set has them.", onnx.Opset, onnx.Input, onnx.Probabilities, onnx.Logits, onnx.ClassNamesKey),
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "run", Required: true, Usage: "run folder written by vkcnn train"},
			&cli.StringFlag{Name: "onnx", Required: true, Usage: "ONNX file to write"},
		},
		OnUsageError: usageError,
		Action: func(c *cli.Context) error {
			run, err := vkcnn.LoadRun(c.String("run"))
			if err != nil {
				return err
			}
			path := c.String("onnx")
			if err := run.ExportONNX(path); err != nil {
				return err
			}
			in := run.Model.Input()
			fmt.Fprintf(c.App.Writer, "Wrote %s: ONNX opset %d, input %q float32 [N, %d, %d, %d] in [0, 1], outputs %q and %q [N, %d]\n",
				path, onnx.Opset, onnx.Input, in.C, in.H, in.W, onnx.Probabilities, onnx.Logits, run.Classes())
			return nil
		},
	}
}
