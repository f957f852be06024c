package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"callgate/pbx"
)

func parseCommand() *command {
	var format, received, tz, config string
	var year int
	return &command{
		name: "parse",
		args: "[FILE]",
		summary: "read raw SMDR from FILE (or stdin) and print one normalized call per line as JSON; " +
			"a record that cannot be read prints {\"error\":…,\"raw\":…}",
		flags: func(fs *flag.FlagSet, _ *app) {
			fs.StringVar(&format, "format", "", "the PBX format: one of gateway formats (default: the config's pbx.format)")
			fs.StringVar(&received, "received", "", "when the records were read (2026-01-01T00:05:00 in --tz, or RFC 3339): dates records that print no year or no date (default now)")
			fs.IntVar(&year, "year", 0, "the year of every record, for formats that print none (default: inferred from --received)")
			fs.StringVar(&tz, "tz", "", "the site's time zone, an IANA name (default: the config's site.timezone, else UTC)")
			fs.StringVar(&config, "config", "", "a config file to take the format, time zone and layout (template, cm_fields) from")
		},
		run: func(_ context.Context, a *app, args []string) error {
			if len(args) > 1 {
				return usageError{"parse takes at most one FILE"}
			}
			opts := pbx.Options{Year: year}
			if config != "" {
				c, err := LoadConfig(config)
				if c == nil {
					return err
				}
				// A config with problems elsewhere (a PMS not yet set up)
				// still says how to read the PBX.
				if format == "" {
					format = c.PBX.Format
				}
				if tz == "" {
					tz = c.Site.Timezone
				}
				opts.Template, opts.CMFields = c.PBX.Template, c.PBX.CMFields
			}
			if format == "" {
				return usageError{"parse needs --format NAME (see gateway formats)"}
			}
			if tz == "" {
				tz = "UTC"
			}
			loc, err := time.LoadLocation(tz)
			if err != nil {
				return usageError{fmt.Sprintf("--tz %q is not a time zone name: use an IANA name such as America/New_York", tz)}
			}
			opts.Location = loc
			clock := time.Now()
			if received != "" {
				if clock, err = pbx.ParseReceived(received, loc); err != nil {
					return usageError{err.Error()}
				}
			}
			p, err := pbx.NewParser(format, opts)
			if err != nil {
				return err
			}
			in, name, closeIn, err := a.input(args)
			if err != nil {
				return err
			}
			defer closeIn()
			st, err := pbx.ParseStream(in, a.stdout, p, clock)
			if err != nil {
				return fmt.Errorf("reading %s: %w", name, unwrapPathError(err))
			}
			a.log.Debug().Str("input", name).Str("format", format).Int("calls", st.Calls).
				Int("skipped", st.Skipped).Int("errors", st.Errors).Int64("control_bytes", st.Framer.ControlBytes).
				Int64("truncated", st.Framer.Truncated).Msg("parsed")
			return nil
		},
	}
}

func formatsCommand() *command {
	var verbose bool
	return &command{
		name:    "formats",
		summary: "list the PBX formats gateway reads, one a line (-v: with the PBX settings an installer must make)",
		flags: func(fs *flag.FlagSet, _ *app) {
			fs.BoolVar(&verbose, "v", false, "also print the PBX settings for each format")
		},
		run: func(_ context.Context, a *app, args []string) error {
			if len(args) > 0 {
				return usageError{"formats takes no arguments"}
			}
			return pbx.WriteFormats(a.stdout, verbose)
		},
	}
}

// input returns the command's input: the file named by args[0], or stdin
// when args is empty; its name for messages; and what closes it.
func (a *app) input(args []string) (io.Reader, string, func() error, error) {
	if len(args) == 0 {
		return a.stdin, "stdin", func() error { return nil }, nil
	}
	f, err := os.Open(args[0])
	if err != nil {
		return nil, "", nil, fmt.Errorf("cannot read %s: %w", args[0], unwrapPathError(err))
	}
	return f, args[0], f.Close, nil
}

// parseReceived is pbx.ParseReceived under the name import.go knows it by.
var parseReceived = pbx.ParseReceived
