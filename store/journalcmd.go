package store

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"callgate/gateway"
)

// ListQuery selects the entries gateway journal prints, as its flags give
// them; the messages of Filter name those flags.
type ListQuery struct {
	States, From, To, Room, Extension string
	Posting                           uint
	Limit                             int
	Newest                            bool
}

// Filter turns the query into a journal filter; loc is the site's zone.
func (q ListQuery) Filter(loc *time.Location) (gateway.Filter, error) {
	f := gateway.Filter{Room: q.Room, Extension: q.Extension, Posting: uint32(q.Posting), Newest: q.Newest, History: true}
	if q.Posting > 99_999_999 {
		return f, fmt.Errorf("--posting %d is not a posting number (at most 8 digits)", q.Posting)
	}
	if q.Limit < 0 {
		return f, fmt.Errorf("--limit %d is negative", q.Limit)
	}
	if q.States != "" {
		for _, s := range strings.Split(q.States, ",") {
			st := gateway.State(strings.TrimSpace(s))
			if !st.Valid() {
				names := make([]string, len(gateway.States))
				for i, v := range gateway.States {
					names[i] = string(v)
				}
				return f, fmt.Errorf("--state %q is not a journal state: use %s", s, strings.Join(names, ", "))
			}
			f.States = append(f.States, st)
		}
	}
	var err error
	if f.From, err = parseWhen("--from", q.From, loc, false); err != nil {
		return f, err
	}
	if f.To, err = parseWhen("--to", q.To, loc, true); err != nil {
		return f, err
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		return f, fmt.Errorf("--to %s is not after --from %s", q.To, q.From)
	}
	return f, nil
}

// parseWhen reads a time flag: a date (its midnight, or with end the next
// midnight), a wall-clock time in the site's zone, or RFC 3339.
func parseWhen(name, s string, loc *time.Location, end bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, loc); err == nil {
		if end {
			t = t.AddDate(0, 0, 1)
		}
		return t.UTC(), nil
	}
	if t, err := time.ParseInLocation(gateway.WallClockLayout, s, loc); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%s %q is not a date (2026-11-27), a site time (2026-11-27T14:00:00) or an RFC 3339 time", name, s)
}

// FormatSize writes a byte count for people (backup, compact).
func FormatSize(n int64) string {
	switch {
	case n >= 1<<30:
		return strconv.FormatFloat(float64(n)/(1<<30), 'f', 1, 64) + " GiB"
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
	case n >= 1<<10:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}
