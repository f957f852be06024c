package console

import (
	"regexp"

	"callgate/gateway"
)

// What the front desk may see of a call (docs/console-security.md): of every
// number, the leading Options.MaskDigits digits and no more. The dialed
// number and the caller's number are masked; the rating's E.164 number and
// matched prefix are withheld, since they are the dialed number written
// another way (its access code dropped) and would show digits the masked
// dialed number hides; the raw record is withheld; and numbers inside free
// text (history reasons, the PMS's text) are masked.

// forRole returns e as w may see it: whole to auditors and admins.
func (s *Server) forRole(w who, e gateway.Entry) gateway.Entry {
	if w.can(roleAuditor) {
		return e
	}
	e.Raw.Data = nil
	if e.Call != nil {
		k := *e.Call
		k.Dialed, k.CallerID, k.Raw = s.mask(k.Dialed), s.mask(k.CallerID), nil
		e.Call = &k
	}
	if e.Charge != nil {
		ch := *e.Charge
		ch.E164, ch.Prefix = "", ""
		e.Charge = &ch
	}
	if e.Answer != nil {
		a := *e.Answer
		a.Text = s.maskText(a.Text)
		e.Answer = &a
	}
	if len(e.History) > 0 {
		h := make([]gateway.StateChange, len(e.History))
		for i, c := range e.History {
			c.Reason = s.maskText(c.Reason)
			h[i] = c
		}
		e.History = h
	}
	return e
}

// digitRun is a number in free text: six digits or more, with up to two
// spaces, dots, dashes or brackets between any two.
var digitRun = regexp.MustCompile(`\d(?:[ ().-]{0,2}\d){5,}`)

// maskText masks every number in text as mask does: its leading
// MaskDigits digits kept, the rest x (separators kept).
func (s *Server) maskText(text string) string {
	return digitRun.ReplaceAllStringFunc(text, func(n string) string {
		b := []byte(n)
		kept := 0
		for i, c := range b {
			if c < '0' || c > '9' {
				continue
			}
			if kept < s.o.MaskDigits {
				kept++
				continue
			}
			b[i] = 'x'
		}
		return string(b)
	})
}
