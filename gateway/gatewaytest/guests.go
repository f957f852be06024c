package gatewaytest

import (
	"context"
	"reflect"
	"slices"
	"sort"
	"strings"

	"callgate/gateway"
)

// ApplyGuest records a guest or link event and updates the rooms, as store
// does; see gateway.Journal. Every event is taken as carrying every field.
func (j *Journal) ApplyGuest(ctx context.Context, ev gateway.GuestEvent) (bool, error) {
	room, res := ev.Guest.Room, ev.Guest.Reservation
	switch ev.Kind {
	case gateway.GuestCheckIn, gateway.GuestChange:
		if strings.TrimSpace(room) == "" {
			return false, gateway.Errorf(gateway.KindInvalid, "the guest event has no room")
		}
		if strings.ContainsRune(room, 0) {
			return false, gateway.Errorf(gateway.KindInvalid, "room %q holds a NUL byte", room)
		}
	case gateway.GuestCheckOut:
		if room == "" && res == "" {
			return false, gateway.Errorf(gateway.KindInvalid, "a check-out needs a room or a reservation number")
		}
	case gateway.ResyncStart, gateway.ResyncEnd, gateway.NightAuditStart, gateway.NightAuditEnd:
	default:
		return false, gateway.Errorf(gateway.KindInvalid, "guest event %q is not one the journal knows", ev.Kind)
	}
	if strings.ContainsRune(ev.OldRoom, 0) || strings.ContainsRune(res, 0) {
		return false, gateway.Errorf(gateway.KindInvalid, "a room or reservation number holds a NUL byte")
	}
	changed := false
	err := j.write(ctx, "guest", func() error {
		before := j.guestSnapshot()
		data := map[string]any{"event": ev.Kind}
		if ev.Kind == gateway.GuestCheckIn || ev.Kind == gateway.GuestChange || ev.Kind == gateway.GuestCheckOut {
			data["room"], data["reservation"], data["old_room"] = room, res, ev.OldRoom
		}
		n, head := len(j.events), j.head
		e := j.event(gateway.Event{Kind: gateway.EventGuest}, data)
		j.applyGuest(ev, e.Seq)
		switch ev.Kind {
		case gateway.GuestCheckIn, gateway.GuestChange, gateway.GuestCheckOut:
			changed = !reflect.DeepEqual(before, j.guestSnapshot())
		default:
			changed = true
		}
		if !changed {
			j.events, j.head = j.events[:n], head // nothing changed: nothing recorded
		}
		return nil
	})
	return changed, err
}

type guestState struct {
	rooms map[string][]stay
	stays map[string]string
}

func (j *Journal) guestSnapshot() guestState {
	rooms := make(map[string][]stay, len(j.rooms))
	for r, l := range j.rooms {
		// seen marks a resync's sight, not a change
		c := make([]stay, len(l))
		for i, s := range l {
			c[i] = stay{g: s.g}
		}
		rooms[r] = c
	}
	return guestState{rooms, clonemap(j.stays)}
}

func (j *Journal) applyGuest(ev gateway.GuestEvent, seq uint64) {
	g := ev.Guest
	switch ev.Kind {
	case gateway.GuestCheckIn:
		j.arrive(g, seq, nil)
	case gateway.GuestChange:
		var carried []stay
		if ev.OldRoom != "" && ev.OldRoom != g.Room {
			carried = j.leave(ev.OldRoom, g.Reservation)
			rest := j.rooms[ev.OldRoom]
			for i := range rest {
				rest[i].g.Shared = ev.OldRoomShared
			}
		}
		j.arrive(g, seq, carried)
	case gateway.GuestCheckOut:
		room := g.Room
		if r, ok := j.stays[g.Reservation]; ok && g.Reservation != "" {
			room = r
		}
		var keep []stay
		for _, s := range j.rooms[room] {
			if g.Reservation == "" || s.g.Reservation == g.Reservation {
				delete(j.stays, s.g.Reservation)
				continue
			}
			s.g.Shared = g.Shared
			keep = append(keep, s)
		}
		j.setRoom(room, keep)
	case gateway.ResyncStart:
		j.resyncSeq = seq
	case gateway.ResyncEnd:
		if j.resyncSeq == 0 {
			return
		}
		if ev.Partial {
			// An incomplete resync saw only part of the hotel: it
			// removes nothing.
			j.resyncSeq = 0
			return
		}
		for room, list := range j.rooms {
			keep := slices.DeleteFunc(slices.Clone(list), func(s stay) bool {
				if s.seen < j.resyncSeq {
					delete(j.stays, s.g.Reservation)
					return true
				}
				return false
			})
			j.setRoom(room, keep)
		}
		j.resyncSeq = 0
	case gateway.NightAuditStart:
		j.nightAudit = true
	case gateway.NightAuditEnd:
		j.nightAudit = false
	}
}

func (j *Journal) setRoom(room string, list []stay) {
	if len(list) == 0 {
		delete(j.rooms, room)
		return
	}
	j.rooms[room] = list
}

// leave takes the stays of reservation (or, for "", those without one) out
// of room and returns them.
func (j *Journal) leave(room, reservation string) []stay {
	var out, keep []stay
	for _, s := range j.rooms[room] {
		if s.g.Reservation == reservation {
			out = append(out, s)
		} else {
			keep = append(keep, s)
		}
	}
	j.setRoom(room, keep)
	return out
}

// arrive puts a reservation into its room with the event's fields; an
// unshared room keeps only this reservation.
func (j *Journal) arrive(g gateway.Guest, seq uint64, carried []stay) {
	room, res := g.Room, g.Reservation
	if prev, ok := j.stays[res]; ok && res != "" && prev != room {
		moved := j.leave(prev, res)
		if carried == nil {
			carried = moved
		}
	}
	list := slices.Clone(j.rooms[room])
	idx := slices.IndexFunc(list, func(s stay) bool { return s.g.Reservation == res })
	if idx < 0 {
		if len(carried) == 0 {
			carried = []stay{{seen: seq}}
		}
		list = append(list, carried...)
		idx = len(list) - len(carried)
	}
	if j.resyncSeq != 0 {
		list[idx].seen = seq
	}
	list[idx].g = g
	keep := list[:0:0]
	for i, s := range list {
		if i != idx && !g.Shared {
			delete(j.stays, s.g.Reservation)
			continue
		}
		s.g.Shared = g.Shared
		keep = append(keep, s)
	}
	if res != "" {
		j.stays[res] = room
	}
	j.setRoom(room, keep)
}

// Guests returns the reservations staying in room ("" for every room); see
// gateway.Queries.
func (j *Journal) Guests(ctx context.Context, room string) ([]gateway.Guest, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []gateway.Guest
	add := func(r string) {
		for _, s := range j.rooms[r] {
			g := s.g
			g.Room = r
			out = append(out, g)
		}
	}
	if room != "" {
		add(room)
		return out, nil
	}
	rooms := make([]string, 0, len(j.rooms))
	for r := range j.rooms {
		rooms = append(rooms, r)
	}
	sort.Strings(rooms)
	for _, r := range rooms {
		add(r)
	}
	return out, nil
}

// GuestsPage returns the guests of at most rooms occupied rooms from room
// from on; see gateway.Queries.
func (j *Journal) GuestsPage(ctx context.Context, from string, rooms int) (gateway.GuestPage, error) {
	var p gateway.GuestPage
	if rooms < 1 {
		return p, gateway.Errorf(gateway.KindInvalid, "a page of rooms needs at least one room, not %d", rooms)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	all := make([]string, 0, len(j.rooms))
	for r := range j.rooms {
		all = append(all, r)
	}
	sort.Strings(all)
	p.Rooms = len(all)
	i := sort.SearchStrings(all, from)
	for n := 0; i < len(all); i, n = i+1, n+1 {
		if n == rooms {
			p.Next = all[i]
			break
		}
		for _, s := range j.rooms[all[i]] {
			g := s.g
			g.Room = all[i]
			p.Guests = append(p.Guests, g)
		}
	}
	return p, nil
}

// Resyncing and NightAudit report whether the journal has seen a resync
// start, or a night-audit start, without its end.
func (j *Journal) Resyncing() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.resyncSeq != 0
}

// NightAudit reports whether a night audit's start was recorded without its end.
func (j *Journal) NightAudit() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.nightAudit
}
