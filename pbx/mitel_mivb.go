package pbx

import (
	"strings"
	"time"

	"callgate/gateway"
)

var mitelMiVB = Format{
	Name: "mitel-mivb",
	Description: "Mitel MiVoice Business / 3300 ICP / SX-2000 SMDR: fixed 90-column records (101 with Extended Digit Length), " +
		"mm/dd with no year, 12- or 24-hour start stamp",
	Settings: "Class of Service Options form: SMDR - External SMDR Records = Yes (and Internal SMDR Records = Yes for " +
		"station-to-station calls) in every COS used by trunks and guest stations; SMDR Options form: SMDR Real Time " +
		"Reporting on; Extended Digit Length, Time to Answer, Meter Pulses and start time with seconds may be on or off " +
		"(each record is read as it comes); leave Record Transfer off (one record per transferred trunk call). " +
		"The controller is the TCP server on port 1752: pbx.transport tcp-dial, pbx.dial <controller IP>:1752 " +
		"(it allows only a few SMDR sessions). SX-200/SX-2000: RS-232 printer port, pbx.transport serial at the port's baud.",
	newParser: func(o Options) (recordParser, error) { return &mivbParser{year: o.Year}, nil },
}

// MiVBLayout is the column map (1-based, inclusive) of one MiVB record
// variant, for a start time without seconds. A start time with seconds
// ("hh:mm:ss") moves every column after column 12 right by 3.
type MiVBLayout struct {
	CallingFrom, CallingTo int // calling party: station, Tnnn/Xnnn trunk, ATTn
	Attendant              int // '*' when an attendant handled the call
	TTATo                  int // time to answer ends here (3 columns; the attendant column before it)
	DigitsFrom             int // digits dialed / received on the trunk, 26 columns
	Status                 int // call completion status
	CalledFrom, CalledTo   int // called party
	Transfer               int // transfer / conference flag
	ThirdFrom, ThirdTo     int // third party
	AccountFrom, AccountTo int // account code
	// ANIFrom is where the ANI (10) and DNIS (10) columns of the
	// ANI/DNIS option start, 0 where their place is not known.
	ANIFrom int
}

// The standard 90-column record (template
// zmm/dd_hh:mmp_hh:mm:ss_pppp_fttt_xxxxxxxxxxxxxxxxxxxxxmmmmmhsqqqqk_rrrr_aaaaaaaaaaaasiii__)
// and the Extended Digit Length record (parties 7 columns, duration
// hhhh:mm:ss, 101 columns).
var (
	MiVBStandard = MiVBLayout{24, 27, 29, 32, 34, 60, 62, 65, 66, 68, 71, 73, 84, 92}
	MiVBExtended = MiVBLayout{26, 32, 34, 37, 39, 65, 67, 73, 74, 76, 82, 84, 95, 0}
)

// mivbParser reads MiVB / 3300 / SX-2000 SMDR (docs/pbx-formats.md, "Mitel
// MiVoice Business"). Records carry mm/dd and no year: the year is inferred
// from the reading clock.
//
// The start stamp is 12-hour with a "P" after the minutes for pm, or 24-hour,
// by a system option the record does not name. A record with a P, or with hour
// 00 or 13-23, settles which for the rest of the stream; until one is seen
// "12:xx" without P is read as 12-hour, i.e. 00:xx.
type mivbParser struct {
	year  int  // forced year, 0 to infer
	clock int8 // mivbClockUnknown, mivb12Hour or mivb24Hour
	years mivbYears
}

const (
	mivbClockUnknown int8 = iota
	mivb12Hour
	mivb24Hour
)

func (p *mivbParser) parse(line []byte, clock time.Time) (gateway.Call, error) {
	s := string(line)
	t := strings.TrimSpace(s)
	if t == "" || (strings.IndexByte("-=_", t[0]) >= 0 && strings.Trim(t, "-=_ ") == "") {
		return gateway.Call{}, ErrSkip
	}
	// A collector that trims leading blanks drops the empty long-call column.
	if len(s) > 3 && s[2] == '/' && mivbIsDigit(s[0]) && mivbIsDigit(s[1]) {
		s = " " + s
	}
	if len(s) < 30 {
		return gateway.Call{}, errorf("mitel-mivb: record is %d characters, want 90 (101 with extended digits)", len(s))
	}
	if !strings.ContainsRune(" -%+", rune(s[0])) {
		return gateway.Call{}, errorf("mitel-mivb: long-call flag (column 1) %q is not blank, -, %% or +", s[0:1])
	}
	mo, ok1 := mivbTwoDigits(s, 1)
	d, ok2 := mivbTwoDigits(s, 4)
	if !ok1 || !ok2 || s[3] != '/' {
		return gateway.Call{}, errorf("mitel-mivb: date (columns 2-6) %q is not mm/dd", s[1:6])
	}
	h, ok1 := mivbTwoDigits(s, 7)
	mi, ok2 := mivbTwoDigits(s, 10)
	if !ok1 || !ok2 || s[9] != ':' {
		return gateway.Call{}, errorf("mitel-mivb: start time (columns 8-12) %q is not hh:mm", s[7:12])
	}
	// Optional seconds: "hh:mm:ss" shifts the rest of the record by 3.
	sec, shift := 0, 0
	if s[12] == ':' {
		n, ok := mivbTwoDigits(s, 13)
		if !ok {
			return gateway.Call{}, errorf("mitel-mivb: start time (columns 8-15) %q is not hh:mm:ss", s[7:min(len(s), 15)])
		}
		sec, shift = n, 3
	}
	switch flag := s[12+shift]; flag {
	case 'P':
		if h < 1 || h > 12 {
			return gateway.Call{}, errorf("mitel-mivb: start time %02d:%02d P is not a 12-hour time", h, mi)
		}
		p.clock = mivb12Hour
		if h != 12 {
			h += 12
		}
	case ' ', 'A':
		switch {
		case flag == 'A' && (h < 1 || h > 12):
			return gateway.Call{}, errorf("mitel-mivb: start time %02d:%02d A is not a 12-hour time", h, mi)
		case flag == ' ' && (h == 0 || h > 12):
			p.clock = mivb24Hour
		case h == 12 && (flag == 'A' || p.clock != mivb24Hour):
			h = 0 // 12-hour clock: 12:xx without P is just after midnight
		}
	default:
		return gateway.Call{}, errorf("mitel-mivb: pm flag (column %d) %q is not P or blank", 13+shift, s[12+shift:13+shift])
	}
	y := p.years.infer(mo, d, clock, p.year)
	start, ok := civil(y, mo, d, h, mi, sec)
	if !ok {
		return gateway.Call{}, errorf("mitel-mivb: start %q is not a real date and time", s[1:13+shift])
	}

	// Duration: hh:mm:ss (standard) or hhhh:mm:ss (extended digit length)
	// from column 15; its colons tell the two records apart.
	d0 := 14 + shift // 0-based
	var lay MiVBLayout
	var durText string
	switch {
	case len(s) > d0+7 && s[d0+2] == ':' && s[d0+5] == ':':
		lay, durText = MiVBStandard, s[d0:d0+8]
	case len(s) > d0+9 && s[d0+4] == ':' && s[d0+7] == ':':
		lay, durText = MiVBExtended, s[d0:d0+10]
	default:
		field := s[d0:min(len(s), d0+10)]
		if i := strings.IndexByte(field, ' '); i > 0 {
			field = field[:i]
		}
		return gateway.Call{}, errorf("mitel-mivb: duration (from column %d) %q is not hh:mm:ss or hhhh:mm:ss", d0+1, field)
	}
	if durText == "99:99:99" {
		return gateway.Call{}, errorf("mitel-mivb: duration 99:99:99 means 100 hours or more: the real length is not known")
	}
	dur, ok := hms(durText)
	if !ok {
		return gateway.Call{}, errorf("mitel-mivb: duration %q is not hh:mm:ss", durText)
	}
	if shift != 0 {
		lay = lay.Shifted(shift)
	}

	calling := col(s, lay.CallingFrom, lay.CallingTo)
	if calling == "" {
		return gateway.Call{}, errorf("mitel-mivb: calling party (columns %d-%d) is blank", lay.CallingFrom, lay.CallingTo)
	}
	called := col(s, lay.CalledFrom, lay.CalledTo)
	status := col(s, lay.Status, lay.Status)
	xfer := col(s, lay.Transfer, lay.Transfer)
	third := col(s, lay.ThirdFrom, lay.ThirdTo)

	// Time to answer: "***" never answered, digits = ring seconds. The
	// attendant column before it holds '*' or, with Extended Time to
	// Answer, a fourth digit.
	tta := col(s, lay.Attendant, lay.TTATo)
	neverAnswered := strings.HasSuffix(tta, "***")
	var ring *int
	if !neverAnswered {
		tta = strings.TrimLeft(tta, "*")
		if tta != "" {
			n, ok := atoi(strings.TrimSpace(tta))
			if !ok {
				return gateway.Call{}, errorf("mitel-mivb: time to answer (columns %d-%d) %q is not seconds or ***", lay.Attendant, lay.TTATo, tta)
			}
			ring = gateway.Int(n)
		}
	}

	c := gateway.Call{
		Start:       start,
		DurationS:   dur,
		RingS:       ring,
		AccountCode: col(s, lay.AccountFrom, lay.AccountTo),
	}
	digits := mivbDigits(s, lay.DigitsFrom)
	switch {
	case MiVBTrunk(calling):
		c.Direction = gateway.Incoming
		c.Trunk = calling
		c.Dialed = digits
		// The answering station; after a transfer, the station it went to.
		if !MiVBTrunk(called) {
			c.Extension = called
		}
		if (xfer == "T" || xfer == "X" || xfer == "U") && third != "" && !MiVBTrunk(third) && !neverAnswered {
			c.Extension = third
		}
		if lay.ANIFrom != 0 && len(s) >= lay.ANIFrom+9 && s[lay.ANIFrom-2] == ' ' {
			ani, dnis := col(s, lay.ANIFrom, lay.ANIFrom+9), col(s, lay.ANIFrom+11, lay.ANIFrom+20)
			if MiVBNumber(ani) {
				c.CallerID = ani
			}
			if c.Dialed == "" && MiVBNumber(dnis) {
				c.Dialed = dnis
			}
		}
	case MiVBTrunk(called):
		c.Direction = gateway.Outgoing
		c.Trunk = called
		c.Extension = calling
		c.Dialed = digits
	default:
		c.Direction = gateway.Internal
		c.Extension = calling
		c.Dialed = called
		if c.Dialed == "" {
			c.Dialed = digits
		}
	}

	// Answered: "***" and busy / error statuses say no; A (answer
	// supervision) says yes. T is toll denied on an outgoing call and an
	// answer by TAFAS on an incoming one. An outgoing call with no status
	// went out on a trunk without answer supervision: the PBX cannot tell.
	switch {
	case neverAnswered || status == "B" || status == "E":
		c.Answered = gateway.Bool(false)
	case status == "T":
		c.Answered = gateway.Bool(c.Direction != gateway.Outgoing)
	case status == "A" || status == "R":
		c.Answered = gateway.Bool(true)
	case c.Direction == gateway.Outgoing:
		// unknown
	default:
		c.Answered = gateway.Bool(dur > 0 || ring != nil)
	}
	return c, nil
}

// Shifted returns the layout moved n columns right after column 12, for a
// start time printed with seconds (n = 3).
func (l MiVBLayout) Shifted(n int) MiVBLayout {
	l.CallingFrom += n
	l.CallingTo += n
	l.Attendant += n
	l.TTATo += n
	l.DigitsFrom += n
	l.Status += n
	l.CalledFrom += n
	l.CalledTo += n
	l.Transfer += n
	l.ThirdFrom += n
	l.ThirdTo += n
	l.AccountFrom += n
	l.AccountTo += n
	if l.ANIFrom != 0 {
		l.ANIFrom += n
	}
	return l
}

// mivbDigits returns the digits field (26 columns from column from), cleaned.
// With the Meter Pulses option the last 5 columns hold the pulse count (5
// digits with leading zeros) and at most 20 digits are recorded, so column 21
// of the field is blank: digits are left-aligned and never have a gap, so a
// blank 21st column followed by 5 digits can only be the pulse count.
func mivbDigits(s string, from int) string {
	to := from + 25
	if len(s) >= to && s[from+19] == ' ' {
		pulses := s[from+20 : to]
		if _, ok := atoi(pulses); ok && len(pulses) == 5 {
			to = from + 19
		}
	}
	return CleanDigits(col(s, from, to))
}

// MiVBTrunk reports whether a party is a trunk: T (CO trunk) or X (non-CO:
// tie, IP) and a number.
func MiVBTrunk(p string) bool {
	if len(p) < 2 || (p[0] != 'T' && p[0] != 'X') {
		return false
	}
	_, ok := atoi(p[1:])
	return ok
}

// MiVBNumber reports whether s is a non-empty string of digits.
func MiVBNumber(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !mivbIsDigit(s[i]) {
			return false
		}
	}
	return true
}

func mivbIsDigit(c byte) bool { return c >= '0' && c <= '9' }

// mivbTwoDigits reads the 2-digit number at 0-based index i of s.
func mivbTwoDigits(s string, i int) (int, bool) {
	if i+2 > len(s) || !mivbIsDigit(s[i]) || !mivbIsDigit(s[i+1]) {
		return 0, false
	}
	return int(s[i]-'0')*10 + int(s[i+1]-'0'), true
}

// mivbYears remembers the last InferYear answer: records of one stream come
// with the same month/day and reading day over and over.
type mivbYears struct {
	mo, d, year int
	clockDay    time.Time
}

func (c *mivbYears) infer(mo, d int, clock time.Time, forced int) int {
	if forced != 0 {
		return forced
	}
	day := time.Date(clock.Year(), clock.Month(), clock.Day(), 0, 0, 0, 0, time.UTC)
	if c.year == 0 || c.mo != mo || c.d != d || !c.clockDay.Equal(day) {
		c.mo, c.d, c.clockDay, c.year = mo, d, day, InferYear(mo, d, clock, 0)
	}
	return c.year
}
