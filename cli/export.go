package cli

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/vkcnn/vkcnn/onnx"
	"github.com/vkcnn/vkcnn/runfolder"
)

func exportCommand() *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "write a trained run's inference graph as an ONNX model",
		UsageText: "vkcnn export --run DIR --onnx FILE",
		Description: fmt.Sprintf("The ONNX model (opset %d) takes %q, float32 NCHW [N, C, H, W], pixels\n"+
			"in [0, 1], any batch size N, and gives %q (the softmax) and %q,\n"+
			"float32 [N, classes]. Dropout is left out; batch normalization uses the moving\n"+
			"statistics, as vkcnn eval does.", onnx.Opset, onnx.Input, onnx.Probabilities, onnx.Logits),
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "run", Required: true, Usage: "run folder written by vkcnn train"},
			&cli.StringFlag{Name: "onnx", Required: true, Usage: "ONNX file to write"},
		},
		OnUsageError: usageError,
		Action: func(c *cli.Context) error {
			model, params, err := runfolder.Load(c.String("run"))
			if err != nil {
				return err
			}
			path := c.String("onnx")
			if err := onnx.WriteFile(path, model, params); err != nil {
				return err
			}
			in := model.Input()
			fmt.Fprintf(c.App.Writer, "Wrote %s: ONNX opset %d, input %q float32 [N, %d, %d, %d] in [0, 1], outputs %q and %q [N, %d]\n",
				path, onnx.Opset, onnx.Input, in.C, in.H, in.W, onnx.Probabilities, onnx.Logits, model.Classes)
			return nil
		},
	}
}
