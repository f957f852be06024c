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

type guestField struct {
	id    string
	field gateway.GuestFields
	set   func(g *gateway.Guest, v string)
	get   func(g *gateway.Guest) string
}

// guestFields is every guest data field of a FIAS record but GS (whose
// meaning depends on its place, see GuestEvent): its id, the typed field it
// is, and how its value reads into a Guest and writes from one.
var guestFields = [...]guestField{
	{"GN", gateway.FieldLastName, func(g *gateway.Guest, v string) { g.LastName = v }, func(g *gateway.Guest) string { return g.LastName }},
	{"GF", gateway.FieldFirstName, func(g *gateway.Guest, v string) { g.FirstName = v }, func(g *gateway.Guest) string { return g.FirstName }},
	{"GT", gateway.FieldTitle, func(g *gateway.Guest, v string) { g.Title = v }, func(g *gateway.Guest) string { return g.Title }},
	{"GL", gateway.FieldLanguage, func(g *gateway.Guest, v string) { g.Language = v }, func(g *gateway.Guest) string { return g.Language }},
	{"GV", gateway.FieldVIP, func(g *gateway.Guest, v string) { g.VIP = v }, func(g *gateway.Guest) string { return g.VIP }},
	{"GG", gateway.FieldGroup, func(g *gateway.Guest, v string) { g.Group = v }, func(g *gateway.Guest) string { return g.Group }},
	{"GA", gateway.FieldArrival, func(g *gateway.Guest, v string) { g.Arrival, _ = ParseDate(v) }, func(g *gateway.Guest) string { return FormatDate(g.Arrival) }},
	{"GD", gateway.FieldDeparture, func(g *gateway.Guest, v string) { g.Departure, _ = ParseDate(v) }, func(g *gateway.Guest) string { return FormatDate(g.Departure) }},
	{"NP", gateway.FieldNoPost, func(g *gateway.Guest, v string) { g.NoPost = v == "Y" }, func(g *gateway.Guest) string { return yesNo(g.NoPost) }},
	{"CS", gateway.FieldClassOfService, func(g *gateway.Guest, v string) { g.ClassOfService = v }, func(g *gateway.Guest) string { return g.ClassOfService }},
}

// FormatDate writes t as a FIAS date (YYMMDD), "" for the zero time.
func FormatDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format("060102")
}

func yesNo(b bool) string {
	if b {
		return "Y"
	}
	return "N"
}

// AppendGuest adds g's data fields to r, as a PMS sends them in a GI or GC:
// every field but RN, G# and GS, empty ones left out, NP always (Y or N).
func AppendGuest(r *Record, g gateway.Guest) {
	for _, f := range guestFields {
		if v := f.get(&g); v != "" {
			r.Add(f.id, v)
		}
	}
}

// eventKinds maps the PMS records the engine consumes to their events.
var eventKinds = map[string]gateway.GuestEventKind{
	"GI": gateway.GuestCheckIn,
	"GC": gateway.GuestChange,
	"GO": gateway.GuestCheckOut,
	"DS": gateway.ResyncStart,
	"DE": gateway.ResyncEnd,
	"NS": gateway.NightAuditStart,
	"NE": gateway.NightAuditEnd,
}

// GuestEvent turns a PMS record into the event the engine consumes: GI,
// GC, GO, and the brackets DS/DE (resync) and NS/NE (night audit). ok is
// false for any other record type.
//
// Resync is set only for the FIAS swap flag: an SF without data in a GI or
// GO. Whether a resync is running is the session's to say (see onFrame).
//
// A GC for a room move carries RO and GS twice: the first GS (after RN) is
// the share state of the new room, the second (after RO) that of the old
// room.
func GuestEvent(r Record) (ev gateway.GuestEvent, ok bool) {
	if ev.Kind, ok = eventKinds[r.Type]; !ok {
		return ev, false
	}
	ev.Time, _ = ParseDateTime(r.Value("DA"), r.Value("TI"))
	if r.Type[0] != 'G' {
		return ev, true
	}
	g := &ev.Guest
	var carried gateway.GuestFields
	afterRO := false
	// Two GS in a move: the first is the new room's, the second the old
	// room's, wherever RO stands. One GS: its place says which room.
	gsTotal, gsSeen := len(r.All("GS")), 0
	for _, f := range r.Fields {
		switch f.ID {
		case "RN":
			g.Room = f.Value
		case "G#":
			g.Reservation = f.Value
		case "GS":
			gsSeen++
			if r.Type == "GC" && r.Has("RO") && (gsTotal >= 2 && gsSeen >= 2 || gsTotal == 1 && afterRO) {
				ev.OldRoomShared = f.Value == "Y" // not a field of the guest
			} else {
				g.Shared = f.Value == "Y"
				carried |= gateway.FieldShared
			}
		case "RO":
			ev.OldRoom = f.Value
			afterRO = true
		case "SF":
			// The swap flag carries no data and marks a record of a
			// database resync; FIAS sends it in GI and GO only
			// (docs/fias.md, "Resync"). SFN, SFY or an SF in a GC is a
			// PMS filling every declared field, not a resync mark.
			ev.Resync = f.Value == "" && r.Type != "GC"
		default:
			if i := slices.IndexFunc(guestFields[:], func(gf guestField) bool { return gf.id == f.ID }); i >= 0 {
				guestFields[i].set(g, f.Value)
				carried |= guestFields[i].field
			}
		}
	}
	ev.Omitted = carried.Others()
	return ev, true
}
