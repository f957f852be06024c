package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/rs/zerolog"

	"callgate/internal/logging"
)

// command is one subcommand of gateway.
type command struct {
	name    string
	args    string // the arguments after the flags, for usage
	summary string
	// flags registers the command's flags; run gets what is left.
	flags func(fs *flag.FlagSet, a *app)
	run   func(ctx context.Context, a *app, args []string) error
}

// commands lists every subcommand, in the order `gateway help` shows them.
// Only commands that work are listed.
func commands() []*command {
	return []*command{
		demoCommand(),
		serveCommand(),
		centralCommand(),
		userCommand(),
		checkCommand(),
		alarmsCommand(),
		parseCommand(),
		captureCommand(),
		rateCommand(),
		journalCommand(),
		importCommand(),
		reportCommand(),
		exportCommand(),
		erlangCommand(),
		formatsCommand(),
		simCommand(),
		versionCommand(),
	}
}

// app is what a subcommand runs with: its streams, its logger and the
// options every command takes.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	log            zerolog.Logger

	logFormat string
	logLevel  string
}

// usageError is a mistake in how gateway was called: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// exitError ends a command with a status, its message already printed.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// Run runs gateway with args (without the program name) and returns the exit
// status: 0 success, 1 failure, 2 a usage mistake.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	global := flag.NewFlagSet("gateway", flag.ContinueOnError)
	global.SetOutput(io.Discard)
	a.logFlags(global)
	if err := global.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			a.usage(stdout)
			return 0
		}
		return a.fail(usageError{err.Error()})
	}
	args = global.Args()
	if len(args) == 0 {
		a.usage(stderr)
		return 2
	}
	name, args := args[0], args[1:]
	if name == "help" {
		if len(args) > 0 {
			if cmd := lookup(args[0]); cmd != nil {
				a.commandUsage(stdout, cmd)
				return 0
			}
			return a.fail(usageError{fmt.Sprintf("unknown command %q: run gateway help for the list", args[0])})
		}
		a.usage(stdout)
		return 0
	}
	cmd := lookup(name)
	if cmd == nil {
		return a.fail(usageError{fmt.Sprintf("unknown command %q: run gateway help for the list", name)})
	}
	fs := flag.NewFlagSet("gateway "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	a.logFlags(fs)
	if cmd.flags != nil {
		cmd.flags(fs, a)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			a.commandUsage(stdout, cmd)
			return 0
		}
		return a.fail(usageError{fmt.Sprintf("%s (see gateway %s --help)", err, cmd.name)})
	}
	log, err := newLogger(stderr, a.logFormat, a.logLevel)
	if err != nil {
		return a.fail(usageError{err.Error()})
	}
	a.log = log
	return a.fail(cmd.run(ctx, a, fs.Args()))
}

// fail prints err as one plain sentence on stderr and returns the exit status.
func (a *app) fail(err error) int {
	var ee exitError
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ue):
		fmt.Fprintf(a.stderr, "gateway: %s\n", ue.msg)
		return 2
	default:
		fmt.Fprintf(a.stderr, "gateway: %s\n", err)
		return 1
	}
}

func lookup(name string) *command {
	for _, c := range commands() {
		if c.name == name {
			return c
		}
	}
	return nil
}

func (a *app) logFlags(fs *flag.FlagSet) {
	fs.StringVar(&a.logFormat, "log-format", a.logFormat, "log format: json, or console for people (default: console when stderr is a terminal, else json)")
	fs.StringVar(&a.logLevel, "log-level", a.logLevel, "log level: debug, info, warn, error (default info)")
}

func (a *app) usage(w io.Writer) {
	fmt.Fprint(w, `gateway — callgate, the bridge between a hotel's PBX and its PMS.

Usage:
  gateway [--log-format json|console] [--log-level LEVEL] COMMAND [flags] [args]

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Run gateway help COMMAND, or gateway COMMAND --help, for a command's flags.
`)
}

func (a *app) commandUsage(w io.Writer, c *command) {
	fs := flag.NewFlagSet("gateway "+c.name, flag.ContinueOnError)
	var tmp app
	tmp.logFlags(fs)
	if c.flags != nil {
		c.flags(fs, &tmp)
	}
	fmt.Fprintf(w, "Usage: gateway %s [flags]%s\n\n%s\n\nFlags:\n", c.name, prefixSpace(c.args), c.summary)
	fs.SetOutput(w)
	fs.PrintDefaults()
}

func prefixSpace(s string) string {
	if s == "" {
		return ""
	}
	return " " + s
}

// newLogger builds the root logger from the log flags.
var newLogger = logging.New
