package operacloud

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"callgate/gateway"
	"callgate/internal/backoff"
	"callgate/internal/changes"
)

// settings are a Link's settings, from Options with the secrets read and
// defaults filled in.
type settings struct {
	// BaseURL is the OHIP gateway, without a trailing slash.
	BaseURL string
	// Hotel is the OPERA Cloud hotel id.
	Hotel string
	// TokenURL defaults to BaseURL + /oauth/v1/tokens.
	TokenURL     string
	ClientID     string
	ClientSecret string
	AppKey       string
	// Scope defaults to DefaultScope (client_credentials only).
	Scope        string
	EnterpriseID string
	// Username and Password, when Username is set, use the password grant.
	Username, Password string
	// CashierID is the integration user's cashier id (digits).
	CashierID string
	// Codes maps tariff classes to OPERA transaction codes.
	Codes map[string]string
	// ExternalSystem, if set, is sent as x-externalsystem.
	ExternalSystem string

	// Poll is the time between two reads of the in-house reservations;
	// 0 means 60 s.
	Poll time.Duration
	// AnswerTimeout bounds each request; 0 means 30 s.
	AnswerTimeout time.Duration
	// RatePerS is the most requests a second; 0 means 50 (OHIP's limit).
	RatePerS int
	// PageSize is the reservations asked for per page; 0 means 100.
	PageSize int
	// MinBackoff and MaxBackoff bound the wait before reading the
	// reservations again after a failure; 0 means 1 s and Poll.
	MinBackoff, MaxBackoff time.Duration

	// MinorDigits returns the decimals of a currency's minor unit
	// (required: amounts go to OHIP as decimals).
	MinorDigits func(currency string) (int, bool)
	// HTTPClient, if set, sends the requests (tests); nil means a client
	// of its own.
	HTTPClient *http.Client
	// Logger gets one line per status change and per posting (never a
	// secret, a token or a number dialed).
	Logger zerolog.Logger
	// Now is the clock of results and guest events; nil means time.Now.
	Now func() time.Time
}

// Link is a gateway.PMSLink and gateway.PostProver to OPERA Cloud over
// OHIP: it polls the in-house reservations into guest events, resolves the
// reservation of a room just before each posting, posts with
// postBillingCharges and looks postings up by reference
// (docs/pms-operacloud.md).
type Link struct {
	o    settings
	c    *client
	log  zerolog.Logger
	peer string // the OHIP host, for messages

	slot    chan struct{} // one posting outstanding
	guests  chan gateway.GuestEvent
	changes chan gateway.LinkStatus
	kick    chan struct{} // read the reservations now
	ctx     context.Context
	cancel  context.CancelFunc
	polling chan struct{} // closed when the poller ended
	once    sync.Once

	mu     sync.Mutex
	status gateway.LinkStatus
	wake   changes.Signal // at every status change
	closed bool
	house  map[string]stay // reservation id → stay, from the last read
	// sent remembers the reservations each reference was charged to (a
	// try after a room move may go to another), so that a lookup asks
	// exactly there.
	sent map[string]sentTo
	// seen is, per room, the reservations the link saw in it and when
	// last.
	seen map[string]map[string]time.Time
}

type sentTo struct {
	reservations []string // every reservation a try of the posting went to
	at           time.Time
}

var (
	_ gateway.PMSLink    = (*Link)(nil)
	_ gateway.PostProver = (*Link)(nil)
)

// Open checks o and starts the link: it reads the in-house reservations at
// once (a resync bracket on GuestEvents) and is alive when OHIP answered.
func Open(opts Options) (*Link, error) {
	o, err := opts.settings()
	if err != nil {
		return nil, err
	}
	if o.BaseURL == "" || o.Hotel == "" || o.ClientID == "" || o.AppKey == "" || o.CashierID == "" {
		return nil, gateway.Errorf(gateway.KindInvalid, "OPERA Cloud link: base URL, hotel id, client id, application key and cashier id are all needed")
	}
	if o.MinorDigits == nil {
		return nil, gateway.Errorf(gateway.KindInvalid, "OPERA Cloud link: MinorDigits is needed to write amounts as decimals")
	}
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
	if o.TokenURL == "" {
		o.TokenURL = o.BaseURL + "/oauth/v1/tokens"
	}
	if o.Scope == "" {
		o.Scope = DefaultScope
	}
	if o.Poll <= 0 {
		o.Poll = time.Minute
	}
	if o.AnswerTimeout <= 0 {
		o.AnswerTimeout = 30 * time.Second
	}
	if o.RatePerS <= 0 {
		o.RatePerS = 50
	}
	if o.PageSize <= 0 {
		o.PageSize = 100
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = max(o.Poll, o.MinBackoff)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	peer := o.BaseURL
	if u, err := url.Parse(o.BaseURL); err == nil && u.Host != "" {
		peer = u.Host
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &Link{o: o, peer: peer, log: o.Logger.With().Str("pms", Protocol).Logger(),
		slot: make(chan struct{}, 1), guests: make(chan gateway.GuestEvent, 256),
		changes: make(chan gateway.LinkStatus, 1), kick: make(chan struct{}, 1),
		ctx: ctx, cancel: cancel, polling: make(chan struct{}),
		sent: map[string]sentTo{}, seen: map[string]map[string]time.Time{},
		status: gateway.LinkStatus{State: gateway.LinkConnecting, Since: o.Now(), Peer: peer, Resync: true},
	}
	l.c = newClient(&l.o)
	go l.poll()
	return l, nil
}

// Capability is CapabilityLookup: OHIP has no idempotency key, but its
// transactions can be searched by our postingReference.
func (l *Link) Capability() gateway.PostCapability { return gateway.CapabilityLookup }

// setStatus changes the status under mu and publishes it.
func (l *Link) setStatus(f func(*gateway.LinkStatus)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.setStatusLocked(f)
}

func (l *Link) setStatusLocked(f func(*gateway.LinkStatus)) {
	if l.closed {
		return
	}
	old := l.status
	f(&l.status)
	if l.status.State != old.State {
		l.status.Since = l.o.Now()
	}
	if l.status == old {
		return
	}
	if l.status.State != old.State || l.status.Err != old.Err {
		ev := l.log.Info()
		if l.status.State == gateway.LinkDown {
			ev = l.log.Warn()
		}
		ev.Str("state", string(l.status.State)).Str("reason", l.status.Err).Msg("OPERA Cloud link")
	}
	select {
	case <-l.changes:
	default:
	}
	l.changes <- l.status
	l.wake.Notify()
}

// alive marks the link alive after an answer from OHIP.
func (l *Link) alive() {
	l.setStatus(func(s *gateway.LinkStatus) { s.State, s.Err = gateway.LinkAlive, "" })
}

// down marks the link down with why, and has the poller read the house
// at once to find out when OHIP answers again.
func (l *Link) down(why string) {
	l.setStatus(func(s *gateway.LinkStatus) { s.State, s.Err = gateway.LinkDown, why })
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// Status returns the link's current state.
func (l *Link) Status() gateway.LinkStatus {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.status
}

// StatusChanges delivers the status at each change (the latest only).
func (l *Link) StatusChanges() <-chan gateway.LinkStatus { return l.changes }

// GuestEvents delivers the check-ins, changes and check-outs found by
// comparing one read of the in-house reservations with the last.
func (l *Link) GuestEvents() <-chan gateway.GuestEvent { return l.guests }

// WaitReady blocks until the link is alive and no resync runs, or ctx ends.
func (l *Link) WaitReady(ctx context.Context) error {
	var st gateway.LinkStatus
	if err := l.wake.Wait(ctx, func() bool { st = l.Status(); return st.Ready() || st.State == gateway.LinkClosed }); err != nil {
		return err
	}
	if st.State == gateway.LinkClosed {
		return gateway.Errorf(gateway.KindTransient, "the OPERA Cloud link is closed")
	}
	return nil
}

// Resync reads the in-house reservations at once and delivers them as a
// resync bracket.
func (l *Link) Resync(ctx context.Context) error {
	l.mu.Lock()
	switch {
	case l.status.State != gateway.LinkAlive:
		l.mu.Unlock()
		return gateway.Errorf(gateway.KindTransient, "OPERA Cloud link is %s: no resync now", l.status.State)
	case l.status.Resync:
		l.mu.Unlock()
		return gateway.Errorf(gateway.KindTransient, "a resync with OPERA Cloud already runs")
	}
	l.setStatusLocked(func(s *gateway.LinkStatus) { s.Resync = true })
	l.mu.Unlock()
	select {
	case l.kick <- struct{}{}:
	default:
	}
	return nil
}

// Close stops polling; a posting waiting for its answer ends in doubt.
func (l *Link) Close() error {
	l.once.Do(func() {
		l.cancel()
		<-l.polling
		l.mu.Lock()
		l.status.State, l.status.Since = gateway.LinkClosed, l.o.Now()
		l.closed = true
		l.mu.Unlock()
		l.wake.Notify()
		close(l.changes)
		close(l.guests)
		l.log.Info().Msg("OPERA Cloud link closed")
	})
	return nil
}

// poll reads the in-house reservations every Poll (at once when kicked)
// and turns the differences into guest events.
func (l *Link) poll() {
	defer close(l.polling)
	bo := backoff.New(l.o.MinBackoff, l.o.MaxBackoff)
	for {
		stays, err := l.inHouse(l.ctx, "")
		wait := l.o.Poll
		switch {
		case l.ctx.Err() != nil:
			return
		case err != nil:
			l.down(err.Error())
			select { // its own kick: wait the back-off (a resync asked stays pending)
			case <-l.kick:
			default:
			}
			wait = bo.Next()
		default:
			bo.Reset()
			l.apply(stays)
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-l.kick:
			t.Stop()
		case <-l.ctx.Done():
			t.Stop()
			return
		}
	}
}

// apply compares a read with the last one and delivers the events; a
// pending resync delivers the whole house between ResyncStart and
// ResyncEnd instead.
func (l *Link) apply(stays []stay) {
	now := l.o.Now()
	next := make(map[string]stay, len(stays))
	perRoom := map[string]int{}
	for _, s := range stays {
		if _, dup := next[s.ID]; dup {
			continue
		}
		next[s.ID] = s
		perRoom[s.Guest.Room]++
	}
	for id, s := range next {
		s.Guest.Shared = perRoom[s.Guest.Room] > 1
		next[id] = s
	}
	l.mu.Lock()
	resync := l.status.Resync || l.house == nil
	old := l.house
	l.house = next
	for id, s := range next {
		m := l.seen[s.Guest.Room]
		if m == nil {
			m = map[string]time.Time{}
			l.seen[s.Guest.Room] = m
		}
		m[id] = now
	}
	l.prune(now)
	l.setStatusLocked(func(s *gateway.LinkStatus) { s.State, s.Err = gateway.LinkAlive, "" })
	l.mu.Unlock()

	var evs []gateway.GuestEvent
	const notCarried = gateway.FieldGroup | gateway.FieldNoPost | gateway.FieldClassOfService
	if resync {
		evs = append(evs, gateway.GuestEvent{Kind: gateway.ResyncStart, Time: now})
		for _, id := range sortedIDs(next) {
			evs = append(evs, gateway.GuestEvent{Kind: gateway.GuestCheckIn, Guest: next[id].Guest, Omitted: notCarried, Resync: true, Time: now})
		}
		evs = append(evs, gateway.GuestEvent{Kind: gateway.ResyncEnd, Time: now})
	} else {
		for _, id := range sortedIDs(old) {
			if _, stays := next[id]; !stays {
				o := old[id].Guest
				evs = append(evs, gateway.GuestEvent{Kind: gateway.GuestCheckOut,
					Guest: gateway.Guest{Room: o.Room, Reservation: id}, Omitted: gateway.AllGuestFields, Time: now})
			}
		}
		for _, id := range sortedIDs(next) {
			n, was := next[id], old[id]
			switch _, known := old[id]; {
			case !known:
				evs = append(evs, gateway.GuestEvent{Kind: gateway.GuestCheckIn, Guest: n.Guest, Omitted: notCarried, Time: now})
			case n.Guest != was.Guest:
				ev := gateway.GuestEvent{Kind: gateway.GuestChange, Guest: n.Guest, Omitted: notCarried, Time: now}
				if was.Guest.Room != n.Guest.Room {
					ev.OldRoom, ev.OldRoomShared = was.Guest.Room, perRoom[was.Guest.Room] > 1
				}
				evs = append(evs, ev)
			}
		}
	}
	for _, ev := range evs {
		if !l.deliver(ev) {
			return
		}
	}
	if resync {
		l.setStatus(func(s *gateway.LinkStatus) { s.Resync = false })
	}
}

// deliver hands ev to the engine; once the link closes it waits a moment
// for a reader, then drops (and logs) the event.
func (l *Link) deliver(ev gateway.GuestEvent) bool {
	select {
	case l.guests <- ev:
		return true
	case <-l.ctx.Done():
	}
	t := time.NewTimer(500 * time.Millisecond)
	defer t.Stop()
	select {
	case l.guests <- ev:
		return true
	case <-t.C:
		l.log.Warn().Str("event", string(ev.Kind)).Str("room", ev.Guest.Room).Msg("guest event dropped: nobody read it while the link closed")
		return false
	}
}

// prune forgets references and room histories older than 32 days (OHIP
// searches transactions over 30 days at most); called with mu held.
func (l *Link) prune(now time.Time) {
	limit := now.Add(-32 * 24 * time.Hour)
	for ref, s := range l.sent {
		if s.at.Before(limit) {
			delete(l.sent, ref)
		}
	}
	for room, m := range l.seen {
		for id, at := range m {
			if at.Before(limit) {
				delete(m, id)
			}
		}
		if len(m) == 0 {
			delete(l.seen, room)
		}
	}
}

func sortedIDs(m map[string]stay) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return lessID(ids[i], ids[j]) })
	return ids
}

// lessID orders reservation ids as numbers when they are (shorter first).
func lessID(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// inHouse reads the in-house reservations, of one room or (room "") of the
// whole hotel, page by page.
func (l *Link) inHouse(ctx context.Context, room string) ([]stay, error) {
	var all []stay
	for page := 0; page < 1000; page++ {
		q := url.Values{}
		q.Set("searchType", "InHouse")
		if room != "" {
			q.Set("roomId", room)
		}
		q.Set("limit", fmt.Sprint(l.o.PageSize))
		q.Set("offset", fmt.Sprint(page*l.o.PageSize))
		rctx, cancel := context.WithTimeout(ctx, l.o.AnswerTimeout)
		r := l.c.do(rctx, http.MethodGet, "/rsv/v1/hotels/"+url.PathEscape(l.o.Hotel)+"/reservations", q, nil)
		cancel()
		if err := l.failed(r, "reading the in-house reservations"); err != nil {
			return nil, err
		}
		if r.status == http.StatusNoContent {
			return all, nil
		}
		stays, more, err := decodeReservations(r.body)
		if err != nil {
			return nil, err
		}
		all = append(all, stays...)
		if !more {
			return all, nil
		}
	}
	return all, nil
}

// failed turns a reply other than 200/204 into a sentence, and marks the
// link down when the credentials were refused or OHIP was unreachable.
func (l *Link) failed(r reply, doing string) error {
	switch {
	case r.auth:
		l.down(r.err.Error())
		return fmt.Errorf("%s: %v", doing, r.err)
	case r.err != nil && r.token:
		return fmt.Errorf("%v; check pms.auth.token_url (or pms.base_url) and the network path to it", r.err)
	case r.err != nil:
		return fmt.Errorf("OPERA Cloud at %s did not answer %s: %v", l.peer, doing, r.err)
	case r.status == http.StatusOK || r.status == http.StatusNoContent:
		return nil
	default:
		code, text := decodeProblem(r.status, r.body)
		return fmt.Errorf("OPERA Cloud answered HTTP %d (%s) %s: %s", r.status, code, doing, text)
	}
}

// resolve returns the reservation to charge in room: the in-house one
// (of sharers, the earliest arrival, then the lowest id); "" when the room
// has none.
func (l *Link) resolve(ctx context.Context, room string) (string, error) {
	stays, err := l.inHouse(ctx, room)
	if err != nil {
		return "", err
	}
	best := stay{}
	for _, s := range stays {
		if s.Guest.Room != room {
			continue // OHIP's roomId filter is trusted only as far as the answer agrees
		}
		if best.ID == "" || s.Guest.Arrival.Before(best.Guest.Arrival) ||
			s.Guest.Arrival.Equal(best.Guest.Arrival) && lessID(s.ID, best.ID) {
			best = s
		}
	}
	return best.ID, nil
}

// notReady says why postings wait.
func notReady(st gateway.LinkStatus) string {
	switch {
	case st.State == gateway.LinkClosed:
		return "the OPERA Cloud link is closed"
	case st.State != gateway.LinkAlive && st.Err != "":
		return "the OPERA Cloud link is " + string(st.State) + ": " + st.Err
	case st.State != gateway.LinkAlive:
		return "the OPERA Cloud link is " + string(st.State)
	case st.Resync:
		return "the in-house reservations are being read again"
	}
	return "the OPERA Cloud link is not ready"
}

// check returns why p cannot be posted (PostInvalid), or the charge's
// transaction code and the currency's decimals.
func (l *Link) check(p gateway.PostRequest) (code string, digits int, err error) {
	switch {
	case p.Number < 1 || p.Number > 99_999_999:
		return "", 0, fmt.Errorf("posting number %d is not from 1 to 99999999", p.Number)
	case p.Room == "" || len(p.Room) > 20:
		return "", 0, fmt.Errorf("room %q is not an OPERA Cloud room number (1 to 20 characters)", p.Room)
	case !ValidReference(p.Reference):
		return "", 0, fmt.Errorf("posting reference %q is not 1 to 40 letters, digits or hyphens", p.Reference)
	}
	code, ok := l.o.Codes[p.Class]
	if !ok || code == "" {
		return "", 0, fmt.Errorf("calls of class %q have no OPERA transaction code: add pms.charge.transaction_codes.%s to the config", p.Class, p.Class)
	}
	digits, ok = l.o.MinorDigits(p.Currency)
	if !ok {
		return "", 0, fmt.Errorf("currency %q is unknown: its decimals are needed to post the amount", p.Currency)
	}
	return code, digits, nil
}

// Post resolves the room's in-house reservation and posts the charge to it
// (postBillingCharges); see gateway.PMSLink for the outcomes.
func (l *Link) Post(ctx context.Context, p gateway.PostRequest) (gateway.PostResult, error) {
	code, digits, err := l.check(p)
	if err != nil {
		return gateway.PostResult{Outcome: gateway.PostInvalid, Text: err.Error(), At: l.o.Now()}, gateway.Wrap(gateway.KindInvalid, err, "")
	}
	select {
	case l.slot <- struct{}{}:
	case <-ctx.Done():
		return l.transient(false, "", "the posting before it is still waiting for OPERA Cloud")
	}
	defer func() { <-l.slot }()
	if st := l.Status(); !st.Ready() {
		return l.transient(false, "", notReady(st))
	}
	// Requests end with the caller's ctx, Close, or each its own answer
	// timeout.
	base, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(l.ctx, cancel)
	defer stop()

	rctx, rcancel := context.WithTimeout(base, l.o.AnswerTimeout)
	res, err := l.resolve(rctx, p.Room)
	rcancel()
	if err != nil {
		return l.transient(false, "", "finding the reservation in room "+p.Room+": "+err.Error())
	}
	if res == "" {
		text := fmt.Sprintf("OPERA Cloud has no in-house reservation in room %s: nothing was posted", p.Room)
		l.log.Info().Str("reference", p.Reference).Str("room", p.Room).Msg("room vacant")
		return gateway.PostResult{Outcome: gateway.PostVacant, Text: text, At: l.o.Now()}, gateway.Errorf(gateway.KindNotFound, "%s", text)
	}
	body, err := encodeCharge(l.o.Hotel, l.o.CashierID, res, code, p, digits)
	if err != nil {
		return gateway.PostResult{Outcome: gateway.PostInvalid, Text: err.Error(), At: l.o.Now()}, gateway.Wrap(gateway.KindInvalid, err, "")
	}
	l.mu.Lock()
	st := l.sent[p.Reference]
	if !contains(st.reservations, res) {
		st.reservations = append(st.reservations, res)
	}
	st.at = l.o.Now()
	l.sent[p.Reference] = st
	l.mu.Unlock()
	path := "/csh/v1/hotels/" + url.PathEscape(l.o.Hotel) + "/reservations/" + url.PathEscape(res) + "/charges"
	cctx, ccancel := context.WithTimeout(base, l.o.AnswerTimeout)
	r := l.c.do(cctx, http.MethodPost, path, nil, body)
	ccancel()
	lg := l.log.Debug().Str("reference", p.Reference).Str("room", p.Room).Str("reservation", res).Int("status", r.status)
	switch {
	case r.status == http.StatusUnauthorized:
		// Refused again after a new token: not booked; the link is down
		// until a read of the house gets through.
		lg.Err(r.err).Msg("charge refused 401")
		l.down(r.err.Error())
		return l.transient(true, "401", r.err.Error())
	case r.err != nil && !r.sent:
		lg.Err(r.err).Msg("charge not sent")
		if r.auth {
			l.down(r.err.Error())
		}
		return l.transient(false, "", "the charge was not sent: "+r.err.Error())
	case r.err != nil:
		lg.Err(r.err).Msg("charge in doubt")
		return l.inDoubt(p, "", "no answer from OPERA Cloud: "+r.err.Error())
	case r.status == http.StatusCreated || r.status == http.StatusOK:
		l.alive()
		trx, derr := decodeCharge(r.body, p.Reference)
		text := "posted to reservation " + res
		if trx != "" {
			text = "transaction " + trx + " on reservation " + res
		} else if derr != nil {
			text += " (" + derr.Error() + ")"
		}
		lg.Str("transaction", trx).Msg("charge posted")
		return gateway.PostResult{Outcome: gateway.PostPosted, Sent: true, Answer: "OK", Text: text, At: l.o.Now()}, nil
	}
	acode, text := decodeProblem(r.status, r.body)
	lg.Str("code", acode).Str("text", text).Msg("charge answered")
	switch {
	case r.status == http.StatusTooManyRequests:
		return gateway.PostResult{Outcome: gateway.PostTransient, Sent: true, Answer: acode, Text: text, Cause: gateway.CauseBusy, At: l.o.Now()},
			gateway.Errorf(gateway.KindTransient, "OPERA Cloud is throttling the gateway (HTTP 429): the posting waits")
	case r.status >= 400 && r.status < 500:
		return gateway.PostResult{Outcome: gateway.PostRefused, Sent: true, Answer: acode, Text: text, At: l.o.Now()},
			gateway.Errorf(gateway.KindRejected, "OPERA Cloud refused the posting to room %s (HTTP %d, %s): %s", p.Room, r.status, acode, text)
	default:
		return l.inDoubt(p, acode, fmt.Sprintf("OPERA Cloud answered HTTP %d: %s", r.status, text))
	}
}

func (l *Link) transient(sent bool, answer, why string) (gateway.PostResult, error) {
	return gateway.PostResult{Outcome: gateway.PostTransient, Sent: sent, Answer: answer, Text: why, At: l.o.Now()},
		gateway.Errorf(gateway.KindTransient, "%s", why)
}

func (l *Link) inDoubt(p gateway.PostRequest, answer, why string) (gateway.PostResult, error) {
	l.log.Warn().Str("reference", p.Reference).Str("room", p.Room).Str("why", why).Msg("charge in doubt: OPERA Cloud may or may not have booked it")
	return gateway.PostResult{Outcome: gateway.PostInDoubt, Sent: true, Answer: answer, Text: why, At: l.o.Now()},
		gateway.Errorf(gateway.KindInternal, "posting %s to room %s: %s: %w", p.Reference, p.Room, why, gateway.ErrInDoubt)
}

// errLookup is a lookup that could not be answered.
func errLookup(format string, args ...any) error {
	return gateway.Errorf(gateway.KindTransient, format, args...)
}

// Lookup searches OPERA Cloud's transactions (getGuestsTransactions) for
// a charge with p.Reference on the reservation it was sent to. When the
// link does not know that reservation (it was sent before the gateway
// started), it searches the room's reservations it knows: a find is
// proof, but an absence is not, and is returned as an error.
func (l *Link) Lookup(ctx context.Context, p gateway.PostRequest) (gateway.LookupResult, error) {
	if !ValidReference(p.Reference) {
		return gateway.LookupResult{}, gateway.Errorf(gateway.KindInvalid, "posting reference %q is not 1 to 40 letters, digits or hyphens", p.Reference)
	}
	if st := l.Status(); st.State != gateway.LinkAlive {
		return gateway.LookupResult{}, errLookup("%s", notReady(st))
	}
	rctx, cancel := context.WithTimeout(ctx, l.o.AnswerTimeout)
	defer cancel()
	stop := context.AfterFunc(l.ctx, cancel)
	defer stop()

	now := l.o.Now()
	first := p.FirstSent
	if first.IsZero() || first.After(now) {
		first = now
	}
	l.mu.Lock()
	s, certain := l.sent[p.Reference]
	var ids []string
	if certain {
		ids = append(ids, s.reservations...)
	} else {
		for id, at := range l.seen[p.Room] {
			if !at.Before(first.Add(-24 * time.Hour)) {
				ids = append(ids, id)
			}
		}
	}
	l.mu.Unlock()
	if !certain {
		if res, err := l.resolve(rctx, p.Room); err == nil && res != "" && !contains(ids, res) {
			ids = append(ids, res)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return lessID(ids[i], ids[j]) })
	if len(ids) == 0 {
		return gateway.LookupResult{}, errLookup("posting %s: the gateway does not know which reservation it went to and room %s has none in house now; check the folio", p.Reference, p.Room)
	}
	// OHIP searches at most 30 days: from the day before the first try
	// (business dates at the hotel) to the day after today.
	end := now.AddDate(0, 0, 1)
	start := first.AddDate(0, 0, -1)
	if end.Sub(start) > 30*24*time.Hour {
		start = end.AddDate(0, 0, -30)
	}
	q := url.Values{}
	for _, id := range ids {
		q.Add("reservationList", id)
	}
	q.Set("referenceNumberWildCard", p.Reference)
	q.Set("startDate", start.Format(time.DateOnly))
	q.Set("endDate", end.Format(time.DateOnly))
	q.Set("includeTransactionsWithFolioNo", "true")
	r := l.c.do(rctx, http.MethodGet, "/csh/v1/hotels/"+url.PathEscape(l.o.Hotel)+"/transactions", q, nil)
	if err := l.failed(r, "searching the transactions for posting "+p.Reference); err != nil {
		return gateway.LookupResult{}, errLookup("%s", err.Error())
	}
	l.alive()
	var found posting
	var ok bool
	if r.status == http.StatusOK {
		var err error
		if found, ok, err = decodeTransactions(r.body, p.Reference); err != nil {
			return gateway.LookupResult{}, errLookup("%s", err.Error())
		}
	}
	at := l.o.Now()
	where := "reservation " + strings.Join(ids, ", ")
	switch {
	case ok:
		l.log.Info().Str("reference", p.Reference).Str("transaction", string(found.TransactionNo)).Msg("lookup: the charge is on the folio")
		return gateway.LookupResult{Found: true, Answer: string(found.TransactionNo),
			Text: fmt.Sprintf("OPERA Cloud holds transaction %s with reference %s on %s", found.TransactionNo, p.Reference, where), At: at}, nil
	case certain:
		l.log.Info().Str("reference", p.Reference).Msg("lookup: no such charge")
		return gateway.LookupResult{Found: false,
			Text: fmt.Sprintf("OPERA Cloud holds no transaction with reference %s on %s since %s", p.Reference, where, start.Format(time.DateOnly)), At: at}, nil
	default:
		return gateway.LookupResult{}, errLookup("posting %s is not on %s, but the gateway does not know for sure which reservation it went to (it was sent before the gateway started); check the folio", p.Reference, where)
	}
}

func contains(ids []string, id string) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}
