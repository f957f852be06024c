package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"

	"callgate/gateway"
	"callgate/store"
)

func checkCommand() *command {
	var path string
	return &command{
		name:    "check",
		summary: "check a config file (and what it names) without starting anything: prints \"config OK\" or every problem, and warnings",
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
			if central, err := checkCentralFile(a, path); central {
				return err
			}
			c, err := LoadConfig(path)
			var problems Problems
			if !errors.As(err, &problems) && err != nil {
				return err
			}
			var warnings Problems
			if c != nil {
				problems = append(problems, checkDevices(c)...)
				problems = append(problems, checkStorePath(c)...)
				warnings = configWarnings(c)
			}
			for _, p := range problems {
				fmt.Fprintln(a.stdout, p)
			}
			// Warnings do not fail the check (exit 0): the config works,
			// and an upgraded site must keep running; they say what to fix.
			for _, w := range warnings {
				fmt.Fprintln(a.stdout, "warning:", w)
			}
			switch {
			case len(problems) > 0:
				fmt.Fprintf(a.stderr, "gateway: %s has %s: fix them and run gateway check again\n", path, count(len(problems), "problem"))
				return exitError{1}
			case len(warnings) > 0:
				fmt.Fprintf(a.stdout, "config OK, with %s\n", count(len(warnings), "warning"))
				return nil
			}
			fmt.Fprintln(a.stdout, "config OK")
			return nil
		},
	}
}

func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// checkStorePath looks at store.path the way serve would open it, for gateway
// check (without creating or locking the journal).
func checkStorePath(c *Config) Problems {
	if c.Store.Path == "" {
		return nil // already a problem of the file
	}
	k := &checker{Line: c.lines.Of}
	if err := store.CheckPath(c.Resolve(c.Store.Path)); err != nil {
		k.Add("store.path", "%v", err)
	}
	return k.Problems
}

// configWarnings are what the config allows but should not do: gateway
// check prints them and exits 0, serve logs them at start.
func configWarnings(c *Config) Problems {
	k := &checker{Line: c.lines.Of}
	c.PBX.Warn(k)
	if host, _, err := net.SplitHostPort(c.Console.Listen); err == nil && !gateway.LoopbackHost(host) && c.Console.TLSCert == "" {
		k.Add("console.listen", "%s serves the console (passwords, session cookies, guest names) over plain HTTP to the network: "+
			"set console.tls_cert and console.tls_key, or listen on 127.0.0.1 behind a TLS reverse proxy", c.Console.Listen)
	}
	c.warnAlarms(k) // alarms.go
	return k.Problems
}
