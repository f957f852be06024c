package gateway

import (
	"context"
	"fmt"
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
// doubt and is never sent again automatically — unless the PMS can prove
// what became of it (a lookup or idempotent link, resolve.go): then the
// engine looks it up or sends it again with the same reference, each step
// journaled.
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

	// RetryMin and RetryMax bound the wait after the PMS answered busy
	// (FIAS RY): RetryMin after the first such answer to a posting, twice
	// the last wait while the PMS answers the same posting so, at most
	// RetryMax. Any other answer starts over (retry.go,
	// docs/posting-safety.md). They also pace a posting that could not be
	// sent (the link not ready, the journal not writable). Defaults 2 s and
	// 60 s.
	RetryMin, RetryMax time.Duration
	// NightAuditPoll is the wait after the PMS answered that its night
	// audit runs (FIAS NA), cut short when the PMS signals the audit's end
	// (NE). Default 60 s.
	NightAuditPoll time.Duration
	// Poll is how often the poster looks at the queue when nothing woke it
	// (default 2 s).
	Poll time.Duration
	// Property names the site in posting references (site.name; see
	// PostingReference).
	Property string
	// LookupGrace is how long the engine waits, after a lookup link lost a
	// posting's answer, before it asks the PMS for the posting (a request
	// that timed out may still be booked); also the first wait between
	// lookups the PMS could not answer. Default 30 s.
	LookupGrace time.Duration
	// LookupTries is how many lookups the PMS may fail to answer for one
	// posting before it is in doubt. Default 5.
	LookupTries int
	// ResolveLimit bounds the resolving of a posting whose answer was lost:
	// on a lookup link, from when the resolving began; on an idempotent
	// link, from when the posting first went out (the key's age: keep it
	// well inside the time the PMS keeps a key). Past it the posting is in
	// doubt. Default 15 min (docs/posting-safety.md).
	ResolveLimit time.Duration
	// ShutdownGrace is how long a posting on the wire may wait for its
	// answer once Run's context ends (default 5 s); after it the posting is
	// in doubt.
	ShutdownGrace time.Duration
	// Alarms sets when the engine raises its alarms.
	Alarms AlarmOptions
	// MinorDigits, if set, gives a currency's decimals, so that log lines
	// show amounts as 12.79 USD rather than 1279 minor units.
	MinorDigits func(currency string) (int, bool)
	// OnAlarm, if set, is called each time an alarm is raised or cleared,
	// after the engine's status shows it, in the order they happen; it must
	// not block.
	OnAlarm func(a Alarm, raised bool)
	// Fraud, if it has a rule set, is checked on each call as it is rated
	// (rules_alarms.go, docs/alarms.md).
	Fraud FraudRules
	// Credit, if set, is the rooms' credit limits per stay: a room whose
	// posted calls pass its limit raises a room-credit alarm.
	Credit CreditLimits
	// Latency, if set, observes each posting's end-to-end time: from the
	// record's arrival to the PMS's OK.
	Latency func(time.Duration)

	Logger zerolog.Logger
	// Clock is the engine's time, its waits and tickers (default the real
	// clock; tests set gatewaytest.Clock).
	Clock Clock

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

	// The poster's waits after a transient outcome (retry.go): lastTry and
	// busy belong to the poster's goroutine; naEnd, guarded by naMu, is
	// closed when the PMS signals the night audit's end.
	lastTry postTry
	busy    busyWait
	naMu    sync.Mutex
	naEnd   chan struct{}

	mu     sync.Mutex
	status Status
	alarms map[alarmKey]Alarm
	// alarmOrder keeps OnAlarm's calls in the order the alarms changed.
	alarmOrder sync.Mutex
	// rules is the state of the fraud and credit rules (rules_alarms.go).
	rules ruleState
	// writeFailing names the engine's writers (capture, answer, send) whose
	// last journal write failed: the journal-write alarm is up while any is.
	writeFailing map[string]error

	// capability is what the PMS link can prove about a lost answer, and
	// prover its PostProver (nil when blind); epoch is the journal's, for
	// posting references. Set by Run.
	capability PostCapability
	prover     PostProver
	epoch      string
	// postingEpochs: the epochs of postings numbered before the journal
	// file was replaced (JournalInfo.PostingEpochs).
	postingEpochs PostingEpochs

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
	AlarmFraud        AlarmKind = "fraud"         // a toll-fraud or cost rule fired for an extension
	AlarmRoomCredit   AlarmKind = "room-credit"   // a room's posted calls passed its credit limit
	AlarmNotifyFailed AlarmKind = "notify-failed" // an alarm target keeps failing
)

// AlarmKinds lists every alarm kind, in the order docs/alarms.md gives them.
var AlarmKinds = []AlarmKind{AlarmPBXSilent, AlarmPMSDown, AlarmQueueOld, AlarmInDoubt, AlarmJournalWrite,
	AlarmFraud, AlarmRoomCredit, AlarmNotifyFailed}

// Alarm is a condition a person should know about. The engine's own alarms
// stand once per kind; fraud, room-credit and notify-failed alarms stand
// once per Subject (an extension and rule, a room, a target).
type Alarm struct {
	Kind    AlarmKind
	Subject string `json:",omitempty"` // what the alarm is about, "" for the engine's own
	Since   time.Time
	Text    string
	Detail  *AlarmDetail `json:",omitempty"`
}

// Key names the alarm among those standing: its kind, and its subject when
// it has one ("fraud/201/night").
func (a Alarm) Key() string {
	if a.Subject == "" {
		return string(a.Kind)
	}
	return string(a.Kind) + "/" + a.Subject
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
	// Wait is why the poster waits before its next try, and until when;
	// nil while it is not waiting after a transient outcome.
	Wait *PostWait
	// Capability is what the PMS link can prove about a lost answer ("" until
	// Run starts); Property and Epoch make its postings' references
	// (PostingReference), shown where the PMS stores them (lookup,
	// idempotent).
	Capability      PostCapability
	Property, Epoch string
	// PostingEpochs is the journal's (JournalInfo.PostingEpochs), read
	// only: a posting's reference is PostingReference(Property,
	// PostingEpochs.Of(entry, posting, Epoch), entry, posting).
	PostingEpochs PostingEpochs
}

func (e *Engine) now() time.Time { return e.clock().Now() }

func (e *Engine) clock() Clock {
	if e.Clock == nil {
		return RealClock{}
	}
	return e.Clock
}

func (e *Engine) defaults() {
	if e.RetryMin <= 0 {
		e.RetryMin = 2 * time.Second
	}
	if e.RetryMax < e.RetryMin {
		e.RetryMax = max(time.Minute, e.RetryMin)
	}
	if e.NightAuditPoll <= 0 {
		e.NightAuditPoll = time.Minute
	}
	if e.Poll <= 0 {
		e.Poll = 2 * time.Second
	}
	if e.LookupGrace <= 0 {
		e.LookupGrace = 30 * time.Second
	}
	if e.LookupTries <= 0 {
		e.LookupTries = 5
	}
	if e.ResolveLimit <= 0 {
		e.ResolveLimit = 15 * time.Minute
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
	e.rules.init(e)
	// What Status reads, under its lock: the console and the shipper may
	// ask for the status while Run is starting.
	started := e.now()
	e.mu.Lock()
	e.alarms = map[alarmKey]Alarm{}
	e.writeFailing = map[string]error{}
	e.status = Status{Started: started, Postings: map[PostOutcome]uint64{}}
	e.mu.Unlock()
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
	s.Capability, s.Property, s.Epoch, s.PostingEpochs = e.capability, e.Property, e.epoch, e.postingEpochs
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

// journalWrite records the outcome of a journal write that its writer
// tries again until it lands (a raw record's capture, a posting's answer,
// a queued posting's sending), and keeps the journal-write alarm up while
// any writer's last attempt failed. The health check is not OK while that
// alarm is up (docs/posting-safety.md).
func (e *Engine) journalWrite(writer string, err error) {
	e.mu.Lock()
	if err != nil {
		e.writeFailing[writer] = err
	} else {
		delete(e.writeFailing, writer)
	}
	var text string
	for _, w := range []string{"capture", "answer", "send"} {
		if werr := e.writeFailing[w]; werr != nil {
			text = "the journal cannot be written: " + werr.Error()
			break
		}
	}
	failing := len(e.writeFailing) > 0
	e.mu.Unlock()
	e.setAlarm(AlarmJournalWrite, failing, text)
}

func (e *Engine) setAlarm(k AlarmKind, on bool, text string) {
	e.SetAlarm(Alarm{Kind: k, Text: text}, on)
}

// alarmKey names a standing alarm: its kind and subject.
type alarmKey struct {
	kind    AlarmKind
	subject string
}

// SetAlarm raises a (or updates its text and detail when it stands) or
// clears the alarm of a's kind and subject: the one list of alarms the
// dashboard, /metrics, /healthz and the alarm targets read. A change of
// state is logged and passed to OnAlarm; an update is not.
func (e *Engine) SetAlarm(a Alarm, on bool) {
	e.alarmOrder.Lock()
	defer e.alarmOrder.Unlock()
	k := alarmKey{a.Kind, a.Subject}
	e.mu.Lock()
	if e.alarms == nil {
		e.alarms = map[alarmKey]Alarm{}
	}
	old, was := e.alarms[k]
	switch {
	case on && !was:
		if a.Since.IsZero() {
			a.Since = e.now()
		}
		e.alarms[k] = a
	case on:
		a.Since = old.Since
		e.alarms[k] = a
	case was:
		delete(e.alarms, k)
		if a.Text == "" {
			a.Text = old.Text
		}
		if a.Detail == nil {
			a.Detail = old.Detail
		}
		a.Since = old.Since
	}
	e.mu.Unlock()
	switch {
	case on && !was:
		e.Logger.Error().Str("alarm", string(a.Kind)).Str("subject", a.Subject).Msg(a.Text)
	case !on && was:
		e.Logger.Info().Str("alarm", string(a.Kind)).Str("subject", a.Subject).Msg("alarm cleared")
	}
	if on != was && e.OnAlarm != nil {
		e.OnAlarm(a, on)
	}
}

// Run runs the engine until ctx ends, then stops in order: it stops reading
// the PBX (journaling what was already read), lets the posting on the wire
// finish within ShutdownGrace (else it is in doubt), closes the PMS link
// (FIAS LE) and returns. It first recovers from a previous run: postings
// left sent are in doubt, records left captured or rated go on.
func (e *Engine) Run(ctx context.Context) error {
	e.defaults()
	capability, prover := linkCapability(e.PMS)
	info, infoErr := e.Queries.Info(ctx)
	if infoErr != nil && capability != CapabilityBlind {
		e.Source.Close()
		e.PMS.Close()
		return fmt.Errorf("reading the journal's epoch for posting references: %w", infoErr)
	}
	e.mu.Lock() // Status reads them
	e.capability, e.prover, e.epoch, e.postingEpochs = capability, prover, info.Epoch, info.PostingEpochs
	e.mu.Unlock()
	e.warmRules(ctx) // before the recovery, which rates what the last run left
	if err := e.recoverEntries(ctx); err != nil {
		e.Source.Close()
		e.PMS.Close()
		return err
	}
	// Guest data from an earlier run counts only when its last resync
	// ended: a resync cut by a stop or a kill left part of the house, and
	// the rooms it had not yet re-sent would look vacant. The engine then
	// asks the PMS for every guest again, and postings wait meanwhile.
	if infoErr == nil && !info.ResyncOpen {
		if gs, err := e.Queries.Guests(ctx, ""); err == nil && len(gs) > 0 {
			e.guestData.Store(true)
		}
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

	w := e.startWatch(ctx)
	var loops sync.WaitGroup
	loops.Add(3)
	go func() { defer loops.Done(); e.captureLoop(ctx) }()
	go func() { defer loops.Done(); e.postLoop(ctx, postCtx) }()
	go func() { defer loops.Done(); e.watchLoop(ctx, w) }()
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

// restartReason is why a posting found sent at start is in doubt: the
// gateway stopped before it journaled an answer — none came, or one came
// and the journal could not be written before the gateway stopped.
const restartReason = "the gateway stopped before it journaled the PMS's answer to this posting (no answer came, or the journal could not be written): check the folio"

// recoverEntries finishes what a previous run left: a posting left sent may
// have been booked (in doubt on a blind link, resolving on the others: see
// recoverSent); captured and rated records go on.
func (e *Engine) recoverEntries(ctx context.Context) error {
	for _, st := range []State{StateSent, StateResolving, StateCaptured, StateRated} {
		var after EntryID
		for {
			es, err := e.Queries.Entries(ctx, Filter{States: []State{st}, After: after, Limit: 500})
			if err != nil {
				return fmt.Errorf("reading the journal's %s entries: %w", st, err)
			}
			for _, en := range es {
				switch st {
				case StateSent:
					e.recoverSent(ctx, en)
				case StateResolving:
					e.recoverResolving(ctx, en)
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
