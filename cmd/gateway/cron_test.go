package main

import (
	"testing"
	"time"
)

func TestCron(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	at := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, ny) }
	for _, c := range []struct {
		spec     string
		from, to time.Time
	}{
		{"0 6 * * *", at(2026, 11, 27, 5, 0), at(2026, 11, 27, 6, 0)},
		{"0 6 * * *", at(2026, 11, 27, 6, 0), at(2026, 11, 28, 6, 0)},
		{"30 7 * * 1", at(2026, 11, 27, 8, 0), at(2026, 11, 30, 7, 30)}, // Friday → Monday
		{"0 5 1 * *", at(2026, 11, 27, 8, 0), at(2026, 12, 1, 5, 0)},
		{"*/15 * * * *", at(2026, 11, 27, 8, 7), at(2026, 11, 27, 8, 15)},
		{"0 0 1 1 *", at(2026, 11, 27, 8, 0), at(2027, 1, 1, 0, 0)},
		{"0 6 13 * 5", at(2026, 11, 1, 0, 0), at(2026, 11, 6, 6, 0)}, // the 13th or a Friday
		{"0 9 * * 0", at(2026, 11, 27, 8, 0), at(2026, 11, 29, 9, 0)},
		{"0 9 * * 7", at(2026, 11, 27, 8, 0), at(2026, 11, 29, 9, 0)},
		{"0 2 * * *", at(2026, 3, 8, 0, 0), at(2026, 3, 9, 2, 0)}, // 02:00 does not exist on the 8th in New York
	} {
		s, err := parseCron(c.spec)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.next(c.from); !got.Equal(c.to) {
			t.Errorf("%q after %v: %v, want %v", c.spec, c.from, got, c.to)
		}
	}
	for _, bad := range []string{"", "* * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *", "* * * * 8", "5-1 * * * *", "*/0 * * * *", "a * * * *"} {
		if _, err := parseCron(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	// Chile moves its clocks at midnight: 2026-09-06 00:00 does not exist.
	scl, _ := time.LoadLocation("America/Santiago")
	s, _ := parseCron("0 0 * * *")
	if got := s.next(time.Date(2026, 9, 5, 12, 0, 0, 0, scl)); !got.Equal(time.Date(2026, 9, 7, 0, 0, 0, 0, scl)) {
		t.Errorf("Santiago midnight: %v", got)
	}
	s, _ = parseCron("0 0 31 2 *")
	if got := s.next(at(2026, 1, 1, 0, 0)); !got.IsZero() {
		t.Errorf("31 February: %v", got)
	}
}
