package sim

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"callgate/gateway"
	"callgate/pms/fias"
)

// The simulator's guest database. Every change is pushed to the client
// at once as the PMS would (GI, GO, GC), or queued while no link is alive
// and sent after the next LA, as IFC8 keeps check-ins and check-outs
// across a link outage.

func yn(b bool) string {
	if b {
		return "Y"
	}
	return "N"
}

func (s *Sim) stampInto(r *fias.Record) {
	now := s.o.Now()
	r.Add("DA", now.Format("060102"))
	r.Add("TI", now.Format("150405"))
}

// findLocked returns the room and index of a reservation.
func (s *Sim) findLocked(res string) (string, int, bool) {
	for room, gs := range s.guests {
		for i, g := range gs {
			if g.Reservation == res {
				return room, i, true
			}
		}
	}
	return "", 0, false
}

// CheckIn puts a guest in g.Room (a sharer when the room is occupied) and
// pushes GI. An empty g.Reservation gets the next free number, which is
// returned.
func (s *Sim) CheckIn(g gateway.Guest) (string, error) {
	s.mu.Lock()
	if !slices.Contains(s.rooms, g.Room) {
		s.mu.Unlock()
		return "", fmt.Errorf("room %q is not one of the simulated hotel's rooms", g.Room)
	}
	if g.Reservation == "" {
		for {
			g.Reservation = strconv.Itoa(s.nextRes)
			s.nextRes++
			if _, _, taken := s.findLocked(g.Reservation); !taken {
				break
			}
		}
	} else if _, _, taken := s.findLocked(g.Reservation); taken {
		s.mu.Unlock()
		return "", fmt.Errorf("reservation %s is already in house", g.Reservation)
	}
	s.guests[g.Room] = append(s.guests[g.Room], g)
	g.Shared = len(s.guests[g.Room]) > 1
	r := fias.NewRecord("GI", "RN", g.Room, "G#", g.Reservation, "GS", yn(g.Shared))
	fias.AppendGuest(&r, g)
	s.stampInto(&r)
	s.mu.Unlock()
	return g.Reservation, s.push(r)
}

// CheckOut removes a reservation from its room and pushes GO.
func (s *Sim) CheckOut(res string) error {
	s.mu.Lock()
	room, i, ok := s.findLocked(res)
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("reservation %s is not in house", res)
	}
	s.guests[room] = slices.Delete(s.guests[room], i, i+1)
	if len(s.guests[room]) == 0 {
		delete(s.guests, room)
	}
	r := fias.NewRecord("GO", "RN", room, "G#", res, "GS", yn(len(s.guests[room]) > 1))
	s.stampInto(&r)
	s.mu.Unlock()
	return s.push(r)
}

// Move moves a reservation to another room and pushes GC with RO and two
// GS: the new room's share state, then the old room's.
func (s *Sim) Move(res, to string) error {
	s.mu.Lock()
	from, i, ok := s.findLocked(res)
	switch {
	case !ok:
		s.mu.Unlock()
		return fmt.Errorf("reservation %s is not in house", res)
	case !slices.Contains(s.rooms, to):
		s.mu.Unlock()
		return fmt.Errorf("room %q is not one of the simulated hotel's rooms", to)
	case from == to:
		s.mu.Unlock()
		return fmt.Errorf("reservation %s is already in room %s", res, to)
	}
	g := s.guests[from][i]
	s.guests[from] = slices.Delete(s.guests[from], i, i+1)
	if len(s.guests[from]) == 0 {
		delete(s.guests, from)
	}
	g.Room = to
	s.guests[to] = append(s.guests[to], g)
	r := fias.NewRecord("GC", "RN", to, "GS", yn(len(s.guests[to]) > 1), "G#", res)
	fias.AppendGuest(&r, g)
	r.Add("RO", from)
	r.Add("GS", yn(len(s.guests[from]) > 1))
	s.stampInto(&r)
	s.mu.Unlock()
	return s.push(r)
}

// Update changes a reservation's data with change and pushes GC with the
// fields that changed.
func (s *Sim) Update(res string, change func(g *gateway.Guest)) error {
	s.mu.Lock()
	room, i, ok := s.findLocked(res)
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("reservation %s is not in house", res)
	}
	old := s.guests[room][i]
	g := old
	change(&g)
	g.Room, g.Reservation, g.Shared = old.Room, old.Reservation, old.Shared
	s.guests[room][i] = g
	var before, after fias.Record
	fias.AppendGuest(&before, old)
	fias.AppendGuest(&after, g)
	r := fias.NewRecord("GC", "RN", room, "G#", res)
	for _, f := range after.Fields {
		if v, had := before.Get(f.ID); !had || v != f.Value {
			r.Add(f.ID, f.Value)
		}
	}
	s.stampInto(&r)
	s.mu.Unlock()
	return s.push(r)
}

// SetNoPost sets or clears a reservation's No-Post flag (postings to its
// room are then refused with NP).
func (s *Sim) SetNoPost(res string, on bool) error {
	return s.Update(res, func(g *gateway.Guest) { g.NoPost = on })
}

// Guests returns the guests of a room, the folio first; all guests, room by
// room, when room is "".
func (s *Sim) Guests(room string) []gateway.Guest {
	s.mu.Lock()
	defer s.mu.Unlock()
	if room != "" {
		return slices.Clone(s.guests[room])
	}
	var out []gateway.Guest
	for _, r := range s.rooms {
		out = append(out, s.guests[r]...)
	}
	return out
}

// Occupy checks a generated guest into every room given that has none,
// without pushing anything: the hotel as it stands before a client
// connects.
func (s *Sim) Occupy(rooms []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, room := range rooms {
		if !slices.Contains(s.rooms, room) || len(s.guests[room]) > 0 {
			continue
		}
		res := strconv.Itoa(s.nextRes)
		s.nextRes++
		s.guests[room] = []gateway.Guest{{Room: room, Reservation: res, LastName: "Guest" + room, FirstName: "Sim", Language: "EA", ClassOfService: "3"}}
	}
}

// databaseLocked returns the resync records: for every room in order, a GI
// with SF per guest, or a GO with SF and no G# when the room is vacant.
func (s *Sim) databaseLocked() []fias.Record {
	var recs []fias.Record
	for _, room := range s.rooms {
		gs := s.guests[room]
		if len(gs) == 0 {
			recs = append(recs, fias.NewRecord("GO", "RN", room, "SF", ""))
			continue
		}
		for _, g := range gs {
			r := fias.NewRecord("GI", "RN", room, "G#", g.Reservation, "GS", yn(len(gs) > 1))
			fias.AppendGuest(&r, g)
			r.Add("SF", "")
			recs = append(recs, r)
		}
	}
	return recs
}

// inHouseLocked returns a GI (no SF) for every guest: what Protel pushes
// after LA.
func (s *Sim) inHouseLocked() []fias.Record {
	var recs []fias.Record
	for _, room := range s.rooms {
		gs := s.guests[room]
		for _, g := range gs {
			r := fias.NewRecord("GI", "RN", room, "G#", g.Reservation, "GS", yn(len(gs) > 1))
			fias.AppendGuest(&r, g)
			s.stampInto(&r)
			recs = append(recs, r)
		}
	}
	return recs
}

// push sends a PMS record to the client when its link is alive, or keeps
// it for the next LA.
func (s *Sim) push(r fias.Record) error {
	s.mu.Lock()
	p := s.peer
	if p == nil || !p.alive {
		s.pending = append(s.pending, r)
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	return p.sendData(r)
}

// NightAudit starts (NS) or ends (NE) the simulated night audit; while it
// runs, postings are answered NA.
func (s *Sim) NightAudit(on bool) error {
	s.mu.Lock()
	s.nightAudit = on
	s.notifyLocked()
	s.mu.Unlock()
	typ := "NE"
	if on {
		typ = "NS"
	}
	return s.push(s.stamp(typ))
}

// SendLS sends LS mid-session, as IFC8 does after a restart: the client
// must describe the link again (LD, LRs, LA) before data flows.
func (s *Sim) SendLS() error {
	s.mu.Lock()
	p := s.peer
	if p == nil {
		s.mu.Unlock()
		return errNoPeer
	}
	p.alive, p.gotLD = false, false
	p.lrs = map[string][]string{}
	s.notifyLocked()
	s.mu.Unlock()
	return p.send(s.stamp("LS"))
}

// SendLE ends the link from the PMS's side: LE, then the connection closes
// (after the client's LE, or 2 s).
func (s *Sim) SendLE() error {
	s.mu.Lock()
	p := s.peer
	if p != nil {
		p.ending = true
	}
	s.mu.Unlock()
	if p == nil {
		return errNoPeer
	}
	err := p.send(s.stamp("LE"))
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.sleep(2 * time.Second)
		p.close()
	}()
	return err
}

// Disconnect drops the client's connection without a word, as a network
// failure would.
func (s *Sim) Disconnect() {
	s.mu.Lock()
	p := s.peer
	s.mu.Unlock()
	if p != nil {
		p.close()
	}
}
