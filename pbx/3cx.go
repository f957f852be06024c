package pbx

import (
	"strings"
	"time"

	"callgate/gateway"
)

var cx3 = Format{
	Name: "3cx",
	Description: "3CX CDR: CSV in the default 27-field order (V20 adds a \"Call <historyid>\" prefix and a trailing comma), " +
		"one record per call, UTC start/answer/end stamps",
	Settings: "3CX Admin > Settings > CDR (V18: Settings > Call Reporting / CDR): enable CDR; output either " +
		"\"3CX CDR service is client / Active Socket\" with the gateway's IP and pbx.listen's port (pbx.transport tcp-listen), " +
		"\"Passive Socket\" on a port of the 3CX host (pbx.transport tcp-dial), or \"Single file for all calls\" " +
		"(pbx.transport file on .../Data/Logs/CDRLogs/cdr.log). Keep the default field list and order: historyid, callid, " +
		"duration, time-start, time-answered, time-end, reason-terminated, from-no, to-no, from-dn, to-dn, dial-no, " +
		"reason-changed, final-number, final-dn, bill-code, bill-rate, bill-cost, bill-name, chain, from-type, to-type, " +
		"final-type, from-dispname, to-dispname, final-dispname, missed-queue-calls.",
	newParser: func(Options) (recordParser, error) { return &cx3Parser{}, nil },
}

// CX3HistoryID … CX3FinalType are the 3CX (V20) default field positions,
// 0-based, shared by the parser and the simulator's writer.
const (
	CX3HistoryID = iota
	CX3CallID
	CX3Duration
	CX3TimeStart
	CX3TimeAnswered
	CX3TimeEnd
	CX3ReasonTerminated
	CX3FromNo
	CX3ToNo
	CX3FromDN
	CX3ToDN
	CX3DialNo
	CX3ReasonChanged
	CX3FinalNumber
	CX3FinalDN
	CX3BillCode
	CX3BillRate
	CX3BillCost
	CX3BillName
	CX3Chain
	CX3FromType
	CX3ToType
	CX3FinalType
)

// cx3MinFields is the fewest fields a record may have: up to final-dn. Some
// sites drop the tail of the list (bill-*, chain, types, names).
const cx3MinFields = CX3FinalDN + 1

// cx3Parser reads 3CX CDR records in the default field order.
//
// Times are UTC ("YYYY/MM/DD HH:MM:SS"): time-start is the start (ringing
// included) and sets StartUTC. Duration is the talk time (hh:mm:ss);
// answered is whether time-answered is set.
//
// Direction comes from the party types, "Line" (V20 may also write
// ExternalLine) being a trunk: from-type Line → in; else to-type or
// final-type Line → out; else internal. Records without the type fields fall
// back to the numbers: an external from-no (no "Ext." prefix) → in, an
// external to-no or final-number → out.
//
// Extension: from-dn for out and internal; for in the final-dn (the party
// that ended up with the call, after transfers and queues), else to-dn —
// never a Line DN. "Ext." prefixes are removed. Dialed: out → to-no (the
// destination number; dial-no, the digits as the user keyed them, when to-no
// is empty), or final-number when only the final party is a line; internal
// → to-dn; in → "" (3CX records no DID: its dial-no on incoming calls is the
// inbound rule's internal destination). Trunk: the Line's DN. CallerID:
// from-no of an incoming call. Account code: bill-code. CallID: callid, else
// historyid. One record per call: never a continuation.
type cx3Parser struct {
	csv csvLines
}

func (p *cx3Parser) parse(line []byte, _ time.Time) (gateway.Call, error) {
	f, ok := p.csv.split(line)
	if f == nil {
		return gateway.Call{}, ErrSkip
	}
	if !ok || len(f) < cx3MinFields {
		return gateway.Call{}, errorf("3cx: %d fields, want the 27 of the default CDR field list", len(f))
	}
	for i := range f {
		f[i] = strings.TrimSpace(f[i])
	}
	hist := f[CX3HistoryID]
	if strings.HasPrefix(hist, "Call ") {
		hist = strings.TrimSpace(hist[5:])
	}
	if !gateway.IsDigits(hist) && hist != "" {
		return gateway.Call{}, errorf("3cx: historyid %q is not a number (is the CDR field order the default one?)", f[CX3HistoryID])
	}
	start, ok := cx3Time(f[CX3TimeStart])
	if !ok {
		return gateway.Call{}, errorf("3cx: time-start %q is not YYYY/MM/DD HH:MM:SS", f[CX3TimeStart])
	}
	dur, ok := cx3Talk(f[CX3Duration])
	if !ok {
		return gateway.Call{}, errorf("3cx: duration %q is not hh:mm:ss", f[CX3Duration])
	}
	answered := f[CX3TimeAnswered] != ""
	if answered {
		if _, ok := cx3Time(f[CX3TimeAnswered]); !ok {
			return gateway.Call{}, errorf("3cx: time-answered %q is not YYYY/MM/DD HH:MM:SS", f[CX3TimeAnswered])
		}
	}
	c := gateway.Call{
		StartUTC:    start,
		DurationS:   dur,
		Answered:    gateway.Bool(answered),
		AccountCode: cx3Field(f, CX3BillCode),
		CallID:      f[CX3CallID],
	}
	if c.CallID == "" {
		c.CallID = hist
	}

	fromType, toType, finalType := cx3Field(f, CX3FromType), cx3Field(f, CX3ToType), cx3Field(f, CX3FinalType)
	fromNo, toNo, finalNo := f[CX3FromNo], f[CX3ToNo], f[CX3FinalNumber]
	fromDN, toDN, finalDN := f[CX3FromDN], f[CX3ToDN], f[CX3FinalDN]
	var fromLine, toLine, finalLine bool
	if fromType != "" || toType != "" || finalType != "" {
		fromLine, toLine, finalLine = cx3IsLine(fromType), cx3IsLine(toType), cx3IsLine(finalType)
	} else {
		// No type fields: an external number has no "Ext." prefix.
		fromLine = fromNo != "" && !CX3IsExt(fromNo)
		toLine = toNo != "" && !CX3IsExt(toNo)
		finalLine = finalNo != "" && !CX3IsExt(finalNo)
	}
	switch {
	case fromLine:
		c.Direction = gateway.Incoming
		c.Trunk = fromDN
		c.CallerID = CleanDigits(cx3StripExt(fromNo))
		switch {
		case finalDN != "" && !finalLine:
			c.Extension = finalDN
		case toDN != "" && !toLine:
			c.Extension = toDN
		}
	case toLine:
		c.Direction = gateway.Outgoing
		c.Trunk = toDN
		c.Extension = cx3Party(fromDN, fromNo)
		c.Dialed = CleanDigits(toNo)
		if c.Dialed == "" {
			c.Dialed = CleanDigits(f[CX3DialNo])
		}
	case finalLine:
		c.Direction = gateway.Outgoing
		c.Trunk = finalDN
		c.Extension = cx3Party(fromDN, fromNo)
		c.Dialed = CleanDigits(finalNo)
	default:
		c.Direction = gateway.Internal
		c.Extension = cx3Party(fromDN, fromNo)
		c.Dialed = cx3Party(toDN, toNo)
		if c.Dialed == "" {
			c.Dialed = CleanDigits(f[CX3DialNo])
		}
	}
	return c, nil
}

// cx3Field returns field i, or "" when the record is shorter.
func cx3Field(f []string, i int) string {
	if i < len(f) {
		return f[i]
	}
	return ""
}

// cx3IsLine reports whether a party type is a trunk.
func cx3IsLine(t string) bool {
	return strings.EqualFold(t, "Line") || strings.EqualFold(t, "ExternalLine")
}

// CX3IsExt reports whether a from-no / to-no names an extension (Ext.101);
// the simulator refuses a caller number the parser would take for one.
func CX3IsExt(n string) bool { return len(n) > 4 && strings.EqualFold(n[:4], "Ext.") }

func cx3StripExt(n string) string {
	if CX3IsExt(n) {
		return n[4:]
	}
	return n
}

// cx3Party returns a party's DN, or its number without "Ext." when the DN is
// empty.
func cx3Party(dn, no string) string {
	if dn != "" {
		return dn
	}
	return CleanDigits(cx3StripExt(no))
}

// cx3Time parses "YYYY/MM/DD HH:MM:SS" (also with '-' between the date parts,
// a 'T' before the time, and fractional seconds, which are dropped) as UTC.
// Years before 1970 are refused: no 3CX ever wrote one.
func cx3Time(s string) (time.Time, bool) {
	if i := strings.IndexByte(s, '.'); i == 19 {
		s = s[:19]
	}
	if len(s) != 19 || (s[4] != '/' && s[4] != '-') || s[7] != s[4] || (s[10] != ' ' && s[10] != 'T') || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	t, y, ok := stamp19(s)
	if !ok || y < 1970 {
		return time.Time{}, false
	}
	return t, true // civil's times are in time.UTC: here that is what they mean
}

// cx3Talk parses the talk time "hh:mm:ss" (any number of hour digits; a
// fractional second is rounded).
func cx3Talk(s string) (int, bool) {
	round := 0
	if i := strings.IndexByte(s, '.'); i >= 0 {
		frac := s[i+1:]
		if _, ok := atoi(frac); !ok {
			return 0, false
		}
		if frac[0] >= '5' {
			round = 1
		}
		s = s[:i]
	}
	if strings.Count(s, ":") != 2 {
		return 0, false
	}
	n, ok := hms(s)
	return n + round, ok
}
