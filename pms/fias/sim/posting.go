package sim

import (
	"slices"
	"time"

	"callgate/pms/fias"
)

// posting books or refuses one PS and answers it; false ends the
// connection (a fault that cuts the link after booking).
func (p *peer) posting(r fias.Record) bool {
	s := p.s
	now := time.Now()
	n, room := r.Value("P#"), r.Value("RN")
	for _, b := range checkPS(r) {
		s.violate(b, &r)
	}
	s.mu.Lock()
	var early string
	if p.waiting != "" && now.Sub(p.waitSince) < s.o.AnswerWindow {
		early = p.waiting
	}
	p.waiting, p.waitSince = n, now
	f := &s.faults
	var as, ct string
	switch {
	case len(f.Answers) > 0:
		as, f.Answers = f.Answers[0], f.Answers[1:]
		ct = "Simulated answer"
	case s.nightAudit:
		as, ct = "NA", "Night audit running"
	case f.BusyFirst && !s.tried[n]:
		as, ct = "RY", "Folio busy"
	default:
		as, ct = s.decideLocked(room)
	}
	s.tried[n] = true
	dup := false
	if as == "OK" {
		dup = s.booked[n]
		s.booked[n] = true
		res := ""
		if gs := s.guests[room]; len(gs) > 0 {
			res = gs[0].Reservation
		}
		s.ledger = append(s.ledger, Booking{Number: n, Room: room, Reservation: res, Amount: r.Value("TA"),
			Text: r.Value("CT"), Record: r.String(), At: s.o.Now(), Duplicate: dup})
	}
	s.received = append(s.received, Posting{Number: n, Room: room, Record: r.String(), Answer: as, At: s.o.Now()})
	cut, noPA := false, false
	if f.CutAfterBooking > 0 {
		f.CutAfterBooking--
		cut = true
	} else if f.NoPA > 0 {
		f.NoPA--
		noPA = true
	}
	if cut || noPA {
		p.waiting = ""
	}
	delay, stray := f.PADelay, f.StrayPAs
	s.notifyLocked()
	s.mu.Unlock()
	if early != "" {
		s.violate("a second PS before the answer to posting "+early+" (one posting at a time)", &r)
	}
	if dup {
		s.violate("posting "+n+" booked twice: the same charge is on the folio twice", &r)
	}
	if cut {
		s.log.Info().Str("posting", n).Msg("fault: posting booked, link cut before its answer")
		return false
	}
	if noPA {
		s.log.Info().Str("posting", n).Msg("fault: posting left unanswered")
		return true
	}
	pa := fias.NewRecord("PA", "RN", room, "AS", as)
	if ct != "" {
		pa.Add("CT", ct)
	}
	pa.Add("P#", n)
	if so, ok := r.Get("SO"); ok {
		pa.Add("SO", so)
	}
	pa.Add("DA", r.Value("DA"))
	pa.Add("TI", r.Value("TI"))
	answer := func() {
		if stray {
			other := "99999999"
			if n == other {
				other = "99999998"
			}
			p.sendData(fias.NewRecord("PA", "RN", room, "AS", "OK", "P#", other, "DA", r.Value("DA"), "TI", r.Value("TI")))
			p.sendData(fias.NewRecord("PA", "RN", room, "AS", "OK", "DA", r.Value("DA"), "TI", r.Value("TI")))
		}
		s.mu.Lock()
		if p.waiting == n {
			p.waiting = ""
		}
		s.mu.Unlock()
		p.sendData(pa)
		if stray {
			p.sendData(pa)
		}
	}
	if delay <= 0 {
		answer()
		return true
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if s.sleep(delay) {
			answer()
		}
	}()
	return true
}

// decideLocked answers a posting from the guest database.
func (s *Sim) decideLocked(room string) (as, ct string) {
	if !slices.Contains(s.rooms, room) {
		return "NG", "Invalid room"
	}
	gs := s.guests[room]
	switch {
	case len(gs) == 0:
		return "NG", "Room not occupied"
	case gs[0].NoPost:
		return "NP", "No post allowed"
	}
	return "OK", ""
}

// sleep waits d or until the simulator closes; false when it closed.
func (s *Sim) sleep(d time.Duration) bool {
	s.mu.Lock()
	done := s.done
	s.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-done:
		return false
	}
}
