package sim

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"callgate/gateway"
	"callgate/pbx"
)

// asteriskWriter prints Asterisk cdr_csv Master.csv lines with loguniqueid,
// loguserfield and newcdrcolumns on (21 fields), LF, in local time
// (asterisk) or UTC (asterisk-utc, usegmtime=yes).
//
// Records: one per call, on a FreePBX-like site: phones PJSIP/<extension>,
// the trunk PJSIP/sip-provider, outgoing calls from context from-internal,
// incoming ones into from-pstn. A transferred call is two records sharing the
// linkedid: the front desk's (the first, which the reader cannot tell from a
// whole call) and the room's, from the transfer on (no ring). Unanswered
// calls are NO ANSWER with their ring time as duration. Everything the
// simulator generates survives, ring time included; dialed numbers keep the
// outside-line access code, as dialed. A withheld caller is src anonymous.
type asteriskWriter struct {
	o   WriterOptions
	utc bool
	seq uint64
	// seen mirrors the reader's set of call ids, to refuse a whole call that
	// the reader would take for a continuation.
	seen map[string]bool
}

func newAsteriskWriter(o WriterOptions) (recordWriter, error) { return &asteriskWriter{o: o}, nil }
func newAsteriskUTCWriter(o WriterOptions) (recordWriter, error) {
	return &asteriskWriter{o: o, utc: true}, nil
}

// asteriskTrunk is the simulated site's SIP trunk.
const asteriskTrunk = "sip-provider"

func (w *asteriskWriter) records(c SimCall) []Record {
	loc := w.o.Location
	recs := simSegments(c, loc)
	id := fmt.Sprintf("%d.%d", c.Start.Unix(), c.ID)
	for i := range recs {
		r := &recs[i]
		r.CallID, r.Via, r.AnswerS, r.Last = id, "", 0, false
		if c.Direction != gateway.Internal {
			r.Trunk = asteriskTrunk
		}
		if i == 0 {
			r.Continuation = false
		} else {
			at := c.Start.Add(time.Duration(c.RingS+c.TransferAfterS) * time.Second)
			r.StartUTC, r.Start = at.UTC(), wallIn(at, loc)
		}
		if w.utc {
			r.TimeNote = ""
		} else {
			readerStart(r, loc)
		}
	}
	return recs
}

func (w *asteriskWriter) write(dst []byte, r *Record) ([]byte, error) {
	answered, err := answeredOf(r)
	if err != nil {
		return dst, err
	}
	switch {
	case answered && r.RingS == nil:
		return dst, fmt.Errorf("an answered Asterisk record always shows its ring time (answer - start)")
	case !answered && r.DurationS != 0:
		return dst, fmt.Errorf("an unanswered call has no billsec")
	case r.Direction != gateway.Incoming && r.CallerID != "":
		return dst, fmt.Errorf("only an incoming call has a caller id")
	case r.Continuation && r.CallID == "":
		return dst, fmt.Errorf("a continuation record needs the call's linkedid")
	case !r.Continuation && w.seen[r.CallID]:
		return dst, fmt.Errorf("call id %q was printed before: the reader would take this record for a continuation", r.CallID)
	case r.Via != "":
		return dst, fmt.Errorf("an Asterisk record has no transferring extension")
	}
	if err := digitsOnly(field{"dialed number", r.Dialed}, field{"caller id", r.CallerID}); err != nil {
		return dst, err
	}
	if err := noBlankEdges(field{"account code", r.AccountCode}, field{"call id", r.CallID}, field{"extension", r.Extension}); err != nil {
		return dst, err
	}
	// A trunk is a PJSIP endpoint named with a letter, or (outgoing, to a
	// number of more than 5 digits) a numbered DAHDI line.
	dahdi := r.Direction == gateway.Outgoing && gateway.IsDigits(r.Trunk) && len(r.Dialed) > 5
	if r.Trunk != "" && ((gateway.IsDigits(r.Trunk) && !dahdi) || strings.ContainsAny(r.Trunk, `/@,;&|" `)) {
		return dst, fmt.Errorf("the trunk %q cannot be a PJSIP endpoint name with a letter", r.Trunk)
	}

	seq := w.seq + 1
	chanOf := func(peer string, n uint64) string {
		return fmt.Sprintf("PJSIP/%s-%08x", peer, n)
	}
	var src, dst2, dcontext, clid, channel, dstchannel, lastdata string
	switch r.Direction {
	case gateway.Outgoing:
		if r.Trunk == "" {
			return dst, fmt.Errorf("an outgoing Asterisk record needs its trunk")
		}
		src, dst2, dcontext = r.Extension, r.Dialed, "from-internal"
		if gateway.IsDigits(r.Extension) {
			channel = chanOf(r.Extension, 2*seq)
		} else if pbx.CleanDigits(r.Extension) != r.Extension {
			return dst, fmt.Errorf("the extension %q is not a number", r.Extension)
		}
		clid = fmt.Sprintf(`"Ext %s" <%s>`, r.Extension, r.Extension)
		dstchannel = chanOf(r.Trunk, 2*seq+1)
		lastdata = "PJSIP/" + r.Dialed + "@" + r.Trunk + ",60"
		if dahdi {
			dstchannel = "DAHDI/" + r.Trunk + "-1"
			lastdata = "DAHDI/g0/" + r.Dialed + ",60"
		}
	case gateway.Incoming:
		dcontext = "from-pstn"
		if r.Trunk != "" {
			channel = chanOf(r.Trunk, 2*seq)
		}
		switch {
		case r.Extension == "":
		case gateway.IsDigits(r.Extension):
			dstchannel = chanOf(r.Extension, 2*seq+1)
		default:
			return dst, fmt.Errorf("the extension %q is not a number", r.Extension)
		}
		src, clid = r.CallerID, fmt.Sprintf(`"%s" <%s>`, r.CallerID, r.CallerID)
		if r.CallerID == "" {
			src, clid = "anonymous", `"Anonymous" <anonymous>`
		} else if !pbx.AsteriskNumber(r.CallerID) {
			return dst, fmt.Errorf("the caller id %q is not a number", r.CallerID)
		}
		dst2 = r.Dialed
		if r.Dialed == "" {
			dst2 = "s"
		} else if !pbx.AsteriskNumber(r.Dialed) {
			return dst, fmt.Errorf("the DID %q is not a number", r.Dialed)
		}
		if dstchannel != "" {
			lastdata = "PJSIP/" + r.Extension + ",20"
		}
	default:
		if r.Trunk != "" {
			return dst, fmt.Errorf("an internal call has no trunk")
		}
		src, dst2, dcontext = r.Extension, r.Dialed, "from-internal"
		if gateway.IsDigits(r.Extension) {
			channel = chanOf(r.Extension, 2*seq)
		} else if pbx.CleanDigits(r.Extension) != r.Extension {
			return dst, fmt.Errorf("the extension %q is not a number", r.Extension)
		}
		if gateway.IsDigits(r.Dialed) {
			dstchannel = chanOf(r.Dialed, 2*seq+1)
		}
		clid = fmt.Sprintf(`"Ext %s" <%s>`, r.Extension, r.Extension)
		if dstchannel != "" {
			lastdata = "PJSIP/" + r.Dialed + ",20"
		}
	}

	ring := r.AnswerS
	if r.RingS != nil {
		ring = *r.RingS
	}
	var start time.Time
	if w.utc {
		start = r.StartUTC.UTC()
	} else {
		start = r.Start
	}
	if start.Year() < 1900 || start.Add(time.Duration(ring+r.DurationS)*time.Second).Year() > 2999 {
		return dst, fmt.Errorf("Asterisk stamps years 1900 to 2999 only")
	}
	const layout = "2006-01-02 15:04:05"
	answer := ""
	disposition := "ANSWERED"
	duration := ring + r.DurationS
	switch {
	case answered:
		answer = start.Add(time.Duration(ring) * time.Second).Format(layout)
	case r.RingS != nil:
		disposition = "NO ANSWER"
	default:
		disposition = "BUSY"
	}
	end := start.Add(time.Duration(duration) * time.Second).Format(layout)
	unique, linked := r.CallID, r.CallID
	if r.Continuation {
		unique = asteriskSegmentID(r.CallID)
	}

	q := func(b []byte, s string) []byte {
		b = append(b, '"')
		b = append(b, strings.ReplaceAll(s, `"`, `""`)...)
		return append(b, '"', ',')
	}
	at := len(dst)
	dst = q(dst, r.AccountCode)
	dst = q(dst, src)
	dst = q(dst, dst2)
	dst = q(dst, dcontext)
	dst = q(dst, clid)
	dst = q(dst, channel)
	dst = q(dst, dstchannel)
	dst = q(dst, "Dial")
	dst = q(dst, lastdata)
	dst = q(dst, start.Format(layout))
	if answer != "" {
		dst = q(dst, answer)
	} else {
		dst = append(dst, ',')
	}
	dst = q(dst, end)
	dst = strconv.AppendInt(dst, int64(duration), 10)
	dst = append(dst, ',')
	dst = strconv.AppendInt(dst, int64(r.DurationS), 10)
	dst = append(dst, ',')
	dst = q(dst, disposition)
	dst = q(dst, "DOCUMENTATION")
	dst = q(dst, unique)
	dst = q(dst, "")
	dst = q(dst, "")
	dst = q(dst, linked)
	dst = strconv.AppendUint(dst, seq, 10)
	if err := fits(dst[at:]); err != nil {
		return dst, err
	}
	dst = append(dst, '\n')
	w.seq = seq

	if r.CallID != "" {
		if w.seen == nil || len(w.seen) >= pbx.AsteriskMaxSeen {
			w.seen = make(map[string]bool)
		}
		w.seen[r.CallID] = true
	}
	return dst, nil
}

// asteriskSegmentID returns a uniqueid for a later record of the call whose
// linkedid is id: the next sequence number after id's ("1730852002.104"
// after "1730852002.103"), else id with "-2".
func asteriskSegmentID(id string) string {
	if dot := strings.LastIndexByte(id, '.'); dot >= 0 {
		if n, err := strconv.ParseUint(id[dot+1:], 10, 32); err == nil {
			return id[:dot+1] + strconv.FormatUint(n+1, 10)
		}
	}
	return id + "-2"
}
