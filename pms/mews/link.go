package mews

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"callgate/gateway"
	"callgate/internal/backoff"
)

// Options configures a Link. Durations left at zero take the Config's
// values; tests shorten them.
type Options struct {
	Config Config
	// Logger gets the link's state changes and postings; the zero value
	// logs nothing. Tokens are never logged; a dialed number only at
	// debug level.
	Logger zerolog.Logger
	// Client sends the requests; nil means a client of the link's own
	// over Transport (nil: a clone of http.DefaultTransport).
	Client    *http.Client
	Transport http.RoundTripper
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MinorDigits returns the decimals of a currency's minor unit (2 for
	// EUR, 0 for JPY); nil, or a currency it does not know, means 2.
	MinorDigits func(currency string) (int, bool)
	// Location is the site's time zone, in which PostRequest.Start is
	// written; nil means time.Local.
	Location *time.Location
	// PollInterval overrides Config.PollS; AnswerTimeout overrides
	// Config.AnswerTimeoutS; RateWindow overrides Config.RateLimit.WindowS.
	PollInterval, AnswerTimeout, RateWindow time.Duration
	// LookupMargin widens a lookup's CreatedUtc window on both sides (the
	// clocks of the gateway and of Mews differ); 0 means 10 minutes.
	LookupMargin time.Duration
	// MinBackoff and MaxBackoff bound the wait between reads while Mews
	// cannot be reached; 0 means 1 s and the poll interval.
	MinBackoff, MaxBackoff time.Duration
}

// Link is the gateway's connection to Mews: it polls the guests in house,
// posts call charges as orders and looks postings up by their reference.
// It implements gateway.PMSLink and gateway.PostProver (CapabilityLookup).
type Link struct {
	o             Options
	log           zerolog.Logger
	base          string
	client        *http.Client
	lim           *limiter
	now           func() time.Time
	answerTimeout time.Duration
	poll          time.Duration

	tokMu  sync.Mutex
	tokens Auth

	postSem chan struct{} // one posting at a time

	mu        sync.Mutex
	status    gateway.LinkStatus
	rooms     map[string]string // room number → resource id
	roomNames map[string]string // resource id → room number
	notRooms  map[string]bool   // resource ids in house that resources/getAll does not list
	house     map[string]stay   // reservation id → stay, as last polled
	accounts  map[string]string // reference → account it was charged to (for lookups)
	resync    bool              // a resync is asked for
	closed    bool

	statusCh chan gateway.LinkStatus
	events   chan gateway.GuestEvent
	wake     chan struct{}
	dropBy   time.Time // after Close: when undelivered guest events are dropped (run's goroutine only)
	ctx      context.Context
	cancel   context.CancelFunc
	done     chan struct{}
	closeMu  sync.Mutex
}

// stay is one reservation in house.
type stay struct {
	id, number, account, room string
	start                     time.Time // actual check-in (or scheduled start)
	arrival, departure        time.Time // dates
}

var (
	_ gateway.PMSLink    = (*Link)(nil)
	_ gateway.PostProver = (*Link)(nil)
)

// Open checks o and starts the link: it reads the rooms and the guests in
// house (delivered as a resync) and is alive once Mews answered. It does
// not wait for Mews: a link that cannot reach it keeps trying.
func Open(o Options) (*Link, error) {
	var k gateway.Checker
	o.Config.Check(&k)
	if len(k.Problems) > 0 {
		return nil, k.Problems
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Duration(o.Config.PollS) * time.Second
	}
	if o.AnswerTimeout <= 0 {
		o.AnswerTimeout = time.Duration(o.Config.AnswerTimeoutS) * time.Second
	}
	if o.RateWindow <= 0 {
		o.RateWindow = time.Duration(o.Config.RateLimit.WindowS) * time.Second
	}
	if o.LookupMargin <= 0 {
		o.LookupMargin = 10 * time.Minute
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = o.PollInterval
	}
	client := o.Client
	if client == nil {
		tr := o.Transport
		if tr == nil {
			tr = http.DefaultTransport.(*http.Transport).Clone()
		}
		client = &http.Client{Transport: tr}
	}
	// Mews answers operations at their exact address; a redirect is an
	// error, never followed with the tokens in the body.
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	ctx, cancel := context.WithCancel(context.Background())
	l := &Link{
		o:             o,
		log:           o.Logger.With().Str("pms", "mews").Logger(),
		base:          strings.TrimRight(o.Config.BaseURL, "/"),
		client:        &c,
		lim:           newLimiter(o.Config.RateLimit.Requests, o.RateWindow, o.Now),
		now:           o.Now,
		answerTimeout: o.AnswerTimeout,
		poll:          o.PollInterval,
		postSem:       make(chan struct{}, 1),
		rooms:         map[string]string{},
		roomNames:     map[string]string{},
		notRooms:      map[string]bool{},
		accounts:      map[string]string{},
		resync:        true, // the first read is a resync: the engine trusts the house
		statusCh:      make(chan gateway.LinkStatus, 1),
		events:        make(chan gateway.GuestEvent, 256),
		wake:          make(chan struct{}, 1),
		ctx:           ctx,
		cancel:        cancel,
		done:          make(chan struct{}),
	}
	l.status = gateway.LinkStatus{State: gateway.LinkConnecting, Since: o.Now(), Peer: l.base, Resync: true}
	go l.run()
	return l, nil
}

// Capability is CapabilityLookup: a posting whose answer was lost can be
// looked up by its reference (ExternalIdentifier).
func (l *Link) Capability() gateway.PostCapability { return gateway.CapabilityLookup }

// Status returns the link's current state.
func (l *Link) Status() gateway.LinkStatus {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.status
}

// StatusChanges delivers the status at each change, the latest only.
func (l *Link) StatusChanges() <-chan gateway.LinkStatus { return l.statusCh }

// GuestEvents delivers the check-ins, changes and check-outs the polls
// find, and the resync brackets.
func (l *Link) GuestEvents() <-chan gateway.GuestEvent { return l.events }

// setStatus changes the status under l.mu and publishes it.
func (l *Link) setStatusLocked(f func(*gateway.LinkStatus)) {
	if l.closed {
		return
	}
	old := l.status
	f(&l.status)
	if l.status.State != old.State {
		l.status.Since = l.now()
		ev := l.log.Info()
		if l.status.State == gateway.LinkDown {
			ev = l.log.Warn().Str("reason", l.status.Err)
		}
		ev.Str("state", string(l.status.State)).Msg("Mews link state changed")
	}
	if l.status != old {
		l.publishLocked()
	}
}

func (l *Link) setStatus(f func(*gateway.LinkStatus)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.setStatusLocked(f)
}

func (l *Link) publishLocked() {
	select {
	case <-l.statusCh:
	default:
	}
	l.statusCh <- l.status
}

// WaitReady blocks until the link is alive and no resync runs, or ctx ends.
func (l *Link) WaitReady(ctx context.Context) error {
	for {
		st := l.Status()
		if st.Ready() {
			return nil
		}
		if st.State == gateway.LinkClosed {
			return gateway.Errorf(gateway.KindTransient, "the Mews link is closed")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
			// StatusChanges belongs to the engine; a short poll of the
			// status keeps WaitReady from taking its values.
		}
	}
}

// Resync reads the guests in house again at once, delivered between
// ResyncStart and ResyncEnd.
func (l *Link) Resync(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.closed:
		return gateway.Errorf(gateway.KindTransient, "the Mews link is closed")
	case l.status.Resync:
		return gateway.Errorf(gateway.KindTransient, "a read of all guests in house already runs: wait for it to end")
	case l.status.State != gateway.LinkAlive:
		return gateway.Errorf(gateway.KindTransient, "the Mews link is %s: the guests can be read again once it is alive", l.status.State)
	}
	l.resync = true
	l.setStatusLocked(func(s *gateway.LinkStatus) { s.Resync = true })
	l.poke()
	return nil
}

func (l *Link) poke() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Close stops polling and ends the link; a posting on the wire ends in
// doubt. Idempotent.
func (l *Link) Close() error {
	l.closeMu.Lock()
	defer l.closeMu.Unlock()
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.status.State, l.status.Since, l.status.Resync = gateway.LinkClosed, l.now(), false
	l.publishLocked()
	l.closed = true
	l.mu.Unlock()
	l.cancel()
	<-l.done
	close(l.statusCh)
	l.client.CloseIdleConnections()
	l.log.Info().Msg("Mews link closed")
	return nil
}

// run polls the guests in house until Close.
func (l *Link) run() {
	defer close(l.done)
	defer close(l.events)
	bo := backoff.New(l.o.MinBackoff, l.o.MaxBackoff)
	wait := time.Duration(0)
	for {
		t := time.NewTimer(wait)
		select {
		case <-l.ctx.Done():
			t.Stop()
			return
		case <-l.wake:
			t.Stop()
		case <-t.C:
		}
		if err := l.pollOnce(); err != nil {
			if l.ctx.Err() != nil {
				return
			}
			if errors.Is(err, errRateLimited) {
				// Mews answers; it asks to wait, and the limiter does.
				wait = max(l.lim.blockedFor(), l.o.MinBackoff)
				continue
			}
			l.setStatus(func(s *gateway.LinkStatus) {
				s.State, s.Err = gateway.LinkDown, gateway.Message(err)
			})
			wait = bo.Next()
			continue
		}
		bo.Reset()
		wait = l.poll
	}
}

// pollOnce reads the guests in house and delivers the differences (or the
// whole house, when a resync is asked for).
func (l *Link) pollOnce() error {
	l.mu.Lock()
	resync := l.resync
	l.resync = false
	l.mu.Unlock()
	if resync {
		l.emit(gateway.GuestEvent{Kind: gateway.ResyncStart})
	}
	stays, err := l.inHouse(l.ctx)
	if err != nil {
		if resync {
			l.emit(gateway.GuestEvent{Kind: gateway.ResyncEnd, Partial: true})
			l.mu.Lock()
			l.resync = true // the next read that works is the resync
			l.mu.Unlock()
		}
		return err
	}
	l.mu.Lock()
	old := l.house
	l.house = stays
	l.mu.Unlock()
	if resync {
		for _, ev := range checkIns(stays, true) {
			l.emit(ev)
		}
		l.emit(gateway.GuestEvent{Kind: gateway.ResyncEnd})
	} else {
		for _, ev := range diff(old, stays) {
			l.emit(ev)
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	// A resync asked for while this read ran is still to come: its flag
	// stays up until that read is delivered.
	pending := l.resync
	l.setStatusLocked(func(s *gateway.LinkStatus) {
		s.State, s.Err = gateway.LinkAlive, ""
		if !pending {
			s.Resync = false
		}
	})
	return nil
}

// emit delivers one guest event; after Close it waits a moment for the
// engine, then drops (and logs) the event.
func (l *Link) emit(ev gateway.GuestEvent) {
	if ev.Time.IsZero() {
		ev.Time = l.now()
	}
	ev.Time = l.localWall(ev.Time)
	select {
	case l.events <- ev:
		return
	case <-l.ctx.Done():
	}
	if l.dropBy.IsZero() {
		l.dropBy = time.Now().Add(time.Second) // one moment for all of them
	}
	t := time.NewTimer(time.Until(l.dropBy))
	defer t.Stop()
	select {
	case l.events <- ev:
	case <-t.C:
		l.log.Warn().Str("event", string(ev.Kind)).Str("room", ev.Guest.Room).Msg("guest event dropped at close: nobody took it")
	}
}

// localWall keeps t's wall clock with no zone meaning (gateway.GuestEvent.Time).
func (l *Link) localWall(t time.Time) time.Time {
	t = t.In(l.o.Location)
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// inHouse reads the rooms (when one is unknown) and the reservations in
// house (state Started), page by page.
func (l *Link) inHouse(ctx context.Context) (map[string]stay, error) {
	res, err := l.reservations(ctx, nil)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	reload := len(l.roomNames) == 0
	for _, r := range res {
		if id := r.AssignedResourceID; id != nil && l.roomNames[*id] == "" && !l.notRooms[*id] {
			reload = true // a room added since the last read
		}
	}
	l.mu.Unlock()
	if reload {
		if err := l.loadRooms(ctx, nil); err != nil {
			return nil, err
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range res {
		if id := r.AssignedResourceID; id != nil && l.roomNames[*id] == "" {
			l.notRooms[*id] = true // not listed even after a fresh read: not read again for it
		}
	}
	stays := map[string]stay{}
	for _, r := range res {
		if r.AssignedResourceID == nil {
			continue // in house without a room: nothing to charge calls to
		}
		room := l.roomNames[*r.AssignedResourceID]
		if room == "" {
			l.log.Warn().Str("reservation", r.Number).Msg("a reservation in house has a room Mews did not list among its resources; skipped")
			continue
		}
		stays[r.ID] = l.stayOf(r, room)
	}
	return stays, nil
}

func (l *Link) stayOf(r Reservation, room string) stay {
	s := stay{id: r.ID, number: r.Number, account: r.AccountID, room: room}
	if start, err := ParseTime(r.ScheduledStartUtc); err == nil {
		s.start = start
		s.arrival = l.date(start)
	}
	if r.ActualStartUtc != nil {
		if start, err := ParseTime(*r.ActualStartUtc); err == nil {
			s.start = start
		}
	}
	if end, err := ParseTime(r.ScheduledEndUtc); err == nil {
		s.departure = l.date(end)
	}
	return s
}

// date is the local date of t, at midnight UTC (a date only).
func (l *Link) date(t time.Time) time.Time {
	t = t.In(l.o.Location)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// reservations reads the reservations in house, all of them or those in
// the resources given.
func (l *Link) reservations(ctx context.Context, resourceIDs []string) ([]Reservation, error) {
	var all []Reservation
	var cursor *string
	for page := 0; page < 100; page++ {
		var r ReservationsResponse
		err := l.read(ctx, PathReservations, func(a Auth) any {
			return ReservationsRequest{Auth: a, EnterpriseIDs: l.enterprises(), AssignedResourceIDs: resourceIDs,
				States: []string{StateStarted}, Limitation: Limitation{Count: PageSize, Cursor: cursor}}
		}, func(b []byte) (err error) { r, err = DecodeReservations(b); return err })
		if err != nil {
			return nil, err
		}
		all = append(all, r.Reservations...)
		if len(r.Reservations) < PageSize || r.Cursor == nil {
			return all, nil
		}
		cursor = r.Cursor
	}
	return nil, gateway.Errorf(gateway.KindTransient, "Mews listed more than %d reservations in house: the answer is taken as wrong", 100*PageSize)
}

// loadRooms reads the resources (all, or those named) into the room maps.
func (l *Link) loadRooms(ctx context.Context, names []string) error {
	var cursor *string
	for page := 0; page < 100; page++ {
		var r ResourcesResponse
		err := l.read(ctx, PathResources, func(a Auth) any {
			return ResourcesRequest{Auth: a, EnterpriseIDs: l.enterprises(), Names: names,
				Extent: ResourceExtent{Resources: true}, Limitation: Limitation{Count: PageSize, Cursor: cursor}}
		}, func(b []byte) (err error) { r, err = DecodeResources(b); return err })
		if err != nil {
			return err
		}
		l.mu.Lock()
		rooms, roomNames := copyMap(l.rooms), copyMap(l.roomNames)
		for _, res := range r.Resources {
			if res.Name == "" {
				continue
			}
			rooms[res.Name] = res.ID
			roomNames[res.ID] = res.Name
		}
		l.rooms, l.roomNames = rooms, roomNames
		l.mu.Unlock()
		if len(r.Resources) < PageSize || r.Cursor == nil {
			return nil
		}
		cursor = r.Cursor
	}
	return nil
}

func copyMap(m map[string]string) map[string]string {
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func (l *Link) enterprises() []string {
	if l.o.Config.EnterpriseID == "" {
		return nil
	}
	return []string{l.o.Config.EnterpriseID}
}

// unknownFields are the guest fields a Mews reservation does not give the
// link (names would need the customer, which a charge does not).
const unknownFields = gateway.AllGuestFields &^ (gateway.FieldShared | gateway.FieldArrival | gateway.FieldDeparture)

func roomCounts(house map[string]stay) map[string]int {
	n := map[string]int{}
	for _, s := range house {
		n[s.room]++
	}
	return n
}

func guestOf(s stay, shared bool) gateway.Guest {
	return gateway.Guest{Room: s.room, Reservation: s.number, Shared: shared, Arrival: s.arrival, Departure: s.departure}
}

// checkIns returns a check-in for each stay, in room order.
func checkIns(house map[string]stay, resync bool) []gateway.GuestEvent {
	n := roomCounts(house)
	var evs []gateway.GuestEvent
	for _, s := range sortedStays(house) {
		evs = append(evs, gateway.GuestEvent{Kind: gateway.GuestCheckIn, Guest: guestOf(s, n[s.room] > 1), Omitted: unknownFields, Resync: resync, Time: s.start})
	}
	return evs
}

// diff returns the events that take the house from old to cur: check-outs
// first, then moves and changes, then check-ins.
func diff(old, cur map[string]stay) []gateway.GuestEvent {
	nOld, nCur := roomCounts(old), roomCounts(cur)
	var outs, changes, ins []gateway.GuestEvent
	for _, s := range sortedStays(old) {
		if _, ok := cur[s.id]; !ok {
			outs = append(outs, gateway.GuestEvent{Kind: gateway.GuestCheckOut, Guest: guestOf(s, false), Omitted: unknownFields | gateway.FieldShared | gateway.FieldArrival | gateway.FieldDeparture})
		}
	}
	for _, s := range sortedStays(cur) {
		o, ok := old[s.id]
		switch {
		case !ok:
			ins = append(ins, gateway.GuestEvent{Kind: gateway.GuestCheckIn, Guest: guestOf(s, nCur[s.room] > 1), Omitted: unknownFields, Time: s.start})
		case o.room != s.room:
			changes = append(changes, gateway.GuestEvent{Kind: gateway.GuestChange, Guest: guestOf(s, nCur[s.room] > 1), Omitted: unknownFields,
				OldRoom: o.room, OldRoomShared: nCur[o.room] > 1})
		case o.arrival != s.arrival || o.departure != s.departure || (nOld[o.room] > 1) != (nCur[s.room] > 1):
			changes = append(changes, gateway.GuestEvent{Kind: gateway.GuestChange, Guest: guestOf(s, nCur[s.room] > 1), Omitted: unknownFields})
		}
	}
	return append(append(outs, changes...), ins...)
}

func sortedStays(house map[string]stay) []stay {
	out := make([]stay, 0, len(house))
	for _, s := range house {
		out = append(out, s)
	}
	sortStays(out)
	return out
}

// referenceRE is the shape of PostRequest.Reference.
var referenceRE = regexp.MustCompile(`^[A-Za-z0-9-]{1,40}$`)

// errClosed is Post's and Lookup's error after Close.
var errClosed = gateway.Errorf(gateway.KindTransient, "the Mews link is closed")

// isClosed reports whether Close was called.
func (l *Link) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// ctxOr returns a context that ends with ctx or with the link.
func (l *Link) ctxOr(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(l.ctx, cancel)
	return ctx, func() { stop(); cancel() }
}

func sentence(err error) string {
	var ge *gateway.Error
	if errors.As(err, &ge) {
		return gateway.Message(err)
	}
	return fmt.Sprint(err)
}
