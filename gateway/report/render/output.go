package render

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"callgate/gateway/report"
)

// FormatFor picks the output format of gateway report and export: format
// when given, else out's extension (a file name; .htm is html), else table.
// The messages name the --format flag.
func FormatFor(format, out string) (string, error) {
	if format == "" {
		format = "table"
		if ext := strings.TrimPrefix(strings.ToLower(filepath.Ext(out)), "."); ext != "" {
			for _, f := range Formats {
				if f == ext || ext == "htm" && f == "html" {
					format = f
				}
			}
		}
	}
	if !slices.Contains(Formats, format) {
		return "", fmt.Errorf("--format %q is not one of %s", format, strings.Join(Formats, ", "))
	}
	return format, nil
}

// WriteOutput writes t in format to stdout, or to a new file out that is
// removed again if the writing fails.
func WriteOutput(stdout io.Writer, out string, t *report.Table, format string) error {
	if out == "" {
		return Write(stdout, t, format)
	}
	f, err := os.Create(out)
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", out, pathErr(err))
	}
	if err := Write(f, t, format); err != nil {
		f.Close()
		os.Remove(out)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(out)
		return fmt.Errorf("cannot write %s: %w", out, pathErr(err))
	}
	return nil
}

// pathErr is err without the operation and path an *os.PathError repeats.
func pathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
