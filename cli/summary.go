package cli

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

func summaryCommand() *cli.Command {
	return &cli.Command{
		Name:         "summary",
		Usage:        "print a model's layers, output shapes and parameters, Keras style",
		UsageText:    "vkcnn summary [--model standard|small|FILE] [--lenient]",
		Flags:        []cli.Flag{modelFlag, lenientFlag},
		OnUsageError: usageError,
		Action: func(c *cli.Context) error {
			m, err := loadModel(c)
			if err != nil {
				return err
			}
			fmt.Fprint(c.App.Writer, m.Summary())
			return nil
		},
	}
}
