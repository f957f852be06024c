package test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"callgate/gateway"
	"callgate/pbx"
	"callgate/pms/fias"
	"callgate/pms/fias/sim"
	"callgate/store"
	"callgate/tariff"
)

// rig is the whole chain in one process, with real parts: a PBX writing
// Avaya IP Office SMDR over TCP to the gateway's tcp-listen source, the bbolt
// journal, the example NANP tariff, the FIAS link and the IFC8-like
// simulator on loopback.
type rig struct {
	t       *testing.T
	pms     *sim.Sim
	journal *store.Journal
	engine  *gateway.Engine
	pbx     net.Conn
	cancel  context.CancelFunc
	done    chan error
}

func startRig(t *testing.T, rooms []string, occupied []string, configure func(*gateway.Engine)) *rig {
	t.Helper()
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel)
	pms, err := sim.Start("127.0.0.1:0", sim.Options{Rooms: rooms, AnswerWindow: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pms.Close() })
	pms.Occupy(occupied)
	j, err := store.Open(filepath.Join(t.TempDir(), "journal.db"), store.Options{Location: ny(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	tf, err := tariff.Load("../configs/tariffs/usa.yaml")
	if err != nil {
		t.Fatal(err)
	}
	parser, err := pbx.NewParser("avaya-ipo", pbx.Options{Location: ny(t)})
	if err != nil {
		t.Fatal(err)
	}
	src, err := pbx.ListenTCP(pbx.ListenOptions{Address: "127.0.0.1:0"}, pbx.SourceOptions{Silence: -1})
	if err != nil {
		t.Fatal(err)
	}
	link, err := fias.Open(fias.Options{
		Address: pms.Addr(), AmountExponent: 2, MinorDigits: tariff.MinorDigits,
		AnswerTimeout: 2 * time.Second, ListenWait: 50 * time.Millisecond, MinBackoff: 50 * time.Millisecond,
		MaxBackoff: 200 * time.Millisecond, Logger: log.With().Str("component", "pms").Logger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	e := &gateway.Engine{
		Source: src, Parser: parser, Rater: tf, Journal: j, Queries: j, PMS: link,
		Rooms:    gateway.RoomMap{Same: true, NotRooms: []gateway.ExtensionRange{{From: "200", To: "299"}}},
		RetryMin: 50 * time.Millisecond, RetryMax: 200 * time.Millisecond, Poll: 50 * time.Millisecond,
		ShutdownGrace: time.Second,
		Logger:        log.With().Str("component", "engine").Logger(),
	}
	if configure != nil {
		configure(e)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &rig{t: t, pms: pms, journal: j, engine: e, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- e.Run(ctx) }()
	r.pbx, err = net.Dial("tcp", src.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.stop)
	return r
}

func (r *rig) stop() {
	if r.cancel == nil {
		return
	}
	r.pbx.Close()
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		if err != nil {
			r.t.Errorf("engine: %v", err)
		}
	case <-time.After(15 * time.Second):
		r.t.Error("the engine did not stop within 15 s")
	}
}

func ny(t testing.TB) *time.Location {
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// ipo writes one IP Office SMDR record: an outgoing call from ext to dialed
// lasting secs, or an internal one.
func ipo(id int, start string, secs int, ext, dialed string, internal bool) string {
	dir, isInt, p2 := "O", "0", "T9005"
	if internal {
		isInt, p2 = "1", "E"+dialed
	}
	return fmt.Sprintf("%s,%02d:%02d:%02d,3,%s,%s,%s,%s,,%s,%d,0,E%s,Room %s,%s,Line 5.1,0,0,0,n/a,,,,,,,,,,,,,,,,\r\n",
		start, secs/3600, secs/60%60, secs%60, ext, dir, dialed, dialed, isInt, 1000000+id, ext, ext, p2)
}

func (r *rig) send(lines ...string) {
	r.t.Helper()
	if _, err := r.pbx.Write([]byte(strings.Join(lines, ""))); err != nil {
		r.t.Fatal(err)
	}
}

// waitState waits until n entries are in state s.
func (r *rig) waitState(s gateway.State, n int64) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		c, err := r.journal.Counts(ctx)
		if err != nil {
			r.t.Fatal(err)
		}
		if c.States[s] >= n {
			return
		}
		select {
		case <-ctx.Done():
			r.t.Fatalf("timed out waiting for %d entries %s; counts %v", n, s, c.States)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (r *rig) entries(s gateway.State) []gateway.Entry {
	r.t.Helper()
	es, err := r.journal.Entries(context.Background(), gateway.Filter{States: []gateway.State{s}})
	if err != nil {
		r.t.Fatal(err)
	}
	return es
}

// TestEngineFlow sends a mixed day through the whole chain and checks each
// call ends where it should, with the amount gateway rate gives.
func TestEngineFlow(t *testing.T) {
	r := startRig(t, sim.Range(101, 160), sim.Range(101, 149), nil)
	r.send(
		ipo(1, "2026/11/25 10:00:00", 35, "101", "9011442079460000", false), // UK 35 s: 309 cents
		ipo(2, "2026/11/25 10:05:00", 95, "102", "96175550134", false),      // national
		ipo(3, "2026/11/25 10:06:00", 60, "150", "96175550134", false),      // room 150 is vacant
		ipo(4, "2026/11/25 10:07:00", 60, "101", "102", true),               // internal
		ipo(5, "2026/11/25 10:08:00", 60, "210", "96175550134", false),      // front office: not a room
		ipo(6, "2026/11/25 10:09:00", 10, "103", "96175550134", false),      // under grace
		ipo(7, "2026/11/25 10:10:00", 60, "104", "9011999123456", false),    // unknown destination
		"this is not an SMDR record\r\n",
	)
	r.waitState(gateway.StatePosted, 2)
	r.waitState(gateway.StateNotChargeable, 3)
	r.waitState(gateway.StateException, 3)
	ledger := r.pms.Ledger()
	if len(ledger) != 2 {
		t.Fatalf("ledger: %+v", ledger)
	}
	if ledger[0].Room != "101" || ledger[0].Amount != "309" {
		t.Errorf("first booking: %+v", ledger[0])
	}
	for _, b := range ledger {
		if b.Duplicate {
			t.Errorf("booked twice: %+v", b)
		}
	}
	if v := r.pms.Violations(); len(v) > 0 {
		t.Errorf("FIAS violations: %+v", v)
	}
	reasons := map[string]bool{}
	for _, e := range r.entries(gateway.StateException) {
		for _, h := range e.History {
			reasons[h.Reason] = true
		}
		if len(e.History) == 0 {
			full, _ := r.journal.Entry(context.Background(), e.ID)
			for _, h := range full.History {
				reasons[h.Reason] = true
			}
		}
	}
	joined := fmt.Sprint(reasons)
	for _, want := range []string{"room 150 is vacant", "tariff: unknown-destination", "unreadable record"} {
		if !strings.Contains(joined, want) {
			t.Errorf("no exception says %q: %s", want, joined)
		}
	}
	st := r.engine.Status()
	if st.RecordsRead != 8 || st.ParseErrors != 1 || st.Postings[gateway.PostPosted] != 2 {
		t.Errorf("status: %+v", st)
	}
}

// TestEngineReplayAndTransient: a replayed record is dropped; the PMS saying
// RY makes the posting wait and go again; the per-room order holds.
func TestEngineReplayAndTransient(t *testing.T) {
	r := startRig(t, sim.Range(101, 110), sim.Range(101, 110), nil)
	r.pms.SetFaults(sim.Faults{Answers: []string{"RY", "RY"}})
	a := ipo(1, "2026/11/25 10:00:00", 95, "101", "96175550134", false)
	b := ipo(2, "2026/11/25 10:01:00", 95, "101", "96175550135", false)
	r.send(a, b)
	r.waitState(gateway.StatePosted, 2)
	r.send(a, b) // the PBX replays its buffer
	// A call after the replays is read after them: once it is posted, the
	// replays were dealt with (the engine reads the PBX in order).
	r.send(ipo(3, "2026/11/25 10:02:00", 95, "101", "96175550136", false))
	r.waitState(gateway.StatePosted, 3)
	if n := len(r.pms.Ledger()); n != 3 {
		t.Errorf("%d bookings, want 3: the replays were booked", n)
	}
	if st := r.engine.Status(); st.Replays != 2 || st.Postings[gateway.PostTransient] != 2 {
		t.Errorf("status: replays %d, transient %d", st.Replays, st.Postings[gateway.PostTransient])
	}
	l := r.pms.Ledger()
	if !strings.Contains(l[0].Record, "DD16175550134") && !strings.Contains(l[0].Record, "6175550134") {
		t.Errorf("first booking is not the first call: %s", l[0].Record)
	}
}

// TestEngineInDoubtNeverResent: the PMS books a posting and the link drops
// before its answer; the posting is in doubt and is not sent again, even
// after the link comes back; the next one goes through.
func TestEngineInDoubtNeverResent(t *testing.T) {
	r := startRig(t, sim.Range(101, 110), sim.Range(101, 110), nil)
	r.pms.SetFaults(sim.Faults{CutAfterBooking: 1})
	r.send(ipo(1, "2026/11/25 10:00:00", 95, "101", "96175550134", false))
	r.waitState(gateway.StateInDoubt, 1)
	r.send(ipo(2, "2026/11/25 10:01:00", 95, "102", "96175550135", false))
	r.waitState(gateway.StatePosted, 1)
	// The poster sends in call order: had the posting in doubt been queued
	// again, it would go before a later call's. So once a later call is
	// posted, the one in doubt was not sent again.
	r.send(ipo(3, "2026/11/25 10:02:00", 95, "103", "96175550136", false))
	r.waitState(gateway.StatePosted, 2)
	l := r.pms.Ledger()
	if len(l) != 3 {
		t.Fatalf("ledger %+v", l)
	}
	for _, b := range l {
		if b.Duplicate {
			t.Errorf("in-doubt posting sent again: %+v", b)
		}
	}
	if c, _ := r.journal.Counts(context.Background()); c.States[gateway.StateInDoubt] != 1 {
		t.Errorf("counts %v", c.States)
	}
}

// TestEngineRestartRecovers: an entry left sent by a crash is in doubt after
// a restart, and captured records are processed.
func TestEngineRestartRecovers(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "journal.db")
	j, err := store.Open(path, store.Options{Location: ny(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tf, _ := tariff.Load("../configs/tariffs/usa.yaml")
	parser, _ := pbx.NewParser("avaya-ipo", pbx.Options{Location: ny(t)})
	now := time.Now().UTC()
	rec := func(s string) gateway.RawRecord {
		return gateway.RawRecord{Data: []byte(strings.TrimSpace(s)), Received: now, Source: "test"}
	}
	// One entry left sent: captured, rated, queued, sent — then a crash.
	sentRec := rec(ipo(1, "2026/11/25 10:00:00", 95, "101", "96175550134", false))
	c1, err := j.Capture(ctx, sentRec)
	if err != nil {
		t.Fatal(err)
	}
	call, _ := parser.Parse(sentRec)
	ch, _ := tf.Rate(call)
	for _, chg := range []gateway.Change{{To: gateway.StateRated, Call: &call, Charge: &ch}, {To: gateway.StateQueued, Room: "101"}, {To: gateway.StateSent}} {
		if _, err := j.Move(ctx, c1.ID, chg); err != nil {
			t.Fatal(err)
		}
	}
	// One only captured.
	if _, err := j.Capture(ctx, rec(ipo(2, "2026/11/25 10:01:00", 95, "102", "96175550135", false))); err != nil {
		t.Fatal(err)
	}
	j.Close()

	pms, err := sim.Start("127.0.0.1:0", sim.Options{Rooms: sim.Range(101, 110), AnswerWindow: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer pms.Close()
	pms.Occupy(sim.Range(101, 110))
	j, err = store.Open(path, store.Options{Location: ny(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	src, _ := pbx.ListenTCP(pbx.ListenOptions{Address: "127.0.0.1:0"}, pbx.SourceOptions{Silence: -1})
	link, _ := fias.Open(fias.Options{Address: pms.Addr(), AmountExponent: 2, MinorDigits: tariff.MinorDigits, AnswerTimeout: 2 * time.Second, ListenWait: 50 * time.Millisecond})
	e := &gateway.Engine{Source: src, Parser: parser, Rater: tf, Journal: j, Queries: j, PMS: link,
		Rooms: gateway.RoomMap{Same: true}, Poll: 50 * time.Millisecond, ShutdownGrace: time.Second, Logger: zerolog.New(zerolog.NewTestWriter(t))}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- e.Run(runCtx) }()
	defer func() { cancel(); <-done }()
	if err := pms.WaitFor(ctxTimeout(t, 20*time.Second), func() bool { return len(pms.Ledger()) == 1 }); err != nil {
		t.Fatalf("the captured record was not posted: %v", err)
	}
	en, err := j.Entry(ctx, c1.ID)
	if err != nil || en.State != gateway.StateInDoubt {
		t.Errorf("entry left sent is %s, want in-doubt (%v)", en.State, err)
	}
	if b := pms.Ledger()[0]; b.Room != "102" {
		t.Errorf("posted %+v, want room 102's call (the one left sent must not be re-sent)", b)
	}
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// TestEngineStopJournalsAnswer: the engine is stopped while a posting waits
// for its answer; the answer comes within the grace and the posting is
// journaled posted, not left sent (which the next start would turn in doubt).
func TestEngineStopJournalsAnswer(t *testing.T) {
	r := startRig(t, sim.Range(101, 110), sim.Range(101, 110), nil)
	r.pms.SetFaults(sim.Faults{PADelay: 300 * time.Millisecond})
	r.send(ipo(1, "2026/11/25 10:00:00", 95, "101", "96175550134", false))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := r.pms.WaitFor(ctx, func() bool { return len(r.pms.Received()) == 1 }); err != nil {
		t.Fatal("the posting never reached the PMS")
	}
	r.stop()
	if len(r.pms.Ledger()) != 1 {
		t.Fatalf("ledger %+v", r.pms.Ledger())
	}
	if es := r.entries(gateway.StatePosted); len(es) != 1 {
		c, _ := r.journal.Counts(context.Background())
		t.Errorf("the answered posting is not journaled posted: %v", c.States)
	}
}
