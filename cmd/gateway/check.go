package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
)

func checkCommand() *command {
	var path string
	return &command{
		name:    "check",
		summary: "check a config file (and what it names) without starting anything: prints \"config OK\" or every problem",
		flags: func(fs *flag.FlagSet, _ *app) {
			fs.StringVar(&path, "config", "", "the config file to check (required)")
		},
		run: func(_ context.Context, a *app, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Sprintf("check takes no arguments, got %q: give the file with --config", args[0])}
			}
			if path == "" {
				return usageError{"check needs --config FILE"}
			}
			c, err := LoadConfig(path)
			var problems Problems
			if !errors.As(err, &problems) && err != nil {
				return err
			}
			if c != nil {
				problems = append(problems, checkDevices(c)...)
			}
			switch {
			case len(problems) > 0:
				for _, p := range problems {
					fmt.Fprintln(a.stdout, p)
				}
				noun := "problems"
				if len(problems) == 1 {
					noun = "problem"
				}
				fmt.Fprintf(a.stderr, "gateway: %s has %d %s: fix them and run gateway check again\n", path, len(problems), noun)
				return exitError{1}
			}
			fmt.Fprintln(a.stdout, "config OK")
			return nil
		},
	}
}
