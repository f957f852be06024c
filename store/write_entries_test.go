package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"callgate/gateway"
	"callgate/store"
)

// TestWriteEntries: every entry the filter selects, one JSON line each, in
// order across pages, up to the limit.
func TestWriteEntries(t *testing.T) {
	e := newEnv(t, store.Options{})
	const n = 1003 // two pages
	for i := 1; i <= n; i++ {
		e.capture(i)
	}
	for _, c := range []struct {
		name  string
		f     gateway.Filter
		limit int
		want  int
	}{
		{"all", gateway.Filter{}, 0, n},
		{"limit within a page", gateway.Filter{}, 7, 7},
		{"limit across pages", gateway.Filter{}, 1001, 1001},
		{"newest first", gateway.Filter{Newest: true}, 3, 3},
		{"none", gateway.Filter{States: []gateway.State{gateway.StatePosted}}, 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			var w bytes.Buffer
			got, err := e.j.WriteEntries(context.Background(), &w, c.f, c.limit)
			if err != nil || got != c.want {
				t.Fatalf("%d entries, %v; want %d", got, err, c.want)
			}
			lines := strings.Split(strings.TrimSuffix(w.String(), "\n"), "\n")
			if c.want == 0 {
				if w.Len() != 0 {
					t.Errorf("wrote %q", w.String())
				}
				return
			}
			if len(lines) != c.want {
				t.Fatalf("%d lines", len(lines))
			}
			var prev gateway.EntryID
			for i, l := range lines {
				var v struct{ ID gateway.EntryID }
				if err := json.Unmarshal([]byte(l), &v); err != nil {
					t.Fatalf("line %d: %v", i+1, err)
				}
				if i > 0 && (v.ID > prev) == c.f.Newest {
					t.Fatalf("line %d: entry %d after %d", i+1, v.ID, prev)
				}
				prev = v.ID
			}
		})
	}
}
