package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"callgate/gateway"
)

// stay is one reservation in a room, as bucket "rooms" keeps it: what the
// PMS said about the stay itself (its reservation, sharing and dates). The
// guest's names and personal data are in the guest record beside the log
// (guestRecord); schema 3 kept the personal data here (migrate.go).
type stay struct {
	Reservation string `json:"reservation,omitempty"`
	Shared      bool   `json:"shared,omitempty"`
	Arrival     string `json:"arrival,omitempty"`
	Departure   string `json:"departure,omitempty"`
	// Seen is the event that created the stay or, during a resync, last
	// confirmed it: a resync's end removes the stays it did not confirm.
	Seen uint64 `json:"seen"`
}

// stayRef names a stay that ended (for its names' check-out time).
type stayRef struct{ room, reservation string }

// guestRecord is a guest's names and personal data (language, VIP, group,
// no-post flag, class of service), kept beside the log in bucket "names"
// and erased after check-out (docs/journal.md, "Guest records"). Guest
// events never carry them, so they stay at the property unless
// central.ship_guest_names ships them beside the events.
type guestRecord struct {
	Last           string `json:"last,omitempty"`
	First          string `json:"first,omitempty"`
	Title          string `json:"title,omitempty"`
	Language       string `json:"language,omitempty"`
	VIP            string `json:"vip,omitempty"`
	Group          string `json:"group,omitempty"`
	NoPost         bool   `json:"no_post,omitempty"`
	ClassOfService string `json:"class_of_service,omitempty"`
	Updated        string `json:"updated"`
	CheckedOut     string `json:"checked_out,omitempty"`
}

// personal is the record's personal data without its names.
type personal struct {
	Language, VIP, Group string
	NoPost               bool
	ClassOfService       string
}

func (r *guestRecord) setPersonal(p personal) {
	r.Language, r.VIP, r.Group, r.NoPost, r.ClassOfService = p.Language, p.VIP, p.Group, p.NoPost, p.ClassOfService
}

// recordFields is how each guest field the record keeps is copied from a
// guest.
var recordFields = [...]struct {
	field gateway.GuestFields
	copy  func(r *guestRecord, g *gateway.Guest)
}{
	{gateway.FieldLastName, func(r *guestRecord, g *gateway.Guest) { r.Last = g.LastName }},
	{gateway.FieldFirstName, func(r *guestRecord, g *gateway.Guest) { r.First = g.FirstName }},
	{gateway.FieldTitle, func(r *guestRecord, g *gateway.Guest) { r.Title = g.Title }},
	{gateway.FieldLanguage, func(r *guestRecord, g *gateway.Guest) { r.Language = g.Language }},
	{gateway.FieldVIP, func(r *guestRecord, g *gateway.Guest) { r.VIP = g.VIP }},
	{gateway.FieldGroup, func(r *guestRecord, g *gateway.Guest) { r.Group = g.Group }},
	{gateway.FieldNoPost, func(r *guestRecord, g *gateway.Guest) { r.NoPost = g.NoPost }},
	{gateway.FieldClassOfService, func(r *guestRecord, g *gateway.Guest) { r.ClassOfService = g.ClassOfService }},
}

// nameKey keys a guest's names: the reservation number, or the room for a
// PMS that sends none.
func nameKey(room, reservation string) []byte {
	if reservation != "" {
		return []byte("r:" + reservation)
	}
	return []byte("room:" + room)
}

const dateLayout = "2006-01-02"

func dateString(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(dateLayout)
}

// set copies the fields g carries into s.
func (s *stay) set(g *guestData) {
	for _, f := range stayFields {
		if g.carried.Has(f.field) {
			f.copy(s, g)
		}
	}
}

// stayFields is how each guest field a stay keeps is copied from an event.
var stayFields = [...]struct {
	field gateway.GuestFields
	copy  func(s *stay, g *guestData)
}{
	{gateway.FieldShared, func(s *stay, g *guestData) { s.Shared = g.Shared }},
	{gateway.FieldArrival, func(s *stay, g *guestData) { s.Arrival = g.Arrival }},
	{gateway.FieldDeparture, func(s *stay, g *guestData) { s.Departure = g.Departure }},
}

func (w *txw) loadRoom(room string) ([]stay, error) {
	v := w.rooms.Get([]byte(room))
	if v == nil {
		return nil, nil
	}
	var list []stay
	if err := json.Unmarshal(v, &list); err != nil {
		return nil, errors.New("room " + room + ": guest record is damaged")
	}
	return list, nil
}

func (w *txw) saveRoom(room string, list []stay) error {
	if len(list) == 0 {
		return w.rooms.Delete([]byte(room))
	}
	b, err := json.Marshal(list)
	if err != nil {
		return err
	}
	return w.rooms.Put([]byte(room), b)
}

// leave takes the stays matching reservation (or, for "", the stays without
// one) out of room and returns them.
func (w *txw) leave(room, reservation string) ([]stay, error) {
	list, err := w.loadRoom(room)
	if err != nil {
		return nil, err
	}
	var out, keep []stay
	for _, s := range list {
		if s.Reservation == reservation {
			out = append(out, s)
		} else {
			keep = append(keep, s)
		}
	}
	return out, w.saveRoom(room, keep)
}

// applyGuest projects a guest event onto rooms, stays and meta, and returns
// the stays it ended.
func (w *txw) applyGuest(ev *event) ([]stayRef, error) {
	g := ev.guest
	resync := w.meta.Get(kResync) != nil
	switch g.Event {
	case gateway.GuestCheckIn:
		return w.arrive(ev.room, ev.reservation, g, ev.seq, resync, nil)
	case gateway.GuestChange:
		var carried []stay
		if g.OldRoom != "" && g.OldRoom != ev.room {
			var err error
			if carried, err = w.leave(g.OldRoom, ev.reservation); err != nil {
				return nil, err
			}
			if g.carried.Has(gateway.FieldShared) {
				rest, err := w.loadRoom(g.OldRoom)
				if err != nil {
					return nil, err
				}
				for i := range rest {
					rest[i].Shared = g.OldRoomShared
				}
				if err := w.saveRoom(g.OldRoom, rest); err != nil {
					return nil, err
				}
			}
		}
		return w.arrive(ev.room, ev.reservation, g, ev.seq, resync, carried)
	case gateway.GuestCheckOut:
		room := ev.room
		if ev.reservation != "" {
			if r := w.stays.Get([]byte(ev.reservation)); r != nil {
				room = string(r)
			}
		}
		list, err := w.loadRoom(room)
		if err != nil {
			return nil, err
		}
		var keep []stay
		var gone []stayRef
		for _, s := range list {
			// Without a reservation number the whole room checks out.
			if ev.reservation == "" || s.Reservation == ev.reservation {
				gone = append(gone, stayRef{room, s.Reservation})
				if s.Reservation != "" {
					if err := w.stays.Delete([]byte(s.Reservation)); err != nil {
						return nil, err
					}
				}
				continue
			}
			keep = append(keep, s)
		}
		if g.carried.Has(gateway.FieldShared) {
			for i := range keep {
				keep[i].Shared = g.Shared
			}
		}
		return gone, w.saveRoom(room, keep)
	case gateway.ResyncStart:
		return nil, w.meta.Put(kResync, be64(ev.seq))
	case gateway.ResyncEnd:
		v := w.meta.Get(kResync)
		if v == nil {
			return nil, nil
		}
		if g.Partial {
			// An incomplete resync (no DE: it went quiet, or the link
			// was lost) saw only part of the hotel: it removes nothing.
			return nil, w.meta.Delete(kResync)
		}
		since := u64(v)
		var gone []stayRef
		type roomList struct {
			room string
			list []stay
		}
		var changed []roomList
		c := w.rooms.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			var list []stay
			if err := json.Unmarshal(v, &list); err != nil {
				return nil, errors.New("room " + string(k) + ": guest record is damaged")
			}
			keep := list[:0:0]
			for _, s := range list {
				if s.Seen < since {
					gone = append(gone, stayRef{string(k), s.Reservation})
				} else {
					keep = append(keep, s)
				}
			}
			if len(keep) != len(list) {
				changed = append(changed, roomList{string(k), keep})
			}
		}
		for _, rl := range changed {
			if err := w.saveRoom(rl.room, rl.list); err != nil {
				return nil, err
			}
		}
		for _, s := range gone {
			if s.reservation != "" {
				if err := w.stays.Delete([]byte(s.reservation)); err != nil {
					return nil, err
				}
			}
		}
		return gone, w.meta.Delete(kResync)
	case gateway.NightAuditStart:
		return nil, w.meta.Put(kNightAudit, be64(ev.seq))
	case gateway.NightAuditEnd:
		return nil, w.meta.Delete(kNightAudit)
	}
	return nil, nil
}

// arrive puts a reservation into room (a check-in, or the end of a room
// move carrying the stays that left the old room) and applies the fields.
func (w *txw) arrive(room, reservation string, g *guestData, seq uint64, resync bool, carried []stay) ([]stayRef, error) {
	if reservation != "" {
		// A reservation arriving here has left any other room.
		if prev := w.stays.Get([]byte(reservation)); prev != nil && string(prev) != room {
			moved, err := w.leave(string(prev), reservation)
			if err != nil {
				return nil, err
			}
			if carried == nil {
				carried = moved
			}
		}
	}
	list, err := w.loadRoom(room)
	if err != nil {
		return nil, err
	}
	idx := slices.IndexFunc(list, func(s stay) bool { return s.Reservation == reservation })
	if idx < 0 {
		if len(carried) == 0 {
			carried = []stay{{Reservation: reservation, Seen: seq}}
		}
		list = append(list, carried...)
		idx = slices.IndexFunc(list, func(s stay) bool { return s.Reservation == reservation })
		if resync {
			list[idx].Seen = seq
		}
	} else if resync {
		list[idx].Seen = seq
	}
	list[idx].set(g)
	var gone []stayRef
	if g.carried.Has(gateway.FieldShared) {
		// A room the PMS calls unshared holds only this reservation: the
		// others left without a check-out reaching us.
		keep := list[:0:0]
		for i, s := range list {
			if i != idx && !g.Shared {
				gone = append(gone, stayRef{room, s.Reservation})
				if s.Reservation != "" {
					if err := w.stays.Delete([]byte(s.Reservation)); err != nil {
						return nil, err
					}
				}
				continue
			}
			s.Shared = g.Shared
			keep = append(keep, s)
		}
		list = keep
	}
	if reservation != "" {
		if err := w.stays.Put([]byte(reservation), []byte(room)); err != nil {
			return nil, err
		}
	}
	return gone, w.saveRoom(room, list)
}

var errUnchanged = errors.New("unchanged")

// ApplyGuest records a guest or link event from the PMS and updates the rooms
// and names it touches; see gateway.Journal.
func (j *Journal) ApplyGuest(ctx context.Context, ge gateway.GuestEvent) (bool, error) {
	// The event keeps what the central needs of the stay; the guest's names
	// and personal data go to the guest record beside the log (below).
	g := &guestData{
		Event:         ge.Kind,
		Shared:        ge.Guest.Shared,
		Arrival:       dateString(ge.Guest.Arrival),
		Departure:     dateString(ge.Guest.Departure),
		Fields:        storedFieldNames(ge.Guest.Room, ge.Guest.Reservation, ge.Carried()),
		carried:       ge.Carried(),
		OldRoom:       ge.OldRoom,
		OldRoomShared: ge.OldRoomShared,
		Resync:        ge.Resync,
	}
	if !ge.Time.IsZero() {
		g.PMSTime = ge.Time.Format(gateway.WallClockLayout)
	}
	room, res := ge.Guest.Room, ge.Guest.Reservation
	switch ge.Kind {
	case gateway.GuestCheckIn, gateway.GuestChange:
		if err := checkRoom(room); err != nil {
			return false, err
		}
	case gateway.GuestCheckOut:
		if room == "" && res == "" {
			return false, gateway.Errorf(gateway.KindInvalid, "a check-out needs a room or a reservation number")
		}
	case gateway.ResyncStart, gateway.ResyncEnd, gateway.NightAuditStart, gateway.NightAuditEnd:
		room, res, g = "", "", &guestData{Event: ge.Kind, PMSTime: g.PMSTime, Partial: ge.Kind == gateway.ResyncEnd && ge.Partial}
	default:
		return false, gateway.Errorf(gateway.KindInvalid, "guest event %q is not one the journal knows", ge.Kind)
	}
	if strings.ContainsRune(ge.OldRoom, 0) || strings.ContainsRune(res, 0) {
		return false, gateway.Errorf(gateway.KindInvalid, "a room or reservation number holds a NUL byte")
	}
	stayEvent := ge.Kind == gateway.GuestCheckIn || ge.Kind == gateway.GuestChange
	err := j.write(ctx, "record a guest event", func(w *txw) error {
		var keys [][]byte
		if ge.Kind == gateway.GuestCheckIn || ge.Kind == gateway.GuestChange || ge.Kind == gateway.GuestCheckOut {
			keys = append(keys, []byte("r"+room), []byte("r"+ge.OldRoom))
			if res != "" {
				keys = append(keys, []byte("s"+res))
				if prev := w.stays.Get([]byte(res)); prev != nil {
					keys = append(keys, []byte("r"+string(prev)))
				}
			}
		}
		before := w.snapshot(keys)
		// A stay the event creates starts a new guest record, as the
		// stay itself starts without the fields of an earlier one.
		fresh := stayEvent && w.freshStay(room, res, ge)
		now := j.now()
		ev := &event{kind: gateway.EventGuest, at: now, room: room, reservation: res, guest: g}
		if err := w.append(ev); err != nil {
			return err
		}
		gone := w.gone
		changed := len(keys) == 0 || !slices.EqualFunc(before, w.snapshot(keys), bytes.Equal)
		nb := w.tx.Bucket(bNames)
		stamp := now.Format(time.RFC3339Nano)
		for _, s := range gone {
			k := nameKey(s.room, s.reservation)
			var n guestRecord
			if v := nb.Get(k); v != nil && json.Unmarshal(v, &n) == nil && n.CheckedOut == "" {
				n.CheckedOut = stamp
				if err := putJSON(nb, k, n); err != nil {
					return err
				}
			}
		}
		if ge.Kind == gateway.GuestChange && res == "" && ge.OldRoom != "" && ge.OldRoom != room {
			if v := nb.Get(nameKey(ge.OldRoom, "")); v != nil {
				v = clone(v)
				nb.Delete(nameKey(ge.OldRoom, ""))
				nb.Put(nameKey(room, ""), v)
				changed = true
			}
		}
		if stayEvent {
			k := nameKey(room, res)
			var n guestRecord
			v := nb.Get(k)
			if v != nil {
				json.Unmarshal(v, &n)
			}
			nn := n
			if fresh {
				nn = guestRecord{}
			}
			for _, f := range recordFields {
				if g.carried.Has(f.field) {
					f.copy(&nn, &ge.Guest)
				}
			}
			nn.Updated, nn.CheckedOut = n.Updated, ""
			if v != nil && nn != n || v == nil && nn != (guestRecord{}) {
				nn.Updated = stamp
				if err := putJSON(nb, k, nn); err != nil {
					return err
				}
				changed = true
			}
		}
		if !changed {
			return errUnchanged
		}
		return nil
	})
	if errors.Is(err, errUnchanged) {
		return false, nil
	}
	return err == nil, err
}

// freshStay reports whether the check-in or change ge, for room and res,
// creates its stay rather than updating one: no stay holds the reservation
// (for a reservation number), or neither the room nor the room it moves
// from holds a stay without one. This is arrive's rule for a new stay.
func (w *txw) freshStay(room, res string, ge gateway.GuestEvent) bool {
	if res != "" {
		return w.stays.Get([]byte(res)) == nil
	}
	has := func(r string) bool {
		list, _ := w.loadRoom(r)
		return slices.ContainsFunc(list, func(s stay) bool { return s.Reservation == "" })
	}
	if has(room) {
		return false
	}
	return !(ge.Kind == gateway.GuestChange && ge.OldRoom != "" && ge.OldRoom != room && has(ge.OldRoom))
}

// snapshot copies the values of rooms ("r"+room) and stays ("s"+reservation)
// keys, and the resync and night-audit marks.
func (w *txw) snapshot(keys [][]byte) [][]byte {
	out := make([][]byte, 0, len(keys))
	for _, k := range keys {
		var v []byte
		switch k[0] {
		case 'r':
			v = w.rooms.Get(k[1:])
		case 's':
			v = w.stays.Get(k[1:])
		}
		out = append(out, clone(v))
	}
	return out
}

func putJSON(b *bolt.Bucket, k []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(k, data)
}

func checkRoom(room string) error {
	if strings.TrimSpace(room) == "" {
		return gateway.Errorf(gateway.KindInvalid, "the guest event has no room")
	}
	if strings.ContainsRune(room, 0) {
		return gateway.Errorf(gateway.KindInvalid, "room %q holds a NUL byte", room)
	}
	return nil
}

// appendGuests appends room r's guests (its stays v, with their names from
// bucket nb) to out.
func appendGuests(out []gateway.Guest, nb *bolt.Bucket, r string, v []byte) ([]gateway.Guest, error) {
	var list []stay
	if err := json.Unmarshal(v, &list); err != nil {
		return out, errors.New("room " + r + ": guest record is damaged")
	}
	for _, s := range list {
		g := gateway.Guest{Room: r, Reservation: s.Reservation, Shared: s.Shared}
		g.Arrival, _ = time.Parse(dateLayout, s.Arrival)
		g.Departure, _ = time.Parse(dateLayout, s.Departure)
		var n guestRecord
		if v := nb.Get(nameKey(r, s.Reservation)); v != nil && json.Unmarshal(v, &n) == nil {
			g.LastName, g.FirstName, g.Title = n.Last, n.First, n.Title
			g.Language, g.VIP, g.Group, g.NoPost, g.ClassOfService = n.Language, n.VIP, n.Group, n.NoPost, n.ClassOfService
		}
		out = append(out, g)
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
	err := j.view(ctx, "read guests", func(tx *bolt.Tx) error {
		b, nb := tx.Bucket(bRooms), tx.Bucket(bNames)
		p.Rooms = b.Stats().KeyN
		c := b.Cursor()
		n := 0
		for k, v := c.Seek([]byte(from)); k != nil; k, v = c.Next() {
			if n == rooms {
				p.Next = string(k)
				return nil
			}
			var err error
			if p.Guests, err = appendGuests(p.Guests, nb, string(k), v); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return p, err
}

// Guests returns the reservations staying in room ("" for every room), with
// their names where not erased; see gateway.Queries.
func (j *Journal) Guests(ctx context.Context, room string) ([]gateway.Guest, error) {
	var out []gateway.Guest
	err := j.view(ctx, "read guests", func(tx *bolt.Tx) error {
		rooms, nb := tx.Bucket(bRooms), tx.Bucket(bNames)
		add := func(r string, v []byte) (err error) {
			out, err = appendGuests(out, nb, r, v)
			return err
		}
		if room != "" {
			if v := rooms.Get([]byte(room)); v != nil {
				return add(room, v)
			}
			return nil
		}
		return rooms.ForEach(func(k, v []byte) error { return add(string(k), v) })
	})
	sort.SliceStable(out, func(a, b int) bool { return out[a].Room < out[b].Room })
	return out, err
}

// eraseNames erases the guest records (names and personal data) of guests
// who checked out before cutoff, and of guests no room holds any more whose
// record was last written before it. The record of a stay a room holds is
// never erased: it holds the VIP code the engine reads for the credit
// limits, and the no-post flag and class of service the console shows.
func (j *Journal) eraseNames(ctx context.Context, cutoff time.Time) (int, error) {
	n := 0
	err := j.update(ctx, "erase guest names", func(tx *bolt.Tx) error {
		nb, stays, rooms := tx.Bucket(bNames), tx.Bucket(bStays), tx.Bucket(bRooms)
		var doomed [][]byte
		err := nb.ForEach(func(k, v []byte) error {
			var rec guestRecord
			if json.Unmarshal(v, &rec) != nil {
				doomed = append(doomed, clone(k))
				return nil
			}
			key := string(k)
			var present bool
			if res, ok := strings.CutPrefix(key, "r:"); ok {
				present = stays.Get([]byte(res)) != nil
			} else if room, ok := strings.CutPrefix(key, "room:"); ok {
				var list []stay
				json.Unmarshal(rooms.Get([]byte(room)), &list)
				present = slices.ContainsFunc(list, func(s stay) bool { return s.Reservation == "" })
			}
			if rec.CheckedOut != "" && !present {
				if t, err := time.Parse(time.RFC3339Nano, rec.CheckedOut); err != nil || !t.After(cutoff) {
					doomed = append(doomed, clone(k))
				}
				return nil
			}
			if t, err := time.Parse(time.RFC3339Nano, rec.Updated); !present && (err != nil || !t.After(cutoff)) {
				doomed = append(doomed, clone(k))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range doomed {
			if err := nb.Delete(k); err != nil {
				return err
			}
		}
		n = len(doomed)
		return nil
	})
	return n, err
}
