package pbx

import (
	"time"

	"callgate/gateway"
)

// WallClock returns t's wall-clock reading with no zone: the same year, month,
// day, hour, minute and second, in time.UTC (which then means nothing).
func WallClock(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
}

// Instant returns the instant at which the wall clock in loc read wall, and a
// note when that is not one instant: in a spring-forward gap (the time never
// happened) the instant is computed with the offset in force before the jump;
// in an autumn overlap (it happened twice) the earlier instant is taken.
func Instant(wall time.Time, loc *time.Location) (time.Time, string) {
	y, mo, d := wall.Date()
	h, mi, s := wall.Clock()
	t := time.Date(y, mo, d, h, mi, s, 0, loc)
	// The common case: no change of offset within three hours either side,
	// so the wall clock names exactly one instant.
	_, off := t.Zone()
	if _, before := t.Add(-3 * time.Hour).Zone(); before == off {
		if _, after := t.Add(3 * time.Hour).Zone(); after == off {
			return t.UTC(), ""
		}
	}
	if WallClock(t) != wall {
		// Gap: the offset before the jump is the one an hour earlier.
		_, off := t.Add(-2 * time.Hour).Zone()
		return wall.Add(-time.Duration(off) * time.Second).UTC(), gateway.TimeNoteDSTGap
	}
	// Overlap: is there another instant with the same wall clock?
	for _, shift := range []time.Duration{-time.Hour, -30 * time.Minute, -2 * time.Hour} {
		if u := t.Add(shift); WallClock(u.In(loc)) == wall {
			return u.UTC(), gateway.TimeNoteDSTOverlap
		}
	}
	for _, shift := range []time.Duration{time.Hour, 30 * time.Minute, 2 * time.Hour} {
		if u := t.Add(shift); WallClock(u.In(loc)) == wall {
			return t.UTC(), gateway.TimeNoteDSTOverlap
		}
	}
	return t.UTC(), ""
}

// civil builds a wall-clock time and reports whether the fields form a real
// date and time (no 31 April, no 25:00).
func civil(y, mo, d, h, mi, s int) (time.Time, bool) {
	if mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, s, 0, time.UTC)
	if t.Day() != d {
		return time.Time{}, false
	}
	return t, true
}

// stamp19 reads a 19-character date and time "YYYY-MM-DD HH:MM:SS" whose
// separators the caller has checked (they differ between formats): the wall
// clock and its year, ok false when a field is not digits or the date and
// time are not real.
func stamp19(s string) (t time.Time, year int, ok bool) {
	y, ok1 := atoi(s[0:4])
	mo, ok2 := atoi(s[5:7])
	d, ok3 := atoi(s[8:10])
	h, ok4 := atoi(s[11:13])
	mi, ok5 := atoi(s[14:16])
	se, ok6 := atoi(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
		return time.Time{}, 0, false
	}
	t, ok = civil(y, mo, d, h, mi, se)
	return t, y, ok
}

// InferYear returns the year for a record dated month/day with no year: the
// year that makes it the most recent such date not more than one day ahead of
// the reading clock (so a record printed on 31 December and read on 1 January
// gets last year). forced, when not 0, wins. 29 February goes back to the last
// leap year.
func InferYear(month, day int, clock time.Time, forced int) int {
	if forced != 0 {
		return forced
	}
	limit := time.Date(clock.Year(), clock.Month(), clock.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, 1)
	for y := clock.Year() + 1; y > clock.Year()-8; y-- {
		t := time.Date(y, time.Month(month), day, 0, 0, 0, 0, time.UTC)
		if t.Day() != day {
			continue // 29 February in a common year
		}
		if !t.After(limit) {
			return y
		}
	}
	return clock.Year()
}

// expandYear turns a 2-digit year into a 4-digit one: the century that puts it
// closest to the reading clock's year.
func expandYear(yy int, clock time.Time) int {
	base := clock.Year() / 100 * 100
	y := base + yy
	switch {
	case y > clock.Year()+50:
		y -= 100
	case y < clock.Year()-50:
		y += 100
	}
	return y
}

// startFromEnd returns the instant a call started, for formats that stamp the
// end of a call: the printed end (a wall-clock time in loc) is placed on the
// time line first and the call's seconds (connected and ring) taken from that
// instant, so a call across a DST change starts at the right moment — wall
// clock arithmetic would be an hour off. The note is Instant's, for the end
// stamp: an end printed in the autumn overlap is flagged.
func startFromEnd(end time.Time, secs int, loc *time.Location) (time.Time, string) {
	at, note := Instant(end, loc)
	return at.Add(-time.Duration(secs) * time.Second), note
}
