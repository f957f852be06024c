package store_test

import (
	"testing"

	"callgate/gateway"
	"callgate/store"
)

// TestPartialResyncRebuilds (issue 14, F1): an incomplete resync removes no
// stay it did not see, and the log says so: a rebuild (Verify replays the
// log into a scratch file) ends with the same rooms, and so does a
// Rebuild.
func TestPartialResyncRebuilds(t *testing.T) {
	e := newEnv(t, store.Options{})
	in := func(room, res string) gateway.GuestEvent {
		return gateway.GuestEvent{Kind: gateway.GuestCheckIn, Guest: gateway.Guest{Room: room, Reservation: res}}
	}
	for _, ev := range []gateway.GuestEvent{in("101", "R1"), in("102", "R2"), in("103", "R3"),
		{Kind: gateway.ResyncStart}, func() gateway.GuestEvent { ev := in("101", "R1"); ev.Resync = true; return ev }(),
		{Kind: gateway.ResyncEnd, Partial: true}} {
		if _, err := e.j.ApplyGuest(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	rooms := func() int {
		gs, err := e.j.Guests(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		return len(gs)
	}
	if n := rooms(); n != 3 {
		t.Errorf("%d guests after an incomplete resync, want 3", n)
	}
	e.verify()
	if _, err := e.j.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	if n := rooms(); n != 3 {
		t.Errorf("%d guests after a rebuild, want 3", n)
	}
}
