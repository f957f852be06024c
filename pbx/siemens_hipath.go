package pbx

import (
	"strings"
	"time"

	"callgate/gateway"
)

var siemensHipath = Format{
	Name: "siemens-hipath",
	Description: "Siemens HiPath 3000/5000, Hicom 150 E, OpenScape Business call charge records (CDRC): " +
		"compressed fixed columns or the long printer form, end-of-call stamp DD.MM.YY hh:mm:ss",
	Settings: "HiPath 3000 Manager E > System Status > Call charges > Output format: flag Compressed output on " +
		"(the long printer form is read too, without account code and MSN); output of the call duration on; " +
		"Last 4 digits suppressed only if the hotel must (numbers then end in ????). Output to the V.24 port " +
		"(serial settings as set on the PBX) or to the LAN as TCP client to the gateway " +
		"(pbx.transport tcp-listen at pbx.listen's address and port). Immediate call information " +
		"(information element 0) may stay on: it is skipped.",
	newParser: func(Options) (recordParser, error) { return &hipathParser{}, nil },
}

// hipathParser reads Siemens HiPath / Hicom 150 E call charge records
// (docs/pbx-formats.md, "Siemens HiPath"). Compressed form, 1-based columns:
// 1-8 end date DD.MM.YY, 9-16 end time hh:mm:ss, 17-19 trunk, 20-25 extension,
// 26-30 ring mm:ss, 31-38 duration hh:mm:ss (blank for an unanswered incoming
// call), 39-63 external number (CLI in, dialled or COLP number out; '?' for
// suppressed digits), 64-74 charge pulses, 75-76 information element, 77-87
// project code, 88-98 MSN, 99-104 LCR access code, then LCR route. Long
// (printer) form, fields separated by blanks (Hicom 150 E manual table 7-2):
// 1-8 date, 10-17 time, 19-21 trunk, 23-28 extension, 30-34 ring, 36-43
// duration, 45-64 number, 66-76 charge amount, 78-79 information element; it
// has a header line and a blank line on every page and a form feed every 62
// lines. The two are told apart by column 9: the time in the compressed form,
// a blank in the long one.
type hipathParser struct{}

// hipathLayout gives a form's columns (1-based, inclusive); acct and msn are
// {0, 0} in the long form, which has neither.
type hipathLayout struct {
	time, trunk, ext, ring, dur, number, info, acct, msn [2]int
}

var (
	hipathCompressed = hipathLayout{time: [2]int{9, 16}, trunk: [2]int{17, 19}, ext: [2]int{20, 25},
		ring: [2]int{26, 30}, dur: [2]int{31, 38}, number: [2]int{39, 63}, info: [2]int{75, 76},
		acct: [2]int{77, 87}, msn: [2]int{88, 98}}
	hipathLong = hipathLayout{time: [2]int{10, 17}, trunk: [2]int{19, 21}, ext: [2]int{23, 28},
		ring: [2]int{30, 34}, dur: [2]int{36, 43}, number: [2]int{45, 64}, info: [2]int{78, 79}}
)

func (p *hipathParser) parse(line []byte, clock time.Time) (gateway.Call, error) {
	s := strings.TrimRight(string(line), " \t\r\n")
	// Records start with the date; the long form's page header and blank
	// lines do not.
	if s == "" || s[0] < '0' || s[0] > '9' {
		return gateway.Call{}, ErrSkip
	}
	l := hipathCompressed
	if len(s) > 8 && s[8] == ' ' {
		l = hipathLong
	}
	if len(s) < l.info[1] {
		return gateway.Call{}, errorf("siemens-hipath: line of %d characters is too short: a call record has its information element in columns %d-%d", len(s), l.info[0], l.info[1])
	}
	d, mo, yy, ok := hipathDate(s[:8])
	if !ok {
		return gateway.Call{}, errorf("siemens-hipath: date %q in columns 1-8 is not DD.MM.YY", s[:8])
	}
	h, mi, sec, ok := hipathHMS(s[l.time[0]-1 : l.time[1]])
	if !ok {
		return gateway.Call{}, errorf("siemens-hipath: end time %q in columns %d-%d is not hh:mm:ss", s[l.time[0]-1:l.time[1]], l.time[0], l.time[1])
	}
	end, ok := civil(expandYear(yy, clock), mo, d, h, mi, sec)
	if !ok {
		return gateway.Call{}, errorf("siemens-hipath: date %q is not a real date", s[:8])
	}
	infoText := col(s, l.info[0], l.info[1])
	info, ok := atoi(infoText)
	if !ok || info > 59 || (info > 9 && info < 50) {
		return gateway.Call{}, errorf("siemens-hipath: information element %q in columns %d-%d is not 0-9 (or 50-59 for DISA)", infoText, l.info[0], l.info[1])
	}
	// 50 and up: the same kinds, for DISA calls.
	kind := info % 50
	if kind == 0 {
		// Immediate call information when a call arrives (for a missed-call
		// list): the completed call has its own record.
		return gateway.Call{}, ErrSkip
	}

	dur := 0
	if t := col(s, l.dur[0], l.dur[1]); t != "" {
		hh, mm, ss, ok := hipathHMS(t)
		if !ok {
			return gateway.Call{}, errorf("siemens-hipath: duration %q in columns %d-%d is not hh:mm:ss", t, l.dur[0], l.dur[1])
		}
		dur = hh*3600 + mm*60 + ss
	}
	c := gateway.Call{
		Extension: col(s, l.ext[0], l.ext[1]),
		Trunk:     col(s, l.trunk[0], l.trunk[1]),
		DurationS: dur,
		Answered:  gateway.Bool(dur > 0),
		// 5-9: forwarded, conference, transit and external-transfer
		// segments of a call that has other records.
		Continuation: kind >= 5,
	}
	total := dur
	if t := col(s, l.ring[0], l.ring[1]); t != "" {
		ring, ok := hipathMMSS(t)
		if !ok {
			return gateway.Call{}, errorf("siemens-hipath: ring time %q in columns %d-%d is not mm:ss", t, l.ring[0], l.ring[1])
		}
		c.RingS = gateway.Int(ring)
		total += ring
	}
	c.StartUTC, c.TimeNote = startFromEnd(end, total, clock.Location())
	if l.acct[0] > 0 {
		c.AccountCode = col(s, l.acct[0], l.acct[1])
	}
	// The number keeps '?', the digits the PBX suppressed for privacy: it is
	// not the whole number, and the rater must not take it for a shorter one.
	number := CleanDigits(col(s, l.number[0], l.number[1]))
	switch kind {
	case 1, 3, 5, 7:
		c.Direction = gateway.Incoming
		c.CallerID = number
		if l.msn[0] > 0 {
			c.Dialed = CleanDigits(col(s, l.msn[0], l.msn[1]))
		}
	default: // 2, 4, 6, 8, 9
		c.Direction = gateway.Outgoing
		c.Dialed = number
	}
	return c, nil
}

// hipathDate reads "DD.MM.YY".
func hipathDate(s string) (d, mo, yy int, ok bool) {
	if len(s) != 8 || s[2] != '.' || s[5] != '.' {
		return 0, 0, 0, false
	}
	d, ok1 := atoi(s[0:2])
	mo, ok2 := atoi(s[3:5])
	yy, ok3 := atoi(s[6:8])
	return d, mo, yy, ok1 && ok2 && ok3
}

// hipathHMS reads "hh:mm:ss" (hours 00-23 in the PBX's counters too).
func hipathHMS(s string) (h, m, sec int, ok bool) {
	if len(s) != 8 || s[2] != ':' || s[5] != ':' {
		return 0, 0, 0, false
	}
	h, ok1 := atoi(s[0:2])
	m, ok2 := atoi(s[3:5])
	sec, ok3 := atoi(s[6:8])
	if !ok1 || !ok2 || !ok3 || h > 23 || m > 59 || sec > 59 {
		return 0, 0, 0, false
	}
	return h, m, sec, true
}

// hipathMMSS reads the ring time "mm:ss" into seconds.
func hipathMMSS(s string) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	m, ok1 := atoi(s[0:2])
	sec, ok2 := atoi(s[3:5])
	if !ok1 || !ok2 || m > 59 || sec > 59 {
		return 0, false
	}
	return m*60 + sec, true
}
