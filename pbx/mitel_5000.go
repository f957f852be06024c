package pbx

import (
	"strings"
	"time"

	"callgate/gateway"
)

var mitel5000 = Format{
	Name: "mitel-5000",
	Description: "Mitel 5000 CP / MiVoice Office 250 / Inter-Tel Axxess SMDR: fixed 80-column records with no date " +
		"(dated by the reading clock), 24-hour start HH:MM; 4-byte length-prefixed frames on its socket",
	Settings: "System programming, SMDR: enable it and the records wanted (incoming, local, toll, international, " +
		"free, ring-in diagnostics); O/I or OP/INT and elapsed time as HH:MM:SS or in seconds (S=nnnnnn) are all read. " +
		"Output to a serial port (pbx.transport serial) or to the SMDR socket, which the gateway opens " +
		"(pbx.transport tcp-dial, pbx.dial <system IP>:4000 as in public collectors; check the port on site) and logs " +
		"in to with the SMDR password frame. Keep the PBX clock right: records carry no date.",
	LengthPrefixed: true,
	newParser:      func(Options) (recordParser, error) { return &m5000Parser{}, nil },
}

// m5000Parser reads Mitel 5000 / MiVoice Office 250 SMDR (docs/pbx-formats.md,
// "Mitel 5000"). Columns, 1-based: 1-3 TYP, 5-9 EXT# (last endpoint; *****
// unanswered ring-in), 11-15 TRUNK, 17-44 dialed digits (28; '>' at the end =
// more were dialed), 46-50 START HH:MM, 52-59 ELAPSED HH:MM:SS (or S=nnnnnn),
// 61-66 COST, 68-79 ACCOUNT CODE, 80 '*' (trunk hung up first).
//
// The record has no date: the call is dated by the reading clock, on the day
// before when its start is more than an hour after the clock's time of day
// (a record read just after midnight, or a buffer replayed, started before
// midnight; the hour of slack allows for a PBX clock a little ahead).
type m5000Parser struct{}

func (p *m5000Parser) parse(line []byte, clock time.Time) (gateway.Call, error) {
	s := string(line)
	t := strings.TrimSpace(s)
	if t == "" || (strings.IndexByte("-=_", t[0]) >= 0 && strings.Trim(t, "-=_ ") == "") || strings.HasPrefix(t, "TYP") {
		return gateway.Call{}, ErrSkip
	}
	typ := col(s, 1, 3)
	startText := col(s, 46, 50)
	h, ok1 := mivbTwoDigits(startText, 0)
	mi, ok2 := mivbTwoDigits(startText, 3)
	if len(startText) != 5 || !ok1 || !ok2 || startText[2] != ':' || h > 23 || mi > 59 {
		return gateway.Call{}, errorf("mitel-5000: start (columns 46-50) %q is not HH:MM", startText)
	}
	elapsedText := col(s, 52, 59)
	elapsed, ok := m5000Elapsed(elapsedText)
	if !ok {
		return gateway.Call{}, errorf("mitel-5000: elapsed time (columns 52-59) %q is not HH:MM:SS or S=nnnnnn", elapsedText)
	}
	day := m5000Day(h, mi, clock)
	start, ok := civil(day.Year(), int(day.Month()), day.Day(), h, mi, 0)
	if !ok {
		return gateway.Call{}, errorf("mitel-5000: start %02d:%02d is not a time of day", h, mi)
	}
	ext := col(s, 5, 9)
	unanswered := strings.Trim(ext, "*") == "" && ext != ""
	if unanswered {
		ext = ""
	}
	digits := col(s, 17, 44)
	// A ring-in diagnostic record prints "Ring..." before the trunk's DID /
	// DNIS digits; its elapsed time is how long the call rang.
	ringIn := len(digits) >= 4 && strings.EqualFold(digits[:4], "RING")
	if ringIn {
		digits = strings.TrimLeft(digits[4:], ". ")
	}
	digits = CleanDigits(strings.TrimSuffix(strings.TrimSpace(digits), ">"))

	c := gateway.Call{
		Start:       start,
		DurationS:   elapsed,
		Trunk:       col(s, 11, 15),
		AccountCode: col(s, 68, 79),
		Extension:   ext,
		Answered:    gateway.Bool(!unanswered),
	}
	switch typ {
	case "LOC", "TLC", "TLD", "O/I", "OP", "INT", "000":
		c.Direction = gateway.Outgoing
		c.Dialed = digits
	case "CNF":
		// The trunk's direction is not printed and the digits name the
		// endpoint that brought the trunk into the conference, not a
		// number: out with no number, for a person to look at.
		c.Direction = gateway.Outgoing
	case "NET":
		// A call over the private network to another node.
		c.Direction = gateway.Internal
		c.Dialed = digits
	case "IN":
		// Non-DID trunks show the outside party's number (Caller ID / ANI).
		c.Direction = gateway.Incoming
		c.CallerID = digits
	case "DID", "DSA":
		c.Direction = gateway.Incoming
		c.Dialed = digits
	default:
		return gateway.Call{}, errorf("mitel-5000: call type (columns 1-3) %q is not LOC, TLC, TLD, O/I, OP, INT, 000, DSA, CNF, DID, IN or NET", typ)
	}
	if unanswered || ringIn {
		// ELAPSED is ring time here, not talk time.
		c.RingS = gateway.Int(elapsed)
		c.DurationS = 0
		// A diagnostic for an answered call goes with that call's own record.
		c.Continuation = ringIn && !unanswered
	}
	return c, nil
}

// m5000Elapsed parses ELAPSED: HH:MM:SS, S=nnnnnn (the seconds option), or
// H:MM (that option's form for 1,000,000 s and more, so 277 hours and up).
func m5000Elapsed(s string) (int, bool) {
	switch {
	case strings.HasPrefix(s, "S="):
		return atoi(strings.TrimSpace(s[2:]))
	case len(s) == 8 && s[2] == ':' && s[5] == ':':
		return hms(s)
	case strings.Count(s, ":") == 1:
		i := strings.IndexByte(s, ':')
		h, ok1 := atoi(s[:i])
		m, ok2 := atoi(s[i+1:])
		return h*3600 + m*60, ok1 && ok2 && len(s)-i == 3 && m < 60
	}
	return 0, false
}

// m5000Day returns the date of a call that started at h:mi by the PBX's clock,
// for a record read at clock: the clock's date, or the day before when the
// start is more than an hour after the clock's time of day.
func m5000Day(h, mi int, clock time.Time) time.Time {
	day := time.Date(clock.Year(), clock.Month(), clock.Day(), 0, 0, 0, 0, time.UTC)
	if h*60+mi > clock.Hour()*60+clock.Minute()+60 {
		day = day.AddDate(0, 0, -1)
	}
	return day
}
