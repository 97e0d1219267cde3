package cli

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/vkcnn/vkcnn/report"
)

func plotCommand() *cli.Command {
	return &cli.Command{
		Name:      "plot",
		Usage:     "draw the loss and accuracy of several runs on the same axes",
		UsageText: "vkcnn plot --out cmp.png RUN_DIR...",
		Description: "Each run in its colour: training loss and accuracy smoothed from its steps.csv\n" +
			"(per epoch from history.csv for runs without one), validation as points.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Required: true, Usage: "PNG file to write"},
		},
		OnUsageError: usageError,
		Action: func(c *cli.Context) error {
			dirs := c.Args().Slice()
			if len(dirs) == 0 {
				return fmt.Errorf("no run folders given (vkcnn plot --out cmp.png RUN_DIR...)")
			}
			var runs []report.Run
			for _, d := range dirs {
				r, err := readRun(d)
				if err != nil {
					return err
				}
				runs = append(runs, r)
			}
			if err := report.ComparePlot(c.String("out"), runs); err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "Wrote %s\n", c.String("out"))
			return nil
		},
	}
}
