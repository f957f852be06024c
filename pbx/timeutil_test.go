package pbx

import (
	"testing"
	"time"

	"callgate/gateway"
)

func TestInstant(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	for _, tc := range []struct {
		wall, utc, note string
	}{
		{"2024-11-05T18:40:02", "2024-11-05T23:40:02Z", ""},
		// Spring forward: 02:30 never happened; taken with the offset before the jump (EST).
		{"2024-03-10T02:30:00", "2024-03-10T07:30:00Z", gateway.TimeNoteDSTGap},
		// Fall back: 01:30 happened twice; the earlier (EDT) instant.
		{"2024-11-03T01:30:00", "2024-11-03T05:30:00Z", gateway.TimeNoteDSTOverlap},
		{"2024-11-03T02:00:00", "2024-11-03T07:00:00Z", ""},
		{"2024-11-03T00:59:59", "2024-11-03T04:59:59Z", ""},
	} {
		wall, _ := time.Parse(gateway.WallClockLayout, tc.wall)
		got, note := Instant(wall, ny)
		if got.Format(time.RFC3339) != tc.utc || note != tc.note {
			t.Errorf("Instant(%s) = %s %q, want %s %q", tc.wall, got.Format(time.RFC3339), note, tc.utc, tc.note)
		}
	}
	// A zone without DST never notes anything.
	wall, _ := time.Parse(gateway.WallClockLayout, "2024-03-10T02:30:00")
	if got, note := Instant(wall, time.UTC); note != "" || !got.Equal(wall) {
		t.Errorf("UTC: %v %q", got, note)
	}
}

func TestStartFromEnd(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	// A 30-minute call ending at 03:10 EDT on the spring-forward night
	// started at 01:40 EST (06:40 UTC), not at 02:40 wall clock.
	end, _ := time.Parse(gateway.WallClockLayout, "2024-03-10T03:10:00")
	got, note := startFromEnd(end, 1800, ny)
	if note != "" || got.UTC().Format(time.RFC3339) != "2024-03-10T06:40:00Z" || WallClock(got.In(ny)).Format(gateway.WallClockLayout) != "2024-03-10T01:40:00" {
		t.Errorf("start %v", got.In(ny))
	}
	// An end stamp in the autumn overlap is flagged.
	end, _ = time.Parse(gateway.WallClockLayout, "2024-11-03T01:40:00")
	if _, note := startFromEnd(end, 600, ny); note != gateway.TimeNoteDSTOverlap {
		t.Errorf("overlap end: note %q", note)
	}
}

func TestInferYear(t *testing.T) {
	for _, tc := range []struct {
		month, day int
		clock      string
		forced     int
		want       int
	}{
		{12, 31, "2025-01-01T00:05:00", 0, 2024}, // printed on 31 Dec, read on 1 Jan
		{1, 1, "2025-01-01T00:05:00", 0, 2025},
		{1, 2, "2025-01-01T00:05:00", 0, 2025}, // one day ahead: a PBX clock slightly fast
		{1, 3, "2025-01-01T00:05:00", 0, 2024}, // two days ahead: last year's
		{11, 5, "2024-11-06T09:00:00", 0, 2024},
		{2, 29, "2025-03-01T10:00:00", 0, 2024}, // the last leap year
		{6, 1, "2025-01-01T00:05:00", 2023, 2023},
	} {
		clock, _ := time.Parse(gateway.WallClockLayout, tc.clock)
		if got := InferYear(tc.month, tc.day, clock, tc.forced); got != tc.want {
			t.Errorf("InferYear(%d/%d, %s, %d) = %d, want %d", tc.month, tc.day, tc.clock, tc.forced, got, tc.want)
		}
	}
	clock, _ := time.Parse(gateway.WallClockLayout, "2026-11-27T10:00:00")
	for yy, want := range map[int]int{26: 2026, 99: 1999, 70: 2070, 76: 2076, 77: 1977, 0: 2000} {
		if got := expandYear(yy, clock); got != want {
			t.Errorf("expandYear(%d) = %d, want %d", yy, got, want)
		}
	}
}
