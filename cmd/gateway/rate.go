package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"callgate/tariff"
)

func rateCommand() *command {
	var path string
	var check bool
	return &command{
		name: "rate",
		args: "[CALLS.jsonl]",
		summary: "price normalized calls (JSON lines from gateway parse, or stdin) with a tariff: each call comes out with " +
			"its charge added; --check only validates the tariff and prints a summary",
		flags: func(fs *flag.FlagSet, _ *app) {
			fs.StringVar(&path, "tariff", "", "the tariff file (required)")
			fs.BoolVar(&check, "check", false, "validate the tariff and print a summary instead of rating")
		},
		run: func(_ context.Context, a *app, args []string) error {
			if path == "" {
				return usageError{"rate needs --tariff FILE"}
			}
			if len(args) > 1 || (check && len(args) > 0) {
				return usageError{"rate takes at most one CALLS file, and none with --check"}
			}
			tf, err := tariff.Load(path)
			var problems tariff.Problems
			if errors.As(err, &problems) {
				for _, p := range problems {
					fmt.Fprintln(a.stdout, p)
				}
				fmt.Fprintf(a.stderr, "gateway: tariff %s has %d problem(s): it is refused as a whole\n", path, len(problems))
				return exitError{1}
			}
			if err != nil {
				return err
			}
			if check {
				fmt.Fprint(a.stdout, tf.Summary())
				return nil
			}
			in, name, closeIn, err := a.input(args)
			if err != nil {
				return err
			}
			defer closeIn()
			n, bad, err := tariff.RateStream(in, a.stdout, tf)
			if err != nil {
				return fmt.Errorf("reading %s: %w", name, unwrapPathError(err))
			}
			a.log.Debug().Str("input", name).Int("calls", n).Int("errors", bad).Msg("rated")
			return nil
		},
	}
}
