package main

import (
	"context"
	"fmt"
	"runtime"

	"callgate/internal/buildinfo"
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
			v, c := buildinfo.Version(version, commit)
			fmt.Fprintf(a.stdout, "gateway %s (commit %s, %s %s/%s)\n", v, c, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}
