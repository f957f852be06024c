package sim

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"callgate/gateway"
	"callgate/pbx"
)

// cx3Writer prints 3CX V20 CDR lines: "Call <historyid>", the default 27
// fields and a trailing comma, UTC stamps, CR LF.
//
// Records: one per call; a transferred call names the front desk in to-dn and
// the room in final-dn (reason-changed ReplacedDst). Trunks are lines 10001,
// 10002, …. What the record does not carry: the DID of incoming calls, the
// ring time (time-answered is printed, the reader does not report it), the
// outside-line access code (3CX needs none: numbers are printed as sent).
type cx3Writer struct {
	o       WriterOptions
	history uint64
}

func newCX3Writer(o WriterOptions) (recordWriter, error) {
	return &cx3Writer{o: o, history: 51200}, nil
}

func (w *cx3Writer) records(c SimCall) []Record {
	r := simRecord(c, w.o.Location)
	stripAccess(&r, c)
	r.RingS, r.AnswerS, r.TimeNote = nil, c.RingS, ""
	r.CallID = fmt.Sprintf("00000C2F%08X_%d", c.ID, c.Trunk)
	if c.Trunk > 0 {
		r.Trunk = strconv.Itoa(10000 + c.Trunk)
	}
	if c.Direction == gateway.Incoming {
		r.Dialed = ""
	}
	return []Record{r}
}

func (w *cx3Writer) write(dst []byte, r *Record) ([]byte, error) {
	answered, err := answeredOf(r)
	if err != nil {
		return dst, err
	}
	switch {
	case r.RingS != nil:
		return dst, fmt.Errorf("the 3CX reader reports no ring time: give it as AnswerS")
	case r.Continuation:
		return dst, fmt.Errorf("3CX prints one record per call")
	case !answered && r.DurationS != 0:
		return dst, fmt.Errorf("an unanswered call has no talk time")
	case r.Direction == gateway.Incoming && r.Dialed != "":
		return dst, fmt.Errorf("3CX records no DID for an incoming call")
	case r.Direction != gateway.Incoming && r.CallerID != "":
		return dst, fmt.Errorf("only an incoming call has a caller id")
	case r.Direction == gateway.Internal && r.Trunk != "":
		return dst, fmt.Errorf("an internal call has no line")
	case pbx.CX3IsExt(r.CallerID):
		return dst, fmt.Errorf("the caller id %q reads as an extension", r.CallerID)
	case r.StartUTC.Year() < 1970:
		return dst, fmt.Errorf("3CX stamps are read from 1970 on")
	}
	if err := digitsOnly(field{"dialed number", r.Dialed}, field{"caller id", r.CallerID}); err != nil {
		return dst, err
	}
	if r.CallID == "" {
		return dst, fmt.Errorf("a 3CX record always has a call id (the reader takes the history id when callid is empty)")
	}
	ext := func(n string) string {
		if n == "" {
			return ""
		}
		return "Ext." + n
	}
	disp := func(n string) string {
		if n == "" || !gateway.IsDigits(n) {
			return n
		}
		return "Ext " + n
	}
	f := make([]string, 27)
	f[pbx.CX3CallID] = r.CallID
	f[pbx.CX3Duration] = hhmmss(r.DurationS)
	start := r.StartUTC.UTC()
	const layout = "2006/01/02 15:04:05"
	f[pbx.CX3TimeStart] = start.Format(layout)
	answerAt := start.Add(time.Duration(r.AnswerS) * time.Second)
	if answered {
		f[pbx.CX3TimeAnswered] = answerAt.Format(layout)
	}
	f[pbx.CX3TimeEnd] = answerAt.Add(time.Duration(r.DurationS) * time.Second).Format(layout)
	f[pbx.CX3ReasonTerminated] = "TerminatedBySrc"
	f[pbx.CX3BillCode] = r.AccountCode
	switch r.Direction {
	case gateway.Incoming:
		first := r.Extension
		if r.Via != "" {
			first = r.Via
			f[pbx.CX3ReasonChanged] = "ReplacedDst"
		}
		f[pbx.CX3FromNo], f[pbx.CX3FromDN], f[pbx.CX3FromType] = r.CallerID, r.Trunk, "Line"
		f[pbx.CX3ToNo], f[pbx.CX3ToDN], f[pbx.CX3ToType] = ext(first), first, "Extension"
		f[pbx.CX3FinalNumber], f[pbx.CX3FinalDN], f[pbx.CX3FinalType] = ext(r.Extension), r.Extension, "Extension"
		f[pbx.CX3DialNo] = first
		f[pbx.CX3Chain] = "Chain: " + r.CallerID + ";" + ext(first) + ";"
		f[23], f[24], f[25] = r.CallerID, disp(first), disp(r.Extension)
	case gateway.Outgoing:
		f[pbx.CX3FromNo], f[pbx.CX3FromDN], f[pbx.CX3FromType] = ext(r.Extension), r.Extension, "Extension"
		f[pbx.CX3ToNo], f[pbx.CX3ToDN], f[pbx.CX3ToType] = r.Dialed, r.Trunk, "Line"
		f[pbx.CX3FinalNumber], f[pbx.CX3FinalDN], f[pbx.CX3FinalType] = r.Dialed, r.Trunk, "Line"
		f[pbx.CX3DialNo] = r.Dialed
		f[pbx.CX3Chain] = "Chain: " + ext(r.Extension) + ";" + r.Dialed + ";"
		f[23], f[24], f[25] = disp(r.Extension), r.Dialed, r.Dialed
	default:
		if r.Via != "" {
			return dst, fmt.Errorf("only an incoming call is printed as transferred")
		}
		f[pbx.CX3FromNo], f[pbx.CX3FromDN], f[pbx.CX3FromType] = ext(r.Extension), r.Extension, "Extension"
		f[pbx.CX3ToNo], f[pbx.CX3ToDN], f[pbx.CX3ToType] = ext(r.Dialed), r.Dialed, "Extension"
		f[pbx.CX3FinalNumber], f[pbx.CX3FinalDN], f[pbx.CX3FinalType] = ext(r.Dialed), r.Dialed, "Extension"
		f[pbx.CX3DialNo] = r.Dialed
		f[pbx.CX3Chain] = "Chain: " + ext(r.Extension) + ";" + ext(r.Dialed) + ";"
		f[23], f[24], f[25] = disp(r.Extension), disp(r.Dialed), disp(r.Dialed)
	}
	for _, v := range f {
		if strings.IndexByte(v, ',') >= 0 || strings.HasPrefix(v, `"`) {
			return dst, fmt.Errorf("%q holds a comma or starts with a quote: 3CX CDR has no quoting", v)
		}
		if err := noSpaceEdges("field", v); err != nil {
			return dst, err
		}
	}
	n := w.history + 1
	at := len(dst)
	dst = fmt.Appendf(dst, "Call %d", n)
	for _, v := range f[1:] {
		dst = append(dst, ',')
		dst = append(dst, v...)
	}
	dst = append(dst, ',')
	if err := fits(dst[at:]); err != nil {
		return dst, err
	}
	dst = append(dst, '\r', '\n')
	w.history = n
	return dst, nil
}
