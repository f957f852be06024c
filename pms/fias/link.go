package fias

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"callgate/gateway"
	"callgate/internal/backoff"
	"callgate/internal/serialport"
)

// Link is the gateway's FIAS connection to a PMS through Oracle's IFC8 (or a
// PMS emulating it, such as Protel's socket server): the vendor side of
// FIAS. It implements gateway.PMSLink.
//
// It dials IFC8 (or opens the serial port), listens for LS, describes the
// link (LD, one LR per record type, LA), waits for the PMS's LA, and is then
// alive: postings flow one at a time (PS, answered PA, matched by P# only),
// guest records (GI, GO, GC) become gateway.GuestEvents, the night audit
// (NS … NE) and a resync (DR, DS … DE) hold postings back. When the link
// is quiet it checks the PMS is alive (LS, answered LA) at most every
// AliveInterval. Whatever breaks the link, it reconnects with capped
// exponential back-off, logging the outage rate-limited (docs/fias.md).
type Link struct {
	o         Options
	codec     *Codec
	log       zerolog.Logger
	trace     *Transcript
	callTypes map[string]string

	slot    chan struct{} // held by the one posting in flight
	postc   chan *postOp
	resyncc chan chan error
	closec  chan struct{}
	closing sync.Once
	done    chan struct{}

	mu      sync.Mutex
	status  gateway.LinkStatus
	changed chan struct{} // closed and replaced at every status change
	statusc chan gateway.LinkStatus
	naSince time.Time // when the night audit started
	recent  recent    // what became of the last postings

	// The outage's log (run loop only): the cause last logged, "" once
	// alive; when the last warning went out (Options.Now); the attempts
	// that failed since.
	downLogged string
	downWarned time.Time
	downFails  int

	events *eventQueue

	// The oversize frames' log (guarded by mu): when the last line went
	// out (Options.Now) and the frames dropped since.
	oversizeLogged  time.Time
	oversizeSince   int64
	oversizeStarted bool
}

var _ gateway.PMSLink = (*Link)(nil)

// postOp is one posting handed to the link's loop.
type postOp struct {
	ctx    context.Context
	req    gateway.PostRequest
	rec    Record
	number string
	// state: 0 waiting, 1 being sent or sent, 2 given up by its caller
	// before it was sent.
	state atomic.Int32
	reply chan postReply
}

type postReply struct {
	res gateway.PostResult
	err error
}

// Open checks the options and starts the link; it connects in the
// background and keeps reconnecting until Close.
func Open(o Options) (*Link, error) {
	if ps := o.check(false); len(ps) > 0 {
		msgs := make([]string, len(ps))
		for i, p := range ps {
			msgs[i] = "pms." + p.String()
		}
		return nil, gateway.Errorf(gateway.KindInvalid, "FIAS settings: %s", strings.Join(msgs, "; "))
	}
	o = o.withDefaults()
	codec, err := NewCodec(o.CodePage)
	if err != nil {
		return nil, gateway.Wrap(gateway.KindInvalid, err, "FIAS settings")
	}
	peer := o.Address
	if o.Serial != nil {
		peer = o.Serial.Device
	}
	log := o.Logger.With().Str("component", "pms").Str("pms", peer).Logger()
	callTypes := make(map[string]string, len(o.CallTypes))
	for k, v := range o.CallTypes {
		callTypes[strings.ToLower(k)] = v
	}
	l := &Link{
		o: o, codec: codec, log: log, callTypes: callTypes,
		trace:   NewTranscript(o.Transcript, codec, log, "→", "←"),
		slot:    make(chan struct{}, 1),
		postc:   make(chan *postOp),
		resyncc: make(chan chan error),
		closec:  make(chan struct{}),
		done:    make(chan struct{}),
		changed: make(chan struct{}),
		statusc: make(chan gateway.LinkStatus, 1),
		status:  gateway.LinkStatus{State: gateway.LinkConnecting, Since: time.Now(), Peer: peer},
	}
	l.events = newEventQueue(log)
	l.log.Info().Msg("connecting to the PMS")
	go l.run()
	return l, nil
}

// Status returns the link's current state.
func (l *Link) Status() gateway.LinkStatus {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.status
}

// StatusChanges delivers the status at every change (the latest only, when
// the reader falls behind); closed after Close.
func (l *Link) StatusChanges() <-chan gateway.LinkStatus { return l.statusc }

// GuestEvents delivers guest, resync and night-audit events in PMS order;
// closed after Close.
func (l *Link) GuestEvents() <-chan gateway.GuestEvent { return l.events.out }

// WaitReady blocks until postings may be sent or ctx ends.
func (l *Link) WaitReady(ctx context.Context) error {
	for {
		l.mu.Lock()
		st, ch := l.status, l.changed
		l.mu.Unlock()
		if st.Ready() {
			return nil
		}
		if st.State == gateway.LinkClosed {
			return gateway.Errorf(gateway.KindTransient, "the PMS link is closed")
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Post sends one posting and waits for its answer; see gateway.PMSLink.
func (l *Link) Post(ctx context.Context, p gateway.PostRequest) (gateway.PostResult, error) {
	rec, err := l.buildPS(p)
	if err != nil {
		return gateway.PostResult{Outcome: gateway.PostInvalid, At: l.o.Now()}, err
	}
	notSent := func(why string) (gateway.PostResult, error) {
		return gateway.PostResult{Outcome: gateway.PostTransient, At: l.o.Now()},
			gateway.Errorf(gateway.KindTransient, "posting %d for room %s not sent: %s", p.Number, p.Room, why)
	}
	select {
	case l.slot <- struct{}{}:
	case <-ctx.Done():
		return notSent(ctx.Err().Error() + " while the previous posting waited for its answer")
	case <-l.closec:
		return notSent("the PMS link is closed")
	}
	op := &postOp{ctx: ctx, req: p, rec: rec, number: rec.Value("P#"), reply: make(chan postReply, 1)}
	if st := l.Status(); !st.Ready() {
		<-l.slot
		return notSent(notReadyReason(st))
	}
	select {
	case l.postc <- op:
	case <-ctx.Done():
		<-l.slot
		return notSent(ctx.Err().Error())
	case <-l.done:
		<-l.slot
		return notSent("the PMS link is closed")
	}
	select {
	case r := <-op.reply:
		return r.res, r.err
	case <-ctx.Done():
		if op.state.CompareAndSwap(0, 2) {
			return notSent(ctx.Err().Error())
		}
		return gateway.PostResult{Outcome: gateway.PostInDoubt, Sent: true, At: l.o.Now()},
			inDoubt(p, "the gateway stopped waiting for its answer ("+ctx.Err().Error()+")")
	}
}

func inDoubt(p gateway.PostRequest, why string) error {
	return &gateway.Error{Kind: gateway.KindInternal,
		Msg: fmt.Sprintf("posting %d for room %s is in doubt: %s", p.Number, p.Room, why), Err: gateway.ErrInDoubt}
}

func notReadyReason(st gateway.LinkStatus) string {
	switch {
	case st.State == gateway.LinkClosed:
		return "the PMS link is closed"
	case st.State != gateway.LinkAlive:
		return "the PMS link is " + string(st.State)
	case st.Resync:
		return "a guest database resync is running"
	case st.NightAudit:
		return "the PMS's night audit is running"
	}
	return "the PMS link is not ready"
}

// Resync asks the PMS for its guest database (DR); see gateway.PMSLink.
func (l *Link) Resync(ctx context.Context) error {
	select {
	case l.slot <- struct{}{}: // no posting in flight while DR goes out
	case <-ctx.Done():
		return ctx.Err()
	case <-l.closec:
		return gateway.Errorf(gateway.KindTransient, "cannot ask the PMS for a resync: the link is closed")
	}
	defer func() { <-l.slot }()
	reply := make(chan error, 1)
	select {
	case l.resyncc <- reply:
	case <-ctx.Done():
		return ctx.Err()
	case <-l.done:
		return gateway.Errorf(gateway.KindTransient, "cannot ask the PMS for a resync: the link is closed")
	}
	return <-reply
}

// Close ends the link (LE) and waits for it to stop; a posting waiting for
// its answer ends in doubt.
func (l *Link) Close() error {
	l.closing.Do(func() { close(l.closec) })
	<-l.done
	return nil
}

func (l *Link) closed() bool {
	select {
	case <-l.closec:
		return true
	default:
		return false
	}
}

// setStatus changes the status with f and, when that changed anything,
// logs the change once and tells the readers.
func (l *Link) setStatus(f func(s *gateway.LinkStatus)) {
	l.mu.Lock()
	old := l.status
	f(&l.status)
	st := l.status
	if st == old {
		l.mu.Unlock()
		return
	}
	if st.State != old.State {
		l.status.Since = time.Now()
		st = l.status
	}
	close(l.changed)
	l.changed = make(chan struct{})
	select {
	case l.statusc <- st:
	default:
		select {
		case <-l.statusc:
		default:
		}
		l.statusc <- st
	}
	l.mu.Unlock()
	l.logChange(old, st)
}

// logChange logs a status change. While the link keeps failing (a PMS
// that accepts the connection and never answers), the repeats of
// "connected" go to debug; the failures are logged by logDown.
func (l *Link) logChange(old, st gateway.LinkStatus) {
	if st.State != old.State {
		switch st.State {
		case gateway.LinkStarting:
			ev := l.log.Info()
			if l.downLogged != "" {
				ev = l.log.Debug()
			}
			ev.Msg("connected to the PMS; describing the link")
		case gateway.LinkAlive:
			l.downLogged = ""
			l.log.Info().Msg("PMS link alive: postings may flow")
		case gateway.LinkClosed:
			l.log.Info().Msg("PMS link closed")
		}
	}
	if st.Resync != old.Resync {
		if st.Resync {
			l.log.Info().Msg("PMS guest database resync running: postings wait")
		} else {
			l.log.Info().Msg("PMS guest database resync over")
		}
	}
	if st.NightAudit != old.NightAudit {
		if st.NightAudit {
			l.log.Info().Msg("PMS night audit running: postings wait")
		} else {
			l.log.Info().Msg("PMS night audit over")
		}
	}
}

// run keeps the link connected until Close.
func (l *Link) run() {
	defer close(l.done)
	defer func() {
		l.setStatus(func(s *gateway.LinkStatus) { s.State = gateway.LinkClosed; s.Resync = false })
		l.mu.Lock()
		close(l.statusc)
		l.mu.Unlock()
		l.events.close()
	}()
	bo := backoff.New(l.o.MinBackoff, l.o.MaxBackoff)
	for !l.closed() {
		conn, err := l.connect()
		if err == nil {
			var alive bool
			alive, err = l.session(conn)
			conn.Close()
			if alive {
				bo.Reset()
			}
		}
		if l.closed() {
			return
		}
		msg := err.Error()
		l.setStatus(func(s *gateway.LinkStatus) {
			s.State, s.Err, s.Resync = gateway.LinkDown, msg, false
		})
		l.logDown(msg)
		if l.o.attempted != nil {
			l.o.attempted(err)
		}
		if !l.idle(bo.Next()) {
			return
		}
	}
}

// oversize counts received records dropped for being longer than
// MaxRecord, in the link's status, and logs them: the first at once, then
// at most one line a minute with the number dropped since.
func (l *Link) oversize(n int64) {
	now := l.o.Now()
	l.mu.Lock()
	l.status.OversizeFrames += n
	total := l.status.OversizeFrames
	l.oversizeSince += n
	since := l.oversizeSince
	log := !l.oversizeStarted || now.Sub(l.oversizeLogged) >= downLogEvery
	if log {
		l.oversizeStarted, l.oversizeLogged, l.oversizeSince = true, now, 0
	}
	l.mu.Unlock()
	if log {
		l.log.Warn().Int64("dropped", since).Int64("dropped_total", total).Int("max_bytes", MaxRecord).
			Msg("records from the PMS longer than FIAS allows were dropped unread")
	}
}

// downLogEvery is the least time between two warnings of one outage.
const downLogEvery = time.Minute

// logDown logs an attempt to connect that failed: the outage's first as a
// warning, then at most one warning a minute with its latest reason and
// the number of attempts that failed since the previous line; the others
// at debug level.
func (l *Link) logDown(msg string) {
	now := l.o.Now()
	if l.downLogged == "" {
		l.downLogged, l.downWarned, l.downFails = msg, now, 0
		l.log.Warn().Str("error", msg).Msg("PMS link down; reconnecting with back-off")
		return
	}
	l.downFails++
	if now.Sub(l.downWarned) < downLogEvery {
		l.log.Debug().Str("error", msg).Msg("PMS link still down")
		return
	}
	l.log.Warn().Str("error", msg).Int("failed_attempts", l.downFails).Dur("since_last_warning", now.Sub(l.downWarned)).
		Msg("PMS link still down; reconnecting with back-off")
	l.downLogged, l.downWarned, l.downFails = msg, now, 0
}

// idle waits d, answering postings and resync requests with "not now"; it
// reports false when the link is closed meanwhile.
func (l *Link) idle(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			return true
		case <-l.closec:
			return false
		case op := <-l.postc:
			l.refuse(op, notReadyReason(l.Status()))
		case r := <-l.resyncc:
			r <- gateway.Errorf(gateway.KindTransient, "cannot ask the PMS for a resync: %s", notReadyReason(l.Status()))
		}
	}
}

// connect dials IFC8 or opens the serial port, answering postings with
// "not now" meanwhile.
func (l *Link) connect() (FrameConn, error) {
	type result struct {
		c   FrameConn
		err error
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := make(chan result, 1)
	go func() {
		c, err := l.dial(ctx)
		ch <- result{c, err}
	}()
	for {
		select {
		case r := <-ch:
			return r.c, r.err
		case <-l.closec:
			cancel()
			if r := <-ch; r.c != nil {
				r.c.Close()
			}
			return nil, errors.New("closed")
		case op := <-l.postc:
			l.refuse(op, notReadyReason(l.Status()))
		case r := <-l.resyncc:
			r <- gateway.Errorf(gateway.KindTransient, "cannot ask the PMS for a resync: %s", notReadyReason(l.Status()))
		}
	}
}

func (l *Link) connOptions() ConnOptions {
	co := ConnOptions{Trace: l.trace.Trace, Now: l.o.Now, Oversize: l.oversize}
	if l.o.Serial != nil {
		co.AckTimeout = l.o.Serial.AckTimeout
	}
	return co
}

func (l *Link) dial(ctx context.Context) (FrameConn, error) {
	if l.o.Serial != nil {
		so := l.o.Serial
		// Reads block with no timeout (a read timeout makes go.bug.st/serial
		// return 0 bytes and no error); the connection's Close unblocks them.
		p, err := serialport.Open(serialport.Settings{Device: so.Device, Baud: so.Baud, DataBits: so.DataBits,
			Parity: so.Parity, StopBits: so.StopBits}, l.log)
		if err != nil {
			return nil, err
		}
		return NewSerialConn(p, l.connOptions()), nil
	}
	d := net.Dialer{Timeout: l.o.DialTimeout, KeepAlive: 30 * time.Second}
	c, err := d.DialContext(ctx, "tcp", l.o.Address)
	if err != nil {
		return nil, fmt.Errorf("cannot connect to the PMS interface at %s: %w (is IFC8 running and its port open?)", l.o.Address, unwrapOp(err))
	}
	return NewStreamConn(c, l.connOptions()), nil
}

// unwrapOp shortens a net.OpError to its cause ("connection refused").
func unwrapOp(err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err
	}
	return err
}

// refuse answers a posting the link cannot send now.
func (l *Link) refuse(op *postOp, why string) {
	defer func() { <-l.slot }()
	if !op.state.CompareAndSwap(0, 1) {
		return
	}
	op.reply <- postReply{gateway.PostResult{Outcome: gateway.PostTransient, At: l.o.Now()},
		gateway.Errorf(gateway.KindTransient, "posting %d for room %s not sent: %s", op.req.Number, op.req.Room, why)}
}

// settle answers the posting in flight and frees the slot.
func (l *Link) settle(op *postOp, res gateway.PostResult, err error) {
	res.At = l.o.Now()
	op.reply <- postReply{res, err}
	<-l.slot
}

// eventQueueMax bounds the guest events waiting for the engine: once that
// many wait, the link stops reading the connection until the engine took
// some, so that TCP's flow control holds the PMS back (docs/fias.md,
// "Guest records"). No event is ever dropped.
const eventQueueMax = 1024

// eventQueue delivers guest events in order without ever blocking the link:
// it queues them and a goroutine hands them to the reader. push never
// blocks; the link reads no more records while full says so, which keeps
// the queue within eventQueueMax and a few link events.
type eventQueue struct {
	mu       sync.Mutex
	items    []gateway.GuestEvent
	room     chan struct{} // a token after an event was taken
	notify   chan struct{}
	closing  chan struct{}
	finished chan struct{}
	out      chan gateway.GuestEvent
	log      zerolog.Logger
}

func newEventQueue(log zerolog.Logger) *eventQueue {
	q := &eventQueue{notify: make(chan struct{}, 1), room: make(chan struct{}, 1), closing: make(chan struct{}), finished: make(chan struct{}),
		out: make(chan gateway.GuestEvent), log: log}
	go q.pump()
	return q
}

func (q *eventQueue) push(ev gateway.GuestEvent) {
	q.mu.Lock()
	q.items = append(q.items, ev)
	q.mu.Unlock()
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

// full reports whether reading must pause: eventQueueMax events wait, or,
// once paused, more than half as many (a pause lasts until the engine took
// half the queue, not one event at a time).
func (q *eventQueue) full(paused bool) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if paused {
		return len(q.items) > eventQueueMax/2
	}
	return len(q.items) >= eventQueueMax
}

// close lets the queue deliver what it holds, then close its channel, and
// returns when it is closed; what nobody takes within closeGrace is dropped.
func (q *eventQueue) close() {
	close(q.closing)
	<-q.finished
}

// closeGrace is how long events left at Close wait for a reader.
const closeGrace = 250 * time.Millisecond

func (q *eventQueue) pump() {
	defer close(q.finished)
	defer close(q.out)
	var giveUp <-chan time.Time
	for {
		q.mu.Lock()
		var ev gateway.GuestEvent
		have := len(q.items) > 0
		if have {
			ev = q.items[0]
		}
		q.mu.Unlock()
		if !have {
			select {
			case <-q.notify:
				continue
			case <-q.closing:
				q.mu.Lock()
				n := len(q.items)
				q.mu.Unlock()
				if n == 0 {
					return
				}
				continue
			}
		}
		closing := q.closing
		if giveUp != nil {
			closing = nil
		}
		select {
		case q.out <- ev:
			q.mu.Lock()
			q.items[0] = gateway.GuestEvent{} // let the strings go
			q.items = q.items[1:]
			if len(q.items) == 0 {
				q.items = nil // let the backing array go
			}
			q.mu.Unlock()
			select {
			case q.room <- struct{}{}:
			default:
			}
		case <-closing:
			giveUp = time.After(closeGrace)
		case <-giveUp:
			q.mu.Lock()
			n := len(q.items)
			q.items = nil
			q.mu.Unlock()
			q.log.Error().Int("events", n).Msg("guest events dropped at shutdown: nobody read them")
			return
		}
	}
}
