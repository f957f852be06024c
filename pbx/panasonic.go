package pbx

import (
	"strings"
	"time"

	"callgate/gateway"
)

var panasonic = Format{
	Name: "panasonic",
	Description: "Panasonic KX-TD/TDA/TDE/NCP/NS SMDR: fixed 80 columns (Pattern A, or B with charges), " +
		"end-of-call time hh:mmAM/PM, 2-digit year in the PBX's date order",
	Settings: "PC Maintenance Console (or PT programming) > SMDR: print outgoing and incoming calls; " +
		"format Pattern A (80 columns; Pattern B is read too, the 120-column Pattern C is not); " +
		"print Caller ID and DID information on; any date order (mm/dd/yy, dd/mm/yy, yy/mm/dd: " +
		"the gateway tells them apart). Serial (RS-232, the PBX prints, the gateway listens): baud, word length, " +
		"parity and stop bits as set on the PBX's SMDR port (9600 8N1 is common, some sites 7E2), " +
		"NL code CR+LF or CR. LAN (KX-TDE/NCP/NS): the PBX listens on TCP 2300 for a telnet-style session " +
		"that must first log in (command SMDR, password PCCSMDR by default, per an open-source emulator: " +
		"unverified); tcp-dial sends no login, so prefer the serial port.",
	newParser: func(Options) (recordParser, error) { return &panasonicParser{}, nil },
}

// panasonicOrder is the order of day, month and year in the date column, set
// in the PBX's programming.
type panasonicOrder uint8

const (
	panasonicMDY panasonicOrder = iota + 1 // mm/dd/yy, the factory setting and what the samples use
	panasonicDMY                           // dd/mm/yy
	panasonicYMD                           // yy/mm/dd
)

// panasonicParser reads Panasonic SMDR (docs/pbx-formats.md, "Panasonic").
// Pattern A, 1-based columns: 1-8 date, 10-16 end time hh:mmAM/PM, 18-22
// extension, 24-25 CO line, 27-51 dial number, 53-56 ring m'ss, 58-65 duration
// hh:mm'ss, 67-76 account code, 78-79 condition code. Pattern B (the KX-NS
// Feature Guide's widths: dial number 20, no ring, cost 10) has the same first
// 26 columns, then 27-46 dial number, 48-55 duration, 57-66 cost, 68-77
// account code, 79-80 condition code. The two are told apart by where the
// duration is.
type panasonicParser struct {
	// order is the date order learned from a record that only one order
	// reads as a real date in a recent year (a day above 12, say); 0 until
	// then.
	order panasonicOrder
}

// panasonicLayout gives the columns (1-based, inclusive) that differ between
// Patterns A and B; ring is {0, 0} where the pattern has none.
type panasonicLayout struct {
	dial, ring, dur, acc, cd [2]int
}

var (
	panasonicA = panasonicLayout{dial: [2]int{27, 51}, ring: [2]int{53, 56}, dur: [2]int{58, 65}, acc: [2]int{67, 76}, cd: [2]int{78, 79}}
	panasonicB = panasonicLayout{dial: [2]int{27, 46}, dur: [2]int{48, 55}, acc: [2]int{68, 77}, cd: [2]int{79, 80}}
)

func (p *panasonicParser) parse(line []byte, clock time.Time) (gateway.Call, error) {
	s := strings.TrimRight(string(line), " \t\r\n")
	// Records start with the date. Anything else is the title line, its
	// dashes, a blank skip-perforation line or the LAN session's prompts.
	if s == "" || s[0] < '0' || s[0] > '9' {
		return gateway.Call{}, ErrSkip
	}
	if len(s) < 27 {
		return gateway.Call{}, errorf("panasonic: line of %d characters ends before the dial number (column 27): a call record has 80 columns", len(s))
	}
	f1, f2, f3, ok := panasonicDateFields(s[:8])
	if !ok {
		return gateway.Call{}, errorf("panasonic: date %q in columns 1-8 is not like 11/05/24", s[:8])
	}
	hour, minute, ok := panasonicClock(col(s, 10, 16))
	if !ok {
		return gateway.Call{}, errorf("panasonic: end time %q in columns 10-16 is not like 06:42PM or 18:42", col(s, 10, 16))
	}
	end, ok := p.date(f1, f2, f3, hour, minute, clock)
	if !ok {
		return gateway.Call{}, errorf("panasonic: date %q is not a real date in any date order", s[:8])
	}

	l := panasonicA
	switch {
	case panasonicAt(s, 60) == ':' && panasonicAt(s, 63) == '\'':
	case panasonicAt(s, 50) == ':' && panasonicAt(s, 53) == '\'':
		l = panasonicB
	case len(s) > 100:
		return gateway.Call{}, errorf("panasonic: no duration at columns 58-65 (Pattern A) or 48-55 (Pattern B); 120-column Pattern C records are not read: set the SMDR format to Pattern A")
	}
	ext := col(s, 18, 22)
	co := col(s, 24, 25)
	dial := col(s, l.dial[0], l.dial[1])
	durText := col(s, l.dur[0], l.dur[1])
	cd := col(s, l.cd[0], l.cd[1])

	// KX-TD condition codes RC (an incoming call starts ringing) and AN (it
	// was answered) announce a call whose own record follows; NA (nobody
	// answered) is the record of an unanswered call, with ring time only.
	if cd == "RC" || cd == "AN" {
		return gateway.Call{}, ErrSkip
	}
	var dur int
	if durText == "" {
		if cd != "NA" {
			if !panasonicCallText(dial) {
				// Log-in/log-out, check-in/out, room status, timed
				// reminders: no duration, no call.
				return gateway.Call{}, ErrSkip
			}
			return gateway.Call{}, errorf("panasonic: duration in columns %d-%d is blank; a call record has hh:mm'ss there", l.dur[0], l.dur[1])
		}
	} else if dur, ok = panasonicDuration(durText); !ok {
		return gateway.Call{}, errorf("panasonic: duration %q in columns %d-%d is not hh:mm'ss", durText, l.dur[0], l.dur[1])
	}
	ring := -1
	if l.ring[0] > 0 {
		if r := col(s, l.ring[0], l.ring[1]); r != "" {
			if ring, ok = panasonicRing(r); !ok {
				return gateway.Call{}, errorf("panasonic: ring time %q in columns %d-%d is not m'ss", r, l.ring[0], l.ring[1])
			}
		}
	}

	c := gateway.Call{
		Extension:    ext,
		Trunk:        co,
		AccountCode:  col(s, l.acc[0], l.acc[1]),
		DurationS:    dur,
		Answered:     gateway.Bool(dur > 0),
		Continuation: cd == "TR" || cd == "FW",
	}
	// An extension column of *xxx is a call made with verification code
	// xxx: the code is who is accountable for it.
	if len(ext) > 1 && ext[0] == '*' && c.AccountCode == "" {
		c.AccountCode = ext[1:]
	}
	total := dur
	if ring >= 0 {
		c.RingS = gateway.Int(ring)
		total += ring
	}
	c.StartUTC, c.TimeNote = startFromEnd(end, total, clock.Location())

	switch {
	case strings.HasPrefix(dial, "<I>") || strings.HasPrefix(dial, "<D>"):
		c.Direction = gateway.Incoming
		ddi, cli := "", ""
		if strings.HasPrefix(dial, "<D>") {
			ddi = dial[3:]
			if i := strings.Index(ddi, "<I>"); i >= 0 {
				ddi, cli = ddi[:i], ddi[i+3:]
			}
		} else {
			cli = dial[3:]
		}
		c.Dialed = panasonicNumber(ddi)
		c.CallerID = panasonicNumber(cli)
	case strings.HasPrefix(dial, "<incoming>") || strings.HasPrefix(dial, "<DISA incoming>"):
		// Older KX-TA/TD print the word instead of the caller's number.
		c.Direction = gateway.Incoming
	case len(dial) > 3 && strings.HasPrefix(dial, "EXT") && gateway.IsDigits(dial[3:]):
		c.Direction = gateway.Internal
		c.Dialed = dial[3:]
	case dial == "" && ring >= 0:
		// A ringing time belongs to an incoming call, even without a
		// caller ID.
		c.Direction = gateway.Incoming
	default:
		c.Direction = gateway.Outgoing
		var transferred bool
		c.Dialed, transferred = panasonicDialed(dial)
		c.Continuation = c.Continuation || transferred
	}
	return c, nil
}

// date returns the end of the call from the three 2-digit date fields, read
// in the PBX's date order. The candidates are the orders that give a real
// date with a year from last year to this one (all real readings when none
// does: an old file, a PBX clock set wrong). Then: the learned order; else
// the only candidate (it is learned); else the only candidate within the 14
// days before the reading clock (the PBX prints at the end of the call, so a
// live record is minutes old); else mm/dd/yy, the factory setting; else the
// candidate nearest the reading clock.
func (p *panasonicParser) date(f1, f2, f3, h, mi int, clock time.Time) (time.Time, bool) {
	var cand [4]time.Time // indexed by panasonicOrder
	var valid, recent [4]bool
	nValid, nRecent := 0, 0
	maxYear, minYear := clock.AddDate(0, 0, 1).Year(), clock.Year()-1
	for o := panasonicMDY; o <= panasonicYMD; o++ {
		y, mo, d := f3, f1, f2
		switch o {
		case panasonicDMY:
			d, mo = f1, f2
		case panasonicYMD:
			y, mo, d = f1, f2, f3
		}
		y = expandYear(y, clock)
		t, ok := civil(y, mo, d, h, mi, 0)
		if !ok {
			continue
		}
		cand[o], valid[o] = t, true
		nValid++
		if y >= minYear && y <= maxYear {
			recent[o] = true
			nRecent++
		}
	}
	if nValid == 0 {
		return time.Time{}, false
	}
	if nRecent == 0 {
		recent = valid
		nRecent = nValid
	}
	if p.order != 0 && recent[p.order] {
		return cand[p.order], true
	}
	if nRecent == 1 {
		for o := panasonicMDY; o <= panasonicYMD; o++ {
			if recent[o] {
				p.order = o
				return cand[o], true
			}
		}
	}
	now := WallClock(clock)
	from, to := now.AddDate(0, 0, -14), now.AddDate(0, 0, 1)
	var near panasonicOrder
	inWindow := 0
	for o := panasonicMDY; o <= panasonicYMD; o++ {
		if recent[o] && !cand[o].Before(from) && !cand[o].After(to) {
			if near == 0 || !cand[o].Equal(cand[near]) {
				inWindow++
			}
			near = o
		}
	}
	if inWindow == 1 {
		return cand[near], true
	}
	if recent[panasonicMDY] {
		return cand[panasonicMDY], true
	}
	best := panasonicOrder(0)
	for o := panasonicDMY; o <= panasonicYMD; o++ {
		if recent[o] && (best == 0 || absDuration(cand[o].Sub(now)) < absDuration(cand[best].Sub(now))) {
			best = o
		}
	}
	return cand[best], true
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// panasonicDateFields reads "nn/nn/nn" (or with '.' or '-').
func panasonicDateFields(s string) (a, b, c int, ok bool) {
	if len(s) != 8 || !panasonicDateSep(s[2]) || s[5] != s[2] {
		return 0, 0, 0, false
	}
	a, ok1 := atoi(s[0:2])
	b, ok2 := atoi(s[3:5])
	c, ok3 := atoi(s[6:8])
	return a, b, c, ok1 && ok2 && ok3
}

func panasonicDateSep(c byte) bool { return c == '/' || c == '.' || c == '-' }

// panasonicClock reads the end time: "hh:mmAM", "hh:mmPM" (12-hour clock:
// 12:xxAM is just after midnight, 12:xxPM just after noon), or "hh:mm" when
// the PBX prints the 24-hour clock. The hour may have one digit.
func panasonicClock(s string) (h, m int, ok bool) {
	ampm := ""
	if len(s) > 2 {
		switch s[len(s)-2:] {
		case "AM", "PM", "am", "pm":
			ampm = strings.ToUpper(s[len(s)-2:])
			s = strings.TrimSpace(s[:len(s)-2])
		}
	}
	i := strings.IndexByte(s, ':')
	if i < 1 || i > 2 || len(s) != i+3 {
		return 0, 0, false
	}
	h, ok1 := atoi(s[:i])
	m, ok2 := atoi(s[i+1:])
	if !ok1 || !ok2 || m > 59 {
		return 0, 0, false
	}
	switch ampm {
	case "":
		if h > 23 {
			return 0, 0, false
		}
	case "AM":
		if h > 12 {
			return 0, 0, false
		}
		if h == 12 {
			h = 0
		}
	case "PM":
		if h < 1 || h > 12 {
			return 0, 0, false
		}
		if h != 12 {
			h += 12
		}
	}
	return h, m, true
}

// panasonicDuration reads "hh:mm'ss" into seconds.
func panasonicDuration(s string) (int, bool) {
	if len(s) != 8 || s[2] != ':' || s[5] != '\'' {
		return 0, false
	}
	h, ok1 := atoi(s[0:2])
	m, ok2 := atoi(s[3:5])
	sec, ok3 := atoi(s[6:8])
	if !ok1 || !ok2 || !ok3 || m > 59 || sec > 59 {
		return 0, false
	}
	return h*3600 + m*60 + sec, true
}

// panasonicRing reads "m'ss" (or "mm'ss") into seconds.
func panasonicRing(s string) (int, bool) {
	i := strings.IndexByte(s, '\'')
	if i < 1 || i > 2 || len(s) != i+3 {
		return 0, false
	}
	m, ok1 := atoi(s[:i])
	sec, ok2 := atoi(s[i+1:])
	if !ok1 || !ok2 || sec > 59 {
		return 0, false
	}
	return m*60 + sec, true
}

// panasonicCallText reports whether a dial-number column holds a call's
// number rather than a status text (LOG IN, Check out, Timed Reminder/Start).
func panasonicCallText(s string) bool {
	if s == "" {
		return false
	}
	if strings.HasPrefix(s, "<") || strings.HasPrefix(s, "EXT") {
		return true
	}
	c := s[0]
	return c >= '0' && c <= '9' || c == '*' || c == '#'
}

// panasonicDialed turns an outgoing call's dial number into the number
// dialed. A '-' marks a transferred call: what follows it are digits the
// transfer target entered, not part of the number. Digits before '=' are the
// host PBX's access code, not part of the public number. P (pause), F (EFA
// signal), '#' and blanks are dropped; '.' (secret dialing) and X (privacy)
// stand for digits the PBX does not show and become '?', as digits
// suppressed by other PBXs. A name printed before the number (a speed-dial
// entry's) is dropped.
func panasonicDialed(s string) (dialed string, transferred bool) {
	if i := strings.IndexByte(s, '-'); i >= 0 {
		s, transferred = s[:i], true
	}
	if i := strings.LastIndexByte(s, '='); i >= 0 {
		s = s[i+1:]
	}
	for i := len(s) - 1; i >= 0; i-- {
		if !panasonicDialChar(s[i]) {
			s = s[i+1:]
			break
		}
	}
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < '0' || c > '9' {
			clean = false
			break
		}
	}
	if clean {
		return s, transferred
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case 'P', 'F', '#', ' ':
		case '.', 'X':
			b = append(b, '?')
		default:
			b = append(b, c)
		}
	}
	return string(b), transferred
}

// panasonicDialChar reports whether c may appear in an outgoing dial number.
func panasonicDialChar(c byte) bool {
	switch {
	case c >= '0' && c <= '9':
		return true
	case c == '*' || c == '#' || c == '+' || c == 'P' || c == 'F' || c == 'X' || c == '.' || c == ' ':
		return true
	}
	return false
}

// panasonicNumber returns the number in a caller ID or DDI field, which may
// hold a name, a number or both ("ABC COMPANY12345678", "1234567890 MARY
// WARD"): the longest run of digits, or "" when there is none.
func panasonicNumber(s string) string {
	best, bestLen := 0, 0
	for i := 0; i < len(s); {
		if s[i] < '0' || s[i] > '9' {
			i++
			continue
		}
		j := i
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j-i > bestLen {
			best, bestLen = i, j-i
		}
		i = j
	}
	return s[best : best+bestLen]
}

// panasonicAt returns the byte at 1-based column n of s, or 0 past its end.
func panasonicAt(s string, n int) byte {
	if n < 1 || n > len(s) {
		return 0
	}
	return s[n-1]
}
