package main

import (
	"context"
	"flag"

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
			// Problems in the PMS or tariff sections do not stop a capture.
			c, err := loadSections(path, "fix the pbx and site sections first", "pbx", "site")
			if err != nil {
				return err
			}
			p, err := pbx.NewParser(c.PBX.Format, c.PBX.ParserOptions(c.Location))
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
			if raw {
				p = nil
			}
			if err := pbx.Capture(ctx, src, p, a.stdout); err != nil {
				return err
			}
			st := src.Stats()
			log.Info().Int64("records", st.Records).Int64("control_bytes", st.ControlBytes).Int64("truncated", st.Truncated).Msg("capture stopped")
			return nil
		},
	}
}
