package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// Engine moves every record the PBX prints to a guest's folio, exactly once:
// it reads the call source, journals each raw record before anything else,
// drops PBX buffer replays, parses, rates, resolves the room and decides —
// not chargeable, exception, or queued — and a poster sends queued postings
// to the PMS one at a time, in call order, waiting while the link is down,
// resyncing or in the night audit. A posting whose answer never came is in
// doubt and is never sent again automatically.
//
// Moves that follow one another with nothing to wait for between them share
// one journal commit (Journal.MoveAll), each still its own event: a record's
// rating with what is decided for it (and with its sending, when the poster
// is idle and the link ready); during a drain, a posting's answer with the
// sending of the next. The raw record's capture is always a commit of its own,
// and sent is always committed before the posting is written.
//
// Set the fields, then call Run. The engine owns the source and the PMS link
// from then on: Run closes both before it returns. The journal stays open;
// the caller closes it after Run.
type Engine struct {
	Source  CallSource
	Parser  RecordParser
	Rater   Rater
	Journal Journal
	Queries Queries
	PMS     PMSLink

	// Rooms maps extensions to rooms.
	Rooms RoomMap
	// PostToVacant posts calls to rooms the PMS reports vacant instead of
	// holding them as exceptions ("room vacant": a late charge for the night
	// auditor to decide).
	PostToVacant bool

	// RetryMin and RetryMax bound the back-off after a transient answer (the
	// PMS said "busy" or "night audit"). Defaults 5 s and 5 min.
	RetryMin, RetryMax time.Duration
	// Poll is how often the poster looks at the queue when nothing woke it
	// (default 2 s).
	Poll time.Duration
	// ShutdownGrace is how long a posting on the wire may wait for its
	// answer once Run's context ends (default 5 s); after it the posting is
	// in doubt.
	ShutdownGrace time.Duration
	// Alarms sets when the engine raises its alarms.
	Alarms AlarmOptions
	// MinorDigits, if set, gives a currency's decimals, so that log lines
	// show amounts as 12.79 USD rather than 1279 minor units.
	MinorDigits func(currency string) (int, bool)
	// Latency, if set, observes each posting's end-to-end time: from the
	// record's arrival to the PMS's OK.
	Latency func(time.Duration)

	Logger zerolog.Logger
	// Clock is the engine's time, its waits and tickers (default the real
	// clock; tests set gatewaytest.Clock).
	Clock Clock
	// Now, if set and Clock is not, tells the time (Clock's waits stay
	// real).
	Now func() time.Time

	wake      chan struct{}
	guestData atomic.Bool // the journal holds guest data (or the PMS sent some)
	resyncing atomic.Bool // a resync was asked for and has not ended

	// postMu guards postIdle. The poster sets postIdle while it waits with
	// an empty queue; a record's processing that finds it set may journal
	// its entry on to sent in the commit that queues it, clear postIdle and
	// hand the entry to the poster through handoff (see sendNow).
	postMu   sync.Mutex
	postIdle bool
	handoff  chan Entry

	mu     sync.Mutex
	status Status
	alarms map[AlarmKind]Alarm

	replayLogged time.Time
	replayBurst  int
}

// AlarmOptions sets the alarm thresholds; zero values take the defaults.
type AlarmOptions struct {
	PMSDown        time.Duration // PMS link down longer than this (default 10 min)
	QueueOlderThan time.Duration // oldest queued posting older than this (default 30 min)
}

// AlarmKind names an alarm.
type AlarmKind string

// The engine's alarms.
const (
	AlarmPBXSilent    AlarmKind = "pbx-silent"    // no byte from the PBX for the configured time
	AlarmPMSDown      AlarmKind = "pms-down"      // the PMS link has been down too long
	AlarmQueueOld     AlarmKind = "queue-old"     // postings have waited too long
	AlarmInDoubt      AlarmKind = "in-doubt"      // postings in doubt wait for the night auditor
	AlarmJournalWrite AlarmKind = "journal-write" // the journal cannot be written
)

// Alarm is a condition a person should know about.
type Alarm struct {
	Kind  AlarmKind
	Since time.Time
	Text  string
}

// Status is a snapshot of the engine for the console, metrics and health
// checks. Counters run since the engine started.
type Status struct {
	Started     time.Time
	RecordsRead uint64    // raw records journaled
	LastRecord  time.Time // when the last record arrived, zero if none
	Replays     uint64    // replayed records dropped
	NotCalls    uint64    // headers, summaries: journaled, not calls
	ParseErrors uint64    // records that could not be read: exceptions
	Postings    map[PostOutcome]uint64
	PMS         LinkStatus
	GuestData   bool      // the engine knows who stays where
	LastResync  time.Time // when the last resync with the PMS ended, zero if none since start
	Alarms      []Alarm
}

func (e *Engine) now() time.Time {
	if e.Clock == nil && e.Now != nil {
		return e.Now()
	}
	return e.clock().Now()
}

func (e *Engine) clock() Clock {
	if e.Clock == nil {
		return RealClock{}
	}
	return e.Clock
}

func (e *Engine) defaults() {
	if e.RetryMin <= 0 {
		e.RetryMin = 5 * time.Second
	}
	if e.RetryMax < e.RetryMin {
		e.RetryMax = max(5*time.Minute, e.RetryMin)
	}
	if e.Poll <= 0 {
		e.Poll = 2 * time.Second
	}
	if e.ShutdownGrace <= 0 {
		e.ShutdownGrace = 5 * time.Second
	}
	if e.Alarms.PMSDown <= 0 {
		e.Alarms.PMSDown = 10 * time.Minute
	}
	if e.Alarms.QueueOlderThan <= 0 {
		e.Alarms.QueueOlderThan = 30 * time.Minute
	}
	e.wake = make(chan struct{}, 1)
	e.handoff = make(chan Entry, 1)
	e.alarms = map[AlarmKind]Alarm{}
	e.status = Status{Started: e.now(), Postings: map[PostOutcome]uint64{}}
}

// Status returns a snapshot of the engine.
func (e *Engine) Status() Status {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.status
	s.Postings = make(map[PostOutcome]uint64, len(e.status.Postings))
	for k, v := range e.status.Postings {
		s.Postings[k] = v
	}
	for _, a := range e.alarms {
		s.Alarms = append(s.Alarms, a)
	}
	s.GuestData = e.guestData.Load()
	if e.PMS != nil {
		s.PMS = e.PMS.Status()
	}
	return s
}

// Wake makes the poster look at the queue now (after a person queued a
// posting again, say).
func (e *Engine) Wake() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Resync asks the PMS for its whole guest database now (a person's request
// from the console). Postings wait until it ends.
func (e *Engine) Resync(ctx context.Context) error {
	if err := e.PMS.Resync(ctx); err != nil {
		return err
	}
	e.resyncing.Store(true)
	return nil
}

// PBXSilent raises or clears the "no PBX data" alarm; the call source's
// watchdog calls it.
func (e *Engine) PBXSilent(silent bool, after time.Duration) {
	e.setAlarm(AlarmPBXSilent, silent, fmt.Sprintf("no PBX data for %s: check the PBX's SMDR output and the cable or link", after.Round(time.Minute)))
}

func (e *Engine) setAlarm(k AlarmKind, on bool, text string) {
	e.mu.Lock()
	_, was := e.alarms[k]
	switch {
	case on && !was:
		e.alarms[k] = Alarm{Kind: k, Since: e.now(), Text: text}
	case on:
		a := e.alarms[k]
		a.Text = text
		e.alarms[k] = a
	case was:
		delete(e.alarms, k)
	}
	e.mu.Unlock()
	switch {
	case on && !was:
		e.Logger.Error().Str("alarm", string(k)).Msg(text)
	case !on && was:
		e.Logger.Info().Str("alarm", string(k)).Msg("alarm cleared")
	}
}

// Run runs the engine until ctx ends, then stops in order: it stops reading
// the PBX (journaling what was already read), lets the posting on the wire
// finish within ShutdownGrace (else it is in doubt), closes the PMS link
// (FIAS LE) and returns. It first recovers from a previous run: postings
// left sent are in doubt, records left captured or rated go on.
func (e *Engine) Run(ctx context.Context) error {
	e.defaults()
	if err := e.recoverEntries(ctx); err != nil {
		e.Source.Close()
		e.PMS.Close()
		return err
	}
	if gs, err := e.Queries.Guests(ctx, ""); err == nil && len(gs) > 0 {
		e.guestData.Store(true)
	}

	// The poster's context ends ShutdownGrace after ctx, so the posting on
	// the wire can still be answered.
	postCtx, cancelPost := context.WithCancel(context.Background())
	defer cancelPost()
	go func() {
		<-ctx.Done()
		select {
		case <-e.clock().After(e.ShutdownGrace):
			cancelPost()
		case <-postCtx.Done():
		}
	}()

	var loops sync.WaitGroup
	loops.Add(3)
	go func() { defer loops.Done(); e.captureLoop(ctx) }()
	go func() { defer loops.Done(); e.postLoop(ctx, postCtx) }()
	go func() { defer loops.Done(); e.watchLoop(ctx) }()
	guestsDone := make(chan struct{})
	go func() { defer close(guestsDone); e.guestLoop() }()

	loops.Wait()
	cancelPost()
	if err := e.PMS.Close(); err != nil {
		e.Logger.Warn().Err(err).Msg("closing the PMS link")
	}
	<-guestsDone
	e.Logger.Info().Msg("engine stopped")
	return nil
}

// recoverEntries finishes what a previous run left: a posting left sent may
// have been booked (in doubt); captured and rated records go on.
func (e *Engine) recoverEntries(ctx context.Context) error {
	for _, st := range []State{StateSent, StateCaptured, StateRated} {
		var after EntryID
		for {
			es, err := e.Queries.Entries(ctx, Filter{States: []State{st}, After: after, Limit: 500})
			if err != nil {
				return fmt.Errorf("reading the journal's %s entries: %w", st, err)
			}
			for _, en := range es {
				switch st {
				case StateSent:
					e.move(ctx, en.ID, Change{To: StateInDoubt, Reason: "the gateway stopped while this posting waited for the PMS's answer: check the folio"})
					e.Logger.Warn().Uint64("entry", uint64(en.ID)).Uint32("posting", en.Posting).Str("room", en.Room).Msg("posting in doubt after a restart")
				case StateCaptured:
					e.process(ctx, en.ID, en.Raw)
				case StateRated:
					e.decide(ctx, en)
				}
				after = en.ID
			}
			if len(es) < 500 {
				break
			}
		}
	}
	return nil
}

// captureLoop reads the PBX until ctx ends, then journals what the source
// had already read.
func (e *Engine) captureLoop(ctx context.Context) {
	for {
		rec, err := e.Source.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			if errors.Is(err, io.EOF) {
				e.Logger.Info().Msg("the call source has ended")
				<-ctx.Done()
				break
			}
			e.Logger.Error().Err(err).Msg("reading the PBX")
			select {
			case <-ctx.Done():
			case <-e.clock().After(time.Second):
			}
			continue
		}
		e.handle(ctx, rec)
	}
	// Nothing read is lost: records the source framed before it closed are
	// journaled too.
	e.Source.Close()
	drain, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		rec, err := e.Source.Read(drain)
		if err != nil {
			return
		}
		e.handle(drain, rec)
	}
}

// handle journals one raw record and takes it as far as it goes. Shutting
// down does not interrupt it half-way: a record that was read is journaled
// and processed with a context that ctx's end does not cancel.
func (e *Engine) handle(ctx context.Context, rec RawRecord) {
	c, err := e.capture(ctx, rec)
	if err != nil {
		e.Logger.Error().Err(err).Int("bytes", len(rec.Data)).Str("source", rec.Source).
			Msg("a record could not be journaled and is lost: the journal's disk is failing")
		return
	}
	e.mu.Lock()
	if c.Replay {
		e.status.Replays++
	} else {
		e.status.RecordsRead++
		e.status.LastRecord = rec.Received
	}
	e.mu.Unlock()
	if c.Replay {
		e.logReplay(rec)
		return
	}
	e.process(context.WithoutCancel(ctx), c.ID, rec)
}

// capture journals rec, trying again while the disk fails: a record that was
// read is never given up while the engine runs (ctx's end stops the retries,
// not a write under way).
func (e *Engine) capture(ctx context.Context, rec RawRecord) (Captured, error) {
	wait := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		c, err := e.Journal.Capture(context.WithoutCancel(ctx), rec)
		if err == nil {
			if attempt > 1 {
				e.setAlarm(AlarmJournalWrite, false, "")
			}
			return c, nil
		}
		if IsKind(err, KindInvalid) {
			return c, err
		}
		e.setAlarm(AlarmJournalWrite, true, "the journal cannot be written: "+err.Error())
		select {
		case <-ctx.Done():
			return c, err
		case <-e.clock().After(wait):
		}
		wait = min(2*wait, 10*time.Second)
	}
}

// logReplay logs PBX buffer replays once per burst, not once per record.
func (e *Engine) logReplay(rec RawRecord) {
	e.replayBurst++
	if now := e.now(); now.Sub(e.replayLogged) > time.Minute {
		e.Logger.Warn().Int("replayed", e.replayBurst).Str("source", rec.Source).
			Msg("the PBX sent records already journaled (a buffer replay after a reconnect): dropped")
		e.replayLogged, e.replayBurst = now, 0
	}
}

// process parses and rates a captured record and decides what becomes of it.
func (e *Engine) process(ctx context.Context, id EntryID, rec RawRecord) {
	call, err := e.Parser.Parse(rec)
	switch {
	case errors.Is(err, ErrNotCall):
		e.count(func(s *Status) { s.NotCalls++ })
		e.move(ctx, id, Change{To: StateNotChargeable, Reason: "not a call record (a header, summary or information line)"})
		return
	case err != nil:
		e.count(func(s *Status) { s.ParseErrors++ })
		e.move(ctx, id, Change{To: StateException, Reason: "unreadable record: " + err.Error()})
		e.Logger.Warn().Uint64("entry", uint64(id)).Err(err).Msg("a PBX record could not be read: it waits in the exceptions")
		return
	}
	charge, err := e.Rater.Rate(call)
	if err != nil {
		e.move(ctx, id, Change{To: StateException, Call: &call, Reason: "cannot be rated: " + err.Error()})
		return
	}
	rated := Move{ID: id, Change: Change{To: StateRated, Call: &call, Charge: &charge}}
	next, ok := e.decision(ctx, id, &call, &charge)
	if !ok {
		e.move(ctx, id, rated.Change) // stays rated; the next start goes on with it
		return
	}
	// The rating and the decision share one commit: two events, one fsync.
	e.settle(ctx, rated, next)
}

// decide moves a rated entry on: not chargeable, an exception, or queued.
func (e *Engine) decide(ctx context.Context, en Entry) {
	if next, ok := e.decision(ctx, en.ID, en.Call, en.Charge); ok {
		e.settle(ctx, next)
	}
}

// decision returns the move that takes a rated entry on: not chargeable, an
// exception, or queued. It reports false when the room's guests cannot be
// read: the entry then stays rated (and the next start goes on with it).
func (e *Engine) decision(ctx context.Context, id EntryID, call *Call, ch *Charge) (Move, bool) {
	to := func(c Change) (Move, bool) { return Move{ID: id, Change: c}, true }
	if call == nil || ch == nil {
		return to(Change{To: StateException, Reason: "rated entry without its call or charge"})
	}
	if ch.Exception != nil {
		return to(Change{To: StateException, Reason: "tariff: " + *ch.Exception + " (" + MaskNumber(call.Dialed) + ")"})
	}
	if !ch.Postable() {
		return to(Change{To: StateNotChargeable, Reason: notChargeableReason(*call, *ch)})
	}
	room, why := e.Rooms.Resolve(call.Extension)
	switch why {
	case RoomNotARoom:
		return to(Change{To: StateNotChargeable, Reason: "extension " + call.Extension + " is not a room: accounted, never posted"})
	case RoomUnknown, RoomNoExtension:
		return to(Change{To: StateException, Reason: fmt.Sprintf("extension %q maps to no room: add it to rooms in the config, or transfer the charge", call.Extension)})
	}
	var reservation string
	if e.guestData.Load() {
		gs, err := e.Queries.Guests(ctx, room)
		if err != nil {
			e.Logger.Error().Err(err).Msg("reading the guests of a room")
			return Move{}, false
		}
		if len(gs) == 0 && !e.PostToVacant {
			return to(Change{To: StateException, Room: room, Reason: "room " + room + " is vacant: a late charge for the night auditor"})
		}
		if len(gs) > 0 {
			reservation = gs[0].Reservation
		}
	}
	return to(Change{To: StateQueued, Room: room, Reservation: reservation})
}

// settle journals the moves that end a record's processing in one commit.
// A posting that is queued goes on to sent in that commit when the poster
// can take it at once (sendNow); otherwise the poster is woken.
func (e *Engine) settle(ctx context.Context, moves ...Move) {
	if moves[len(moves)-1].To != StateQueued {
		e.moveAll(ctx, moves)
		return
	}
	if e.sendNow(ctx, moves) {
		return
	}
	if e.moveAll(ctx, moves) {
		e.Wake()
	}
}

// sendNow journals moves, the last of which queues a posting, together with
// that posting's move to sent, and hands it to the poster — when the poster
// waits with nothing queued or sent and the link is ready, so that the
// posting is the next in call order and FIAS's one posting outstanding
// holds. It reports whether it did; if not, nothing was journaled.
//
// The invariant is kept: sent is committed before the PS is written, by the
// poster, which got the entry from this commit. An entry handed over but
// never written (the engine stopped) is still posted by the poster before
// it stops (see postLoop), so it is never left sent for nothing.
func (e *Engine) sendNow(ctx context.Context, moves []Move) bool {
	e.postMu.Lock()
	defer e.postMu.Unlock()
	if !e.postIdle || !e.guestData.Load() || !e.PMS.Status().Ready() {
		return false
	}
	counts, err := e.Queries.Counts(ctx)
	if err != nil || counts.States[StateQueued] > 0 || counts.States[StateSent] > 0 {
		return false
	}
	q := moves[len(moves)-1]
	// The decision may have been made before the PMS's guest data came:
	// judge the room now, as the poster would (a vacant room's charge
	// waits in the queue, where the poster makes it the exception).
	vacant, guest := e.occupant(ctx, q.Room)
	if vacant {
		return false
	}
	toSent := Change{To: StateSent, Alone: true} // the journal checks again that nothing older waits
	if q.Reservation == "" {
		toSent.Reservation = guest
	}
	sent, err := e.Journal.MoveAll(ctx, append(moves[:len(moves):len(moves)], Move{ID: q.ID, Change: toSent}))
	if err != nil {
		lvl := zerolog.WarnLevel
		if IsTransient(err) {
			lvl = zerolog.DebugLevel // an older posting came first: this one queues behind it
		}
		e.Logger.WithLevel(lvl).Err(err).Uint64("entry", uint64(q.ID)).Msg("journaling a posting as queued and sent at once failed: queuing it alone")
		return false
	}
	e.postIdle = false
	e.handoff <- sent
	return true
}

func notChargeableReason(c Call, ch Charge) string {
	switch {
	case c.Direction != Outgoing:
		return string(c.Direction) + " call"
	case c.Answered != nil && !*c.Answered, c.DurationS == 0:
		return "not answered"
	case !ch.Chargeable:
		return "under the grace time"
	default:
		return "nothing to charge (total 0)"
	}
}

// moveAll journals moves in one commit. If that fails it makes them one at
// a time, as far as they go, so that the entry goes as far as it can (rated,
// when only the queueing fails); it reports whether every move was made.
func (e *Engine) moveAll(ctx context.Context, moves []Move) bool {
	if len(moves) == 1 {
		_, ok := e.move(ctx, moves[0].ID, moves[0].Change)
		return ok
	}
	_, err := e.Journal.MoveAll(ctx, moves)
	if err == nil {
		return true
	}
	e.Logger.Warn().Err(err).Uint64("entry", uint64(moves[0].ID)).Int("moves", len(moves)).Msg("journaling moves together failed: making them one at a time")
	for _, m := range moves {
		if _, ok := e.move(ctx, m.ID, m.Change); !ok {
			return false
		}
	}
	return true
}

// move journals a change; on failure it logs and reports false (the entry
// stays where it was and a later run picks it up).
func (e *Engine) move(ctx context.Context, id EntryID, c Change) (Entry, bool) {
	en, err := e.Journal.Move(ctx, id, c)
	if err != nil {
		e.Logger.Error().Err(err).Uint64("entry", uint64(id)).Str("to", string(c.To)).Msg("journal move failed")
		return en, false
	}
	return en, true
}

func (e *Engine) count(f func(*Status)) {
	e.mu.Lock()
	f(&e.status)
	e.mu.Unlock()
}

// postLoop sends queued postings one at a time, oldest call first, while the
// link is ready and the engine knows who stays where; and the postings a
// record's processing journaled as sent and handed over (sendNow). Before it
// returns it posts a posting handed over and not yet written, so that none
// is left sent for nothing.
func (e *Engine) postLoop(ctx, postCtx context.Context) {
	backoff := time.Duration(0)
	tick := e.clock().NewTicker(e.Poll)
	defer tick.Stop()
	var handed *Entry
	// idle waits for a reason to look at the queue again; empty says the
	// queue was found empty, so a record's processing may hand over its
	// posting meanwhile.
	idle := func(empty bool) bool {
		e.setPostIdle(empty)
		defer e.setPostIdle(false)
		select {
		case <-ctx.Done():
			return false
		case <-e.wake:
		case <-tick.C():
		case en := <-e.handoff:
			handed = &en
		}
		return true
	}
	// pause backs off after a transient outcome; false when ctx ended.
	pause := func(o PostOutcome) bool {
		if o != PostTransient {
			backoff = 0
			return true
		}
		backoff = min(max(2*backoff, e.RetryMin), e.RetryMax)
		select {
		case <-ctx.Done():
			return false
		case <-e.clock().After(backoff):
			return true
		}
	}
	defer func() {
		e.setPostIdle(false)
		select {
		case en := <-e.handoff:
			e.postSent(ctx, postCtx, en)
		default:
		}
	}()
	for {
		if handed == nil {
			select {
			case en := <-e.handoff:
				handed = &en
			default:
			}
		}
		if handed != nil {
			en := *handed
			handed = nil
			if !pause(e.postSent(ctx, postCtx, en)) {
				return
			}
			continue
		}
		if ctx.Err() != nil {
			return
		}
		if !e.guestData.Load() {
			// Until the PMS said who stays where, rooms are not judged
			// vacant and nothing is posted: the postings wait.
			if !idle(false) {
				return
			}
			continue
		}
		if err := e.PMS.WaitReady(ctx); err != nil {
			return
		}
		es, err := e.Queries.Entries(ctx, Filter{States: []State{StateQueued}, Limit: 1})
		if err != nil {
			e.Logger.Error().Err(err).Msg("reading the queue")
			if !idle(false) {
				return
			}
			continue
		}
		if len(es) == 0 {
			if !idle(true) {
				return
			}
			continue
		}
		if !pause(e.post(ctx, postCtx, es[0])) {
			return
		}
	}
}

func (e *Engine) setPostIdle(idle bool) {
	e.postMu.Lock()
	e.postIdle = idle
	e.postMu.Unlock()
}

// post sends one queued entry and journals the outcome (see postSent).
func (e *Engine) post(ctx, postCtx context.Context, en Entry) PostOutcome {
	jctx := context.WithoutCancel(ctx)
	toSent, why := e.sendable(jctx, en)
	if why != "" {
		e.move(jctx, en.ID, Change{To: StateException, Reason: why})
		return PostRefused
	}
	sent, ok := e.move(jctx, en.ID, toSent)
	if !ok {
		return PostTransient
	}
	return e.postSent(ctx, postCtx, sent)
}

// sendable returns the move of a queued entry to sent or, when it cannot be
// posted, why (it then belongs in the exceptions).
func (e *Engine) sendable(ctx context.Context, en Entry) (Change, string) {
	if en.Call == nil || en.Charge == nil {
		return Change{}, "queued entry without its call or charge"
	}
	vacant, guest := e.occupant(ctx, en.Room)
	if vacant {
		return Change{}, "room " + en.Room + " is vacant: a late charge for the night auditor"
	}
	// A posting queued before the engine knew who stays where is charged
	// to the guest in the room now: the journal names that folio.
	toSent := Change{To: StateSent}
	if en.Reservation == "" {
		toSent.Reservation = guest
	}
	return toSent, ""
}

// postSent writes an entry journaled as sent to the PMS and journals the
// outcome. The outcome is journaled even when ctx ended meanwhile: a posting
// the PMS booked during shutdown is recorded as posted, not left sent.
//
// During a drain the PMS's OK and the sending of the next queued posting
// share one commit (posted, then sent: two events), and postSent goes on
// with that posting; it returns the last outcome. It stops going on when ctx
// ends, when the link is not ready, or when the next posting cannot be sent
// as it is (the poster's loop deals with it).
func (e *Engine) postSent(ctx, postCtx context.Context, sent Entry) PostOutcome {
	jctx := context.WithoutCancel(ctx)
	for {
		req := PostRequest{
			Number:      sent.Posting,
			Room:        sent.Room,
			AmountMinor: sent.Charge.TotalMinor,
			Currency:    sent.Charge.Currency,
			Start:       sent.Call.Start,
			DurationS:   sent.Call.DurationS,
			Dialed:      sent.Call.Dialed,
			Class:       sent.Charge.Class,
			Trunk:       sent.Call.Trunk,
			Destination: sent.Charge.Destination,
		}
		res, err := e.PMS.Post(postCtx, req)
		log := e.Logger.With().Uint64("entry", uint64(sent.ID)).Uint32("posting", req.Number).Str("room", req.Room).Int64("amount_minor", req.AmountMinor).Logger()
		answer := &Answer{Code: res.Answer, Text: res.Text}
		if res.Answer == "" && res.Text == "" {
			answer = nil
		}
		switch res.Outcome {
		case PostPosted:
			posted := Change{To: StatePosted, Answer: answer}
			next, chained := e.nextSent(ctx)
			if chained {
				nextSent, err := e.Journal.MoveAll(jctx, []Move{{ID: sent.ID, Change: posted}, next})
				if err == nil {
					e.posted(log, req, res, sent)
					sent = nextSent
					continue
				}
				log.Warn().Err(err).Uint64("next", uint64(next.ID)).Msg("journaling the answer with the next posting's sending failed: journaling the answer alone")
			}
			e.move(jctx, sent.ID, posted)
			e.posted(log, req, res, sent)
		case PostRefused:
			e.move(jctx, sent.ID, Change{To: StateRefused, Answer: answer, Reason: Message(err)})
			log.Warn().Str("answer", res.Answer).Str("text", res.Text).Msg("the PMS refused the posting: it waits for the night auditor")
		case PostTransient:
			e.move(jctx, sent.ID, Change{To: StateQueued, Answer: answer, Reason: Message(err)})
			log.Info().Str("answer", res.Answer).Msg("the PMS cannot take the posting now: it will be sent again")
		case PostInDoubt:
			e.move(jctx, sent.ID, Change{To: StateInDoubt, Reason: errorText(err)})
			log.Error().Err(err).Msg("posting in doubt: the night auditor must check the folio")
		default: // PostInvalid, or an outcome this engine does not know
			e.move(jctx, sent.ID, Change{To: StateRefused, Reason: "cannot be sent as a posting: " + errorText(err)})
			log.Error().Err(err).Msg("the posting cannot be sent")
			res.Outcome = PostInvalid
		}
		if res.Outcome != PostPosted {
			e.count(func(s *Status) { s.Postings[res.Outcome]++ })
		}
		return res.Outcome
	}
}

// posted logs and counts a posting the PMS booked.
func (e *Engine) posted(log zerolog.Logger, req PostRequest, res PostResult, sent Entry) {
	log.Info().Str("dialed", MaskNumber(req.Dialed)).Int("duration_s", req.DurationS).
		Msgf("posted %s to room %s (posting %d)", e.amount(req.AmountMinor, req.Currency), req.Room, req.Number)
	if e.Latency != nil && !sent.Raw.Received.IsZero() {
		e.Latency(res.At.Sub(sent.Raw.Received))
	}
	e.count(func(s *Status) { s.Postings[PostPosted]++ })
}

// nextSent returns the move to sent of the oldest queued posting, when the
// poster may go on to it at once: the engine runs, the link is ready, and
// the posting can be sent as it is.
func (e *Engine) nextSent(ctx context.Context) (Move, bool) {
	if ctx.Err() != nil || !e.guestData.Load() || !e.PMS.Status().Ready() {
		return Move{}, false
	}
	es, err := e.Queries.Entries(ctx, Filter{States: []State{StateQueued}, Limit: 1})
	if err != nil || len(es) == 0 {
		return Move{}, false
	}
	c, why := e.sendable(ctx, es[0])
	if why != "" {
		return Move{}, false
	}
	return Move{ID: es[0].ID, Change: c}, true
}

// amount writes minor units in the currency's major unit when its decimals
// are known.
func (e *Engine) amount(minor int64, currency string) string {
	if e.MinorDigits != nil {
		if d, ok := e.MinorDigits(currency); ok {
			return FormatMinor(minor, d) + " " + currency
		}
	}
	return fmt.Sprintf("%d %s minor units", minor, currency)
}

func errorText(err error) string {
	if err == nil {
		return "no reason given"
	}
	return err.Error()
}

// occupant reports whether room is known to be empty (and such postings are
// held), and the reservation of the room's first guest ("" if unknown).
func (e *Engine) occupant(ctx context.Context, room string) (vacant bool, reservation string) {
	if !e.guestData.Load() {
		return false, ""
	}
	gs, err := e.Queries.Guests(ctx, room)
	if err != nil {
		return false, ""
	}
	if len(gs) == 0 {
		return !e.PostToVacant, ""
	}
	return false, gs[0].Reservation
}

// guestLoop journals the PMS's guest events until the link closes.
func (e *Engine) guestLoop() {
	ctx := context.Background()
	for ev := range e.PMS.GuestEvents() {
		if _, err := e.Journal.ApplyGuest(ctx, ev); err != nil {
			e.Logger.Error().Err(err).Str("event", string(ev.Kind)).Str("room", ev.Guest.Room).Msg("a guest event could not be journaled")
			continue
		}
		switch ev.Kind {
		case GuestCheckIn, GuestChange, GuestCheckOut:
			// One line per guest movement (no names: room and reservation),
			// so that a posting's room can be traced to what the PMS said.
			if !ev.Resync {
				e.Logger.Info().Str("event", string(ev.Kind)).Str("room", ev.Guest.Room).Str("old_room", ev.OldRoom).
					Str("reservation", ev.Guest.Reservation).Msg("guest event journaled")
			}
		case ResyncStart:
			e.resyncing.Store(true)
		case ResyncEnd:
			e.resyncing.Store(false)
			e.guestData.Store(true)
			e.count(func(s *Status) { s.LastResync = e.now() })
			e.Logger.Info().Msg("guest data resynchronized with the PMS")
			e.Wake()
		case NightAuditEnd:
			e.Wake()
		}
	}
}

// watchLoop follows the link's state (asking for a resync when the engine
// has no guest data), keeps the alarms and runs the journal's daily tidy.
func (e *Engine) watchLoop(ctx context.Context) {
	check := e.clock().NewTicker(10 * time.Second)
	defer check.Stop()
	tidy := e.clock().NewTicker(24 * time.Hour)
	defer tidy.Stop()
	e.tidy(ctx)
	var downSince time.Time
	resyncAsked := time.Time{}
	changes := e.PMS.StatusChanges()
	evaluate := func(st LinkStatus) {
		if !e.guestData.Load() && !resyncAsked.IsZero() && e.now().Sub(resyncAsked) > 10*time.Minute {
			// A PMS that never answers a resync must not hold the postings
			// for ever: from now on rooms are judged by the guest events
			// received so far.
			e.guestData.Store(true)
			e.resyncing.Store(false)
			e.Logger.Warn().Msg("the PMS did not answer the resync within 10 minutes: rooms are judged by the guest events received since")
		}
		if st.State == LinkAlive {
			downSince = time.Time{}
			e.setAlarm(AlarmPMSDown, false, "")
			if !e.guestData.Load() && !e.resyncing.Load() && e.now().Sub(resyncAsked) > 5*time.Minute {
				if err := e.PMS.Resync(ctx); err != nil {
					e.Logger.Warn().Err(err).Msg("cannot ask the PMS for its guest data yet")
				} else {
					resyncAsked = e.now()
					e.resyncing.Store(true)
					e.Logger.Info().Msg("no guest data in the journal: asked the PMS for a resync")
				}
			}
		} else if downSince.IsZero() {
			downSince = e.now()
		}
		if !downSince.IsZero() && e.now().Sub(downSince) > e.Alarms.PMSDown {
			e.setAlarm(AlarmPMSDown, true, fmt.Sprintf("the PMS link has been %s since %s: postings wait", st.State, downSince.Format(time.Kitchen)))
		}
		e.Wake()
	}
	evaluate(e.PMS.Status())
	for {
		select {
		case <-ctx.Done():
			return
		case st, ok := <-changes:
			if !ok {
				changes = nil
				continue
			}
			evaluate(st)
		case <-check.C():
			evaluate(e.PMS.Status())
			e.checkQueues(ctx)
		case <-tidy.C():
			e.tidy(ctx)
		}
	}
}

// checkQueues raises the queue and in-doubt alarms.
func (e *Engine) checkQueues(ctx context.Context) {
	counts, err := e.Queries.Counts(ctx)
	if err != nil {
		return
	}
	n := counts.States[StateInDoubt]
	e.setAlarm(AlarmInDoubt, n > 0, fmt.Sprintf("%d postings in doubt: check them on the folios and resolve them in the console", n))
	es, err := e.Queries.Entries(ctx, Filter{States: []State{StateQueued}, Limit: 1})
	if err != nil {
		return
	}
	old := len(es) > 0 && e.now().Sub(es[0].Updated) > e.Alarms.QueueOlderThan
	text := ""
	if old {
		text = fmt.Sprintf("%d postings queued, the oldest since %s", counts.States[StateQueued], es[0].Updated.Local().Format("15:04"))
	}
	e.setAlarm(AlarmQueueOld, old, text)
}

func (e *Engine) tidy(ctx context.Context) {
	t, err := e.Journal.Tidy(ctx)
	if err != nil {
		e.Logger.Warn().Err(err).Msg("journal tidy failed")
		return
	}
	if t.NamesErased+t.DigestsExpired+t.Pruned.Entries > 0 {
		e.Logger.Info().Int("names_erased", t.NamesErased).Int("digests_expired", t.DigestsExpired).Int("entries_pruned", t.Pruned.Entries).Msg("journal tidied")
	}
}
