package fias

import (
	"strconv"
	"strings"

	"callgate/gateway"
)

// MaxPostingNumber is the largest FIAS P# (8 digits since FIAS 2.20; legacy
// IFC7 sites take 4).
const MaxPostingNumber = 99999999

// DefaultCallTypes maps tariff classes to the FIAS posting call type (PC).
// FIAS has no code table for PC; its examples use I, N and L. A class not
// listed is posted without PC.
var DefaultCallTypes = map[string]string{
	"local":         "L",
	"national":      "N",
	"international": "I",
	"mobile":        "M",
}

// buildPS writes a posting request as a PS record (posting simple, type C:
// the gateway priced the call), with fields in the order of the link's LR
// for PS: RN PT TA DA TI DU DD PC PX SO P# CT. An error is of kind invalid:
// the request cannot be posted as it is.
func (l *Link) buildPS(p gateway.PostRequest) (Record, error) {
	invalid := func(format string, args ...any) (Record, error) {
		return Record{}, gateway.Errorf(gateway.KindInvalid, "posting %d: "+format, append([]any{p.Number}, args...)...)
	}
	if p.Number < 1 || p.Number > MaxPostingNumber {
		return invalid("the posting number must be from 1 to %d (FIAS P#)", MaxPostingNumber)
	}
	if p.Room == "" || Clean(p.Room) != p.Room || strings.TrimSpace(p.Room) != p.Room {
		return invalid("room %q is empty or holds a character FIAS cannot carry: fix the room mapping", p.Room)
	}
	ta, err := l.amount(p)
	if err != nil {
		return Record{}, err
	}
	if p.Start.IsZero() {
		return invalid("the call has no start time")
	}
	if p.DurationS < 0 || p.DurationS > 99*3600+59*60+59 {
		return invalid("duration %d s cannot be written as FIAS HHMMSS", p.DurationS)
	}
	r := Record{Type: "PS"}
	r.Add("RN", p.Room)
	r.Add("PT", "C")
	r.Add("TA", ta)
	r.Add("DA", p.Start.Format("060102"))
	r.Add("TI", p.Start.Format("150405"))
	r.Add("DU", formatDuration(p.DurationS))
	if dd := digits(p.Dialed, 20); dd != "" {
		r.Add("DD", dd)
	}
	if pc := l.callTypes[strings.ToLower(p.Class)]; pc != "" {
		r.Add("PC", pc)
	}
	if t := strings.TrimSpace(p.Trunk); t != "" && len(t) <= 6 && digits(t, 6) == t {
		r.Add("PX", t)
	}
	if l.o.SalesOutlet != "" {
		r.Add("SO", l.o.SalesOutlet)
	}
	r.Add("P#", strconv.FormatUint(uint64(p.Number), 10))
	if ct := CleanText(p.Destination, 20); ct != "" {
		r.Add("CT", ct)
	}
	return r, nil
}

// amount returns TA: the amount scaled from the currency's minor units to
// the PMS's implied decimals, as an integer with no decimal separator.
func (l *Link) amount(p gateway.PostRequest) (string, error) {
	digits := l.o.AmountExponent
	if l.o.MinorDigits != nil {
		d, ok := l.o.MinorDigits(p.Currency)
		if !ok {
			return "", gateway.Errorf(gateway.KindInvalid, "posting %d: currency %q is not an ISO 4217 code", p.Number, p.Currency)
		}
		digits = d
	}
	a := p.AmountMinor
	for ; digits < l.o.AmountExponent; digits++ {
		if a > 1e15 || a < -1e15 {
			return "", gateway.Errorf(gateway.KindInvalid, "posting %d: amount %d is too large for FIAS TA", p.Number, p.AmountMinor)
		}
		a *= 10
	}
	for ; digits > l.o.AmountExponent; digits-- {
		if a%10 != 0 {
			return "", gateway.Errorf(gateway.KindInvalid,
				"posting %d: amount %d %s has more decimals than the %d the PMS takes (pms.amount_exponent): raise amount_exponent if the PMS is set to it",
				p.Number, p.AmountMinor, p.Currency, l.o.AmountExponent)
		}
		a /= 10
	}
	s := strconv.FormatInt(a, 10)
	if len(s) > 15 {
		return "", gateway.Errorf(gateway.KindInvalid, "posting %d: amount %s is longer than the 15 characters of FIAS TA", p.Number, s)
	}
	return s, nil
}

// formatDuration writes seconds as FIAS HHMMSS.
func formatDuration(s int) string {
	h, m := s/3600, s/60%60
	b := []byte("000000")
	for i, v := range []int{h, m, s % 60} {
		b[2*i] = byte('0' + v/10)
		b[2*i+1] = byte('0' + v%10)
	}
	return string(b)
}

// digits returns the digits of s, at most max of them.
func digits(s string, max int) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < max; i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// Answer classifies a PMS answer status (FIAS AS) for a posting:
// OK posted; RY (retry) and NA (night audit running) transient; every other
// code, known (NG, NP, UR, IA, FX, DN, …) or not, and a missing one, refused.
func Answer(as string) gateway.PostOutcome {
	switch as {
	case "OK":
		return gateway.PostPosted
	case "RY", "NA":
		return gateway.PostTransient
	}
	return gateway.PostRefused
}

// answerCause says which of the engine's waits a transient answer status
// calls for: NA (night audit running) waits for the audit's end, RY (busy)
// tries the same posting again soon; "" for any other status.
func answerCause(as string) gateway.TransientCause {
	switch as {
	case "RY":
		return gateway.CauseBusy
	case "NA":
		return gateway.CauseNightAudit
	}
	return ""
}

// answerMeaning says in words what an answer status means.
func answerMeaning(as string) string {
	switch as {
	case "OK":
		return "accepted"
	case "RY":
		return "busy, retry later"
	case "NA":
		return "night audit running"
	case "NG":
		return "guest not found or room not occupied"
	case "NP":
		return "no-post set on the reservation"
	case "UR":
		return "unprocessable request"
	case "IA":
		return "invalid account"
	case "FX":
		return "guest not allowed this feature"
	case "DN":
		return "request denied"
	case "":
		return "no answer status"
	}
	return "an answer status callgate does not know"
}
