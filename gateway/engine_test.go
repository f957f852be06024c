package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"callgate/gateway"
	"callgate/gateway/gatewaytest"
	"callgate/internal/testutil"
)

// The engine's unit tests run it over the fakes of gatewaytest: no disk, no
// PMS, no sleeps. Time moves only when a test advances the fake clock, and
// tests wait for what the engine journals (Journal.Await), never for time.

type rig struct {
	t      *testing.T
	ctx    context.Context // bounds every wait of the test
	clock  *gatewaytest.Clock
	src    *gatewaytest.CallSource
	j      *gatewaytest.Journal
	pms    *gatewaytest.PMSLink
	e      *gateway.Engine
	cancel context.CancelFunc
	done   chan error
	n      int // records sent that are not replays
	alarms chan alarmChange
}

type alarmChange struct {
	kind   gateway.AlarmKind
	raised bool
}

// newRig builds an engine over fakes. Rooms 101 and 103 have guests (R101,
// R103) unless noGuests; 102 is vacant; extensions 200-299 are not rooms.
func newRig(t *testing.T, noGuests bool, configure ...func(*gateway.Engine)) *rig {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	clock := gatewaytest.NewClock(time.Time{})
	r := &rig{t: t, ctx: ctx, clock: clock, src: gatewaytest.NewCallSource(clock),
		j: gatewaytest.NewJournal(gatewaytest.JournalOptions{Now: clock.Now}), pms: gatewaytest.NewPMSLink(clock)}
	if !noGuests {
		for _, room := range []string{"101", "103"} {
			if _, err := r.j.ApplyGuest(ctx, gateway.GuestEvent{Kind: gateway.GuestCheckIn, Guest: gateway.Guest{Room: room, Reservation: "R" + room}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	r.e = &gateway.Engine{
		Source: r.src, Parser: gatewaytest.Parser{}, Rater: gatewaytest.Rater{}, Journal: r.j, Queries: r.j, PMS: r.pms,
		Rooms: gateway.RoomMap{Map: map[string]string{"101": "101", "102": "102", "103": "103"},
			NotRooms: []gateway.ExtensionRange{{From: "200", To: "299"}}},
		RetryMin: 5 * time.Second, RetryMax: 40 * time.Second, ShutdownGrace: 5 * time.Second,
		Clock: clock, Logger: zerolog.New(zerolog.NewTestWriter(t)),
	}
	r.alarms = make(chan alarmChange, 256)
	r.e.OnAlarm = func(a gateway.Alarm, raised bool) { r.alarms <- alarmChange{a.Kind, raised} }
	for _, f := range configure {
		f(r.e)
	}
	return r
}

// run starts the engine; the test's cleanup stops it.
func (r *rig) run() *rig {
	runCtx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan error, 1)
	go func() { r.done <- r.e.Run(runCtx) }()
	r.t.Cleanup(r.stop)
	return r
}

// stop ends Run and waits for it.
func (r *rig) stop() {
	if r.done == nil {
		return
	}
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			r.t.Errorf("Run: %v", err)
		}
	case <-r.ctx.Done():
		r.t.Error("the engine did not stop")
	}
	r.done = nil
}

// send makes the PBX print a record and returns the entry it will be
// (replays aside).
func (r *rig) send(line string) gateway.EntryID {
	r.src.Line(line)
	r.n++
	return gateway.EntryID(r.n)
}

// await waits until entry id is in state want and returns it.
func (r *rig) await(id gateway.EntryID, want gateway.State) gateway.Entry {
	r.t.Helper()
	var en gateway.Entry
	if !r.j.Await(r.ctx, func() bool {
		var err error
		en, err = r.j.Entry(r.ctx, id)
		return err == nil && en.State == want
	}) {
		r.t.Fatalf("entry %d is %q, want %s", id, en.State, want)
	}
	return en
}

// awaitAlarm waits until alarm k is raised (or, raised false, cleared).
func (r *rig) awaitAlarm(k gateway.AlarmKind, raised bool) {
	r.t.Helper()
	for {
		select {
		case a := <-r.alarms:
			if a.kind == k && a.raised == raised {
				return
			}
		case <-r.ctx.Done():
			r.t.Fatalf("alarm %s never went to raised=%v", k, raised)
		}
	}
}

// tickUntilAlarm moves the clock on a check period at a time until the
// alarm changes as wanted: the watch loop makes its ticker when it starts,
// which on a loaded machine may come after an Advance the test made.
func (r *rig) tickUntilAlarm(k gateway.AlarmKind, raised bool) {
	r.t.Helper()
	for {
		r.clock.Advance(10 * time.Second)
		select {
		case a := <-r.alarms:
			if a.kind == k && a.raised == raised {
				return
			}
		case <-time.After(20 * time.Millisecond):
		case <-r.ctx.Done():
			r.t.Fatalf("alarm %s never went to raised=%v", k, raised)
		}
	}
}

// reason returns the reason of the entry's last move.
func reason(en gateway.Entry) string {
	if len(en.History) == 0 {
		return ""
	}
	return en.History[len(en.History)-1].Reason
}

func TestEngineCapturesAndDropsReplays(t *testing.T) {
	r := newRig(t, false).run()
	id := r.send("out 101 4416 60")
	r.await(id, gateway.StatePosted)
	r.src.Line("out 101 4416 60") // the PBX replays its buffer
	r.send("hdr page 1")
	r.await(2, gateway.StateNotChargeable)
	if !r.j.Await(r.ctx, func() bool { return r.e.Status().Replays == 1 }) {
		t.Fatal("the replay was not counted")
	}
	// The status counts a burst's records one after another after its
	// commit, and the journal signals no change then: poll it (bounded).
	testutil.WaitFor(t, 5*time.Second, "the status counting both records", func() bool {
		st := r.e.Status()
		return st.RecordsRead == 2 && st.NotCalls == 1
	})
	en, _ := r.j.Entry(r.ctx, id)
	st := r.e.Status()
	if en.Replays != 1 || st.RecordsRead != 2 || st.NotCalls != 1 || st.LastRecord.IsZero() {
		t.Errorf("entry replays %d, status %+v", en.Replays, st)
	}
	if c, _ := r.j.Counts(r.ctx); c.Entries != 2 {
		t.Errorf("%d entries journaled, want 2", c.Entries)
	}
	if n := len(r.pms.Posted()); n != 1 {
		t.Errorf("%d postings sent, want 1", n)
	}
}

func TestEngineDecidesPerClass(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		want       gateway.State
		reason     string
	}{
		{"outgoing to a guest", "out 101 4416 60", gateway.StatePosted, ""},
		{"incoming", "in 101 4416 60", gateway.StateNotChargeable, "in call"},
		{"internal", "int 101 102 60", gateway.StateNotChargeable, "internal call"},
		{"unanswered", "out 101 4416 0", gateway.StateNotChargeable, "not answered"},
		{"nothing to charge", "out 101 free 60", gateway.StateNotChargeable, "nothing to charge"},
		{"not a room", "out 250 4416 60", gateway.StateNotChargeable, "is not a room"},
		{"unknown extension", "out 555 4416 60", gateway.StateException, `extension "555" maps to no room`},
		{"tariff exception", "out 101 unknown 60", gateway.StateException, "tariff: unknown-destination"},
		{"cannot be rated", "out 101 norate 60", gateway.StateException, "cannot be rated"},
		{"unreadable", "bad record", gateway.StateException, "unreadable record"},
		{"no call", "hdr summary", gateway.StateNotChargeable, "not a call record"},
		{"vacant room", "out 102 4416 60", gateway.StateException, "room 102 is vacant"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, false).run()
			en := r.await(r.send(tc.line), tc.want)
			if !strings.Contains(reason(en), tc.reason) {
				t.Errorf("reason %q, want %q in it", reason(en), tc.reason)
			}
			posted := r.pms.Posted()
			if tc.want == gateway.StatePosted {
				if len(posted) != 1 || posted[0].Room != "101" || posted[0].AmountMinor != 600 || posted[0].Number != en.Posting || en.Reservation != "R101" {
					t.Errorf("posted %+v for entry %+v", posted, en)
				}
			} else if len(posted) != 0 {
				t.Errorf("a %s entry was posted: %+v", tc.want, posted)
			}
		})
	}
}

func TestEnginePostsToVacantWhenTold(t *testing.T) {
	r := newRig(t, false, func(e *gateway.Engine) { e.PostToVacant = true }).run()
	en := r.await(r.send("out 102 4416 30"), gateway.StatePosted)
	if en.Reservation != "" {
		t.Errorf("reservation %q for a vacant room", en.Reservation)
	}
}

// Without guest data the engine asks the PMS for a resync and holds the
// postings until it ends; rooms are then judged by what the PMS sent.
// TestEngineDistrustsACutResync: the journal holds room 101 from a resync
// that a kill cut short (it never ended), so room 103, not yet re-sent, is
// not known vacant: the engine asks for the guests again and its posting
// waits, then goes to the guest the new resync names.
func TestEngineDistrustsACutResync(t *testing.T) {
	r := newRig(t, true)
	for _, ev := range []gateway.GuestEvent{{Kind: gateway.ResyncStart},
		{Kind: gateway.GuestCheckIn, Resync: true, Guest: gateway.Guest{Room: "101", Reservation: "R101"}}} {
		if _, err := r.j.ApplyGuest(r.ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	r.run()
	if !r.pms.Await(r.ctx, func() bool { return r.pms.Resyncs() == 1 }) {
		t.Fatal("no resync asked after a cut one")
	}
	a := r.send("out 103 4416 60")
	if en := r.await(a, gateway.StateQueued); en.State != gateway.StateQueued {
		t.Fatalf("the call from 103: %s (%s)", en.State, reason(en))
	}
	r.pms.Guest(gateway.GuestEvent{Kind: gateway.ResyncStart})
	r.pms.Guest(gateway.GuestEvent{Kind: gateway.GuestCheckIn, Resync: true, Guest: gateway.Guest{Room: "101", Reservation: "R101"}})
	r.pms.Guest(gateway.GuestEvent{Kind: gateway.GuestCheckIn, Resync: true, Guest: gateway.Guest{Room: "103", Reservation: "R103"}})
	r.pms.Guest(gateway.GuestEvent{Kind: gateway.ResyncEnd})
	if en := r.await(a, gateway.StatePosted); en.Reservation != "R103" {
		t.Errorf("posted to reservation %q, want R103", en.Reservation)
	}
}

func TestEngineWaitsForTheResync(t *testing.T) {
	r := newRig(t, true).run()
	if !r.pms.Await(r.ctx, func() bool { return r.pms.Resyncs() == 1 }) {
		t.Fatal("no resync asked")
	}
	a := r.send("out 101 4416 60")
	b := r.send("out 102 4416 60")
	r.await(a, gateway.StateQueued)
	r.await(b, gateway.StateQueued)
	if n := len(r.pms.Posted()); n != 0 {
		t.Fatalf("%d postings sent before the PMS said who stays where", n)
	}
	r.pms.Guest(gateway.GuestEvent{Kind: gateway.ResyncStart})
	r.pms.Guest(gateway.GuestEvent{Kind: gateway.GuestCheckIn, Resync: true, Guest: gateway.Guest{Room: "101", Reservation: "R9"}})
	r.pms.Guest(gateway.GuestEvent{Kind: gateway.ResyncEnd})
	en := r.await(a, gateway.StatePosted)
	if en.Reservation != "R9" {
		t.Errorf("reservation %q, want R9 from the resync", en.Reservation)
	}
	if en := r.await(b, gateway.StateException); !strings.Contains(reason(en), "vacant") {
		t.Errorf("the vacant room's posting: %q", reason(en))
	}
	if st := r.e.Status(); !st.GuestData || st.LastResync.IsZero() {
		t.Errorf("status after the resync %+v", st)
	}
}

func TestEngineWaitsOutTheNightAudit(t *testing.T) {
	r := newRig(t, false).run()
	r.pms.Guest(gateway.GuestEvent{Kind: gateway.NightAuditStart})
	id := r.send("out 101 4416 60")
	r.await(id, gateway.StateQueued)
	if !r.j.Await(r.ctx, r.j.NightAudit) {
		t.Fatal("the night audit's start was not journaled")
	}
	if n := len(r.pms.Posted()); n != 0 {
		t.Fatalf("%d postings sent during the night audit", n)
	}
	r.pms.Guest(gateway.GuestEvent{Kind: gateway.NightAuditEnd})
	r.await(id, gateway.StatePosted)
}

func TestEngineBacksOffOnRetryAndNightAuditAnswers(t *testing.T) {
	r := newRig(t, false).run()
	r.pms.Answer(gatewaytest.Reply{Answer: "RY"}, gatewaytest.Reply{Answer: "NA", Text: "night audit"})
	id := r.send("out 101 4416 60")
	// RY: back to the queue, then a wait of RetryMin.
	if !r.clock.WaitFor(r.ctx, 1) {
		t.Fatal("no back-off after RY")
	}
	en := r.await(id, gateway.StateQueued)
	if en.Answer == nil || en.Answer.Code != "RY" || len(r.pms.Posted()) != 1 {
		t.Fatalf("after RY: %+v, %d sent", en.Answer, len(r.pms.Posted()))
	}
	r.clock.Advance(5*time.Second - time.Millisecond)
	if n := len(r.pms.Posted()); n != 1 {
		t.Fatalf("sent again before the back-off passed: %d", n)
	}
	r.clock.Advance(time.Millisecond)
	// NA: the night audit's wait, NightAuditPoll (default 60 s).
	if !r.pms.Await(r.ctx, func() bool { return len(r.pms.Posted()) == 2 }) || !r.clock.WaitFor(r.ctx, 1) {
		t.Fatal("no second attempt, or no back-off after NA")
	}
	r.clock.Advance(time.Minute - time.Millisecond)
	if n := len(r.pms.Posted()); n != 2 {
		t.Fatalf("sent again before the night audit's wait passed: %d", n)
	}
	r.clock.Advance(time.Millisecond)
	en = r.await(id, gateway.StatePosted)
	posted := r.pms.Posted()
	if len(posted) != 3 || posted[0].Number != posted[2].Number || en.Posting != posted[0].Number {
		t.Errorf("a retried posting keeps its number: %+v", posted)
	}
	r.stop() // the counters are counted after the journal's moves
	if st := r.e.Status(); st.Postings[gateway.PostTransient] != 2 || st.Postings[gateway.PostPosted] != 1 {
		t.Errorf("counters %+v", st.Postings)
	}
}

func TestEngineNeverResendsInDoubt(t *testing.T) {
	r := newRig(t, false).run()
	r.pms.Answer(gatewaytest.Reply{Timeout: true})
	a := r.send("out 101 4416 60")
	if en := r.await(a, gateway.StateInDoubt); !strings.Contains(reason(en), "in doubt") {
		t.Errorf("in-doubt reason %q", reason(en))
	}
	b := r.send("out 103 4416 70")
	r.await(b, gateway.StatePosted)
	r.clock.Advance(time.Hour) // polls, checks, back-offs: nothing sends it again
	r.send("out 103 4416 80")
	r.await(3, gateway.StatePosted)
	for _, p := range r.pms.Posted()[1:] {
		if p.Room == "101" {
			t.Errorf("the posting in doubt was sent again: %+v", p)
		}
	}
	r.tickUntilAlarm(gateway.AlarmInDoubt, true)
}

func TestEngineRefusedWaitsForAPerson(t *testing.T) {
	r := newRig(t, false).run()
	r.pms.Answer(gatewaytest.Reply{Answer: "NG", Text: "no post"})
	id := r.send("out 101 4416 60")
	en := r.await(id, gateway.StateRefused)
	if en.Answer == nil || en.Answer.Code != "NG" || !strings.Contains(reason(en), "no post") {
		t.Errorf("refused entry %+v, reason %q", en.Answer, reason(en))
	}
	first := en.Posting
	// The night auditor reposts it: a new number, sent once woken.
	if _, err := r.j.Move(r.ctx, id, gateway.Change{To: gateway.StateReposted, Actor: "night", Reason: "guest agreed"}); err != nil {
		t.Fatal(err)
	}
	r.e.Wake()
	en = r.await(id, gateway.StatePosted)
	posted := r.pms.Posted()
	if len(posted) != 2 || posted[1].Number == first || posted[1].Number != en.Posting {
		t.Errorf("reposted under posting %d: %+v", en.Posting, posted)
	}
}

func TestEngineManualTransferAndVoid(t *testing.T) {
	r := newRig(t, false).run()
	ex := r.send("out 555 4416 60")
	r.await(ex, gateway.StateException)
	if _, err := r.j.Move(r.ctx, ex, gateway.Change{To: gateway.StateTransferred, Actor: "night", Reason: "the guest's phone", Room: "103"}); err != nil {
		t.Fatal(err)
	}
	r.e.Wake()
	if en := r.await(ex, gateway.StatePosted); en.Room != "103" {
		t.Errorf("transferred to %q", en.Room)
	}
	vac := r.send("out 102 4416 60")
	r.await(vac, gateway.StateException)
	if _, err := r.j.Move(r.ctx, vac, gateway.Change{To: gateway.StateVoided, Actor: "night", Reason: "staff call"}); err != nil {
		t.Fatal(err)
	}
	r.e.Wake()
	r.send("out 101 4416 60")
	r.await(3, gateway.StatePosted)
	for _, p := range r.pms.Posted() {
		if p.Room == "102" {
			t.Error("a voided charge was posted")
		}
	}
}

func TestEngineWaitsForTheLink(t *testing.T) {
	r := newRig(t, false)
	r.pms.SetState(gateway.LinkDown)
	r.run()
	id := r.send("out 101 4416 60")
	r.await(id, gateway.StateQueued)
	r.clock.Advance(11 * time.Minute)
	// The link's next news is judged at the clock's new time: down too long.
	r.pms.SetStatus(func(s *gateway.LinkStatus) { s.Err = "connection refused" })
	r.awaitAlarm(gateway.AlarmPMSDown, true)
	if n := len(r.pms.Posted()); n != 0 {
		t.Fatalf("%d postings sent while the link was down", n)
	}
	r.pms.SetState(gateway.LinkAlive)
	r.awaitAlarm(gateway.AlarmPMSDown, false)
	r.await(id, gateway.StatePosted)
}

// A posting on the wire when the engine stops gets ShutdownGrace for its
// answer; after that it is in doubt.
func TestEngineStopLeavesAPostingInDoubtAfterTheGrace(t *testing.T) {
	r := newRig(t, false).run()
	r.pms.Answer(gatewaytest.Reply{Silent: true})
	id := r.send("out 101 4416 60")
	if !r.pms.Await(r.ctx, func() bool { return len(r.pms.Posted()) == 1 }) {
		t.Fatal("nothing sent")
	}
	r.cancel()
	if !r.clock.WaitFor(r.ctx, 1) {
		t.Fatal("no shutdown grace")
	}
	if en, _ := r.j.Entry(r.ctx, id); en.State != gateway.StateSent {
		t.Fatalf("before the grace passed: %s", en.State)
	}
	r.clock.Advance(5 * time.Second)
	r.stop()
	if en, _ := r.j.Entry(r.ctx, id); en.State != gateway.StateInDoubt {
		t.Errorf("after the grace: %s, want in-doubt", en.State)
	}
}

// At start the engine finishes what a previous run left: a posting left
// sent is in doubt, a captured record goes on, a rated one is decided.
func TestEngineRecoversAtStart(t *testing.T) {
	r := newRig(t, false)
	ctx := r.ctx
	sent, _ := r.j.Capture(ctx, gateway.RawRecord{Data: []byte("out 101 4416 10"), Received: r.clock.Now()})
	call, _ := gatewaytest.Parser{}.Parse(gateway.RawRecord{Data: []byte("out 101 4416 10"), Received: r.clock.Now()})
	ch, _ := gatewaytest.Rater{}.Rate(call)
	for _, c := range []gateway.Change{{To: gateway.StateRated, Call: &call, Charge: &ch}, {To: gateway.StateQueued, Room: "101"}, {To: gateway.StateSent}} {
		if _, err := r.j.Move(ctx, sent.ID, c); err != nil {
			t.Fatal(err)
		}
	}
	captured, _ := r.j.Capture(ctx, gateway.RawRecord{Data: []byte("out 103 4416 20"), Received: r.clock.Now()})
	rated, _ := r.j.Capture(ctx, gateway.RawRecord{Data: []byte("out 101 4416 30"), Received: r.clock.Now()})
	call3, _ := gatewaytest.Parser{}.Parse(gateway.RawRecord{Data: []byte("out 101 4416 30"), Received: r.clock.Now()})
	ch3, _ := gatewaytest.Rater{}.Rate(call3)
	if _, err := r.j.Move(ctx, rated.ID, gateway.Change{To: gateway.StateRated, Call: &call3, Charge: &ch3}); err != nil {
		t.Fatal(err)
	}
	r.run()
	if en := r.await(sent.ID, gateway.StateInDoubt); !strings.Contains(reason(en), "stopped") {
		t.Errorf("in doubt after a restart: %q", reason(en))
	}
	r.await(captured.ID, gateway.StatePosted)
	r.await(rated.ID, gateway.StatePosted)
	for _, p := range r.pms.Posted() {
		if p.DurationS == 10 {
			t.Error("the posting left sent was sent again")
		}
	}
}

// A journal that cannot be written raises the alarm and the record is
// captured once the disk is back.
func TestEngineRetriesACaptureTheJournalRefused(t *testing.T) {
	r := newRig(t, false)
	disk := make(chan error, 1)
	disk <- errors.New("disk full")
	r.j.Fail = func(op string) error {
		if op != "capture" {
			return nil
		}
		select {
		case err := <-disk:
			return err
		default:
			return nil
		}
	}
	r.run()
	id := r.send("out 101 4416 60")
	if !r.clock.WaitFor(r.ctx, 1) {
		t.Fatal("no retry wait")
	}
	r.awaitAlarm(gateway.AlarmJournalWrite, true)
	r.clock.Advance(time.Second)
	r.awaitAlarm(gateway.AlarmJournalWrite, false)
	r.await(id, gateway.StatePosted)
}

// A source that fails is read again after a pause; records keep coming.
func TestEngineReadsOnAfterASourceError(t *testing.T) {
	r := newRig(t, false).run()
	r.src.Fail(errors.New("serial port gone"))
	id := r.send("out 101 4416 60")
	if !r.clock.WaitFor(r.ctx, 1) {
		t.Fatal("no pause after the error")
	}
	r.clock.Advance(time.Second)
	r.await(id, gateway.StatePosted)
}

// A journal that cannot take the PMS's answer (a full disk) does not lose
// it: the poster keeps the answer, writes it again until it lands, holds
// the next posting meanwhile and keeps the journal-write alarm up (issue
// 14, D7: on main the answer was dropped, the posting stayed sent without
// an alarm, and a restart made it in doubt).
func TestEngineKeepsTheAnswerWhileTheJournalCannotBeWritten(t *testing.T) {
	r := newRig(t, false)
	ctx := r.ctx
	// Two postings queued before the engine runs: a is sent first, b waits.
	queue := func(line string) gateway.EntryID {
		rec := gateway.RawRecord{Data: []byte(line), Received: r.clock.Now()}
		c, err := r.j.Capture(ctx, rec)
		if err != nil {
			t.Fatal(err)
		}
		call, _ := gatewaytest.Parser{}.Parse(rec)
		ch, _ := gatewaytest.Rater{}.Rate(call)
		if _, err := r.j.MoveAll(ctx, []gateway.Move{{ID: c.ID, Change: gateway.Change{To: gateway.StateRated, Call: &call, Charge: &ch}},
			{ID: c.ID, Change: gateway.Change{To: gateway.StateQueued, Room: call.Extension}}}); err != nil {
			t.Fatal(err)
		}
		r.n++
		return c.ID
	}
	a, b := queue("out 101 4416 60"), queue("out 103 4416 70")
	// The disk fills once the first posting is on the wire: every move
	// after that fails until the test frees it.
	var full atomic.Bool
	full.Store(true)
	attempts := make(chan struct{}) // each failed attempt, in step with the test
	r.j.Fail = func(op string) error {
		if op == "move" && full.Load() && len(r.pms.Posted()) > 0 {
			select {
			case attempts <- struct{}{}:
			case <-ctx.Done():
			}
			return gateway.Errorf(gateway.KindInternal, "the journal could not move an entry: write journal.db: no space left on device")
		}
		return nil
	}
	r.run()
	attempt := func() {
		t.Helper()
		select {
		case <-attempts:
		case <-ctx.Done():
			t.Fatal("the answer's write was not tried again")
		}
	}
	attempt() // the answer with the next posting's sending, in one commit
	attempt() // the answer alone
	for i := 0; i < 3; i++ {
		if !r.clock.WaitFor(ctx, 1) {
			t.Fatal("no wait before the next attempt")
		}
		r.clock.Advance(10 * time.Second)
		attempt()
	}
	r.awaitAlarm(gateway.AlarmJournalWrite, true)
	if en, _ := r.j.Entry(ctx, a); en.State != gateway.StateSent {
		t.Fatalf("while the disk is full entry %d is %s, want sent (its answer kept in memory)", a, en.State)
	}
	if n := len(r.pms.Posted()); n != 1 {
		t.Fatalf("%d postings sent while an answer waited to be journaled, want 1 (the poster holds)", n)
	}
	up := false
	for _, al := range r.e.Status().Alarms {
		up = up || al.Kind == gateway.AlarmJournalWrite
	}
	if !up {
		t.Fatal("the journal-write alarm is not up while the answer waits")
	}
	full.Store(false)
	if !r.clock.WaitFor(ctx, 1) {
		t.Fatal("no wait before the next attempt")
	}
	r.clock.Advance(10 * time.Second)
	en := r.await(a, gateway.StatePosted)
	if en.Answer == nil || en.Answer.Code != "OK" {
		t.Errorf("the kept answer: %+v", en.Answer)
	}
	r.awaitAlarm(gateway.AlarmJournalWrite, false)
	r.await(b, gateway.StatePosted)
	if p := r.pms.Posted(); len(p) != 2 || p[0].Room != "101" || p[1].Room != "103" {
		t.Errorf("postings %+v, want 101 then 103, each once", p)
	}
}

// Posting numbers go out in sending order: a call that started earlier but
// whose record came later is sent first, and gets the lower number (issue
// 14, F5: on main numbers were given in arrival order, so the wire read
// P#2, P#1).
func TestEngineNumbersPostingsInSendingOrder(t *testing.T) {
	r := newRig(t, false)
	r.pms.SetState(gateway.LinkDown)
	r.run()
	start := r.clock.Now()
	r.clock.Set(start.Add(10 * time.Minute))
	late := r.send("out 103 4416 70") // the later call, printed first
	r.await(late, gateway.StateQueued)
	r.clock.Set(start.Add(5 * time.Minute))
	early := r.send("out 101 4416 60") // the earlier call, printed second
	r.await(early, gateway.StateQueued)
	r.pms.SetState(gateway.LinkAlive)
	r.await(late, gateway.StatePosted)
	r.await(early, gateway.StatePosted)
	p := r.pms.Posted()
	if len(p) != 2 || p[0].Room != "101" || p[1].Room != "103" {
		t.Fatalf("postings %+v, want the earlier call (101) first", p)
	}
	if p[0].Number >= p[1].Number {
		t.Errorf("P# on the wire: %d then %d, want increasing", p[0].Number, p[1].Number)
	}
}

// A queued posting whose sending cannot be journaled is not sent; the
// journal-write alarm is up until the journal takes it (issue 14, D7).
func TestEngineRaisesTheAlarmWhenASendingCannotBeJournaled(t *testing.T) {
	r := newRig(t, false)
	r.pms.SetState(gateway.LinkDown)
	var full atomic.Bool
	r.j.Fail = func(op string) error {
		if op == "move" && full.Load() {
			return gateway.Errorf(gateway.KindInternal, "the journal could not move an entry: no space left on device")
		}
		return nil
	}
	r.run()
	id := r.send("out 101 4416 60")
	r.await(id, gateway.StateQueued)
	full.Store(true)
	r.pms.SetState(gateway.LinkAlive)
	r.awaitAlarm(gateway.AlarmJournalWrite, true)
	if n := len(r.pms.Posted()); n != 0 {
		t.Fatalf("%d postings sent without their sending journaled", n)
	}
	full.Store(false)
	if !r.clock.WaitFor(r.ctx, 1) {
		t.Fatal("no back-off")
	}
	r.clock.Advance(5 * time.Second)
	r.awaitAlarm(gateway.AlarmJournalWrite, false)
	r.await(id, gateway.StatePosted)
}

// panicky panics on records that start with "boom" (the parser) or dial
// "boom" (the tariff), and is testParser and testRater otherwise.
type panicky struct{}

func (panicky) Parse(rec gateway.RawRecord) (gateway.Call, error) {
	if strings.HasPrefix(string(rec.Data), "boom") {
		panic("index out of range")
	}
	return gatewaytest.Parser{}.Parse(rec)
}

func (panicky) Rate(c gateway.Call) (gateway.Charge, error) {
	if c.Dialed == "boom" {
		panic("nil map")
	}
	return gatewaytest.Rater{}.Rate(c)
}

// A parser or tariff that panics on a record costs the record nothing: it
// is journaled as an exception with its raw bytes and the reason, and the
// engine goes on with the next record.
func TestEngineSurvivesAPanickingParserOrTariff(t *testing.T) {
	r := newRig(t, false, func(e *gateway.Engine) { e.Parser, e.Rater = panicky{}, panicky{} }).run()
	parse := r.send("boom 101 4416 60")
	rate := r.send("out 101 boom 60")
	next := r.send("out 101 4416 60")
	for id, want := range map[gateway.EntryID]string{parse: "the parser failed", rate: "the tariff failed"} {
		en := r.await(id, gateway.StateException)
		if h := en.History[len(en.History)-1]; !strings.Contains(h.Reason, want) || len(en.Raw.Data) == 0 {
			t.Errorf("entry %d: reason %q, raw %q", id, h.Reason, en.Raw.Data)
		}
	}
	r.await(next, gateway.StatePosted)
}

// batches is the fake journal, noting the size of each CaptureAll.
type batches struct {
	*gatewaytest.Journal
	mu    sync.Mutex
	sizes []int
}

func (b *batches) CaptureAll(ctx context.Context, cs []gateway.Capture) ([]gateway.Captured, error) {
	b.mu.Lock()
	b.sizes = append(b.sizes, len(cs))
	b.mu.Unlock()
	return b.Journal.CaptureAll(ctx, cs)
}

// Records the source has framed and waiting share one commit, up to the
// bound; the same record twice in a burst is a replay.
func TestEngineJournalsABurstInOneCommit(t *testing.T) {
	var b *batches
	r := newRig(t, false, func(e *gateway.Engine) {
		b = &batches{Journal: e.Journal.(*gatewaytest.Journal)}
		e.Journal = b
	})
	n := gateway.BurstRecords + 5
	for i := range n {
		r.src.Line(fmt.Sprintf("out 101 44%04d 60", i))
	}
	r.src.Line("out 101 440000 60") // the first again
	r.run()
	if !r.j.Await(r.ctx, func() bool {
		c, err := r.j.Counts(r.ctx)
		return err == nil && c.Entries == int64(n) && c.Replays == 1
	}) {
		t.Fatal("the burst was not journaled")
	}
	if en, err := r.j.Entry(r.ctx, 1); err != nil || en.Replays != 1 {
		t.Errorf("the record sent twice: %+v %v, want 1 replay", en.Replays, err)
	}
	b.mu.Lock()
	sizes := slices.Clone(b.sizes)
	b.mu.Unlock()
	if len(sizes) == 0 || sizes[0] != gateway.BurstRecords {
		t.Errorf("commits of %v records, want the first of %d", sizes, gateway.BurstRecords)
	}
	total := 0
	for _, s := range sizes {
		total += s
	}
	if total != n+1 || len(sizes) > 7 {
		t.Errorf("commits of %v records for a burst of %d", sizes, n+1)
	}
}

// guestReads is the fake journal's queries, counting the reads of a
// room's guests.
type guestReads struct {
	gateway.Queries
	mu    sync.Mutex
	rooms map[string]int
}

func (g *guestReads) Guests(ctx context.Context, room string) ([]gateway.Guest, error) {
	g.mu.Lock()
	g.rooms[room]++
	g.mu.Unlock()
	return g.Queries.Guests(ctx, room)
}

// The records of a burst are decided against one reading of each room's
// guests, not one per record: a burst of 25 calls from three rooms reads
// the guests three times, and decides as reading them each time would
// (occupied rooms queued, the vacant one's calls held as exceptions).
func TestEngineReadsARoomsGuestsOncePerBurst(t *testing.T) {
	var g *guestReads
	var atCommit map[string]int // the reads made before the burst's commit
	r := newRig(t, false, func(e *gateway.Engine) {
		g = &guestReads{Queries: e.Queries, rooms: map[string]int{}}
		e.Queries = g
		e.Journal = &onCaptureAll{Journal: e.Journal.(*gatewaytest.Journal), before: func() {
			g.mu.Lock()
			if atCommit == nil {
				atCommit = maps.Clone(g.rooms)
			}
			g.mu.Unlock()
		}}
	})
	var vacant []gateway.EntryID
	for i := range 25 {
		room := []string{"101", "103", "102"}[i%3]
		id := r.send(fmt.Sprintf("out %s 44%04d 60", room, i))
		if room == "102" {
			vacant = append(vacant, id)
		}
	}
	r.run()
	for _, id := range vacant {
		r.await(id, gateway.StateException)
	}
	if !r.j.Await(r.ctx, func() bool {
		c, err := r.j.Counts(r.ctx)
		return err == nil && c.Entries == 25
	}) {
		t.Fatal("the burst was not journaled")
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if atCommit["101"] != 1 || atCommit["103"] != 1 || atCommit["102"] != 1 {
		t.Errorf("guests read %v times by room before the burst's commit, want once each", atCommit)
	}
}

// onCaptureAll is the fake journal, calling before at each CaptureAll.
type onCaptureAll struct {
	*gatewaytest.Journal
	before func()
}

func (o *onCaptureAll) CaptureAll(ctx context.Context, cs []gateway.Capture) ([]gateway.Captured, error) {
	o.before()
	return o.Journal.CaptureAll(ctx, cs)
}
