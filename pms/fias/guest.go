package fias

import (
	"slices"
	"time"

	"callgate/gateway"
)

// ParseDate reads a FIAS date (YYMMDD, years 2000–2099) as midnight UTC;
// ok is false when s is not one.
func ParseDate(s string) (time.Time, bool) {
	t, err := time.Parse("060102", s)
	if err != nil || len(s) != 6 {
		return time.Time{}, false
	}
	if t.Year() < 2000 { // Go reads 69–99 as 1969–1999; FIAS dates are this century
		t = t.AddDate(100, 0, 0)
	}
	return t, true
}

// ParseDateTime reads FIAS DA and TI (YYMMDD, HHMMSS) as a wall-clock time
// whose Location is UTC and means nothing, as gateway.Call.Start; ok is
// false when either is missing or malformed.
func ParseDateTime(da, ti string) (time.Time, bool) {
	d, ok := ParseDate(da)
	if !ok || len(ti) != 6 {
		return time.Time{}, false
	}
	t, err := time.Parse("150405", ti)
	if err != nil {
		return time.Time{}, false
	}
	return d.Add(time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute + time.Duration(t.Second())*time.Second), true
}

// GuestEvent turns a PMS record into the event the engine consumes: GI,
// GC, GO, and the brackets DS/DE (resync) and NS/NE (night audit). ok is
// false for any other record type.
//
// A GC for a room move carries RO and GS twice: the first GS (after RN) is
// the share state of the new room, the second (after RO) that of the old
// room.
func GuestEvent(r Record) (ev gateway.GuestEvent, ok bool) {
	switch r.Type {
	case "GI":
		ev.Kind = gateway.GuestCheckIn
	case "GC":
		ev.Kind = gateway.GuestChange
	case "GO":
		ev.Kind = gateway.GuestCheckOut
	case "DS":
		ev.Kind = gateway.ResyncStart
	case "DE":
		ev.Kind = gateway.ResyncEnd
	case "NS":
		ev.Kind = gateway.NightAuditStart
	case "NE":
		ev.Kind = gateway.NightAuditEnd
	default:
		return ev, false
	}
	ev.Time, _ = ParseDateTime(r.Value("DA"), r.Value("TI"))
	if r.Type[0] != 'G' {
		return ev, true
	}
	g := &ev.Guest
	afterRO := false
	// Two GS in a move: the first is the new room's, the second the old
	// room's, wherever RO stands. One GS: its place says which room.
	gsTotal, gsSeen := len(r.All("GS")), 0
	for _, f := range r.Fields {
		id := f.ID
		switch f.ID {
		case "RN":
			g.Room = f.Value
		case "G#":
			g.Reservation = f.Value
		case "GS":
			gsSeen++
			old := r.Type == "GC" && r.Has("RO") && (gsTotal >= 2 && gsSeen >= 2 || gsTotal == 1 && afterRO)
			if old {
				ev.OldRoomShared = f.Value == "Y"
				id = "" // the old room's share state is not a field of the guest
			} else {
				g.Shared = f.Value == "Y"
			}
		case "RO":
			ev.OldRoom = f.Value
			afterRO = true
		case "GN":
			g.LastName = f.Value
		case "GF":
			g.FirstName = f.Value
		case "GT":
			g.Title = f.Value
		case "GL":
			g.Language = f.Value
		case "GV":
			g.VIP = f.Value
		case "GG":
			g.Group = f.Value
		case "GA":
			g.Arrival, _ = ParseDate(f.Value)
		case "GD":
			g.Departure, _ = ParseDate(f.Value)
		case "NP":
			g.NoPost = f.Value == "Y"
		case "CS":
			g.ClassOfService = f.Value
		case "SF":
			ev.Resync = true
		}
		if id != "" && !slices.Contains(ev.Fields, id) {
			ev.Fields = append(ev.Fields, id)
		}
	}
	return ev, true
}
