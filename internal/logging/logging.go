// Package logging builds the gateway's root logger.
package logging

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/rs/zerolog"
	"golang.org/x/term"
)

// New builds the root logger writing to w: JSON lines with a timestamp, or
// the console form for people. format is json, console or "" (console when
// w is a terminal, else json); level is debug, info, warn, error or ""
// (info). The messages name the --log-format and --log-level flags.
func New(w io.Writer, format, level string) (zerolog.Logger, error) {
	lvl := zerolog.InfoLevel
	if level != "" {
		l, err := zerolog.ParseLevel(strings.ToLower(level))
		if err != nil || l == zerolog.NoLevel {
			return zerolog.Logger{}, fmt.Errorf("--log-level %q is not one of debug, info, warn, error", level)
		}
		lvl = l
	}
	switch format {
	case "":
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			format = "console"
		} else {
			format = "json"
		}
	case "json", "console":
	default:
		return zerolog.Logger{}, fmt.Errorf("--log-format %q is not json or console", format)
	}
	if format == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05"}
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}
