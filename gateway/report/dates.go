package report

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// ParseDates reads the local dates of gateway report and export's --from and
// --to; to defaults to from. The messages name the flags.
func ParseDates(from, to string) (time.Time, time.Time, error) {
	if from == "" {
		return time.Time{}, time.Time{}, fmt.Errorf("a report needs --from DATE (and --to DATE), like --from 2026-11-01 --to 2026-11-30")
	}
	if to == "" {
		to = from
	}
	f, err := time.Parse(time.DateOnly, from)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("--from %q is not a date like 2026-11-01", from)
	}
	t, err := time.Parse(time.DateOnly, to)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("--to %q is not a date like 2026-11-30", to)
	}
	return f, t, nil
}

// WriteList writes the reports, one a line: name, title and columns.
func WriteList(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	for _, r := range Reports() {
		fmt.Fprintf(tw, "%s\t%s\t(%s)\n", r.Name, r.Title, r.Columns)
	}
	return tw.Flush()
}
