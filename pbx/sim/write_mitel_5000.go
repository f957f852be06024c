package sim

import (
	"encoding/binary"
	"fmt"
	"strings"

	"callgate/gateway"
	"callgate/pbx"
)

// m5000Writer prints Mitel 5000 / MiVoice Office 250 SMDR: 80 columns, CR
// LF, each record a 4-byte little-endian length-prefixed frame when
// WriterOptions.Framed (the SMDR socket), plain lines otherwise (the serial
// port).
//
// Records: one per call, stamped with its start to the minute and no date.
// Internal calls and unanswered outgoing attempts print nothing (the 5000
// records trunk calls; an outgoing call is recorded once connected). An
// incoming call on a DID trunk is type DID with the DID digits (the caller's
// number is not printed then); an unanswered one shows ***** and its ring
// time as the elapsed time. A transferred call is one record for the last
// extension that had it. Outgoing calls are typed from the number by the dial
// plan (LOC, TLD, O/I, 000) and printed as the ARS sent them: without the
// outside-line access code, NANP numbers hyphenated (617-555-0134). What the
// record does not carry: the date (taken from the reading clock), the seconds
// of the start, ring time of answered calls, the extension of an unanswered
// call, account codes longer than 12 characters, a call id. Trunks are
// 92001, 92002, ….
type m5000Writer struct {
	o WriterOptions
}

func newM5000Writer(o WriterOptions) (recordWriter, error) { return &m5000Writer{o: o}, nil }

func (w *m5000Writer) records(c SimCall) []Record {
	loc := w.o.Location
	r, ok := trunkRecord(c, loc)
	if !ok {
		return nil
	}
	r.Trunk = fmt.Sprintf("92%03d", c.Trunk)
	r.RingS = nil
	if c.Direction == gateway.Incoming {
		if r.Dialed != "" {
			r.CallerID = ""
		}
		if !c.Answered {
			r.Extension = ""
			r.RingS = gateway.Int(c.RingS)
		}
	}
	startToMinute(&r, loc)
	return []Record{r}
}

func (w *m5000Writer) write(dst []byte, r *Record) ([]byte, error) {
	answered, err := answeredOf(r)
	if err != nil {
		return dst, err
	}
	if r.CallID != "" || r.Via != "" {
		return dst, fmt.Errorf("a Mitel 5000 record carries no call id and no transferring extension")
	}
	for _, v := range []struct{ what, s string }{{"dialed number", r.Dialed}, {"caller id", r.CallerID}} {
		if pbx.CleanDigits(v.s) != v.s || strings.HasSuffix(v.s, ">") || (len(v.s) >= 4 && strings.EqualFold(v.s[:4], "ring")) {
			return dst, fmt.Errorf("the %s %q holds characters the parser reads as decoration", v.what, v.s)
		}
	}
	if err := noBlankEdges(field{"extension", r.Extension}, field{"trunk", r.Trunk}, field{"account code", r.AccountCode}); err != nil {
		return dst, err
	}
	if r.Extension != "" && strings.Trim(r.Extension, "*") == "" {
		return dst, fmt.Errorf("the extension %q reads as the unanswered mark", r.Extension)
	}

	var typ, digits string
	switch r.Direction {
	case gateway.Outgoing:
		typ, digits = w.callType(r.Dialed), m5000Hyphens(r.Dialed, w.o.Plan)
	case gateway.Internal:
		typ, digits = "NET", r.Dialed
	default:
		switch {
		case r.Dialed != "" && r.CallerID != "":
			return dst, fmt.Errorf("a Mitel 5000 record prints either the caller's number (IN) or the DID (DID), not both")
		case r.Dialed != "":
			typ, digits = "DID", r.Dialed
		default:
			typ, digits = "IN", r.CallerID
		}
	}
	if r.Direction != gateway.Incoming && r.CallerID != "" {
		return dst, fmt.Errorf("only an incoming call has a caller id")
	}

	ext, elapsed := r.Extension, r.DurationS
	switch {
	case !answered:
		if r.Extension != "" || r.RingS == nil || r.DurationS != 0 || r.Continuation {
			return dst, fmt.Errorf("an unanswered Mitel 5000 record is ***** with its ring time and nothing else")
		}
		ext, elapsed = "*****", *r.RingS
	case r.Continuation:
		if r.RingS == nil || r.DurationS != 0 {
			return dst, fmt.Errorf("a Mitel 5000 ring-in record holds the ring time only")
		}
		elapsed, digits = *r.RingS, "Ring..."+digits
	case r.RingS != nil:
		return dst, fmt.Errorf("a Mitel 5000 call record prints no ring time")
	}
	if typ == "CNF" && digits != "" {
		return dst, fmt.Errorf("a conference record has no number")
	}
	var elapsedText string
	switch {
	case elapsed < 100*3600:
		elapsedText = hhmmss(elapsed)
	case elapsed <= 999999:
		elapsedText = fmt.Sprintf("S=%06d", elapsed)
	case elapsed%60 == 0 && elapsed/3600 <= 99999:
		elapsedText = fmt.Sprintf("%d:%02d", elapsed/3600, elapsed/60%60) // the seconds option's H:MM
	default:
		return dst, fmt.Errorf("elapsed time %d s is more than the record holds", elapsed)
	}

	f := newFixed(80)
	f.left(1, 3, typ, "call type")
	f.left(5, 9, ext, "extension")
	f.left(11, 15, r.Trunk, "trunk")
	f.left(17, 44, digits, "dialed digits")
	f.left(46, 50, r.Start.Format("15:04"), "start")
	f.left(52, 59, elapsedText, "elapsed time")
	f.left(68, 79, r.AccountCode, "account code")
	if f.err != nil {
		return dst, f.err
	}
	if w.o.Framed {
		dst = binary.LittleEndian.AppendUint32(dst, uint32(len(f.b)+2))
	}
	dst = append(dst, f.b...)
	return append(dst, '\r', '\n'), nil
}

// callType is the TYP of an outgoing call to number n: 000 free (emergency,
// toll-free), O/I international, TLD long distance, LOC local; CNF when there
// is no number (a trunk added to a conference).
func (w *m5000Writer) callType(n string) string {
	p := &w.o.Plan
	if n == "" {
		return "CNF"
	}
	if p.Access != "" && strings.HasPrefix(n, p.Access) && len(n) > len(p.Access)+3 {
		n = n[len(p.Access):]
	}
	for _, e := range p.Emergency {
		if n == e {
			return "000"
		}
	}
	switch {
	case strings.HasPrefix(n, p.International):
		return "O/I"
	case p.National != "" && strings.HasPrefix(n, p.National):
		for _, t := range p.TollFree {
			if len(t) > 3 {
				t = t[:3]
			}
			if strings.HasPrefix(n[len(p.National):], t) {
				return "000"
			}
		}
		return "TLD"
	}
	return "LOC"
}

// m5000Hyphens writes a NANP number the way the 5000 prints what ARS sent:
// 555-0134, 617-555-0134, 1-617-555-0134; other numbers as they are.
func m5000Hyphens(n string, p DialPlan) string {
	if p.Country != "1" || !pbx.MiVBNumber(n) {
		return n
	}
	switch len(n) {
	case 7:
		return n[:3] + "-" + n[3:]
	case 10:
		return n[:3] + "-" + n[3:6] + "-" + n[6:]
	case 11:
		if n[0] == '1' {
			return "1-" + n[1:4] + "-" + n[4:7] + "-" + n[7:]
		}
	}
	return n
}
