package pbx

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"callgate/gateway"
)

// What gateway parse and gateway formats do beyond reading the stream
// (ParseStream).

// ParseReceived reads when records were received (gateway parse --received):
// a wall-clock time in the site's zone, a date (midnight), or an RFC 3339
// instant.
func ParseReceived(s string, loc *time.Location) (time.Time, error) {
	for _, layout := range []string{gateway.WallClockLayout, "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.In(loc), nil
	}
	return time.Time{}, fmt.Errorf("--received %q is not a time like 2026-01-01T00:05:00 or 2026-01-01", s)
}

// WriteFormats lists the formats, one a line; verbose adds the settings an
// installer must make on the PBX.
func WriteFormats(w io.Writer, verbose bool) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	for _, f := range Formats() {
		fmt.Fprintf(tw, "%s\t%s\n", f.Name, f.Description)
		if verbose && f.Settings != "" {
			fmt.Fprintf(tw, "\t  PBX settings: %s\n", strings.TrimSpace(f.Settings))
		}
	}
	return tw.Flush()
}
