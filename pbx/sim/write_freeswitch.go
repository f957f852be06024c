package sim

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"callgate/gateway"
	"callgate/pbx"
)

// freeswitchWriter prints FreeSWITCH mod_cdr_csv Master.csv lines in the
// example template (15 quoted fields, local time stamps), LF.
//
// Records: one per call (legs=a), in the vanilla dialplan's terms: incoming
// calls arrive in context public with the answering (or rung) extension as
// destination, outgoing and internal calls are made from context default. A
// transferred call is one record for the extension that had it last. What the
// template does not carry: the trunk, the DID of a call to an extension, the
// ring time of an unanswered call, account codes only when set; and the
// reader takes any number of 5 digits or fewer but 911 for an extension, so
// an outgoing call to such a number reads back as internal. Dialed numbers
// keep the outside-line access code, as dialed.
type freeswitchWriter struct {
	o WriterOptions
}

func newFreeswitchWriter(o WriterOptions) (recordWriter, error) { return &freeswitchWriter{o: o}, nil }

func (w *freeswitchWriter) records(c SimCall) []Record {
	r := simRecord(c, w.o.Location)
	r.Via, r.Trunk = "", ""
	r.CallID = freeswitchUUID(c.ID, 1)
	readerStart(&r, w.o.Location)
	switch c.Direction {
	case gateway.Incoming:
		if r.Extension != "" {
			r.Dialed = ""
		}
	case gateway.Outgoing:
		if !pbx.FreeswitchLeaves(r.Dialed) {
			r.Direction = gateway.Internal
		}
	}
	if !c.Answered {
		r.RingS, r.AnswerS = nil, c.RingS
	}
	return []Record{r}
}

// freeswitchUUID makes a UUID for leg of simulated call id.
func freeswitchUUID(id uint64, leg int) string {
	return fmt.Sprintf("4b1f2c3d-%04x-4e5f-8a9b-%012x", leg, id)
}

func (w *freeswitchWriter) write(dst []byte, r *Record) ([]byte, error) {
	answered, err := answeredOf(r)
	if err != nil {
		return dst, err
	}
	switch {
	case answered != (r.RingS != nil):
		return dst, fmt.Errorf("a FreeSWITCH record shows a ring time (answer - start) exactly when the call was answered")
	case !answered && r.DurationS != 0:
		return dst, fmt.Errorf("an unanswered call has no billsec")
	case r.Trunk != "" || r.Via != "" || r.Continuation:
		return dst, fmt.Errorf("the example template has no trunk and no transfer")
	case r.Direction != gateway.Incoming && r.CallerID != "":
		return dst, fmt.Errorf("only an incoming call has a caller id")
	}
	if err := digitsOnly(field{"dialed number", r.Dialed}, field{"caller id", r.CallerID}, field{"extension", r.Extension}); err != nil {
		return dst, err
	}
	if err := noBlankEdges(field{"account code", r.AccountCode}, field{"call id", r.CallID}); err != nil {
		return dst, err
	}
	var name, caller, dest, context string
	switch r.Direction {
	case gateway.Incoming:
		context, caller, name = "public", r.CallerID, r.CallerID
		switch {
		case r.Extension != "" && r.Dialed != "":
			return dst, fmt.Errorf("the example template names either the extension or the DID of an incoming call, not both")
		case r.Extension != "":
			if pbx.FreeswitchOutside(r.Extension) {
				return dst, fmt.Errorf("the extension %q reads as an outside number", r.Extension)
			}
			dest = r.Extension
		case r.Dialed != "" && !pbx.FreeswitchOutside(r.Dialed):
			return dst, fmt.Errorf("the DID %q reads as an extension", r.Dialed)
		default:
			dest = r.Dialed
		}
	case gateway.Outgoing:
		if !pbx.FreeswitchLeaves(r.Dialed) {
			return dst, fmt.Errorf("the number %q reads as an extension, not an outside number", r.Dialed)
		}
		context, caller, dest, name = "default", r.Extension, r.Dialed, "Ext "+r.Extension
	default:
		if pbx.FreeswitchOutside(r.Dialed) || pbx.FreeswitchOutside(r.Extension) {
			return dst, fmt.Errorf("an internal call is between extensions of 5 digits or fewer")
		}
		context, caller, dest, name = "default", r.Extension, r.Dialed, "Ext "+r.Extension
	}
	const layout = "2006-01-02 15:04:05"
	start := r.Start
	ring := r.answerSecs()
	if start.Year() < 1900 || start.Add(time.Duration(ring+r.DurationS)*time.Second).Year() > 2999 {
		return dst, fmt.Errorf("FreeSWITCH stamps are read for years 1900 to 2999 only")
	}
	answer, cause := "", "NORMAL_CLEARING"
	if answered {
		answer = start.Add(time.Duration(ring) * time.Second).Format(layout)
	} else if r.Direction == gateway.Incoming {
		cause = "ORIGINATOR_CANCEL"
	} else {
		cause = "NO_ANSWER"
	}
	end := start.Add(time.Duration(ring+r.DurationS) * time.Second).Format(layout)
	bleg := ""
	if answered && r.CallID != "" {
		bleg = r.CallID + "-b"
	}
	at := len(dst)
	for i, v := range []string{name, caller, dest, context, start.Format(layout), answer, end,
		strconv.Itoa(ring + r.DurationS), strconv.Itoa(r.DurationS), cause, r.CallID, bleg, r.AccountCode, "PCMU", "PCMU"} {
		if strings.IndexByte(v, '"') >= 0 {
			return dst, fmt.Errorf("mod_cdr_csv does not escape quotes: %q cannot be printed", v)
		}
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = append(dst, v...)
		dst = append(dst, '"')
	}
	if err := fits(dst[at:]); err != nil {
		return dst, err
	}
	return append(dst, '\n'), nil
}
