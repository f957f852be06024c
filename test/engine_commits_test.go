package test

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"callgate/gateway"
	"callgate/store"
)

// The engine's commits, with the real journal and fakes for the PBX, the
// fakeParser, the tariff and the PMS link. Each test reads the commits that
// moved entries, as "entry>state" per move, one string per commit.

// commits wraps a journal and writes down each commit of moves, and when
// the poster last found the queue empty.
type commits struct {
	gateway.Journal
	gateway.Queries
	failBatches bool // MoveAll fails as a failing disk would

	mu  sync.Mutex
	got []string
	// idleAt is len(got) when the queue's head was last read and found
	// empty, -1 before.
	idleAt int
	hook   func() // called once, after the next capture
	// changed gets a token after each commit and each empty read of the
	// queue: waitFor's wake-up.
	changed chan struct{}
}

// poke wakes waitFor.
func (c *commits) poke() {
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

func (c *commits) Capture(ctx context.Context, rec gateway.RawRecord) (gateway.Captured, error) {
	cp, err := c.Journal.Capture(ctx, rec)
	c.mu.Lock()
	hook := c.hook
	c.hook = nil
	c.mu.Unlock()
	if hook != nil {
		hook()
	}
	return cp, err
}

// CaptureAll notes the commit of records with their moves: "1>captured
// 1>rated 1>queued 1>sent" (a replay has no move). With failBatches it
// fails as a batch the journal refuses would, and the engine journals the
// records the long way: each captured alone, then its moves.
func (c *commits) CaptureAll(ctx context.Context, cs []gateway.Capture) ([]gateway.Captured, error) {
	if c.failBatches {
		return nil, gateway.Errorf(gateway.KindInvalid, "the batch is refused")
	}
	got, err := c.Journal.CaptureAll(ctx, cs)
	if err == nil {
		var ms []gateway.Move
		for i, cp := range got {
			if cp.Replay {
				continue
			}
			ms = append(ms, gateway.Move{ID: cp.ID, Change: gateway.Change{To: gateway.StateCaptured}})
			for _, ch := range cs[i].Moves {
				ms = append(ms, gateway.Move{ID: cp.ID, Change: ch})
			}
			if cp.Sent != nil {
				ms = append(ms, gateway.Move{ID: cp.ID, Change: gateway.Change{To: gateway.StateSent}})
			}
		}
		c.note(ms)
	}
	return got, err
}

// onCapture has f called after the next capture, once.
func (c *commits) onCapture(f func()) {
	c.mu.Lock()
	c.hook = f
	c.mu.Unlock()
}

func (c *commits) Entries(ctx context.Context, f gateway.Filter) ([]gateway.Entry, error) {
	es, err := c.Queries.Entries(ctx, f)
	if err == nil && len(es) == 0 && f.Limit == 1 && slices.Equal(f.States, []gateway.State{gateway.StateQueued}) {
		c.mu.Lock()
		c.idleAt = len(c.got)
		c.mu.Unlock()
		c.poke()
	}
	return es, err
}

// posterWaits reports whether the queue was found empty after the last
// commit: the poster's loop then waits (the read that looks for the next
// posting of a drain comes before the commit of the answer).
func (c *commits) posterWaits() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.idleAt == len(c.got)
}

func (c *commits) note(ms []gateway.Move) {
	var b []string
	for _, m := range ms {
		b = append(b, fmt.Sprintf("%d>%s", m.ID, m.To))
	}
	c.mu.Lock()
	c.got = append(c.got, strings.Join(b, " "))
	c.mu.Unlock()
	c.poke()
}

func (c *commits) Move(ctx context.Context, id gateway.EntryID, ch gateway.Change) (gateway.Entry, error) {
	en, err := c.Journal.Move(ctx, id, ch)
	if err == nil {
		c.note([]gateway.Move{{ID: id, Change: ch}})
	}
	return en, err
}

func (c *commits) MoveAll(ctx context.Context, ms []gateway.Move) (gateway.Entry, error) {
	if c.failBatches {
		return gateway.Entry{}, gateway.Errorf(gateway.KindInternal, "the disk failed")
	}
	en, err := c.Journal.MoveAll(ctx, ms)
	if err == nil {
		c.note(ms)
	}
	return en, err
}

func (c *commits) list() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.got)
}

// fakeSource delivers the records the test sends.
type fakeSource struct {
	recs chan gateway.RawRecord
	done chan struct{}
	once sync.Once
}

func (s *fakeSource) Read(ctx context.Context) (gateway.RawRecord, error) {
	select {
	case r := <-s.recs:
		return r, nil
	case <-ctx.Done():
		return gateway.RawRecord{}, ctx.Err()
	case <-s.done:
		return gateway.RawRecord{}, io.EOF
	}
}

func (s *fakeSource) Close() error { s.once.Do(func() { close(s.done) }); return nil }

// fakeParser reads "extension,minute": a 95 s outgoing call starting that many
// minutes after 09:00.
type fakeParser struct{}

func (fakeParser) Parse(r gateway.RawRecord) (gateway.Call, error) {
	ext, min, _ := strings.Cut(string(r.Data), ",")
	m, err := strconv.Atoi(min)
	if err != nil {
		return gateway.Call{}, err
	}
	start := time.Date(2026, 11, 27, 9, m, 0, 0, time.UTC)
	return gateway.Call{Format: "test", Extension: ext, Dialed: "6175550134", Start: start, StartUTC: start,
		DurationS: 95, Direction: gateway.Outgoing, Answered: gateway.Bool(true), Raw: r.Data}, nil
}

type fakeRater struct{}

func (fakeRater) Rate(gateway.Call) (gateway.Charge, error) {
	return gateway.Charge{Class: "national", Chargeable: true, TotalMinor: 136, Currency: "USD"}, nil
}

// fakePMS is a PMS link that books every posting once it is ready.
type fakePMS struct {
	ready  chan struct{} // closed when the link is ready
	once   sync.Once
	guests chan gateway.GuestEvent
	status chan gateway.LinkStatus

	mu    sync.Mutex
	posts []uint32
	hook  func() // called once, at the next Status
}

// onStatus has f called at the next Status, once.
func (p *fakePMS) onStatus(f func()) {
	p.mu.Lock()
	p.hook = f
	p.mu.Unlock()
}

func newFakePMS(ready bool) *fakePMS {
	p := &fakePMS{ready: make(chan struct{}), guests: make(chan gateway.GuestEvent), status: make(chan gateway.LinkStatus)}
	if ready {
		close(p.ready)
	}
	return p
}

func (p *fakePMS) isReady() bool {
	select {
	case <-p.ready:
		return true
	default:
		return false
	}
}

func (p *fakePMS) Post(ctx context.Context, r gateway.PostRequest) (gateway.PostResult, error) {
	if !p.isReady() {
		return gateway.PostResult{Outcome: gateway.PostTransient, At: time.Now()}, gateway.Errorf(gateway.KindTransient, "link down")
	}
	p.mu.Lock()
	p.posts = append(p.posts, r.Number)
	p.mu.Unlock()
	return gateway.PostResult{Outcome: gateway.PostPosted, Sent: true, Answer: "OK", At: time.Now()}, nil
}

func (p *fakePMS) WaitReady(ctx context.Context) error {
	select {
	case <-p.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *fakePMS) Status() gateway.LinkStatus {
	p.mu.Lock()
	hook := p.hook
	p.hook = nil
	p.mu.Unlock()
	if hook != nil {
		hook()
	}
	if p.isReady() {
		return gateway.LinkStatus{State: gateway.LinkAlive}
	}
	return gateway.LinkStatus{State: gateway.LinkDown}
}

func (p *fakePMS) StatusChanges() <-chan gateway.LinkStatus { return p.status }
func (p *fakePMS) GuestEvents() <-chan gateway.GuestEvent   { return p.guests }
func (p *fakePMS) Resync(ctx context.Context) error {
	return gateway.Errorf(gateway.KindTransient, "no resync here")
}
func (p *fakePMS) setReady() { close(p.ready) }
func (p *fakePMS) Close() error {
	p.once.Do(func() { close(p.guests); close(p.status) })
	return nil
}

type engineRig struct {
	t       *testing.T
	j       *store.Journal
	commits *commits
	src     *fakeSource
	pms     *fakePMS
	e       *gateway.Engine
	cancel  context.CancelFunc // ends Run's context
	stop    func()             // ends it and waits for Run
}

// startEngine runs an engine over a new journal in which rooms 415 to 419
// are occupied (ready: whether the PMS link is ready from the start). Nothing wakes its poster but the engine itself: no poll
// within a test's time.
func startEngine(t *testing.T, ready, failBatches bool) *engineRig {
	t.Helper()
	j, err := store.Open(filepath.Join(t.TempDir(), "journal.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	ctx := context.Background()
	for room := 415; room <= 419; room++ {
		ev := gateway.GuestEvent{Kind: gateway.GuestCheckIn, Guest: gateway.Guest{Room: strconv.Itoa(room), Reservation: fmt.Sprint("G", room)}}
		if _, err := j.ApplyGuest(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	r := &engineRig{t: t, j: j, commits: &commits{Journal: j, Queries: j, failBatches: failBatches, idleAt: -1, changed: make(chan struct{}, 1)},
		src: &fakeSource{recs: make(chan gateway.RawRecord), done: make(chan struct{})}, pms: newFakePMS(ready)}
	r.e = &gateway.Engine{Source: r.src, Parser: fakeParser{}, Rater: fakeRater{}, Journal: r.commits, Queries: r.commits, PMS: r.pms,
		Rooms: gateway.RoomMap{Same: true}, Poll: time.Hour, RetryMin: time.Millisecond, RetryMax: time.Millisecond,
		Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel)}
	runCtx, cancel := context.WithCancel(ctx)
	r.cancel = cancel
	done := make(chan error, 1)
	go func() { done <- r.e.Run(runCtx) }()
	var once sync.Once
	r.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		})
	}
	t.Cleanup(r.stop)
	return r
}

// waitFor waits until ok holds, looking again after each commit and each
// empty read of the queue (what ok depends on); the bound is there only so
// that a broken engine fails the test instead of hanging it.
func (r *engineRig) waitFor(what string, ok func() bool) {
	r.t.Helper()
	bound := time.NewTimer(30 * time.Second)
	defer bound.Stop()
	for !ok() {
		select {
		case <-r.commits.changed:
		case <-bound.C:
			r.t.Fatalf("waited in vain for %s; commits so far: %q", what, r.commits.list())
		}
	}
}

func (r *engineRig) call(ext string, minute int) {
	r.src.recs <- gateway.RawRecord{Data: fmt.Appendf(nil, "%s,%d", ext, minute), Received: time.Now()}
}

func (r *engineRig) count(s gateway.State) int64 {
	c, err := r.j.Counts(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	return c.States[s]
}

// history returns the states entry id went through.
func (r *engineRig) history(id gateway.EntryID) []gateway.State {
	en, err := r.j.Entry(context.Background(), id)
	if err != nil {
		r.t.Fatal(err)
	}
	var s []gateway.State
	for _, h := range en.History {
		s = append(s, h.To)
	}
	return s
}

var postedPath = []gateway.State{"captured", "rated", "queued", "sent", "posted"}

// TestEngineSendsWhenQueuing: a call that finds the poster waiting and the
// link ready is rated, queued and sent in one commit; its answer is the
// next. Every state is still its own event. A call that comes while the
// poster is still busy is queued and woken for as before, so the test
// requires each call to go one of the two ways and at least one the new.
func TestEngineSendsWhenQueuing(t *testing.T) {
	r := startEngine(t, true, false)
	direct := 0
	for n := 1; n <= 5; n++ {
		r.waitFor("the poster to wait", r.commits.posterWaits)
		before := len(r.commits.list())
		r.call(strconv.Itoa(414+n), n)
		r.waitFor("the posting", func() bool { return strings.Contains(strings.Join(r.commits.list(), ";"), fmt.Sprintf("%d>posted", n)) })
		got := strings.Join(r.commits.list()[before:], "; ")
		switch got {
		case fmt.Sprintf("%[1]d>captured %[1]d>rated %[1]d>queued %[1]d>sent; %[1]d>posted", n):
			direct++
		case fmt.Sprintf("%[1]d>captured %[1]d>rated %[1]d>queued; %[1]d>sent; %[1]d>posted", n):
		default:
			t.Errorf("call %d: commits %q", n, got)
		}
		if h := r.history(gateway.EntryID(n)); !slices.Equal(h, postedPath) {
			t.Errorf("entry %d went through %v", n, h)
		}
	}
	r.stop()
	if direct == 0 {
		t.Error("no call was sent in the commit that queued it")
	}
	t.Logf("%d of 5 calls sent in the commit that queued them", direct)
	if !slices.Equal(r.pms.posts, []uint32{1, 2, 3, 4, 5}) {
		t.Errorf("postings sent: %v", r.pms.posts)
	}
}

// TestEngineDrainsWithOneCommitAPosting: after an outage, each answer is
// journaled with the sending of the next posting, in call order.
func TestEngineDrainsWithOneCommitAPosting(t *testing.T) {
	r := startEngine(t, false, false)
	r.call("417", 3)
	r.call("415", 1)
	r.call("416", 2)
	r.waitFor("three postings queued", func() bool { return r.count(gateway.StateQueued) == 3 })
	r.pms.setReady()
	r.waitFor("the backlog drained", func() bool { return r.count(gateway.StatePosted) == 3 })
	r.stop()
	want := []string{
		"1>captured 1>rated 1>queued", "2>captured 2>rated 2>queued", "3>captured 3>rated 3>queued", // no link: queued, not sent
		"2>sent", "2>posted 3>sent", "3>posted 1>sent", "1>posted", // oldest call first
	}
	if got := r.commits.list(); !slices.Equal(got, want) {
		t.Errorf("commits %q, want %q", got, want)
	}
	for id := gateway.EntryID(1); id <= 3; id++ {
		if h := r.history(id); !slices.Equal(h, postedPath) {
			t.Errorf("entry %d went through %v", id, h)
		}
	}
	if !slices.Equal(r.pms.posts, []uint32{1, 2, 3}) {
		t.Errorf("postings sent: %v, want 1 2 3 (numbers given at the sending, in call order)", r.pms.posts)
	}
}

// TestEngineMovesOneAtATimeWhenABatchFails: when a commit of several moves
// fails, the engine makes them one at a time, and the call is still posted.
func TestEngineMovesOneAtATimeWhenABatchFails(t *testing.T) {
	r := startEngine(t, true, true)
	r.waitFor("the poster to wait", r.commits.posterWaits)
	r.call("415", 1)
	r.waitFor("the posting", func() bool { return r.count(gateway.StatePosted) == 1 })
	r.stop()
	want := []string{"1>rated", "1>queued", "1>sent", "1>posted"}
	if got := r.commits.list(); !slices.Equal(got, want) {
		t.Errorf("commits %q, want %q", got, want)
	}
}

// TestEngineStopLeavesNothingSent: a record processed as the engine stops
// is handed to the poster as sent just as the poster stops; the poster posts
// it before it returns, so it is not left sent (which the next start would
// take for a posting in doubt). The link's Status, which the handing over
// asks after the record's capture, stops the engine at that very moment.
func TestEngineStopLeavesNothingSent(t *testing.T) {
	r := startEngine(t, true, false)
	r.waitFor("the poster to wait", r.commits.posterWaits)
	r.call("415", 1) // the poster has been woken by now, whatever woke it at the start
	r.waitFor("the first posting", func() bool { return r.count(gateway.StatePosted) == 1 })
	r.waitFor("the poster to wait", r.commits.posterWaits)
	var stopped atomic.Bool
	// The link's Status is asked as the record is decided, before the
	// commit that journals it with its sending.
	r.pms.onStatus(func() { r.cancel(); stopped.Store(true); r.commits.poke() })
	r.call("416", 2)
	r.waitFor("the engine stopped by the link's Status", stopped.Load)
	r.stop()
	if n := r.count(gateway.StateSent); n != 0 {
		t.Fatalf("%d entries left sent; commits %q", n, r.commits.list())
	}
	want := []string{"2>captured 2>rated 2>queued 2>sent", "2>posted"}
	if got := r.commits.list(); len(got) < 2 || !slices.Equal(got[len(got)-2:], want) {
		t.Errorf("commits %q, want them to end with %q", got, want)
	}
}
