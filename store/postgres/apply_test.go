package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"callgate/gateway"
	"callgate/gateway/gatewaytest"
	"callgate/internal/pgtest"
	"callgate/store/postgres"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

var vienna, _ = time.LoadLocation("Europe/Vienna")

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// open opens a store on a fresh database with property "grand" added.
func open(t testing.TB) (*postgres.Store, string) {
	t.Helper()
	dsn := pgtest.DB(t)
	s, err := postgres.Open(testCtx(t), dsn, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if _, err := s.AddProperty(testCtx(t), "grand"); err != nil {
		t.Fatal(err)
	}
	return s, dsn
}

func count(t testing.TB, s *postgres.Store, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := s.Pool().QueryRow(testCtx(t), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// mixedLog writes n posted calls and, among them, an exception resolved by
// a person, a replay, a transfer re-sent under a new number, an in-doubt
// posting settled by hand, a not-chargeable record and an audit record.
func mixedLog(epoch string, n int) *gatewaytest.ShipLog {
	l := gatewaytest.NewShipLog(epoch, time.Date(2026, 11, 30, 22, 0, 0, 0, time.UTC), vienna)
	for i := 1; i <= n; i++ {
		l.Tick(time.Minute) // crosses into December: two months' partitions
		switch i % 10 {
		case 3:
			id := l.Capture(fmt.Sprintf("garbage %d", i))
			l.Move(id, gatewaytest.ShipMove{To: gateway.StateException, Reason: "unreadable record"})
			l.Move(id, gatewaytest.ShipMove{To: gateway.StateVoided, Actor: "anna", Reason: "test call"})
		case 5:
			id := l.PostedCall(i, "101", 250)
			l.Replay(id)
		case 6:
			id := l.PostedCall(i, "102", 300)
			l.Move(id, gatewaytest.ShipMove{To: gateway.StateTransferred, Actor: "ben", Reason: "wrong room", Room: "205"})
			l.Move(id, gatewaytest.ShipMove{To: gateway.StateQueued})
			l.Move(id, gatewaytest.ShipMove{To: gateway.StateSent, Posting: uint32(100000 + i)})
			l.Move(id, gatewaytest.ShipMove{To: gateway.StatePosted, Answer: "OK"})
		case 7:
			id := l.Capture(fmt.Sprintf("in-doubt %d", i))
			l.Move(id, gatewaytest.ShipMove{To: gateway.StateRated, Call: &gateway.Call{Extension: "301", Dialed: "0043", Direction: gateway.Outgoing,
				Start: time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC), StartUTC: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)},
				Charge: &gateway.Charge{Class: "national", Chargeable: true, TotalMinor: 90, Currency: "EUR"}})
			l.Move(id, gatewaytest.ShipMove{To: gateway.StateQueued, Room: "301"})
			l.Move(id, gatewaytest.ShipMove{To: gateway.StateSent, Posting: uint32(200000 + i)})
			l.Move(id, gatewaytest.ShipMove{To: gateway.StateInDoubt, Reason: "no answer in 30 s"})
			l.Move(id, gatewaytest.ShipMove{To: gateway.StatePostedByHand, Actor: "anna", Reason: "seen on the folio"})
		case 8:
			id := l.Capture(fmt.Sprintf("internal %d", i))
			l.Move(id, gatewaytest.ShipMove{To: gateway.StateNotChargeable, Reason: "internal call"})
		case 9:
			l.Audit("admin", "config-change", "new tariff", map[string]string{"key": "tariff"})
		default:
			l.PostedCall(i, fmt.Sprint(400+i%20), int64(100+i))
		}
	}
	return l
}

// applyAll applies the log's events in batches of size.
func applyAll(t testing.TB, s *postgres.Store, property string, l *gatewaytest.ShipLog, size int) gateway.ShipAck {
	t.Helper()
	var ack gateway.ShipAck
	n := uint64(len(l.Events()))
	for from := uint64(1); from <= n; from += uint64(size) {
		var err error
		ack, err = s.Apply(testCtx(t), property, l.Batch(from, min(from+uint64(size)-1, n)))
		if err != nil {
			t.Fatalf("batch from %d: %v", from, err)
		}
	}
	return ack
}

// checkCalls compares the central's calls of the epoch with what the log's
// events say, entry by entry, and its totals.
func checkCalls(t *testing.T, s *postgres.Store, property string, l *gatewaytest.ShipLog) {
	t.Helper()
	rows, err := s.Pool().Query(testCtx(t), `SELECT entry, state, COALESCE(room, ''), COALESCE(extension, ''), COALESCE(total_minor, 0),
		COALESCE(currency, ''), COALESCE(posting, 0), COALESCE(pms_answer, '') FROM callgate.call_state WHERE property = $1 AND epoch = $2`, property, l.Epoch)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen := 0
	for rows.Next() {
		var id, total, posting int64
		var got gatewaytest.ShipWant
		var state string
		if err := rows.Scan(&id, &state, &got.Room, &got.Extension, &total, &got.Currency, &posting, &got.Answer); err != nil {
			t.Fatal(err)
		}
		got.State, got.TotalMinor, got.Posting = gateway.State(state), total, uint32(posting)
		want := l.Want[gateway.EntryID(id)]
		if want == nil {
			t.Errorf("the central has entry %d, which the log never made", id)
			continue
		}
		if got != *want {
			t.Errorf("entry %d: central %+v, log %+v", id, got, *want)
		}
		seen++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if seen != len(l.Want) {
		t.Errorf("the central has %d entries of epoch %s, the log %d", seen, l.Epoch, len(l.Want))
	}
	var wantRevenue int64
	for _, w := range l.Want {
		if w.State == gateway.StatePosted || w.State == gateway.StatePostedByHand {
			wantRevenue += w.TotalMinor
		}
	}
	var revenue int64
	if err := s.Pool().QueryRow(testCtx(t), `SELECT COALESCE(sum(total_minor), 0) FROM callgate.call_state
		WHERE property = $1 AND epoch = $2 AND state IN ('posted', 'posted-manually')`, property, l.Epoch).Scan(&revenue); err != nil {
		t.Fatal(err)
	}
	if revenue != wantRevenue {
		t.Errorf("revenue %d at the central, %d in the log", revenue, wantRevenue)
	}
	if n := count(t, s, "SELECT count(*) FROM callgate.event WHERE property = $1 AND epoch = $2", property, l.Epoch); n != len(l.Events()) {
		t.Errorf("%d events at the central, %d in the log", n, len(l.Events()))
	}
}

// TestApplyProjectsCalls: a log applied in batches gives calls whose state,
// room, extension, charge, posting and answer are what the events say, the
// revenue they add up to, and the postings, exceptions and persons'
// actions they hold.
func TestApplyProjectsCalls(t *testing.T) {
	s, _ := open(t)
	l := mixedLog("epoch-1", 300)
	ack := applyAll(t, s, "grand", l, 97)
	if ack.Cursor != uint64(len(l.Events())) || ack.Epoch != "epoch-1" || ack.At.IsZero() {
		t.Fatalf("ack %+v after %d events", ack, len(l.Events()))
	}
	checkCalls(t, s, "grand", l)
	if n := count(t, s, "SELECT count(*) FROM callgate.exception WHERE property = 'grand'"); n != 60 {
		t.Errorf("%d exceptions, want 60 (30 unreadable, 30 in doubt)", n)
	}
	// Persons' moves (voided, transferred, posted by hand: 30 each) and 30 audit records.
	if n := count(t, s, "SELECT count(*) FROM callgate.action WHERE property = 'grand'"); n != 120 {
		t.Errorf("%d actions, want 120", n)
	}
	if n := count(t, s, "SELECT count(*) FROM callgate.action WHERE action = 'config-change' AND detail->>'key' = 'tariff'"); n != 30 {
		t.Errorf("%d audit records with their detail, want 30", n)
	}
	// Every posting number: 150 posted calls, 30 transfers re-sent under a
	// second number, 30 in-doubt.
	if n := count(t, s, "SELECT count(*) FROM callgate.posting WHERE property = 'grand'"); n != 240 {
		t.Errorf("%d postings, want 240", n)
	}
	if n := count(t, s, "SELECT count(*) FROM callgate.posting WHERE state = 'transferred' AND answer = 'OK' AND sent_utc IS NOT NULL"); n != 30 {
		t.Errorf("%d first postings of transferred calls kept with their answer, want 30", n)
	}
	if n := count(t, s, "SELECT count(*) FROM callgate.call_state WHERE replays = 1"); n != 30 {
		t.Errorf("%d entries with a replay, want 30", n)
	}
	// Partitions by month: the log crosses from November into December.
	if n := count(t, s, "SELECT count(*) FROM pg_inherits WHERE inhparent = 'callgate.event'::regclass"); n != 2 {
		t.Errorf("%d partitions of event, want 2", n)
	}
	var name, tz string
	if err := s.Pool().QueryRow(testCtx(t), "SELECT name, timezone FROM callgate.properties WHERE property = 'grand'").Scan(&name, &tz); err != nil || name != "Test Hotel" || tz != "Europe/Vienna" {
		t.Errorf("the property's site: %q %q %v", name, tz, err)
	}
}

// TestApplyTwiceAddsNothing: the same batches again change nothing and
// answer the same cursor.
func TestApplyTwiceAddsNothing(t *testing.T) {
	s, _ := open(t)
	l := mixedLog("e", 40)
	ack := applyAll(t, s, "grand", l, 50)
	events, calls := count(t, s, "SELECT count(*) FROM callgate.event"), count(t, s, "SELECT count(*) FROM callgate.call_state")
	again := applyAll(t, s, "grand", l, 50)
	if again.Cursor != ack.Cursor {
		t.Errorf("cursor %d the second time, %d the first", again.Cursor, ack.Cursor)
	}
	if e, c := count(t, s, "SELECT count(*) FROM callgate.event"), count(t, s, "SELECT count(*) FROM callgate.call_state"); e != events || c != calls {
		t.Errorf("a batch sent twice: %d→%d events, %d→%d calls", events, e, calls, c)
	}
	// A batch overlapping the cursor with new events after it adds only those.
	l.PostedCall(999, "999", 999)
	n := uint64(len(l.Events()))
	got, err := s.Apply(testCtx(t), "grand", l.Batch(n-10, n))
	if err != nil || got.Cursor != n {
		t.Fatalf("an overlapping batch: %+v, %v", got, err)
	}
	checkCalls(t, s, "grand", l)
}

// TestApplyOutOfOrder: a later batch before an earlier one is refused as a
// gap naming the cursor; sent in order, both are taken.
func TestApplyOutOfOrder(t *testing.T) {
	s, _ := open(t)
	l := mixedLog("e", 30)
	n := uint64(len(l.Events()))
	mid := n / 2
	_, err := s.Apply(testCtx(t), "grand", l.Batch(mid+1, n))
	var gap *gateway.ShipGapError
	if !errors.As(err, &gap) || gap.Cursor != 0 || gap.First != mid+1 || gap.Epoch != "e" {
		t.Fatalf("a batch after a gap: %v", err)
	}
	if c := count(t, s, "SELECT count(*) FROM callgate.event"); c != 0 {
		t.Fatalf("%d events stored from a refused batch", c)
	}
	if _, err := s.Apply(testCtx(t), "grand", l.Batch(1, mid)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Apply(testCtx(t), "grand", l.Batch(mid+1, n)); err != nil {
		t.Fatal(err)
	}
	checkCalls(t, s, "grand", l)
}

// TestApplyRefusesAnotherJournal: a batch overlapping what the central
// holds with other content (another journal claiming the epoch), or one
// that does not continue its chain, or whose events do not chain, is
// refused and changes nothing.
func TestApplyRefusesAnotherJournal(t *testing.T) {
	s, _ := open(t)
	a := mixedLog("e", 20)
	b := gatewaytest.NewShipLog("e", time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC), vienna)
	for i := 0; i < 40; i++ {
		b.PostedCall(i, "777", 777)
	}
	if _, err := s.Apply(testCtx(t), "grand", a.Batch(1, 30)); err != nil {
		t.Fatal(err)
	}
	before := count(t, s, "SELECT count(*) FROM callgate.event") + count(t, s, "SELECT count(*) FROM callgate.call_state")
	for name, batch := range map[string]gateway.ShipBatch{
		"overlap":   b.Batch(20, 40),
		"continues": b.Batch(31, 40),
	} {
		_, err := s.Apply(testCtx(t), "grand", batch)
		if !errors.Is(err, postgres.ErrChain) || !gateway.IsKind(err, gateway.KindRejected) {
			t.Errorf("%s: %v, want a refusal wrapping ErrChain", name, err)
		}
	}
	tampered := a.Batch(31, 40)
	tampered.Events[3].Body = append([]byte(nil), tampered.Events[3].Body...)
	tampered.Events[3].Body[len(tampered.Events[3].Body)-2] ^= 1
	if _, err := s.Apply(testCtx(t), "grand", tampered); !errors.Is(err, postgres.ErrChain) {
		t.Errorf("a tampered event: %v, want a refusal wrapping ErrChain", err)
	}
	after := count(t, s, "SELECT count(*) FROM callgate.event") + count(t, s, "SELECT count(*) FROM callgate.call_state")
	if after != before {
		t.Errorf("refused batches changed rows: %d → %d", before, after)
	}
	if ack, _ := s.Cursor(testCtx(t), "grand", "e"); ack.Cursor != 30 {
		t.Errorf("cursor %d after refusals, want 30", ack.Cursor)
	}
}

// TestApplyNewEpoch: a property's new journal (new epoch) is kept beside
// the old, entry numbers and all.
func TestApplyNewEpoch(t *testing.T) {
	s, _ := open(t)
	old, neu := mixedLog("epoch-old", 30), mixedLog("epoch-new", 20)
	applyAll(t, s, "grand", old, 25)
	applyAll(t, s, "grand", neu, 25)
	checkCalls(t, s, "grand", old)
	checkCalls(t, s, "grand", neu)
	if n := count(t, s, "SELECT count(*) FROM callgate.calls WHERE property = 'grand' AND entry = 1"); n != 2 {
		t.Errorf("%d rows for entry 1, want one per epoch", n)
	}
	var epoch string
	var last int64
	if err := s.Pool().QueryRow(testCtx(t), "SELECT epoch, last_seq FROM callgate.properties WHERE property = 'grand'").Scan(&epoch, &last); err != nil ||
		epoch != "epoch-new" || last != int64(len(neu.Events())) {
		t.Errorf("properties shows epoch %q at %d (%v), want the new one at %d", epoch, last, err, len(neu.Events()))
	}
}

// TestApplyConcurrentPools: two stores (two processes' worth of
// connections) applying the same batches at once on one property store
// each event once.
func TestApplyConcurrentPools(t *testing.T) {
	s1, dsn := open(t)
	s2, err := postgres.Open(testCtx(t), dsn, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	l := mixedLog("e", 200)
	n := uint64(len(l.Events()))
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, s := range []*postgres.Store{s1, s2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for from := uint64(1); from <= n; {
				to := min(from+39, n)
				ack, err := s.Apply(testCtx(t), "grand", l.Batch(from, to))
				var gap *gateway.ShipGapError
				switch {
				case errors.As(err, &gap):
					from = gap.Cursor + 1
				case err != nil:
					errs <- err
					return
				default:
					from = ack.Cursor + 1
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	checkCalls(t, s1, "grand", l)
}

// TestApplyUnknownAndDisabled: a batch for a property the central does not
// know, or has disabled, is refused and stores nothing.
func TestApplyUnknownAndDisabled(t *testing.T) {
	s, _ := open(t)
	l := mixedLog("e", 5)
	if _, err := s.Apply(testCtx(t), "nobody", l.Batch(1, 5)); !gateway.IsKind(err, gateway.KindNotFound) {
		t.Errorf("an unknown property: %v", err)
	}
	if err := s.DisableProperty(testCtx(t), "grand"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Apply(testCtx(t), "grand", l.Batch(1, 5)); !gateway.IsKind(err, gateway.KindRejected) {
		t.Errorf("a disabled property: %v", err)
	}
	if n := count(t, s, "SELECT count(*) FROM callgate.event"); n != 0 {
		t.Errorf("%d events stored for refused batches", n)
	}
}

// TestApplyAcrossRestart: with PostgreSQL stopped Apply fails as
// transient; once it is back the same batch is taken.
func TestApplyAcrossRestart(t *testing.T) {
	s, _ := open(t)
	l := mixedLog("e", 20)
	n := uint64(len(l.Events()))
	if _, err := s.Apply(testCtx(t), "grand", l.Batch(1, 10)); err != nil {
		t.Fatal(err)
	}
	c := pgtest.Shared(t)
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	restarted := false
	defer func() {
		if !restarted {
			c.StartAgain()
		}
	}()
	_, err := s.Apply(testCtx(t), "grand", l.Batch(11, n))
	if !gateway.IsTransient(err) {
		t.Fatalf("with PostgreSQL stopped: %v, want a transient error", err)
	}
	if err := c.StartAgain(); err != nil {
		t.Fatal(err)
	}
	restarted = true
	var ack gateway.ShipAck
	for i := 0; ; i++ { // the pool's old connections fail once each
		ack, err = s.Apply(testCtx(t), "grand", l.Batch(11, n))
		if err == nil {
			break
		}
		if !gateway.IsTransient(err) || i > 20 {
			t.Fatalf("after the restart: %v", err)
		}
	}
	if ack.Cursor != n {
		t.Fatalf("cursor %d, want %d", ack.Cursor, n)
	}
	checkCalls(t, s, "grand", l)
}

// TestSQLContract: the views BI tools read have exactly the columns of
// docs/central.md, "SQL contract", in its order.
func TestSQLContract(t *testing.T) {
	s, _ := open(t)
	for view, want := range map[string][]string{
		"calls": {"property", "entry", "state", "start_local", "start_utc", "extension", "room", "dialed", "duration_s", "direction", "trunk",
			"account_code", "class", "destination", "band", "billable_s", "carrier_minor", "markup_minor", "surcharge_minor", "tax_minor",
			"total_minor", "currency", "tariff_version", "posting", "pms_answer", "epoch"},
		"properties": {"property", "name", "timezone", "epoch", "last_seq", "last_received_utc"},
	} {
		rows, err := s.Pool().Query(testCtx(t), `SELECT column_name FROM information_schema.columns
			WHERE table_schema = 'callgate' AND table_name = $1 ORDER BY ordinal_position`, view)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for rows.Next() {
			var c string
			rows.Scan(&c)
			got = append(got, c)
		}
		rows.Close()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("callgate.%s has columns\n%v\nwant\n%v", view, got, want)
		}
	}
	// The values: one posted call as a BI tool reads it.
	l := gatewaytest.NewShipLog("e", time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC), vienna)
	l.PostedCall(7, "412", 1234)
	applyAll(t, s, "grand", l, 10)
	var (
		property, state, ext, room, dialed, direction, class, currency, answer string
		entry, total, carrier, markup, posting                                 int64
		startLocal, startUTC                                                   time.Time
	)
	err := s.Pool().QueryRow(testCtx(t), `SELECT property, entry, state, start_local, start_utc, extension, room, dialed, direction, class,
		total_minor, carrier_minor, markup_minor, currency, posting, pms_answer FROM callgate.calls`).
		Scan(&property, &entry, &state, &startLocal, &startUTC, &ext, &room, &dialed, &direction, &class, &total, &carrier, &markup, &currency, &posting, &answer)
	if err != nil {
		t.Fatal(err)
	}
	if property != "grand" || entry != 1 || state != "posted" || ext != "207" || room != "412" || dialed != "00442079460007" ||
		direction != "out" || class != "international" || total != 1234 || carrier+markup != 1234 || currency != "EUR" || posting != 1 || answer != "OK" {
		t.Errorf("the call reads %s %d %s ext %s room %s %s %s %s %d (%d+%d) %s posting %d %s", property, entry, state, ext, room, dialed, direction, class, total, carrier, markup, currency, posting, answer)
	}
	if startUTC.Sub(startLocal.Add(-time.Hour)) != 0 { // Vienna is UTC+1 in December
		t.Errorf("start_local %s and start_utc %s are not an hour apart", startLocal, startUTC.UTC())
	}
}

// TestMigrateTwoAtOnce: two centrals starting together on a new database
// apply the schema once.
func TestMigrateTwoAtOnce(t *testing.T) {
	dsn := pgtest.DB(t)
	var wg sync.WaitGroup
	stores := make([]*postgres.Store, 2)
	errs := make([]error, 2)
	for i := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = postgres.Open(testCtx(t), dsn, zerolog.Nop())
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
		defer stores[i].Close()
	}
	if n := count(t, stores[0], "SELECT count(*) FROM callgate.schema_migration"); n != 7 {
		t.Errorf("%d migrations recorded, want 7 (001_schema … 006_event_entry, 007_properties_epoch)", n)
	}
}

// TestProperties: a property's token is shown once and kept as a hash; it
// finds the property until the property is disabled.
func TestProperties(t *testing.T) {
	s, _ := open(t)
	tok, err := s.AddProperty(testCtx(t), "beach")
	if err != nil || len(tok) != len(postgres.TokenPrefix)+43 {
		t.Fatalf("token %q, %v", tok, err)
	}
	if n := count(t, s, "SELECT count(*) FROM callgate.property WHERE position(convert_to($1, 'UTF8') in token_sha256) > 0", tok); n != 0 {
		t.Error("the token is stored as it is")
	}
	if _, err := s.AddProperty(testCtx(t), "beach"); !gateway.IsKind(err, gateway.KindInvalid) {
		t.Errorf("a second property beach: %v", err)
	}
	if _, err := s.AddProperty(testCtx(t), "Bad Name!"); !gateway.IsKind(err, gateway.KindInvalid) {
		t.Errorf("a bad name: %v", err)
	}
	if p, err := s.PropertyByToken(testCtx(t), tok); err != nil || p != "beach" {
		t.Errorf("by token: %q %v", p, err)
	}
	if _, err := s.PropertyByToken(testCtx(t), tok+"x"); !gateway.IsKind(err, gateway.KindNotFound) {
		t.Errorf("a wrong token: %v", err)
	}
	if err := s.DisableProperty(testCtx(t), "beach"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PropertyByToken(testCtx(t), tok); !gateway.IsKind(err, gateway.KindRejected) {
		t.Errorf("a disabled property's token: %v", err)
	}
	if err := s.DisableProperty(testCtx(t), "nowhere"); !gateway.IsKind(err, gateway.KindNotFound) {
		t.Errorf("disabling an unknown property: %v", err)
	}
	ps, err := s.Properties(testCtx(t))
	if err != nil || len(ps) != 2 || ps[0].Name != "beach" || !ps[0].Disabled || ps[1].Name != "grand" || ps[1].Disabled {
		t.Errorf("list: %+v %v", ps, err)
	}
}

// TestUsers: a chain console user sees the properties given, and only
// existing ones may be given.
func TestUsers(t *testing.T) {
	s, _ := open(t)
	u := postgres.User{User: gateway.User{Name: "cfo", Role: "auditor", PasswordHash: []byte("$2a$10$x")}, Properties: []string{"grand"}}
	if err := s.AddUser(testCtx(t), u); err != nil {
		t.Fatal(err)
	}
	got, err := s.User(testCtx(t), "cfo")
	if err != nil || got.Role != "auditor" || !got.MaySee("grand") || got.MaySee("beach") {
		t.Errorf("user %+v %v", got, err)
	}
	if err := s.AddUser(testCtx(t), u); !gateway.IsKind(err, gateway.KindInvalid) {
		t.Errorf("the same user twice: %v", err)
	}
	bad := postgres.User{User: gateway.User{Name: "x", Role: "auditor", PasswordHash: []byte("h")}, Properties: []string{"nowhere"}}
	if err := s.AddUser(testCtx(t), bad); !gateway.IsKind(err, gateway.KindNotFound) {
		t.Errorf("a user for an unknown property: %v", err)
	}
	all := postgres.User{User: gateway.User{Name: "ops", Role: "admin", PasswordHash: []byte("h")}}
	if err := s.AddUser(testCtx(t), all); err != nil {
		t.Fatal(err)
	}
	if got, err := s.User(testCtx(t), "ops"); err != nil || !got.MaySee("anything") {
		t.Errorf("a user with no list sees every property: %+v %v", got, err)
	}
}

// TestCentralContract: the store keeps gatewaytest's contract of a
// gateway.CentralApplier, as the in-memory fake does.
func TestCentralContract(t *testing.T) {
	gatewaytest.CentralContract(t, func(t *testing.T) gatewaytest.CentralUnderTest {
		s, _ := open(t)
		return gatewaytest.CentralUnderTest{Applier: s, Property: "grand", Held: func(e string) int {
			return count(t, s, "SELECT count(*) FROM callgate.event WHERE property = 'grand' AND epoch = $1", e)
		}}
	})
}

// TestAckedSurvivesCrash: with fsync on, what Apply acknowledged is there
// after PostgreSQL stops as in a power cut and recovers; the rest of the log
// is then taken from the cursor.
func TestAckedSurvivesCrash(t *testing.T) {
	if _, err := pgtest.Find(); err != nil {
		pgtest.Unavailable(t, err)
	}
	c, err := pgtest.Start("", pgtest.Options{Fsync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dsn, err := c.CreateDB(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	s, err := postgres.Open(testCtx(t), dsn, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.AddProperty(testCtx(t), "grand"); err != nil {
		t.Fatal(err)
	}
	l := mixedLog("e", 100)
	n := uint64(len(l.Events()))
	ack, err := s.Apply(testCtx(t), "grand", l.Batch(1, n/2))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Crash(); err != nil {
		t.Fatal(err)
	}
	if err := c.StartAgain(); err != nil {
		t.Fatal(err)
	}
	var got gateway.ShipAck
	for i := 0; ; i++ { // the pool's connections died with the server
		got, err = s.Cursor(testCtx(t), "grand", "e")
		if err == nil {
			break
		}
		if !gateway.IsTransient(err) || i > 20 {
			t.Fatalf("cursor after the crash: %v", err)
		}
	}
	if got.Cursor != ack.Cursor {
		t.Fatalf("cursor %d after the crash, %d acknowledged before", got.Cursor, ack.Cursor)
	}
	if _, err := s.Apply(testCtx(t), "grand", l.Batch(got.Cursor+1, n)); err != nil {
		t.Fatal(err)
	}
	checkCalls(t, s, "grand", l)
}

// TestApplySiteAndGuests: the site snapshot shipped last (by its time) is
// kept, not one from an older batch sent again; guest names shipped with
// a batch are stored, the latest per stay.
func TestApplySiteAndGuests(t *testing.T) {
	s, _ := open(t)
	l := mixedLog("e", 10)
	n := uint64(len(l.Events()))
	older := l.Batch(1, n/2)
	older.Site.At, older.Site.Link, older.Site.Queued = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC), gateway.LinkDown, 7
	older.GuestNames = []gateway.ShipGuestName{{Room: "101", Reservation: "77", LastName: "Old"}}
	newer := l.Batch(n/2+1, n)
	newer.Site.At, newer.Site.Link, newer.Site.Queued = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC), gateway.LinkAlive, 0
	newer.GuestNames = []gateway.ShipGuestName{{Room: "101", Reservation: "77", LastName: "Gruber", FirstName: "Anna"}, {Room: "102", LastName: "Maier"}}
	for _, b := range []gateway.ShipBatch{older, newer, older} {
		if _, err := s.Apply(testCtx(t), "grand", b); err != nil {
			t.Fatal(err)
		}
	}
	var link string
	var queued int64
	if err := s.Pool().QueryRow(testCtx(t), "SELECT link, queued FROM callgate.site WHERE property = 'grand'").Scan(&link, &queued); err != nil ||
		link != string(gateway.LinkAlive) || queued != 0 {
		t.Errorf("site %s queued %d (%v): an older snapshot overwrote the newer", link, queued, err)
	}
	if n := count(t, s, "SELECT count(*) FROM callgate.guest_name WHERE property = 'grand'"); n != 2 {
		t.Errorf("%d guest names, want 2", n)
	}
	if n := count(t, s, "SELECT count(*) FROM callgate.guest_name WHERE room = '101' AND last_name = 'Gruber' AND first_name = 'Anna'"); n != 1 {
		t.Error("the stay's name is not the one shipped last")
	}
}

// TestApplyRefusesTimesNoJournalWrites: an event stamped before 2000 or
// days ahead of the central's clock would make partitions for any month:
// the batch is refused, nothing applied.
func TestApplyRefusesTimesNoJournalWrites(t *testing.T) {
	s, _ := open(t) // with property grand
	for _, start := range []time.Time{time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC), time.Now().Add(72 * time.Hour)} {
		l := gatewaytest.NewShipLog("e-"+start.Format("2006"), start, time.UTC)
		l.PostedCall(1, "101", 100)
		_, err := s.Apply(testCtx(t), "grand", l.Batch(1, uint64(len(l.Events()))))
		if !gateway.IsKind(err, gateway.KindInvalid) || !strings.Contains(err.Error(), "clock") {
			t.Errorf("events from %s: %v, want a refusal naming the clock", start.Format(time.RFC3339), err)
		}
	}
	if n := count(t, s, "SELECT count(*) FROM callgate.event"); n != 0 {
		t.Errorf("%d events stored", n)
	}
}
