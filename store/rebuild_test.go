package store_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"callgate/gateway"
	"callgate/store"
)

// fill writes a journal with every kind of event: entries in every state,
// replays, reposts, transfers, imports, guest moves and a resync, audit
// records, and a retention run in the middle.
func (e *env) fill() {
	e.t.Helper()
	n := 0
	for range 2 {
		for _, s := range restingStates {
			n++
			e.to(n, s)
		}
	}
	r := record(1)
	r.Received = r.Received.Add(time.Minute)
	if c, err := e.j.Capture(ctx, r); err != nil || !c.Replay {
		e.t.Fatalf("replay: %+v %v", c, err)
	}
	id := e.to(100, gateway.StateInDoubt)
	e.move(id, gateway.Change{To: gateway.StateReposted, Actor: "night", Reason: "not on the folio"})
	id = e.to(101, gateway.StateRefused)
	e.move(id, gateway.Change{To: gateway.StateTransferred, Actor: "night", Reason: "wrong room", Room: "512", Charge: charge(99)})
	e.guest(checkIn("101", "G1", "Smith", false))
	e.guest(checkIn("101", "G2", "Jones", true))
	e.guest(gateway.GuestEvent{Kind: gateway.GuestChange, Guest: gateway.Guest{Room: "205", Reservation: "G2"}, Omitted: gateway.FieldShared.Others(), OldRoom: "101"})
	e.guest(gateway.GuestEvent{Kind: gateway.ResyncStart})
	e.guest(gateway.GuestEvent{Kind: gateway.GuestCheckIn, Resync: true, Guest: gateway.Guest{Room: "205", Reservation: "G2"}, Omitted: gateway.AllGuestFields})
	e.guest(gateway.GuestEvent{Kind: gateway.ResyncEnd})
	e.guest(checkIn("300", "", "Brown", false))
	if err := e.j.Audit(ctx, gateway.AuditRecord{Actor: "admin", Action: "config-change", Detail: map[string]string{"key": "rooms.map"}}); err != nil {
		e.t.Fatal(err)
	}
	// A retention run over everything so far that is closed, then more.
	e.clock.Add(400 * 24 * time.Hour)
	if p, err := e.j.Prune(ctx, e.clock.Now().Add(-time.Hour), false); err != nil || p.Entries == 0 {
		e.t.Fatalf("prune: %+v %v", p, err)
	}
	for range 2 {
		for _, s := range restingStates {
			n++
			e.to(n+200, s)
		}
	}
}

// snapshot is everything the queries say about a journal.
func (e *env) snapshot() string {
	e.t.Helper()
	var b bytes.Buffer
	list, err := e.j.Entries(ctx, gateway.Filter{History: true})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, en := range list {
		line, _ := json.Marshal(en)
		b.Write(line)
		b.WriteByte('\n')
	}
	c, _ := e.j.Counts(ctx)
	in, _ := e.j.Info(ctx)
	fmt.Fprintf(&b, "%v\n%+v\n%s\n", c, in, e.rooms())
	for _, s := range gateway.States {
		l, _ := e.j.Entries(ctx, gateway.Filter{States: []gateway.State{s}})
		fmt.Fprintf(&b, "%s %d\n", s, len(l))
	}
	return b.String()
}

// TestRebuildEqualsStored: every projection rebuilt from the events alone
// equals the stored one, and the queries say the same before and after.
func TestRebuildEqualsStored(t *testing.T) {
	e := newEnv(t, store.Options{})
	e.fill()
	rep := e.verify()
	if rep.Pruned == 0 || rep.Events == 0 || rep.Events+rep.Pruned != rep.LastSeq {
		t.Errorf("report %+v", rep)
	}
	before := e.snapshot()
	n, err := e.j.Rebuild(ctx)
	if err != nil || uint64(n) != rep.Events {
		t.Fatalf("rebuild: %d events, %v", n, err)
	}
	e.verify()
	if after := e.snapshot(); after != before {
		t.Errorf("queries differ after a rebuild:\n%s\n----\n%s", before, after)
	}
	// A damaged projection is found, and Rebuild repairs it.
	e.j.Close()
	e.j = nil
	edit(t, e.path, func(tx *bolt.Tx) {
		tx.Bucket([]byte("counts")).Put([]byte("posted"), []byte{0, 0, 0, 0, 0, 0, 0, 9})
		c := tx.Bucket([]byte("by_room")).Cursor()
		k, _ := c.First()
		tx.Bucket([]byte("by_room")).Delete(bytes.Clone(k))
	})
	e.open()
	rep, err = e.j.Verify(ctx, t.TempDir())
	if err != nil || rep.OK() || !strings.Contains(strings.Join(rep.Problems, "\n"), "projection counts") ||
		!strings.Contains(strings.Join(rep.Problems, "\n"), "projection by_room") {
		t.Errorf("damaged projections not found: %v %v", rep.Problems, err)
	}
	if _, err := e.j.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	e.verify()
	if after := e.snapshot(); after != before {
		t.Errorf("queries differ after the repair")
	}
}
