package backoff

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	const s = time.Second
	for _, tc := range []struct {
		name     string
		min, max time.Duration
		want     []time.Duration
	}{
		{"doubles up to the cap", s, 30 * s, []time.Duration{s, 2 * s, 4 * s, 8 * s, 16 * s, 30 * s, 30 * s}},
		{"cap reached exactly", s, 4 * s, []time.Duration{s, 2 * s, 4 * s, 4 * s}},
		{"min equals max", 5 * s, 5 * s, []time.Duration{5 * s, 5 * s, 5 * s}},
		{"max below min is min", 5 * s, s, []time.Duration{5 * s, 5 * s}},
		{"sub-second", 20 * time.Millisecond, 100 * time.Millisecond,
			[]time.Duration{20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond}},
		{"zero waits zero", 0, 0, []time.Duration{0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := New(tc.min, tc.max)
			for i, w := range tc.want {
				if got := b.Next(); got != w {
					t.Fatalf("wait %d = %v, want %v", i+1, got, w)
				}
			}
		})
	}
}

func TestBackoffReset(t *testing.T) {
	b := New(time.Second, time.Minute)
	b.Next()
	b.Next()
	if got := b.Next(); got != 4*time.Second {
		t.Fatalf("third wait %v", got)
	}
	b.Reset()
	if got := b.Next(); got != time.Second {
		t.Fatalf("after Reset: %v, want the minimum again", got)
	}
}
