package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"callgate/pms/fias"
	"callgate/pms/fias/sim"
)

// cloudSims run the simulator of a cloud PMS for gateway sim pms
// --protocol (cmd/gateway/simcloud.go).
var cloudSims = map[string]func(ctx context.Context, a *app, c sim.RunConfig) error{}

// subcommand is one command under a command with sub-commands (gateway sim
// pms, gateway sim pbx, …).
type subcommand struct {
	name, args, summary string
	noArgs              bool // refuse arguments after the flags
	logs                bool // make the logger from the log flags before running
	flags               func(fs *flag.FlagSet)
	run                 func(ctx context.Context, a *app, args []string) error
}

// simCommands lists the simulators; add one here to add `gateway sim X`.
func simCommands() []*subcommand {
	return []*subcommand{simPMSCommand(), asSubcommand(simPBXCommand())}
}

// asSubcommand makes a leaf command a sub-command.
func asSubcommand(c *command) *subcommand {
	return &subcommand{name: c.name, summary: c.summary, run: c.run, logs: true, flags: func(fs *flag.FlagSet) {
		if c.flags != nil {
			c.flags(fs, &app{})
		}
	}}
}

func simCommand() *command {
	subs := simCommands()
	names := make([]string, len(subs))
	for i, s := range subs {
		names[i] = s.name
	}
	return &command{
		name: "sim",
		args: strings.Join(names, "|") + " [flags]",
		summary: "run a simulator for testing a site without the real thing: " + subSummaries(subs) +
			" (gateway sim NAME --help for its flags)",
		run: func(ctx context.Context, a *app, args []string) error {
			if len(args) == 0 {
				return usageError{"sim needs a simulator name: one of " + strings.Join(names, ", ")}
			}
			for _, s := range subs {
				if s.name == args[0] {
					return runSub(ctx, a, "sim", s, args[1:], a.logFlags)
				}
			}
			return usageError{fmt.Sprintf("unknown simulator %q: use one of %s", args[0], strings.Join(names, ", "))}
		},
	}
}

func subSummaries(subs []*subcommand) string {
	parts := make([]string, len(subs))
	for i, s := range subs {
		parts[i] = s.name + ": " + s.summary
	}
	return strings.Join(parts, "; ")
}

// runSub parses a sub-command's flags, and those common registers (the log
// flags of sim, the journal flags of journal, so that they may come after
// the sub-command's name), and runs it.
func runSub(ctx context.Context, a *app, parent string, s *subcommand, args []string, common func(fs *flag.FlagSet)) error {
	fs := flag.NewFlagSet("gateway "+parent+" "+s.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	common(fs)
	if s.flags != nil {
		s.flags(fs)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(a.stdout, "Usage: gateway %s %s [flags]%s\n\n%s\n\nFlags:\n", parent, s.name, prefixSpace(s.args), s.summary)
			fs.SetOutput(a.stdout)
			fs.PrintDefaults()
			return nil
		}
		return usageError{fmt.Sprintf("%s (see gateway %s %s --help)", err, parent, s.name)}
	}
	if s.noArgs && fs.NArg() > 0 {
		return usageError{fmt.Sprintf("%s %s takes no arguments, got %q", parent, s.name, fs.Arg(0))}
	}
	if s.logs {
		log, err := newLogger(a.stderr, a.logFormat, a.logLevel)
		if err != nil {
			return usageError{err.Error()}
		}
		a.log = log
	}
	return s.run(ctx, a, fs.Args())
}

func simPMSCommand() *subcommand {
	var c sim.RunConfig
	protocol := "fias"
	return &subcommand{
		name: "pms",
		logs: true,
		summary: "a FIAS PMS (OPERA's IFC8, or Protel) for the gateway to post to: it prints every posting it books or refuses " +
			"and every rule the gateway breaks; --transcript prints every frame. Commands on stdin change guests: type help. " +
			"--protocol opera-cloud|mews|apaleo serves that cloud PMS's API over HTTP instead",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&protocol, "protocol", "fias", "the PMS to be: fias, or a cloud PMS's API: opera-cloud, mews, apaleo")
			fs.StringVar(&c.Listen, "listen", "127.0.0.1:5010", "the TCP address to listen on, as IFC8 does")
			fs.StringVar(&c.Rooms, "rooms", "101-160", "the hotel's rooms: numbers and ranges, comma-separated (101-160,201-230)")
			fs.StringVar(&c.Vacant, "vacant", "", "rooms that start vacant; every other room starts with a guest")
			fs.BoolVar(&c.Protel, "protel", false, "act as Protel's socket server: refuse a second client, push the in-house list after LA, resync without DS/DE")
			fs.BoolVar(&c.Transcript, "transcript", false, "print every frame both ways, with its time (the wire transcript)")
			fs.StringVar(&c.TranscriptFile, "transcript-file", "", "also write the wire transcript to this file")
			fs.StringVar(&c.CodePage, "code-page", "windows-1252", "the code page of the wire: one of "+strings.Join(fias.CodePages, ", "))
			fs.StringVar(&c.Serial, "serial", "", "serve FIPS on this serial port instead of TCP (e.g. /dev/ttyUSB1, with a null-modem cable)")
			fs.IntVar(&c.Baud, "baud", 9600, "the serial port's speed (8N1)")
		},
		run: func(ctx context.Context, a *app, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Sprintf("sim pms takes no arguments, got %q", args[0])}
			}
			c.In, c.Out, c.Logger = a.stdin, a.stdout, a.log
			if protocol != "fias" {
				run := cloudSims[protocol]
				if run == nil {
					return usageError{fmt.Sprintf("--protocol %q is not one of fias, opera-cloud, mews, apaleo", protocol)}
				}
				for flag, set := range map[string]bool{"--protel": c.Protel, "--transcript": c.Transcript, "--transcript-file": c.TranscriptFile != "",
					"--serial": c.Serial != "", "--code-page": c.CodePage != "windows-1252"} {
					if set {
						return usageError{fmt.Sprintf("%s is for the FIAS simulator, not --protocol %s", flag, protocol)}
					}
				}
				return run(ctx, a, c)
			}
			err := sim.Run(ctx, c)
			if ue := (*sim.UsageError)(nil); errors.As(err, &ue) {
				return usageError{ue.Msg}
			}
			return err
		},
	}
}
