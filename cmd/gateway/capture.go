package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"

	"callgate/pbx"
)

func captureCommand() *command {
	var path string
	var raw bool
	return &command{
		name: "capture",
		summary: "read the PBX the config names (serial, TCP or file) and print each call as gateway parse does, live, " +
			"until interrupted: for commissioning a site (nothing is journaled or posted)",
		flags: func(fs *flag.FlagSet, _ *app) {
			fs.StringVar(&path, "config", "", "the config file (required): its pbx and site sections are used")
			fs.BoolVar(&raw, "raw", false, "print the raw records as framed, one a line, instead of parsing them")
		},
		run: func(ctx context.Context, a *app, args []string) error {
			if len(args) > 0 {
				return usageError{"capture takes no arguments"}
			}
			if path == "" {
				return usageError{"capture needs --config FILE"}
			}
			c, err := LoadConfig(path)
			if c == nil {
				return err
			}
			var problems Problems
			if errors.As(err, &problems) && !pbxOnly(problems) {
				// Problems in the PMS or tariff sections do not stop a capture.
				return fmt.Errorf("%s: fix the pbx and site sections first:\n%v", path, pbxProblems(problems))
			}
			p, err := pbx.NewParser(c.PBX.Format, parserOptions(c))
			if err != nil {
				return err
			}
			log := a.log.With().Str("component", "capture").Logger()
			src, err := openSource(c, a.log, nil)
			if err != nil {
				return err
			}
			defer src.Close()
			log.Info().Str("format", c.PBX.Format).Str("transport", c.PBX.Transport).Msg("capturing PBX records; interrupt to stop")
			w := bufio.NewWriter(a.stdout)
			defer w.Flush()
			for {
				rec, err := src.Read(ctx)
				if err != nil {
					if errors.Is(err, context.Canceled) || errors.Is(err, pbx.ErrClosed) {
						st := src.Stats()
						log.Info().Int64("records", st.Records).Int64("control_bytes", st.ControlBytes).Int64("truncated", st.Truncated).Msg("capture stopped")
						return nil
					}
					return err
				}
				if raw {
					fmt.Fprintf(w, "%s\n", rec.Data)
				} else if _, err := pbx.WriteParsed(w, p, rec); err != nil {
					return err
				}
				if err := w.Flush(); err != nil {
					return err
				}
			}
		},
	}
}

// pbxOnly reports whether none of the problems is in the sections a capture
// uses.
func pbxOnly(ps Problems) bool { return len(pbxProblems(ps)) == 0 }

func pbxProblems(ps Problems) Problems {
	var out Problems
	for _, p := range ps {
		if hasPrefix(p.Key, "pbx") || hasPrefix(p.Key, "site") || p.Key == "(file)" {
			out = append(out, p)
		}
	}
	return out
}

func hasPrefix(key, section string) bool {
	return key == section || len(key) > len(section) && key[:len(section)] == section && (key[len(section)] == '.' || key[len(section)] == '[')
}
