package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// cronSpec is a five-field cron schedule: minute hour day-of-month month
// day-of-week, each *, a number, a range a-b, a list a,b and a step */n or
// a-b/n. Day of week 0 or 7 is Sunday. As in cron, when both day fields are
// restricted a day matching either is taken.
type cronSpec struct {
	min, hour, dom, mon, dow [61]bool
	domAny, dowAny           bool
}

func parseCron(s string) (*cronSpec, error) {
	f := strings.Fields(s)
	if len(f) != 5 {
		return nil, fmt.Errorf("%q is not a cron schedule of five fields (minute hour day month weekday), like \"0 6 * * *\" for 06:00 every day", s)
	}
	c := &cronSpec{domAny: f[2] == "*", dowAny: f[4] == "*"}
	for i, p := range []struct {
		set      *[61]bool
		lo, hi   int
		name     string
		sundayIs bool
	}{{&c.min, 0, 59, "minute", false}, {&c.hour, 0, 23, "hour", false}, {&c.dom, 1, 31, "day of month", false},
		{&c.mon, 1, 12, "month", false}, {&c.dow, 0, 7, "day of week", true}} {
		if err := cronField(f[i], p.lo, p.hi, p.set); err != nil {
			return nil, fmt.Errorf("%q: the %s field %v", s, p.name, err)
		}
		if p.sundayIs && p.set[7] {
			p.set[0] = true
		}
	}
	return c, nil
}

func cronField(f string, lo, hi int, set *[61]bool) error {
	for _, part := range strings.Split(f, ",") {
		rng, stepS, hasStep := strings.Cut(part, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepS)
			if err != nil || n < 1 {
				return fmt.Errorf("%q has a bad step", part)
			}
			step = n
		}
		a, b := lo, hi
		if rng != "*" {
			x, y, isRange := strings.Cut(rng, "-")
			var err1, err2 error
			a, err1 = strconv.Atoi(x)
			b = a
			if isRange {
				b, err2 = strconv.Atoi(y)
			} else if hasStep {
				b = hi
			}
			if err1 != nil || err2 != nil || a < lo || b > hi || a > b {
				return fmt.Errorf("%q is not a number or range from %d to %d", part, lo, hi)
			}
		}
		for v := a; v <= b; v += step {
			set[v] = true
		}
	}
	return nil
}

func (c *cronSpec) day(t time.Time) bool {
	dom, dow := c.dom[t.Day()], c.dow[int(t.Weekday())]
	switch {
	case c.domAny && c.dowAny:
		return true
	case c.domAny:
		return dow
	case c.dowAny:
		return dom
	}
	return dom || dow
}

// next returns the first minute after t (in t's location) the schedule
// names; zero if none within five years (31 February). A time the clocks
// skip that day (02:30 when summer time begins) is skipped.
func (c *cronSpec) next(t time.Time) time.Time {
	loc := t.Location()
	t = t.Truncate(time.Minute).Add(time.Minute)
	limit := t.AddDate(5, 0, 0)
	// A step that time.Date would take backwards (a local midnight or hour
	// the clocks skip) moves to the next hour instead.
	forward := func(cand time.Time) time.Time {
		if cand.After(t) {
			return cand
		}
		return t.Add(time.Duration(60-t.Minute()) * time.Minute)
	}
	for t.Before(limit) {
		switch {
		case !c.mon[int(t.Month())]:
			t = forward(time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, loc))
		case !c.day(t):
			t = forward(time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, loc))
		case !c.hour[t.Hour()]:
			t = t.Add(time.Duration(60-t.Minute()) * time.Minute)
		case !c.min[t.Minute()]:
			t = t.Add(time.Minute)
		default:
			return t
		}
	}
	return time.Time{}
}
