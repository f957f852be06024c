package main

import (
	"context"
	"flag"
	"fmt"

	"callgate/gateway/report"
	"callgate/gateway/report/render"
)

func exportCommand() *command {
	var config, from, to, format, out string
	return &command{
		name: "export",
		summary: "the finance export: every chargeable call of local dates --from to --to (both inclusive) with room, " +
			"reservation, class, destination, duration, carrier cost, markup, surcharge, tax, total, posting number and state",
		flags: func(f *flag.FlagSet, _ *app) {
			f.StringVar(&config, "config", "", "the config file (required): its store, site and rooms sections are used")
			f.StringVar(&from, "from", "", "the first local date, 2026-11-01")
			f.StringVar(&to, "to", "", "the last local date, 2026-11-30 (default: --from)")
			f.StringVar(&format, "format", "", "csv or xlsx (default: from --out's extension, else csv)")
			f.StringVar(&out, "out", "", "write the export to this file instead of stdout")
		},
		run: func(ctx context.Context, a *app, args []string) error {
			if len(args) > 0 {
				return usageError{"export takes no arguments"}
			}
			if config == "" {
				return usageError{"export needs --config FILE"}
			}
			if format == "" && out == "" {
				format = "csv"
			}
			f, err := outputFormat(format, out, a.stdout)
			if err != nil {
				return err
			}
			if f == "table" {
				f = "csv"
			}
			if f != "csv" && f != "xlsx" {
				return usageError{fmt.Sprintf("--format %q: the export is csv or xlsx", f)}
			}
			c, err := loadConfigFor(config, "export", "site", "store", "rooms")
			if err != nil {
				return err
			}
			o := c.reportOptions()
			if o.From, o.To, err = reportDates(from, to); err != nil {
				return err
			}
			j, err := c.readJournal(o, a.log)
			if err != nil {
				return err
			}
			defer j.Close()
			es, err := report.Entries(ctx, j, o, false)
			if err != nil {
				return err
			}
			t, err := report.Export(es, o)
			if err != nil {
				return err
			}
			return render.WriteOutput(a.stdout, out, t, f)
		},
	}
}
