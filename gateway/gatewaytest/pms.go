package gatewaytest

import (
	"context"
	"sync"

	"callgate/gateway"
)

// Reply is how the fake PMS answers one posting.
type Reply struct {
	// Answer is the PMS's answer code (FIAS AS): OK posts; RY and NA are
	// transient; any other code refuses.
	Answer string
	Text   string // the PMS's clear text (FIAS CT)
	// Timeout: no answer comes within the answer timeout; the posting is in
	// doubt at once.
	Timeout bool
	// Silent: no answer comes at all; Post waits until its ctx ends or the
	// link closes, and the posting is then in doubt.
	Silent bool
	// Applied, with Timeout or Silent: the PMS booked the charge and its
	// answer was lost (a response lost after applying); without it a lost
	// answer was lost before the PMS applied anything.
	Applied bool
	// Vacant: the PMS found no in-house stay for the room (a cloud PMS
	// resolving the reservation just before posting): PostVacant, not
	// sent.
	Vacant bool
	// Invalid: the link cannot write the request as a posting of its PMS
	// (a cloud PMS's map has no code for the call's class): PostInvalid,
	// not sent, with Text as the error's sentence.
	Invalid bool
}

// Booking is one charge on the fake PMS's folios (its ledger).
type Booking struct {
	ID        string // the PMS's id of the charge: C1, C2, …
	Reference string
	Number    uint32
	Room      string
	Amount    int64
}

// PMSLink is an in-memory gateway.PMSLink whose PMS the test plays: it
// answers postings as scripted (Answer; OK when nothing is), delivers the
// guest events the test sends (Guest), and goes down, resyncs or audits
// the night when told. It keeps the contract PMSLinkContract checks: the
// same outcomes, Sent flags and error kinds as pms/fias.
type PMSLink struct {
	clock gateway.Clock

	slot   chan struct{} // one posting outstanding
	guests chan gateway.GuestEvent
	closed chan struct{}
	once   sync.Once
	// guestMu keeps Close from closing guests while Guest sends.
	guestMu sync.RWMutex

	mu       sync.Mutex
	status   gateway.LinkStatus
	changes  chan gateway.LinkStatus
	replies  []Reply
	posted   []gateway.PostRequest
	resyncs  int
	watch    notifier // at every change
	isClosed bool

	// capability is what the fake PMS can prove (blind by default, as
	// FIAS); ledger the charges it booked; lookups the lookups asked and
	// lookupFails the lookups still to fail.
	capability  gateway.PostCapability
	ledger      []Booking
	lookups     []gateway.PostRequest
	lookupFails int

	// ResyncErr, if set, is what Resync returns.
	ResyncErr error
}

var (
	_ gateway.PMSLink    = (*PMSLink)(nil)
	_ gateway.PostProver = (*PMSLink)(nil)
)

// NewPMSLink returns a link that is alive, on clock (the real one if nil).
func NewPMSLink(clock gateway.Clock) *PMSLink {
	if clock == nil {
		clock = gateway.RealClock{}
	}
	return &PMSLink{clock: clock, slot: make(chan struct{}, 1), guests: make(chan gateway.GuestEvent, 256),
		closed: make(chan struct{}), changes: make(chan gateway.LinkStatus, 1),
		status: gateway.LinkStatus{State: gateway.LinkAlive, Since: clock.Now(), Peer: "fake PMS"}, capability: gateway.CapabilityBlind}
}

// SetCapability makes the fake PMS a lookup or idempotent one (it is blind,
// as FIAS, until then): an idempotent PMS books a posting whose Reference
// it booked before at most once, answering OK again; a lookup PMS finds
// booked postings by Reference (Lookup).
func (l *PMSLink) SetCapability(c gateway.PostCapability) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.capability = c
}

// Capability returns the fake PMS's capability; see gateway.PostProver.
func (l *PMSLink) Capability() gateway.PostCapability {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.capability
}

// FailLookups makes the next n lookups fail as a PMS that cannot be asked
// (KindTransient).
func (l *PMSLink) FailLookups(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lookupFails = n
}

// Lookups returns the lookups asked, in order.
func (l *PMSLink) Lookups() []gateway.PostRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]gateway.PostRequest(nil), l.lookups...)
}

// Ledger returns the charges the fake PMS booked, in order.
func (l *PMSLink) Ledger() []Booking {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Booking(nil), l.ledger...)
}

// Charges returns how many charges the fake PMS booked with reference ref.
func (l *PMSLink) Charges(ref string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, b := range l.ledger {
		if b.Reference == ref {
			n++
		}
	}
	return n
}

// book books p on the ledger (once per Reference on an idempotent PMS) and
// returns the charge's id; called with mu held.
func (l *PMSLink) book(p gateway.PostRequest) string {
	if l.capability == gateway.CapabilityIdempotent && p.Reference != "" {
		for _, b := range l.ledger {
			if b.Reference == p.Reference {
				return b.ID
			}
		}
	}
	id := "C" + itoa(uint32(len(l.ledger)+1))
	l.ledger = append(l.ledger, Booking{ID: id, Reference: p.Reference, Number: p.Number, Room: p.Room, Amount: p.AmountMinor})
	return id
}

// Lookup finds a booked charge by p.Reference; see gateway.PostProver. It
// fails with KindInvalid on a PMS that is not a lookup one, and with
// KindTransient while the link is not alive or a scripted failure is due.
func (l *PMSLink) Lookup(ctx context.Context, p gateway.PostRequest) (gateway.LookupResult, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.capability != gateway.CapabilityLookup {
		return gateway.LookupResult{}, gateway.Errorf(gateway.KindInvalid, "the PMS cannot look up postings (it is %s)", l.capability)
	}
	if err := ctx.Err(); err != nil {
		return gateway.LookupResult{}, gateway.Errorf(gateway.KindTransient, "looking up reference %s: %v", p.Reference, err)
	}
	l.lookups = append(l.lookups, p)
	l.changed()
	switch {
	case l.status.State != gateway.LinkAlive:
		return gateway.LookupResult{}, gateway.Errorf(gateway.KindTransient, "cannot look up reference %s: the PMS link is %s", p.Reference, l.status.State)
	case l.lookupFails > 0:
		l.lookupFails--
		return gateway.LookupResult{}, gateway.Errorf(gateway.KindTransient, "cannot look up reference %s: the PMS answered 503 (service unavailable)", p.Reference)
	}
	for _, b := range l.ledger {
		if b.Reference == p.Reference {
			return gateway.LookupResult{Found: true, Answer: b.ID, Text: "charge " + b.ID + " on room " + b.Room, At: l.clock.Now()}, nil
		}
	}
	return gateway.LookupResult{Text: "no charge with reference " + p.Reference, At: l.clock.Now()}, nil
}

// changed publishes the status and wakes waiters; called with mu held.
func (l *PMSLink) changed() {
	if !l.isClosed {
		select {
		case <-l.changes:
		default:
		}
		l.changes <- l.status
	}
	l.watch.notify()
}

// SetStatus changes the link's status (its Since is set when the state
// changes).
func (l *PMSLink) SetStatus(f func(*gateway.LinkStatus)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.isClosed {
		return
	}
	old := l.status.State
	f(&l.status)
	if l.status.State != old {
		l.status.Since = l.clock.Now()
	}
	l.changed()
}

// SetState sets the link's state: LinkDown, LinkAlive, ….
func (l *PMSLink) SetState(s gateway.LinkState) {
	l.SetStatus(func(st *gateway.LinkStatus) { st.State = s })
}

// Answer scripts the PMS's answers to the next postings, in order. When
// none is left, postings are answered OK.
func (l *PMSLink) Answer(rs ...Reply) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.replies = append(l.replies, rs...)
}

// Guest delivers a guest event as the PMS sent it. Resync and night-audit
// brackets set the status as a FIAS link does.
func (l *PMSLink) Guest(ev gateway.GuestEvent) {
	switch ev.Kind {
	case gateway.ResyncStart:
		l.SetStatus(func(s *gateway.LinkStatus) { s.Resync = true })
	case gateway.ResyncEnd:
		l.SetStatus(func(s *gateway.LinkStatus) { s.Resync = false })
	case gateway.NightAuditStart:
		l.SetStatus(func(s *gateway.LinkStatus) { s.NightAudit = true })
	case gateway.NightAuditEnd:
		l.SetStatus(func(s *gateway.LinkStatus) { s.NightAudit = false })
	}
	l.guestMu.RLock()
	defer l.guestMu.RUnlock()
	select {
	case <-l.closed:
		return
	default:
	}
	select {
	case l.guests <- ev:
	case <-l.closed:
	}
}

// Posted returns the postings that went on the wire, in order.
func (l *PMSLink) Posted() []gateway.PostRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]gateway.PostRequest(nil), l.posted...)
}

// Resyncs returns how many resyncs were asked for.
func (l *PMSLink) Resyncs() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.resyncs
}

// Await calls cond after every change of the link (a posting on the wire,
// a status change, a resync asked) until it returns true (then Await
// does), or ctx ends (then false).
func (l *PMSLink) Await(ctx context.Context, cond func() bool) bool {
	return l.watch.await(ctx, cond)
}

// Post sends one posting and returns the scripted answer; see
// gateway.PMSLink.
func (l *PMSLink) Post(ctx context.Context, p gateway.PostRequest) (gateway.PostResult, error) {
	if err := checkRequest(p); err != nil {
		return gateway.PostResult{Outcome: gateway.PostInvalid, At: l.clock.Now()}, err
	}
	notSent := func(why string) (gateway.PostResult, error) {
		return gateway.PostResult{Outcome: gateway.PostTransient, At: l.clock.Now()},
			gateway.Errorf(gateway.KindTransient, "posting %d for room %s not sent: %s", p.Number, p.Room, why)
	}
	select {
	case l.slot <- struct{}{}:
	case <-ctx.Done():
		return notSent(ctx.Err().Error() + " while the previous posting waited for its answer")
	case <-l.closed:
		return notSent("the PMS link is closed")
	}
	defer func() { <-l.slot }()
	l.mu.Lock()
	if !l.status.Ready() {
		st := l.status
		l.mu.Unlock()
		return notSent(notReady(st))
	}
	r := Reply{Answer: "OK"}
	if len(l.replies) > 0 {
		r, l.replies = l.replies[0], l.replies[1:]
	}
	if r.Invalid {
		l.mu.Unlock()
		return gateway.PostResult{Outcome: gateway.PostInvalid, At: l.clock.Now()}, gateway.Errorf(gateway.KindInvalid, "%s", r.Text)
	}
	if r.Vacant {
		l.mu.Unlock()
		return gateway.PostResult{Outcome: gateway.PostVacant, At: l.clock.Now()},
			gateway.Errorf(gateway.KindRejected, "posting %d not sent: the PMS has no guest in house in room %s", p.Number, p.Room)
	}
	l.posted = append(l.posted, p)
	if r.Answer == "OK" && !r.Timeout && !r.Silent || r.Applied {
		l.book(p)
	}
	l.changed()
	l.mu.Unlock()
	inDoubt := func(why string) (gateway.PostResult, error) {
		return gateway.PostResult{Outcome: gateway.PostInDoubt, Sent: true, At: l.clock.Now()},
			gateway.Wrap(gateway.KindInternal, gateway.ErrInDoubt, "posting "+itoa(p.Number)+" for room "+p.Room+" is in doubt: "+why)
	}
	switch {
	case r.Timeout:
		return inDoubt("no answer from the PMS within the answer timeout")
	case r.Silent:
		select {
		case <-ctx.Done():
			return inDoubt("the gateway stopped waiting for its answer (" + ctx.Err().Error() + ")")
		case <-l.closed:
			return inDoubt("the link was closed while it waited for its answer")
		}
	}
	res := gateway.PostResult{Sent: true, Answer: r.Answer, Text: r.Text, At: l.clock.Now()}
	detail := r.Answer
	if r.Text != "" {
		detail += ": " + r.Text
	}
	switch r.Answer {
	case "OK":
		res.Outcome = gateway.PostPosted
		return res, nil
	case "RY", "NA":
		res.Outcome, res.Cause = gateway.PostTransient, gateway.CauseBusy
		if r.Answer == "NA" {
			res.Cause = gateway.CauseNightAudit
		}
		return res, gateway.Errorf(gateway.KindTransient, "the PMS did not take posting %d for room %s now: %s", p.Number, p.Room, detail)
	}
	res.Outcome = gateway.PostRefused
	return res, gateway.Errorf(gateway.KindRejected, "the PMS refused posting %d for room %s: %s", p.Number, p.Room, detail)
}

func itoa(n uint32) string {
	var b [10]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// checkRequest refuses what no PMS posting can carry, as pms/fias does.
func checkRequest(p gateway.PostRequest) error {
	invalid := func(why string) error {
		return gateway.Errorf(gateway.KindInvalid, "posting %d: %s", p.Number, why)
	}
	switch {
	case p.Number < 1 || p.Number > 99_999_999:
		return invalid("the posting number must be from 1 to 99999999")
	case p.Room == "":
		return invalid("the room is empty: fix the room mapping")
	case p.Start.IsZero():
		return invalid("the call has no start time")
	case p.DurationS < 0 || p.DurationS > 99*3600+59*60+59:
		return invalid("the duration cannot be written")
	}
	return nil
}

func notReady(st gateway.LinkStatus) string {
	switch {
	case st.State != gateway.LinkAlive:
		return "the PMS link is " + string(st.State)
	case st.Resync:
		return "a resync with the PMS is running"
	default:
		return "the PMS's night audit is running"
	}
}

// WaitReady blocks until the link is ready or ctx ends; see
// gateway.PMSLink.
func (l *PMSLink) WaitReady(ctx context.Context) error {
	var st gateway.LinkStatus
	l.Await(ctx, func() bool {
		st = l.Status()
		return st.Ready() || st.State == gateway.LinkClosed
	})
	switch {
	case st.Ready():
		return nil
	case st.State == gateway.LinkClosed:
		return gateway.Errorf(gateway.KindTransient, "the PMS link is closed")
	}
	return ctx.Err()
}

// Status returns the link's status.
func (l *PMSLink) Status() gateway.LinkStatus {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.status
}

// StatusChanges delivers the latest status at each change; closed by Close.
func (l *PMSLink) StatusChanges() <-chan gateway.LinkStatus { return l.changes }

// GuestEvents delivers what Guest sends; closed by Close.
func (l *PMSLink) GuestEvents() <-chan gateway.GuestEvent { return l.guests }

// Resync records the request; the test plays the PMS's answer with Guest
// (ResyncStart, check-ins, ResyncEnd). It fails as pms/fias does when the
// link is not alive or a resync runs.
func (l *PMSLink) Resync(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.ResyncErr != nil:
		return l.ResyncErr
	case l.status.State != gateway.LinkAlive:
		return gateway.Errorf(gateway.KindTransient, "cannot ask the PMS for a resync: the link is %s", l.status.State)
	case l.status.Resync:
		return gateway.Errorf(gateway.KindTransient, "cannot ask the PMS for a resync: a resync is already running")
	}
	l.resyncs++
	l.status.Resync = true
	l.changed()
	return nil
}

// Close ends the link: a posting waiting for its answer is in doubt, the
// channels are closed. It is idempotent.
func (l *PMSLink) Close() error {
	l.once.Do(func() {
		close(l.closed)
		l.mu.Lock()
		l.status.State, l.status.Resync, l.status.Since = gateway.LinkClosed, false, l.clock.Now()
		l.changed()
		l.isClosed = true
		close(l.changes)
		l.mu.Unlock()
		l.guestMu.Lock()
		close(l.guests)
		l.guestMu.Unlock()
	})
	return nil
}
