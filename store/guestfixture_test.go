package store_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"os"
	"slices"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/store"
)

// The journal in testdata/guests-v1.db.gz holds guest events of every kind
// as the journal stored them before guest events carried typed fields: each
// event's "fields" lists the FIAS field ids the PMS sent ("RN", "G#", "GN",
// …), and an event without the list carries every field. It was written by
// guestScenario with
//
//	go test ./store -run TestGuestFixture -write-guest-fixture
//
// at the commit that added it, with the code of that time; testdata/guests-v1.json
// is what that code listed as the hotel's guests at the end. Do not write it
// again with later code: the test is that today's code reads what older code
// stored.
var writeGuestFixture = flag.Bool("write-guest-fixture", false, "write testdata/guests-v1.db.gz and .json from guestScenario")

const guestFixture = "testdata/guests-v1"

// guestScenario applies guest events of every kind to e, as a FIAS link
// delivers them: check-ins with some fields, changes carrying a subset,
// room moves (with one or two GS), check-outs, a resync and a night audit.
func guestScenario(e *env) {
	day := func(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC) }
	at := func(h, m int) time.Time { return time.Date(2026, 11, 27, h, m, 0, 0, time.UTC) }
	for _, ev := range []gateway.GuestEvent{
		// GI with some fields.
		{Kind: gateway.GuestCheckIn, Time: at(9, 0), Guest: gateway.Guest{Room: "101", Reservation: "R1", LastName: "Smith", FirstName: "Ann",
			Title: "Ms", Language: "E", Shared: false, Arrival: day(27), Departure: day(30)},
			Omitted: (gateway.FieldShared | gateway.FieldLastName | gateway.FieldFirstName | gateway.FieldTitle | gateway.FieldLanguage | gateway.FieldArrival | gateway.FieldDeparture).Others()},
		// A sharer arrives in the same room.
		{Kind: gateway.GuestCheckIn, Time: at(9, 5), Guest: gateway.Guest{Room: "101", Reservation: "R2", LastName: "Jones", Shared: true,
			VIP: "2", Group: "ACME", ClassOfService: "2"},
			Omitted: (gateway.FieldLastName | gateway.FieldShared | gateway.FieldVIP | gateway.FieldGroup | gateway.FieldClassOfService).Others()},
		// A GI without reservation number (a room-based PMS) and without the list: every field.
		{Kind: gateway.GuestCheckIn, Time: at(9, 10), Guest: gateway.Guest{Room: "400", LastName: "Brown", Language: "F", ClassOfService: "3"}},
		// A GI with no guest data at all.
		{Kind: gateway.GuestCheckIn, Time: at(9, 15), Guest: gateway.Guest{Room: "402", Reservation: "R4"}, Omitted: gateway.AllGuestFields},
		// GC with a subset: the last name and No-Post change, nothing else.
		{Kind: gateway.GuestChange, Time: at(10, 0), Guest: gateway.Guest{Room: "101", Reservation: "R2", LastName: "Jones-Lee", NoPost: true},
			Omitted: (gateway.FieldLastName | gateway.FieldNoPost).Others()},
		// GC with other fields: VIP, group, class of service, title, departure.
		{Kind: gateway.GuestChange, Time: at(10, 5), Guest: gateway.Guest{Room: "101", Reservation: "R1", VIP: "1", Group: "", ClassOfService: "1",
			Title: "Dr", Departure: day(29)},
			Omitted: (gateway.FieldVIP | gateway.FieldGroup | gateway.FieldClassOfService | gateway.FieldTitle | gateway.FieldDeparture).Others()},
		// GC room move with two GS: R2 moves to 205, unshared, and 101 is no longer shared.
		{Kind: gateway.GuestChange, Time: at(11, 0), Guest: gateway.Guest{Room: "205", Reservation: "R2", Shared: false},
			OldRoom: "101", OldRoomShared: false, Omitted: gateway.FieldShared.Others()},
		// A GI for a sharer of 205, then a room move with one GS after RO
		// (the old room's share state only).
		{Kind: gateway.GuestCheckIn, Time: at(11, 5), Guest: gateway.Guest{Room: "205", Reservation: "R5", LastName: "Green", Shared: true},
			Omitted: (gateway.FieldLastName | gateway.FieldShared).Others()},
		{Kind: gateway.GuestChange, Time: at(11, 10), Guest: gateway.Guest{Room: "210", Reservation: "R5"},
			OldRoom: "205", OldRoomShared: false, Omitted: gateway.AllGuestFields},
		// Room move without a reservation number: the names follow.
		{Kind: gateway.GuestChange, Time: at(11, 15), Guest: gateway.Guest{Room: "401"}, OldRoom: "400", Omitted: gateway.AllGuestFields},
		// A sharer checks in to 210 and the first checks out: GO with GS.
		{Kind: gateway.GuestCheckIn, Time: at(12, 0), Guest: gateway.Guest{Room: "210", Reservation: "R6", LastName: "Black", Shared: true, Language: "D"},
			Omitted: (gateway.FieldLastName | gateway.FieldShared | gateway.FieldLanguage).Others()},
		{Kind: gateway.GuestCheckOut, Time: at(12, 5), Guest: gateway.Guest{Room: "210", Reservation: "R5", Shared: false},
			Omitted: gateway.FieldShared.Others()},
		// GO of a whole room (no reservation number), GO by reservation only.
		{Kind: gateway.GuestCheckOut, Time: at(12, 10), Guest: gateway.Guest{Room: "401"}, Omitted: gateway.AllGuestFields},
		{Kind: gateway.GuestCheckOut, Time: at(12, 15), Guest: gateway.Guest{Reservation: "R4"}, Omitted: gateway.AllGuestFields},
		// A guest the resync will not mention.
		{Kind: gateway.GuestCheckIn, Time: at(12, 20), Guest: gateway.Guest{Room: "300", Reservation: "R7", LastName: "White"},
			Omitted: gateway.FieldLastName.Others()},
		// A night audit.
		{Kind: gateway.NightAuditStart, Time: at(23, 0)},
		{Kind: gateway.NightAuditEnd, Time: at(23, 30)},
		// A resync: the PMS resends who is in house (R1 with a change, R6
		// and R2 without data); R7 is not mentioned and leaves.
		{Kind: gateway.ResyncStart, Time: at(23, 40)},
		{Kind: gateway.GuestCheckIn, Resync: true, Time: at(23, 41), Guest: gateway.Guest{Room: "101", Reservation: "R1", Language: "S"},
			Omitted: gateway.FieldLanguage.Others()},
		{Kind: gateway.GuestCheckIn, Resync: true, Time: at(23, 42), Guest: gateway.Guest{Room: "210", Reservation: "R6"},
			Omitted: gateway.AllGuestFields},
		{Kind: gateway.GuestCheckIn, Resync: true, Time: at(23, 43), Guest: gateway.Guest{Room: "205", Reservation: "R2"},
			Omitted: gateway.AllGuestFields},
		{Kind: gateway.ResyncEnd, Time: at(23, 45)},
	} {
		e.guest(ev)
	}
}

// guestsJSON is the hotel's guests as the fixture's JSON keeps them.
func guestsJSON(t *testing.T, j *store.Journal) []byte {
	t.Helper()
	gs, err := j.Guests(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.MarshalIndent(gs, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// TestGuestFixture: today's code reads guest events stored by older code
// (testdata/guests-v1.db.gz) with the same meaning: the guests listed are
// those the older code listed, and a rebuild from the stored events (verify,
// rebuild) projects the same rooms.
func TestGuestFixture(t *testing.T) {
	if *writeGuestFixture {
		e := newEnv(t, store.Options{})
		guestScenario(e)
		if err := os.WriteFile(guestFixture+".json", guestsJSON(t, e.j), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := e.j.Close(); err != nil {
			t.Fatal(err)
		}
		e.j = nil
		db, err := os.ReadFile(e.path)
		if err != nil {
			t.Fatal(err)
		}
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write(db)
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(guestFixture+".db.gz", gz.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(guestFixture + ".json")
	if err != nil {
		t.Fatal(err)
	}
	j := openFixture(t, guestFixture+".db.gz")
	if got := guestsJSON(t, j); !bytes.Equal(got, want) {
		t.Errorf("guests read from the old journal:\n%s\nwant\n%s", got, want)
	}
	rep, err := j.Verify(ctx, t.TempDir())
	if err != nil || !rep.OK() {
		t.Errorf("verify (a rebuild from the old events against the old projection): %v %v", rep.Problems, err)
	}
	oldEvents, err := j.Events(ctx, gateway.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	if got := guestsJSON(t, j); !bytes.Equal(got, want) {
		t.Errorf("guests after a rebuild from the old events:\n%s\nwant\n%s", got, want)
	}

	// Today's code, given the same events, ends with the same guests, and
	// stores events that read as the old ones under the old rule (an older
	// callgate reads them alike).
	e := newEnv(t, store.Options{})
	guestScenario(e)
	if got := guestsJSON(t, e.j); !bytes.Equal(got, want) {
		t.Errorf("guests after the same events today:\n%s\nwant\n%s", got, want)
	}
	newEvents, err := e.j.Events(ctx, gateway.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(newEvents) != len(oldEvents) {
		t.Fatalf("%d events today, %d stored", len(newEvents), len(oldEvents))
	}
	for i := range oldEvents {
		// Today's events leave the guest's personal data to the guest
		// record beside the log (schema 4): none of it is in them, and
		// their "fields" do not name the record's fields either.
		for _, k := range personalKeys {
			if bytes.Contains(newEvents[i].Data, []byte(`"`+k+`"`)) {
				t.Errorf("event %d today carries the guest's %s: %s", i+1, k, newEvents[i].Data)
			}
		}
		for _, id := range []string{"GN", "GF", "GT", "GL", "GV", "GG", "NP", "CS"} {
			if bytes.Contains(newEvents[i].Data, []byte(`"`+id+`"`)) {
				t.Errorf("event %d today names the record's field %s: %s", i+1, id, newEvents[i].Data)
			}
		}
		o, n := oldMeaning(t, oldEvents[i].Data), oldMeaning(t, newEvents[i].Data)
		if o != n {
			t.Errorf("event %d reads differently:\nstored %s\ntoday  %s", i+1, oldEvents[i].Data, newEvents[i].Data)
		}
	}
}

// personalKeys are the keys of a guest's personal data in the events written
// before schema 4.
var personalKeys = []string{"language", "vip", "group", "no_post", "class_of_service"}

// oldMeaning is what the code before typed guest fields read from a stored
// guest event, less the guest's names and personal data (which events no
// longer carry, nor name in "fields": the guest record keeps them): its
// data with "fields" replaced by the stay fields it carries under the rule
// of that code (none listed: every one; else those listed).
func oldMeaning(t *testing.T, data []byte) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	var listed []string
	if l, ok := m["fields"].([]any); ok {
		for _, f := range l {
			listed = append(listed, f.(string))
		}
	}
	carried := map[string]bool{}
	for _, f := range []string{"GS", "GA", "GD"} {
		carried[f] = len(listed) == 0 || slices.Contains(listed, f)
	}
	m["fields"] = carried
	for _, k := range personalKeys {
		delete(m, k)
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// openFixture opens a copy of a gzipped journal from testdata.
func openFixture(t *testing.T, name string) *store.Journal {
	t.Helper()
	j, err := store.Open(store.GunzipJournal(t, name), store.Options{Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}
