package store

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"callgate/gateway"
)

// personalValues are the personal data the guests of testdata/guests-v1
// hold (its .json): VIP, group, class of service, language.
var personalValues = []string{`"vip"`, `"group"`, `"class_of_service"`, `"language"`, `"no_post"`, `"ACME"`}

// TestGuestRecordsMigrated: opening the schema-3 journal of
// testdata/guests-v1 moves each stay's personal data from bucket "rooms" to
// its guest record in bucket "names": the stays keep none of it, the
// records hold it, and Verify (which rebuilds the rooms from the old events,
// whose bodies still carry it) finds the projection as the log gives it.
func TestGuestRecordsMigrated(t *testing.T) {
	path := GunzipJournal(t, "testdata/guests-v1.db.gz")
	if s := schemaOf(t, path); s >= 4 {
		t.Fatalf("testdata has schema %d, want an older one", s)
	}
	j, err := Open(path, Options{Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	ctx := context.Background()
	recs := map[string]guestRecord{}
	err = j.db.View(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bRooms).ForEach(func(k, v []byte) error {
			for _, p := range personalValues {
				if bytes.Contains(v, []byte(p)) {
					t.Errorf("room %s still keeps %s in its stays: %s", k, p, v)
				}
			}
			return nil
		}); err != nil {
			return err
		}
		return tx.Bucket(bNames).ForEach(func(k, v []byte) error {
			var r guestRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			recs[string(k)] = r
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if r := recs["r:R2"]; r.VIP != "2" || r.Group != "ACME" || !r.NoPost || r.ClassOfService != "2" || r.Last != "Jones-Lee" {
		t.Errorf("R2's record after the upgrade: %+v", r)
	}
	if r := recs["r:R1"]; r.VIP != "1" || r.Language != "S" || r.ClassOfService != "1" || r.Last != "Smith" {
		t.Errorf("R1's record after the upgrade: %+v", r)
	}
	rep, err := j.Verify(ctx, t.TempDir())
	if err != nil || !rep.OK() {
		t.Errorf("verify after the upgrade: %v %v", rep.Problems, err)
	}
	gs, err := j.Guests(ctx, "205")
	if err != nil || len(gs) != 1 || gs[0].VIP != "2" || !gs[0].NoPost || gs[0].ClassOfService != "2" || gs[0].Group != "ACME" {
		t.Errorf("room 205 after the upgrade: %+v %v", gs, err)
	}
}

// TestGuestRecordNewStay: a stay the PMS creates again (the same reservation
// back after its check-out) starts without the personal data of the earlier
// stay, as the stay projected from the log did before schema 4; an update of
// a stay keeps what it does not carry.
func TestGuestRecordNewStay(t *testing.T) {
	j, err := Open(t.TempDir()+"/journal.db", Options{Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	ctx := context.Background()
	apply := func(ge gateway.GuestEvent) {
		t.Helper()
		if _, err := j.ApplyGuest(ctx, ge); err != nil {
			t.Fatal(err)
		}
	}
	guest := func(room string) gateway.Guest {
		t.Helper()
		gs, err := j.Guests(ctx, room)
		if err != nil || len(gs) != 1 {
			t.Fatalf("room %s: %+v %v", room, gs, err)
		}
		return gs[0]
	}
	apply(gateway.GuestEvent{Kind: gateway.GuestCheckIn, Guest: gateway.Guest{Room: "101", Reservation: "R9", LastName: "Vance", VIP: "3", NoPost: true, ClassOfService: "1"}})
	// A change carrying only the language keeps the rest.
	apply(gateway.GuestEvent{Kind: gateway.GuestChange, Guest: gateway.Guest{Room: "101", Reservation: "R9", Language: "F"}, Omitted: gateway.FieldLanguage.Others()})
	if g := guest("101"); g.VIP != "3" || !g.NoPost || g.ClassOfService != "1" || g.Language != "F" || g.LastName != "Vance" {
		t.Errorf("after a change of the language: %+v", g)
	}
	// A room move takes the record along (it is the reservation's).
	apply(gateway.GuestEvent{Kind: gateway.GuestChange, Guest: gateway.Guest{Room: "102", Reservation: "R9"}, OldRoom: "101", Omitted: gateway.AllGuestFields})
	if g := guest("102"); g.VIP != "3" || !g.NoPost {
		t.Errorf("after a room move: %+v", g)
	}
	apply(gateway.GuestEvent{Kind: gateway.GuestCheckOut, Guest: gateway.Guest{Room: "102", Reservation: "R9"}, Omitted: gateway.AllGuestFields})
	apply(gateway.GuestEvent{Kind: gateway.GuestCheckIn, Guest: gateway.Guest{Room: "103", Reservation: "R9", LastName: "Vance"}, Omitted: gateway.FieldLastName.Others()})
	if g := guest("103"); g.VIP != "" || g.NoPost || g.ClassOfService != "" || g.Language != "" {
		t.Errorf("a new stay of the same reservation kept the last stay's data: %+v", g)
	}
	// Without a reservation number, the room's record alike.
	apply(gateway.GuestEvent{Kind: gateway.GuestCheckIn, Guest: gateway.Guest{Room: "104", NoPost: true, VIP: "1"}})
	apply(gateway.GuestEvent{Kind: gateway.GuestCheckOut, Guest: gateway.Guest{Room: "104"}, Omitted: gateway.AllGuestFields})
	apply(gateway.GuestEvent{Kind: gateway.GuestCheckIn, Guest: gateway.Guest{Room: "104"}, Omitted: gateway.AllGuestFields})
	if g := guest("104"); g.VIP != "" || g.NoPost {
		t.Errorf("a new stay in a room without reservation numbers kept the last stay's data: %+v", g)
	}
}

// TestEraseKeepsStayingGuests: retention never erases the record of a stay
// a room still holds, even one stamped checked out long ago (a journal
// upgraded from schema 3 can hold such a stamp): the record holds the
// stay's no-post flag, which the engine reads.
func TestEraseKeepsStayingGuests(t *testing.T) {
	j, err := Open(t.TempDir()+"/journal.db", Options{Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	ctx := context.Background()
	if _, err := j.ApplyGuest(ctx, gateway.GuestEvent{Kind: gateway.GuestCheckIn, Guest: gateway.Guest{Room: "101", Reservation: "R1", NoPost: true}}); err != nil {
		t.Fatal(err)
	}
	long := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Format(time.RFC3339Nano)
	err = j.db.Update(func(tx *bolt.Tx) error {
		return putJSON(tx.Bucket(bNames), nameKey("101", "R1"), guestRecord{NoPost: true, Updated: long, CheckedOut: long})
	})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := j.eraseNames(ctx, time.Now()); err != nil || n != 0 {
		t.Errorf("erased %d records of a staying guest: %v", n, err)
	}
	if gs, _ := j.Guests(ctx, "101"); len(gs) != 1 || !gs[0].NoPost {
		t.Errorf("the staying guest after retention: %+v", gs)
	}
}
