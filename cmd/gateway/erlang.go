package main

import (
	"context"
	"flag"
	"fmt"

	"callgate/gateway/report"
)

func erlangCommand() *command {
	var traffic float64
	var trunks int
	var gos string
	return &command{
		name: "erlang",
		summary: "Erlang B trunk sizing: --traffic E --trunks N prints the blocking probability; " +
			"--traffic E --gos P prints the trunks needed for that grade of service",
		flags: func(fs *flag.FlagSet, _ *app) {
			fs.Float64Var(&traffic, "traffic", 0, "busy-hour traffic in erlangs (required)")
			fs.IntVar(&trunks, "trunks", 0, "the number of trunks")
			fs.StringVar(&gos, "gos", "", "the grade of service: the blocking allowed, as 0.01 or 1%")
		},
		run: func(_ context.Context, a *app, args []string) error {
			switch {
			case len(args) > 0:
				return usageError{"erlang takes no arguments"}
			case traffic <= 0:
				return usageError{"erlang needs --traffic, the busy-hour erlangs (above 0)"}
			case (trunks > 0) == (gos != ""):
				return usageError{"erlang needs one of --trunks N or --gos P"}
			case trunks > 0:
				b := report.ErlangB(traffic, trunks)
				fmt.Fprintf(a.stdout, "%.6f blocking (%.2f %%) for %g erlangs on %d trunks\n", b, b*100, traffic, trunks)
				return nil
			}
			p, err := report.ParseGoS(gos)
			if err != nil {
				return usageError{"--gos " + err.Error()}
			}
			n, b, err := report.TrunksFor(traffic, p)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%d trunks for %g erlangs at %.2f %% blocking (they give %.4f %%)\n", n, traffic, p*100, b*100)
			return nil
		},
	}
}
