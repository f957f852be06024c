package store_test

import (
	"strings"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/store"
)

func checkIn(room, res, last string, shared bool) gateway.GuestEvent {
	return gateway.GuestEvent{Kind: gateway.GuestCheckIn, Guest: gateway.Guest{Room: room, Reservation: res, LastName: last,
		FirstName: "Ann", Shared: shared, Language: "E", ClassOfService: "3",
		Arrival: time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)}}
}

func (e *env) guest(ev gateway.GuestEvent) bool {
	e.t.Helper()
	changed, err := e.j.ApplyGuest(ctx, ev)
	if err != nil {
		e.t.Fatalf("%s: %v", ev.Kind, err)
	}
	return changed
}

// rooms returns "room:reservation:last" for every guest in the hotel.
func (e *env) rooms() string {
	e.t.Helper()
	gs, err := e.j.Guests(ctx, "")
	if err != nil {
		e.t.Fatal(err)
	}
	var parts []string
	for _, g := range gs {
		s := g.Room + ":" + g.Reservation + ":" + g.LastName
		if g.Shared {
			s += "+"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

func TestGuests(t *testing.T) {
	e := newEnv(t, store.Options{GuestRetention: 48 * time.Hour})
	if !e.guest(checkIn("101", "G1", "Smith", false)) {
		t.Fatal("check-in changed nothing")
	}
	// The PMS repeats a GI after a hiccup: nothing changes, nothing is logged.
	info, _ := e.j.Info(ctx)
	if e.guest(checkIn("101", "G1", "Smith", false)) {
		t.Error("a repeated check-in changed something")
	}
	if info2, _ := e.j.Info(ctx); info2.LastSeq != info.LastSeq {
		t.Error("a repeated check-in was logged")
	}
	// A sharer arrives; the first guest's GC marks the room shared.
	e.guest(checkIn("101", "G2", "Jones", true))
	if got := e.rooms(); got != "101:G1:Smith+ 101:G2:Jones+" {
		t.Errorf("sharers: %s", got)
	}
	gs, _ := e.j.Guests(ctx, "101")
	if len(gs) != 2 || gs[0].Language != "E" || gs[0].ClassOfService != "3" || gs[0].Arrival.Day() != 27 || gs[0].FirstName != "Ann" {
		t.Errorf("guest data: %+v", gs)
	}
	// Jones moves to 205 (GC with RO): 101 is no longer shared.
	e.guest(gateway.GuestEvent{Kind: gateway.GuestChange, Guest: gateway.Guest{Room: "205", Reservation: "G2", Shared: false},
		Omitted: gateway.FieldShared.Others(), OldRoom: "101", OldRoomShared: false})
	if got := e.rooms(); got != "101:G1:Smith 205:G2:Jones" {
		t.Errorf("after the move: %s", got)
	}
	// A GC changes only the fields it carries.
	e.guest(gateway.GuestEvent{Kind: gateway.GuestChange, Guest: gateway.Guest{Room: "205", Reservation: "G2", LastName: "Jones-Lee", NoPost: true},
		Omitted: (gateway.FieldLastName | gateway.FieldNoPost).Others()})
	gs, _ = e.j.Guests(ctx, "205")
	if len(gs) != 1 || gs[0].LastName != "Jones-Lee" || gs[0].FirstName != "Ann" || !gs[0].NoPost || gs[0].Language != "E" {
		t.Errorf("GC fields: %+v", gs)
	}
	// A GI naming a reservation that is in another room moves it.
	e.guest(checkIn("310", "G1", "Smith", false))
	if got := e.rooms(); got != "205:G2:Jones-Lee 310:G1:Smith" {
		t.Errorf("GI in another room: %s", got)
	}
	// A room-based PMS (no G#) and a GI with GS=N clearing a stale guest.
	e.guest(checkIn("400", "", "Brown", false))
	e.guest(checkIn("205", "G3", "Green", false))
	if got := e.rooms(); got != "205:G3:Green 310:G1:Smith 400::Brown" {
		t.Errorf("unshared GI: %s", got)
	}
	// Room move without a reservation number: the names follow.
	e.guest(gateway.GuestEvent{Kind: gateway.GuestChange, Guest: gateway.Guest{Room: "401"}, Omitted: gateway.AllGuestFields, OldRoom: "400"})
	if got := e.rooms(); got != "205:G3:Green 310:G1:Smith 401::Brown" {
		t.Errorf("room-based move: %s", got)
	}
	// Check-out by reservation, and of a whole room.
	e.guest(gateway.GuestEvent{Kind: gateway.GuestCheckOut, Guest: gateway.Guest{Room: "999", Reservation: "G1"}})
	e.guest(gateway.GuestEvent{Kind: gateway.GuestCheckOut, Guest: gateway.Guest{Room: "401"}})
	if got := e.rooms(); got != "205:G3:Green" {
		t.Errorf("after check-outs: %s", got)
	}
	if e.guest(gateway.GuestEvent{Kind: gateway.GuestCheckOut, Guest: gateway.Guest{Room: "401"}}) {
		t.Error("a repeated check-out changed something")
	}
	// Names are never in the log.
	evs, _ := e.j.Events(ctx, gateway.EventFilter{})
	for _, ev := range evs {
		for _, name := range []string{"Smith", "Jones", "Green", "Brown", "Ann"} {
			if strings.Contains(string(ev.Data), name) {
				t.Errorf("event %d holds the name %s: %s", ev.Seq, name, ev.Data)
			}
		}
	}
	// Names are erased the configured time after check-out, and only then.
	e.clock.Add(47 * time.Hour)
	if td, _ := e.j.Tidy(ctx); td.NamesErased != 0 {
		t.Errorf("erased %d names before their time", td.NamesErased)
	}
	e.clock.Add(2 * time.Hour)
	td, _ := e.j.Tidy(ctx)
	if td.NamesErased != 3 { // G1 Smith, G2 (cleared by GS=N at G3's arrival) Jones-Lee, Brown
		t.Errorf("erased %d names, want 3", td.NamesErased)
	}
	if got := e.rooms(); got != "205:G3:Green" {
		t.Errorf("an in-house guest lost the name: %s", got)
	}
	e.verify()
	// A resync: the PMS resends who is in house; the rest are gone.
	e.guest(checkIn("500", "G5", "White", false))
	e.guest(gateway.GuestEvent{Kind: gateway.ResyncStart})
	e.guest(gateway.GuestEvent{Kind: gateway.GuestCheckIn, Resync: true, Guest: gateway.Guest{Room: "500", Reservation: "G5"}, Omitted: gateway.AllGuestFields})
	e.guest(gateway.GuestEvent{Kind: gateway.ResyncEnd})
	if got := e.rooms(); got != "500:G5:White" {
		t.Errorf("after the resync: %s", got)
	}
	e.guest(gateway.GuestEvent{Kind: gateway.NightAuditStart})
	e.guest(gateway.GuestEvent{Kind: gateway.NightAuditEnd})
	for _, bad := range []gateway.GuestEvent{{Kind: "dance"}, {Kind: gateway.GuestCheckIn}, {Kind: gateway.GuestCheckOut}} {
		t.Run(string(bad.Kind), func(t *testing.T) {
			if _, err := e.j.ApplyGuest(ctx, bad); !gateway.IsKind(err, gateway.KindInvalid) {
				t.Errorf("%+v: %v", bad, err)
			}
		})
	}
	e.verify()
	e.reopen()
	if got := e.rooms(); got != "500:G5:White" {
		t.Errorf("after reopen: %s", got)
	}
}

func TestAudit(t *testing.T) {
	e := newEnv(t, store.Options{})
	if err := e.j.Audit(ctx, gateway.AuditRecord{Actor: "admin", Action: "tariff-change", Reason: "new carrier rates",
		Detail: map[string]string{"file": "/etc/callgate/tariff.yaml", "version": "2026-12-01"}}); err != nil {
		t.Fatal(err)
	}
	id := e.to(1, gateway.StateInDoubt)
	e.move(id, gateway.Change{To: gateway.StatePostedByHand, Actor: "night", Reason: "on the folio"})
	if err := e.j.Audit(ctx, gateway.AuditRecord{Action: "x"}); !gateway.IsKind(err, gateway.KindInvalid) {
		t.Errorf("audit without actor: %v", err)
	}
	log, err := e.j.Events(ctx, gateway.EventFilter{Audit: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 2 || log[0].Kind != gateway.EventAudit || log[0].Actor != "admin" || !strings.Contains(string(log[0].Data), `"action":"tariff-change"`) ||
		log[1].Actor != "night" || log[1].To != gateway.StatePostedByHand || log[1].Reason != "on the folio" {
		t.Errorf("audit log: %+v", log)
	}
	own, _ := e.j.Events(ctx, gateway.EventFilter{Audit: true, Entry: id})
	if len(own) != 1 {
		t.Errorf("entry's audit events: %+v", own)
	}
}

func TestUsers(t *testing.T) {
	e := newEnv(t, store.Options{})
	u := gateway.User{Name: "night", Role: "auditor", PasswordHash: []byte("$2a$10$abc"),
		Tokens: []gateway.Token{{Hash: []byte("tok1"), Label: "script"}}}
	if err := e.j.PutUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	got, err := e.j.UserByToken(ctx, []byte("tok1"))
	if err != nil || got.Name != "night" || string(got.PasswordHash) != "$2a$10$abc" || got.Created.IsZero() {
		t.Fatalf("by token: %+v %v", got, err)
	}
	if err := e.j.PutUser(ctx, gateway.User{Name: "admin", Role: "admin", Tokens: []gateway.Token{{Hash: []byte("tok1")}}}); !gateway.IsKind(err, gateway.KindInvalid) {
		t.Errorf("token taken: %v", err)
	}
	until := time.Date(2026, 11, 27, 15, 0, 0, 0, time.UTC)
	got, err = e.j.UpdateUser(ctx, "night", func(u *gateway.User) error {
		u.FailedLogins = 5
		u.LockedUntil = until
		u.Tokens = []gateway.Token{{Hash: []byte("tok2")}}
		return nil
	})
	if err != nil || got.FailedLogins != 5 || !got.LockedUntil.Equal(until) {
		t.Fatalf("update: %+v %v", got, err)
	}
	if _, err := e.j.UserByToken(ctx, []byte("tok1")); !gateway.IsKind(err, gateway.KindNotFound) {
		t.Errorf("revoked token still works: %v", err)
	}
	if err := e.j.PutUser(ctx, gateway.User{Name: "admin", Role: "admin", Tokens: []gateway.Token{{Hash: []byte("tok1")}}}); err != nil {
		t.Errorf("freed token: %v", err)
	}
	e.reopen()
	all, _ := e.j.Users(ctx)
	if len(all) != 2 || all[0].Name != "admin" || all[1].Name != "night" {
		t.Errorf("users: %+v", all)
	}
	if err := e.j.DeleteUser(ctx, "admin"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.j.UserByToken(ctx, []byte("tok1")); !gateway.IsKind(err, gateway.KindNotFound) {
		t.Errorf("deleted user's token: %v", err)
	}
	if err := e.j.DeleteUser(ctx, "admin"); !gateway.IsKind(err, gateway.KindNotFound) {
		t.Errorf("delete twice: %v", err)
	}
	if err := e.j.PutUser(ctx, gateway.User{Name: "x"}); !gateway.IsKind(err, gateway.KindInvalid) {
		t.Errorf("no role: %v", err)
	}
}
