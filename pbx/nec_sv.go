package pbx

import (
	"strings"
	"time"

	"callgate/gateway"
)

var necSV = Format{
	Name: "nec-sv",
	Description: "NEC SL1100 / SL2100 / SV8100 / SV9100 SMDR: fixed-width report with page headers (MM/DD/YYYY) and " +
		"summaries, records MM/DD with start HH:MM",
	Settings: "Program 35-01: SMDR output port (serial or LAN), format 1 (North America) or 2 (16-digit account " +
		"code); 35-02-14 = 1 prints the date and line columns (0 is read too: records are dated by the page header); " +
		"35-02-04 summaries may stay on (they are skipped). Serial: pbx.transport serial at the port's baud. LAN: the " +
		"gateway connects (pbx.transport tcp-dial); the TCP port is not in the documentation found: check it on site.",
	newParser: func(o Options) (recordParser, error) { return &necParser{year: o.Year}, nil },
}

// necParser reads the NEC SL/SV SMDR report (docs/pbx-formats.md, "NEC
// SL1100"). Record columns, 1-based: 1-4 class, 6-10 time HH:MM (placed or
// answered), 12-16 date MM/DD, 18-21 line, 23-30 duration HH:MM:SS, 32-41
// station, 43-62 number dialled or CLI, 64-79 account code or NO ANSWER. With
// 35-02-14 = 0 columns 12-21 hold the line and there is no date; ICM
// (extension) records have neither.
//
// Page header line 1 carries MM/DD/YYYY in columns 61-70: the parser keeps
// the year of the latest header for the records that follow (MM/DD only) and
// infers it from the reading clock before any header. Records without a date
// take the date of the record before them (or of the page header, or of the
// reading clock), a day later when their time is more than 12 hours before
// that record's.
type necParser struct {
	year   int       // forced year, 0 to infer
	header time.Time // date of the latest page header; zero before the first
	last   time.Time // start of the latest record (or the header's date)
	// lines maps a line to the direction of its latest incoming or outgoing
	// record, for the direction of a transfer (PTRS / ITRS) that follows.
	lines map[string]gateway.Direction
	years mivbYears
}

// NECMaxLines bounds the line map; the simulator's writer forgets lines at the
// same count, as a reader does.
const NECMaxLines = 4096

func (p *necParser) parse(line []byte, clock time.Time) (gateway.Call, error) {
	s := string(line)
	t := strings.TrimSpace(s)
	if t == "" || (strings.IndexByte("-=*_", t[0]) >= 0 && strings.Trim(t, "-=*_ ") == "") {
		return gateway.Call{}, ErrSkip
	}
	if p.pageHeader(s) || strings.HasPrefix(t, "CLASS") {
		return gateway.Call{}, ErrSkip
	}
	class := col(s, 1, 5) // columns 1-4; IVOTP runs into the blank column 5
	var dir gateway.Direction
	transfer := false
	switch class {
	case "POT", "POTA", "POTP", "POTW", "IVOT", "IVOTP", "IDOT", "SAD", "WAD":
		dir = gateway.Outgoing
	case "PIN", "IVIN", "IDIN":
		dir = gateway.Incoming
	case "ICM", "SDTA":
		dir = gateway.Internal
	case "PTRS", "ITRS":
		transfer = true
	case "ALB", "BRD", "BFL", "NEXT":
		// All lines busy, blocked by toll restriction, buffer full, and the
		// calling party's name for the record before: no call.
		return gateway.Call{}, ErrSkip
	}
	timeText := col(s, 6, 10)
	h, ok1 := mivbTwoDigits(timeText, 0)
	mi, ok2 := mivbTwoDigits(timeText, 3)
	isTime := len(timeText) == 5 && ok1 && ok2 && timeText[2] == ':'
	if dir == "" && !transfer {
		if !isTime {
			return gateway.Call{}, ErrSkip // summary and other report lines
		}
		return gateway.Call{}, errorf("nec-sv: class (columns 1-5) %q is not a call class (POT, PIN, ICM, PTRS, IVOT, ...)", class)
	}
	if !isTime || h > 23 || mi > 59 {
		return gateway.Call{}, errorf("nec-sv: time (columns 6-10) %q is not HH:MM", timeText)
	}
	durText := col(s, 23, 30)
	dur, ok := hms(durText)
	if !ok || len(durText) != 8 {
		return gateway.Call{}, errorf("nec-sv: duration (columns 23-30) %q is not HH:MM:SS", durText)
	}

	var start time.Time
	var trunk string
	if dateText := col(s, 12, 16); len(dateText) == 5 && dateText[2] == '/' {
		mo, ok1 := mivbTwoDigits(dateText, 0)
		d, ok2 := mivbTwoDigits(dateText, 3)
		if !ok1 || !ok2 {
			return gateway.Call{}, errorf("nec-sv: date (columns 12-16) %q is not MM/DD", dateText)
		}
		start, ok = civil(p.recordYear(mo, d, clock), mo, d, h, mi, 0)
		if !ok {
			return gateway.Call{}, errorf("nec-sv: date %q is not a real date", dateText)
		}
		trunk = col(s, 18, 21)
	} else {
		trunk = col(s, 12, 21) // 35-02-14 = 0: the line, no date
		day := p.undatedDay(h, mi, clock)
		start, _ = civil(day.Year(), int(day.Month()), day.Day(), h, mi, 0)
	}
	p.last = start

	station := col(s, 32, 41)
	number := col(s, 43, 62)
	account := col(s, 64, 79)
	answered := true
	if account == "NO ANSWER" {
		answered, account = false, ""
	}
	if transfer {
		// A transfer repeats the line's call: its direction is that of the
		// line's last call; unknown, it is taken as incoming so that a
		// caller's number is never billed as a dialled one.
		dir = p.lines[trunk]
		if dir == "" {
			dir = gateway.Incoming
		}
	} else if trunk != "" && dir != gateway.Internal {
		if p.lines == nil || len(p.lines) >= NECMaxLines {
			p.lines = make(map[string]gateway.Direction)
		}
		p.lines[trunk] = dir
	}
	c := gateway.Call{
		Start:        start,
		DurationS:    dur,
		Direction:    dir,
		Trunk:        trunk,
		Extension:    station,
		AccountCode:  account,
		Answered:     gateway.Bool(answered),
		Continuation: transfer,
	}
	switch dir {
	case gateway.Incoming:
		c.CallerID = CleanDigits(number)
	default:
		c.Dialed = CleanDigits(number)
	}
	return c, nil
}

// pageHeader reads page header line 1 (blanks, MM/DD/YYYY in columns 61-70,
// PAGE nnn) and keeps its date.
func (p *necParser) pageHeader(s string) bool {
	i := strings.Index(s, "PAGE")
	if i < 10 {
		return false
	}
	d := strings.TrimSpace(s[:i])
	if len(d) != 10 || d[2] != '/' || d[5] != '/' {
		return false
	}
	mo, ok1 := mivbTwoDigits(d, 0)
	day, ok2 := mivbTwoDigits(d, 3)
	y, ok3 := atoi(d[6:])
	if !ok1 || !ok2 || !ok3 {
		return false
	}
	h, ok := civil(y, mo, day, 0, 0, 0)
	if !ok {
		return true // a header all the same; its date is unusable
	}
	p.header = h
	if y1, m1, d1 := p.last.Date(); p.last.IsZero() || y1 != y || int(m1) != mo || d1 != day {
		p.last = h
	}
	return true
}

// recordYear returns the year of a record dated mo/d: the forced year; else,
// of the latest page header's year and the years either side, the one that
// puts the date closest to the header without being more than a day after the
// reading clock (a page can run past New Year, and a buffered record can be
// older than its page); else the year inferred from the reading clock.
func (p *necParser) recordYear(mo, d int, clock time.Time) int {
	if p.year != 0 {
		return p.year
	}
	if p.header.IsZero() {
		return p.years.infer(mo, d, clock, 0)
	}
	limit := time.Date(clock.Year(), clock.Month(), clock.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, 1)
	// Usual case: within five months of the header, its own year.
	if hm := int(p.header.Month()); mo-hm < 6 && hm-mo < 6 {
		if t, ok := civil(p.header.Year(), mo, d, 0, 0, 0); ok && !t.After(limit) {
			return p.header.Year()
		}
	}
	best, bestGap, bestOK := p.header.Year(), time.Duration(1<<62), false
	for y := p.header.Year() - 1; y <= p.header.Year()+1; y++ {
		t, ok := civil(y, mo, d, 0, 0, 0)
		if !ok {
			continue
		}
		gap := t.Sub(p.header)
		if gap < 0 {
			gap = -gap
		}
		inTime := !t.After(limit)
		if (inTime && !bestOK) || (inTime == bestOK && gap < bestGap) {
			best, bestGap, bestOK = y, gap, inTime
		}
	}
	return best
}

// undatedDay returns the date of a record that prints none: the date of the
// record before it (or of the page header), a day later when its time is more
// than 12 hours before that record's (midnight passed), a day earlier when
// that would put it more than an hour after the reading clock; with no record
// or header before it, the reading clock's date (the day before when the time
// is more than an hour after the clock's).
func (p *necParser) undatedDay(h, mi int, clock time.Time) time.Time {
	if p.last.IsZero() {
		day := m5000Day(h, mi, clock)
		if p.year != 0 {
			if t, ok := civil(p.year, int(day.Month()), day.Day(), 0, 0, 0); ok {
				day = t
			}
		}
		return day
	}
	day := time.Date(p.last.Year(), p.last.Month(), p.last.Day(), 0, 0, 0, 0, time.UTC)
	if (p.last.Hour()*60+p.last.Minute())-(h*60+mi) > 12*60 {
		day = day.AddDate(0, 0, 1)
	}
	limit := WallClock(clock).Add(time.Hour)
	if day.Add(time.Duration(h)*time.Hour + time.Duration(mi)*time.Minute).After(limit) {
		day = day.AddDate(0, 0, -1)
	}
	return day
}
