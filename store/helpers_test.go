package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"callgate/gateway"
	"callgate/store"
)

var ctx = context.Background()

// clock is a fake clock tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 27, 14, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond) // every event at its own instant
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a journal in a temp folder with a fake clock.
type env struct {
	t     testing.TB
	path  string
	clock *clock
	opt   store.Options
	j     *store.Journal
}

func newEnv(t testing.TB, opt store.Options) *env {
	t.Helper()
	e := &env{t: t, path: filepath.Join(t.TempDir(), "journal.db"), clock: newClock(), opt: opt}
	if e.opt.Location == nil {
		e.opt.Location, _ = time.LoadLocation("America/New_York")
	}
	e.opt.Now = e.clock.Now
	e.open()
	t.Cleanup(func() {
		if e.j != nil {
			e.j.Close()
		}
	})
	return e
}

func (e *env) open() {
	e.t.Helper()
	j, err := store.Open(e.path, e.opt)
	if err != nil {
		e.t.Fatal(err)
	}
	e.j = j
}

func (e *env) reopen() {
	e.t.Helper()
	if err := e.j.Close(); err != nil {
		e.t.Fatal(err)
	}
	e.open()
}

// record returns a distinct raw record n.
func record(n int) gateway.RawRecord {
	return gateway.RawRecord{
		Data:     fmt.Appendf(nil, "2026/11/27 14:%02d:%02d,00:01:35,4,%d,O,6175550134,6175550134,,0,10042%05d,0,E415,Room 415,T9005,Line 5.1", n/60%60, n%60, 400+n%50, n),
		Received: time.Date(2026, 11, 27, 14, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Second),
		Source:   "serial /dev/ttyUSB0",
	}
}

// call returns the parse of record n: extension 400+n%50, starting n
// minutes after 2026-11-27 09:00 New York (14:00 UTC).
func call(n int) *gateway.Call {
	start := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Minute)
	return &gateway.Call{
		Format:    "avaya-ipo",
		Extension: fmt.Sprint(400 + n%50),
		Dialed:    "6175550134",
		Start:     start,
		StartUTC:  start.Add(5 * time.Hour),
		DurationS: 95,
		Direction: gateway.Outgoing,
		Trunk:     "9005",
		Answered:  gateway.Bool(true),
	}
}

func charge(total int64) *gateway.Charge {
	return &gateway.Charge{Class: "national", Destination: "USA", Prefix: "1", E164: "16175550134", Band: "day",
		BillableS: 96, Chargeable: total > 0, CarrierMinor: 16, TotalMinor: total, Currency: "USD", TariffVersion: "base"}
}

func (e *env) capture(n int) gateway.EntryID {
	e.t.Helper()
	c, err := e.j.Capture(ctx, record(n))
	if err != nil {
		e.t.Fatal(err)
	}
	if c.Replay {
		e.t.Fatalf("record %d taken for a replay of entry %d", n, c.ID)
	}
	return c.ID
}

func (e *env) move(id gateway.EntryID, c gateway.Change) gateway.Entry {
	e.t.Helper()
	en, err := e.j.Move(ctx, id, c)
	if err != nil {
		e.t.Fatalf("move %d to %s: %v", id, c.To, err)
	}
	return en
}

// to brings a new entry (from record n) to state s along the usual path.
func (e *env) to(n int, s gateway.State) gateway.EntryID {
	e.t.Helper()
	if s == gateway.StateImported {
		res, err := e.j.Import(ctx, []gateway.ImportRecord{{Raw: record(n), Call: call(n), Charge: charge(120), Room: "415"}})
		if err != nil {
			e.t.Fatal(err)
		}
		return res.IDs[0]
	}
	id := e.capture(n)
	step := func(c gateway.Change) { e.move(id, c) }
	person := func(to gateway.State) gateway.Change {
		return gateway.Change{To: to, Actor: "night", Reason: "checked the folio"}
	}
	switch s {
	case gateway.StateCaptured:
		return id
	case gateway.StateException:
		step(gateway.Change{To: s, Reason: "unknown extension"})
		return id
	}
	step(gateway.Change{To: gateway.StateRated, Call: call(n), Charge: charge(136)})
	switch s {
	case gateway.StateRated:
		return id
	case gateway.StateNotChargeable:
		step(gateway.Change{To: s, Reason: "internal call"})
		return id
	}
	step(gateway.Change{To: gateway.StateQueued, Room: "415"})
	switch s {
	case gateway.StateQueued:
		return id
	case gateway.StateVoided:
		step(person(s))
		return id
	}
	step(gateway.Change{To: gateway.StateSent})
	switch s {
	case gateway.StateSent:
		return id
	case gateway.StatePosted:
		step(gateway.Change{To: s, Answer: &gateway.Answer{Code: "OK"}})
		return id
	case gateway.StateRefused:
		step(gateway.Change{To: s, Answer: &gateway.Answer{Code: "NG", Text: "room not checked in"}})
		return id
	case gateway.StateResolving: // a lookup PMS: resent once, lost again, a lookup failed
		step(gateway.Change{To: s, Reason: "the PMS's answer was lost: looking up reference r-1 after 30s"})
		step(gateway.Change{To: gateway.StateSent, Reason: "looked up: the PMS has no charge with reference r-1: resent with the same reference"})
		step(gateway.Change{To: s, Reason: "the answer to the resend was lost: looking it up again"})
		step(gateway.Change{To: s, Reason: "looking up reference r-1 failed (try 1 of 5): asking again in 30s"})
		return id
	}
	step(gateway.Change{To: gateway.StateInDoubt, Reason: "link dropped after sending"})
	switch s {
	case gateway.StateInDoubt:
		return id
	case gateway.StatePostedByHand:
		step(person(s))
		return id
	}
	e.t.Fatalf("no path to state %s", s)
	return 0
}

func (e *env) verify() store.Report {
	e.t.Helper()
	rep, err := e.j.Verify(ctx, e.t.TempDir())
	if err != nil {
		e.t.Fatal(err)
	}
	if !rep.OK() {
		e.t.Fatalf("verify: %d problems:\n%v", len(rep.Problems), rep.Problems)
	}
	return rep
}

func kindOf(err error) string {
	if err == nil {
		return "nil"
	}
	return gateway.KindOf(err).String()
}

// edit changes a closed journal file with bbolt directly, as a tamperer
// would.
func edit(t *testing.T, path string, fn func(tx *bolt.Tx)) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { fn(tx); return nil }); err != nil {
		t.Fatal(err)
	}
	db.Close()
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
