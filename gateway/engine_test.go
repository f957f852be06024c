package gateway_test

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"callgate/gateway"
	"callgate/store"
)

// The engine's commits, with the real journal and fakes for the PBX, the
// parser, the tariff and the PMS link. Each test reads the commits that
// moved entries, as "entry>state" per move, one string per commit.

// commits wraps a journal and writes down each commit of moves.
type commits struct {
	gateway.Journal
	failBatches bool // MoveAll fails as a failing disk would

	mu  sync.Mutex
	got []string
}

func (c *commits) note(ms []gateway.Move) {
	var b []string
	for _, m := range ms {
		b = append(b, fmt.Sprintf("%d>%s", m.ID, m.To))
	}
	c.mu.Lock()
	c.got = append(c.got, strings.Join(b, " "))
	c.mu.Unlock()
}

func (c *commits) Move(ctx context.Context, id gateway.EntryID, ch gateway.Change) (gateway.Entry, error) {
	en, err := c.Journal.Move(ctx, id, ch)
	if err == nil {
		c.note([]gateway.Move{{ID: id, Change: ch}})
	}
	return en, err
}

func (c *commits) MoveAll(ctx context.Context, ms []gateway.Move) ([]gateway.Entry, error) {
	if c.failBatches {
		return nil, gateway.Errorf(gateway.KindInternal, "the disk failed")
	}
	es, err := c.Journal.MoveAll(ctx, ms)
	if err == nil {
		c.note(ms)
	}
	return es, err
}

func (c *commits) list() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.got)
}

// source delivers the records the test sends.
type source struct {
	recs chan gateway.RawRecord
	done chan struct{}
	once sync.Once
}

func (s *source) Read(ctx context.Context) (gateway.RawRecord, error) {
	select {
	case r := <-s.recs:
		return r, nil
	case <-ctx.Done():
		return gateway.RawRecord{}, ctx.Err()
	case <-s.done:
		return gateway.RawRecord{}, io.EOF
	}
}

func (s *source) Close() error { s.once.Do(func() { close(s.done) }); return nil }

// parser reads "extension,minute": a 95 s outgoing call starting that many
// minutes after 09:00.
type parser struct{}

func (parser) Parse(r gateway.RawRecord) (gateway.Call, error) {
	ext, min, _ := strings.Cut(string(r.Data), ",")
	m, err := strconv.Atoi(min)
	if err != nil {
		return gateway.Call{}, err
	}
	start := time.Date(2026, 11, 27, 9, m, 0, 0, time.UTC)
	return gateway.Call{Format: "test", Extension: ext, Dialed: "6175550134", Start: start, StartUTC: start,
		DurationS: 95, Direction: gateway.Outgoing, Answered: gateway.Bool(true), Raw: r.Data}, nil
}

type rater struct{}

func (rater) Rate(gateway.Call) (gateway.Charge, error) {
	return gateway.Charge{Class: "national", Chargeable: true, TotalMinor: 136, Currency: "USD"}, nil
}

// pms is a PMS link that books every posting once it is ready.
type pms struct {
	ready  chan struct{} // closed when the link is ready
	once   sync.Once
	guests chan gateway.GuestEvent
	status chan gateway.LinkStatus

	mu    sync.Mutex
	posts []uint32
}

func newPMS(ready bool) *pms {
	p := &pms{ready: make(chan struct{}), guests: make(chan gateway.GuestEvent), status: make(chan gateway.LinkStatus)}
	if ready {
		close(p.ready)
	}
	return p
}

func (p *pms) isReady() bool {
	select {
	case <-p.ready:
		return true
	default:
		return false
	}
}

func (p *pms) Post(ctx context.Context, r gateway.PostRequest) (gateway.PostResult, error) {
	if !p.isReady() {
		return gateway.PostResult{Outcome: gateway.PostTransient, At: time.Now()}, gateway.Errorf(gateway.KindTransient, "link down")
	}
	p.mu.Lock()
	p.posts = append(p.posts, r.Number)
	p.mu.Unlock()
	return gateway.PostResult{Outcome: gateway.PostPosted, Sent: true, Answer: "OK", At: time.Now()}, nil
}

func (p *pms) WaitReady(ctx context.Context) error {
	select {
	case <-p.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *pms) Status() gateway.LinkStatus {
	if p.isReady() {
		return gateway.LinkStatus{State: gateway.LinkAlive}
	}
	return gateway.LinkStatus{State: gateway.LinkDown}
}

func (p *pms) StatusChanges() <-chan gateway.LinkStatus { return p.status }
func (p *pms) GuestEvents() <-chan gateway.GuestEvent   { return p.guests }
func (p *pms) Resync(ctx context.Context) error {
	return gateway.Errorf(gateway.KindTransient, "no resync here")
}
func (p *pms) setReady() { close(p.ready) }
func (p *pms) Close() error {
	p.once.Do(func() { close(p.guests); close(p.status) })
	return nil
}

type engineRig struct {
	t       *testing.T
	j       *store.Journal
	commits *commits
	src     *source
	pms     *pms
	e       *gateway.Engine
	stop    func()
}

// startEngine runs an engine over a new journal in which rooms 415 to 419
// are occupied. Nothing wakes its poster but the engine itself: no poll
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
	r := &engineRig{t: t, j: j, commits: &commits{Journal: j, failBatches: failBatches},
		src: &source{recs: make(chan gateway.RawRecord), done: make(chan struct{})}, pms: newPMS(ready)}
	r.e = &gateway.Engine{Source: r.src, Parser: parser{}, Rater: rater{}, Journal: r.commits, Queries: j, PMS: r.pms,
		Rooms: gateway.RoomMap{Same: true}, Poll: time.Hour, RetryMin: time.Millisecond, RetryMax: time.Millisecond,
		Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel)}
	runCtx, cancel := context.WithCancel(ctx)
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

// waitFor waits until ok holds; the bound is there only so that a broken
// engine fails the test instead of hanging it.
func (r *engineRig) waitFor(what string, ok func() bool) {
	r.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !ok(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
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

var posted = []gateway.State{"captured", "rated", "queued", "sent", "posted"}

// TestEngineSendsWhenQueuing: a call that finds the poster idle and the link
// ready is rated, queued and sent in one commit; its answer is the next.
// Every state is still its own event.
func TestEngineSendsWhenQueuing(t *testing.T) {
	r := startEngine(t, true, false)
	r.waitFor("the poster to wait", r.e.PostIdle)
	r.call("415", 1)
	r.waitFor("the posting", func() bool { return r.count(gateway.StatePosted) == 1 })
	r.waitFor("the poster to wait again", r.e.PostIdle)
	r.call("416", 2)
	r.waitFor("the second posting", func() bool { return r.count(gateway.StatePosted) == 2 })
	r.stop()
	want := []string{"1>rated 1>queued 1>sent", "1>posted", "2>rated 2>queued 2>sent", "2>posted"}
	if got := r.commits.list(); !slices.Equal(got, want) {
		t.Errorf("commits %q, want %q", got, want)
	}
	for id := gateway.EntryID(1); id <= 2; id++ {
		if h := r.history(id); !slices.Equal(h, posted) {
			t.Errorf("entry %d went through %v", id, h)
		}
	}
	if !slices.Equal(r.pms.posts, []uint32{1, 2}) {
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
		"1>rated 1>queued", "2>rated 2>queued", "3>rated 3>queued", // no link: queued, not sent
		"2>sent", "2>posted 3>sent", "3>posted 1>sent", "1>posted", // oldest call first
	}
	if got := r.commits.list(); !slices.Equal(got, want) {
		t.Errorf("commits %q, want %q", got, want)
	}
	for id := gateway.EntryID(1); id <= 3; id++ {
		if h := r.history(id); !slices.Equal(h, posted) {
			t.Errorf("entry %d went through %v", id, h)
		}
	}
	if !slices.Equal(r.pms.posts, []uint32{2, 3, 1}) {
		t.Errorf("postings sent: %v, want 2 3 1 (posting numbers in queuing order, sent in call order)", r.pms.posts)
	}
}

// TestEngineMovesOneAtATimeWhenABatchFails: when a commit of several moves
// fails, the engine makes them one at a time, and the call is still posted.
func TestEngineMovesOneAtATimeWhenABatchFails(t *testing.T) {
	r := startEngine(t, true, true)
	r.waitFor("the poster to wait", r.e.PostIdle)
	r.call("415", 1)
	r.waitFor("the posting", func() bool { return r.count(gateway.StatePosted) == 1 })
	r.stop()
	want := []string{"1>rated", "1>queued", "1>sent", "1>posted"}
	if got := r.commits.list(); !slices.Equal(got, want) {
		t.Errorf("commits %q, want %q", got, want)
	}
}
