package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"callgate/gateway/report"
	"callgate/gateway/report/render"
)

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

func reportCommand() *command {
	var config, from, to, format, out, mailTo, central, property string
	var all bool
	var tariffs multiFlag
	var fs *flag.FlagSet
	return &command{
		name: "report",
		args: "NAME",
		summary: "a call-accounting report over the journal, for local dates --from to --to (both inclusive): " +
			"gateway report with no NAME lists them",
		flags: func(f *flag.FlagSet, _ *app) {
			fs = f
			f.StringVar(&config, "config", "", "the config file (required): its store, site, rooms and report sections are used")
			f.StringVar(&from, "from", "", "the first local date of the report, 2026-11-01")
			f.StringVar(&to, "to", "", "the last local date of the report, 2026-11-30 (default: --from)")
			f.StringVar(&format, "format", "", "the output: "+strings.Join(render.Formats, ", ")+" (default: from --out's extension, else table)")
			f.StringVar(&out, "out", "", "write the report to this file instead of stdout")
			f.Var(&tariffs, "tariff", "carriers: an alternative tariff file to re-rate the period with (repeat for several; default: the config's report.carriers)")
			f.StringVar(&central, "central", "", "run the report at the central, over what properties shipped: the central's config file (instead of --config)")
			f.StringVar(&property, "property", "", "with --central: the property, or several comma-separated")
			f.BoolVar(&all, "all", false, "with --central: every property")
			f.StringVar(&mailTo, "mail", "", "e-mail the report, attached in --format (default xlsx), to these addresses (comma-separated) through the config's smtp server, instead of printing it")
		},
		run: func(ctx context.Context, a *app, args []string) error {
			if len(args) == 0 {
				return report.WriteList(a.stdout)
			}
			name := args[0]
			// Flags may follow the report's name.
			if err := fs.Parse(args[1:]); err != nil {
				if errors.Is(err, flag.ErrHelp) {
					a.commandUsage(a.stdout, lookup("report"))
					return nil
				}
				return usageError{fmt.Sprintf("%s (see gateway report --help)", err)}
			}
			if fs.NArg() > 0 {
				return usageError{fmt.Sprintf("report takes one NAME, not also %q", strings.Join(fs.Args(), " "))}
			}
			r, err := report.Lookup(name)
			if err != nil {
				return usageError{err.Error()}
			}
			if central != "" {
				if config != "" || mailTo != "" || len(tariffs) > 0 {
					return usageError{"--central takes the place of --config, and is not for --mail or --tariff"}
				}
				return centralReport(ctx, a, r, central, property, all, from, to, format, out)
			}
			if property != "" || all {
				return usageError{"--property and --all are for a report at the central (--central FILE)"}
			}
			if config == "" {
				return usageError{"report needs --config FILE"}
			}
			if mailTo != "" && format == "" {
				format = "xlsx"
			}
			f, err := outputFormat(format, out, a.stdout)
			if mailTo != "" && err != nil {
				f, err = format, nil // the spreadsheet goes to the mail, not the terminal
			}
			if err != nil {
				return err
			}
			sections := []string{"site", "store", "rooms", "report"}
			if name == "fraud" || name == "exceptions" {
				sections = append(sections, "alarms") // the fraud rules
			}
			if mailTo != "" {
				sections = append(sections, "smtp")
			}
			c, err := loadConfigFor(config, "report", sections...)
			if err != nil {
				return err
			}
			o := c.reportOptions()
			if o.From, o.To, err = reportDates(from, to); err != nil {
				return err
			}
			if len(tariffs) > 0 && name != "carriers" {
				return usageError{"--tariff is for the carriers report"}
			}
			if name == "carriers" {
				// --tariff names files from here; without it, the config's
				// report.carriers.
				if len(tariffs) > 0 {
					o.Tariffs, err = loadCarriers(func(p string) string { return p }, tariffs)
				} else {
					o.Tariffs, err = c.carrierTariffs()
				}
				if err != nil {
					return err
				}
			}
			j, err := c.readJournal(o, a.log)
			if err != nil {
				return err
			}
			defer j.Close()
			t, err := report.Generate(ctx, j, r.Name, o)
			if err != nil {
				return err
			}
			if mailTo != "" {
				if c.SMTP.Host == "" {
					return fmt.Errorf("%s has no smtp: section: give the mail server (host, from) to send reports through", config)
				}
				to := strings.Split(mailTo, ",")
				for i := range to {
					to[i] = strings.TrimSpace(to[i])
				}
				l, err := report.Compose(c.Site.Name, t, f, render.Write)
				if err != nil {
					return err
				}
				if err := c.mailLetter(c.mailServer())(ctx, to, l); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "sent %s (%d rows) to %s\n", t.Name, len(t.Rows), strings.Join(to, ", "))
				return nil
			}
			return render.WriteOutput(a.stdout, out, t, f)
		},
	}
}

// reportDates reads --from and --to, local dates; --to defaults to --from.
func reportDates(from, to string) (time.Time, time.Time, error) {
	f, t, err := report.ParseDates(from, to)
	if err != nil {
		return f, t, usageError{err.Error()}
	}
	return f, t, nil
}

// outputFormat picks the format from --format or --out's extension, and
// refuses a spreadsheet on a terminal.
func outputFormat(format, out string, stdout io.Writer) (string, error) {
	format, err := render.FormatFor(format, out)
	if err != nil {
		return "", usageError{err.Error()}
	}
	if format == "xlsx" && out == "" {
		if isTerminal(stdout) {
			return "", usageError{"an xlsx spreadsheet is not for a terminal: give --out FILE.xlsx"}
		}
	}
	return format, nil
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
