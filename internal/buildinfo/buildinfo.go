// Package buildinfo says which version of the gateway is running.
package buildinfo

import "runtime/debug"

// Version returns the version and commit: those given (set at build time
// with -ldflags "-X main.version=1.2.0 -X main.commit=abc1234"), else those
// Go recorded in the binary (a commit with local changes ends in -dirty),
// else "dev" and "unknown".
func Version(version, commit string) (v, c string) {
	v, c = version, commit
	if info, ok := debug.ReadBuildInfo(); ok {
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
