package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// version and commit are set at build time with
// -ldflags "-X main.version=1.2.0 -X main.commit=abc1234"; otherwise they are
// read from the build information Go records.
var version, commit string

func versionCommand() *command {
	return &command{
		name:    "version",
		summary: "print the version, the commit it was built from and the Go version",
		run: func(_ context.Context, a *app, args []string) error {
			if len(args) > 0 {
				return usageError{"version takes no arguments"}
			}
			v, c := buildVersion()
			fmt.Fprintf(a.stdout, "gateway %s (commit %s, %s %s/%s)\n", v, c, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}

func buildVersion() (v, c string) {
	v, c = version, commit
	info, ok := debug.ReadBuildInfo()
	if ok {
		if v == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			v = info.Main.Version
		}
		for _, s := range info.Settings {
			switch {
			case s.Key == "vcs.revision" && c == "":
				c = s.Value
				if len(c) > 12 {
					c = c[:12]
				}
			case s.Key == "vcs.modified" && s.Value == "true" && c != "":
				c += "-dirty"
			}
		}
	}
	if v == "" {
		v = "dev"
	}
	if c == "" {
		c = "unknown"
	}
	return v, c
}
