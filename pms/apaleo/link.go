package apaleo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"callgate/gateway"
	"callgate/internal/backoff"
	"callgate/internal/changes"

	"github.com/rs/zerolog"
)

// Link is the gateway's link to apaleo. It implements gateway.PMSLink and
// gateway.PostProver (CapabilityIdempotent).
type Link struct {
	o   settings
	c   *client
	log zerolog.Logger

	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	done   chan struct{} // the poller ended

	mu      sync.Mutex
	st      gateway.LinkStatus
	wake    changes.Signal // at every status change
	statusc chan gateway.LinkStatus
	closing bool
	units   map[string]string // room → apaleo unit id, learnt from the reservations
	pending bool              // a resync was asked for and has not started

	events  *queue
	resyncc chan struct{} // a resync is asked for
	kickc   chan struct{} // read the reservations now (a posting found the API gone)
	post    chan struct{} // one posting at a time
	once    sync.Once

	house map[string]gateway.Guest // the poller's: reservation id → guest in house

	// sentTo is the folio each posting's first try went to, by reference,
	// while no definite answer came: a resend goes to the same folio with
	// the same key (docs/pms-apaleo.md, "Resends"). Held by post.
	sentTo map[string]string
}

// sentToMax bounds sentTo: postings waiting for a definite answer are few
// (one at a time is resent), so past it the map is simply emptied.
const sentToMax = 1024

var (
	_ gateway.PMSLink    = (*Link)(nil)
	_ gateway.PostProver = (*Link)(nil)
)

// Open checks the options and starts the link: it reads the in-house
// reservations at once (a resync bracket, so that the engine trusts the
// house) and every PollInterval after.
func Open(opts Options) (*Link, error) {
	o, err := opts.settings()
	if err != nil {
		return nil, err
	}
	for _, u := range []struct{ name, v string }{{"base URL", o.BaseURL}, {"token URL", o.TokenURL}} {
		p, err := url.Parse(u.v)
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			return nil, gateway.Errorf(gateway.KindInvalid, "apaleo's %s %q is not an http(s) URL", u.name, u.v)
		}
	}
	switch {
	case o.Property == "":
		return nil, gateway.Errorf(gateway.KindInvalid, "no apaleo property id: set pms.property")
	case o.ClientID == "":
		return nil, gateway.Errorf(gateway.KindInvalid, "no apaleo client id: set pms.auth.client_id")
	case o.ClientSecret == "":
		return nil, gateway.Errorf(gateway.KindInvalid, "no apaleo client secret: set pms.auth.client_secret_file or %s", SecretEnv)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &Link{o: o, c: newClient(o), log: o.Logger, ctx: ctx, cancel: cancel, done: make(chan struct{}),
		st:      gateway.LinkStatus{State: gateway.LinkConnecting, Since: o.Now(), Peer: hostOf(o.BaseURL)},
		statusc: make(chan gateway.LinkStatus, 1), units: map[string]string{},
		events: newQueue(o.Logger), resyncc: make(chan struct{}, 1), kickc: make(chan struct{}, 1), post: make(chan struct{}, 1),
		house: map[string]gateway.Guest{}, sentTo: map[string]string{},
	}
	go l.run()
	return l, nil
}

// Capability is CapabilityIdempotent: apaleo books requests with the same
// Idempotency-Key at most once.
func (l *Link) Capability() gateway.PostCapability { return gateway.CapabilityIdempotent }

// Lookup is not offered: an idempotent PMS is asked again with the same
// key instead.
func (l *Link) Lookup(context.Context, gateway.PostRequest) (gateway.LookupResult, error) {
	return gateway.LookupResult{}, gateway.Errorf(gateway.KindInvalid, "the apaleo link does not look postings up: it sends them again with the same Idempotency-Key")
}

// Status returns the link's state.
func (l *Link) Status() gateway.LinkStatus {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.st
}

// StatusChanges delivers the latest status at each change; closed after
// Close.
func (l *Link) StatusChanges() <-chan gateway.LinkStatus { return l.statusc }

// GuestEvents delivers the check-ins, changes and check-outs the polls
// find, and the resync brackets.
func (l *Link) GuestEvents() <-chan gateway.GuestEvent { return l.events.out }

// WaitReady blocks until the link is alive and no resync runs, or ctx
// ends.
func (l *Link) WaitReady(ctx context.Context) error {
	var st gateway.LinkStatus
	if err := l.wake.Wait(ctx, func() bool { st = l.Status(); return st.Ready() || st.State == gateway.LinkClosed }); err != nil {
		return err
	}
	if st.State == gateway.LinkClosed {
		return gateway.Errorf(gateway.KindTransient, "the apaleo link is closed")
	}
	return nil
}

// setStatus changes the status under the lock and tells the watchers.
func (l *Link) setStatus(f func(s *gateway.LinkStatus)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.setStatusLocked(f)
}

func (l *Link) setStatusLocked(f func(s *gateway.LinkStatus)) {
	if l.closing {
		return
	}
	old := l.st
	f(&l.st)
	if l.st == old {
		return
	}
	if l.st.State != old.State {
		l.st.Since = l.o.Now()
		ev := l.log.Info()
		if l.st.State == gateway.LinkDown {
			ev = l.log.Warn().Str("reason", l.st.Err)
		}
		ev.Str("state", string(l.st.State)).Str("peer", l.st.Peer).Msg("apaleo link " + string(l.st.State))
	}
	l.wake.Notify()
	select {
	case <-l.statusc:
	default:
	}
	select {
	case l.statusc <- l.st:
	default:
	}
}

// Resync reads the in-house reservations now and delivers them between
// ResyncStart and ResyncEnd.
func (l *Link) Resync(ctx context.Context) error {
	l.mu.Lock()
	switch {
	case l.st.State != gateway.LinkAlive:
		l.mu.Unlock()
		return gateway.Errorf(gateway.KindTransient, "the apaleo link is %s: a resync waits until it is alive", l.st.State)
	case l.st.Resync:
		l.mu.Unlock()
		return gateway.Errorf(gateway.KindTransient, "a resync with apaleo already runs")
	}
	l.setStatusLocked(func(s *gateway.LinkStatus) { s.Resync = true })
	l.pending = true
	l.mu.Unlock()
	select {
	case l.resyncc <- struct{}{}:
	default:
	}
	return ctx.Err()
}

// Close stops the poller, ends a posting waiting for its answer in doubt,
// delivers the events read so far and closes the channels.
func (l *Link) Close() error {
	l.once.Do(func() {
		l.cancel()
		<-l.done
		l.mu.Lock()
		l.setStatusLocked(func(s *gateway.LinkStatus) { s.State, s.Resync = gateway.LinkClosed, false })
		l.closing = true
		close(l.statusc)
		l.mu.Unlock()
		l.events.close()
		if t, ok := l.c.hc.Transport.(interface{ CloseIdleConnections() }); ok {
			t.CloseIdleConnections()
		}
	})
	return nil
}

// run reads the in-house reservations every PollInterval (at once when a
// resync is asked for or a posting found the API gone) and turns the
// differences into guest events. The first reading is a resync.
func (l *Link) run() {
	defer close(l.done)
	bo := backoff.New(l.o.MinBackoff, l.o.MaxBackoff)
	resync := true
	for {
		l.mu.Lock()
		if l.pending { // asked for while a reading ran
			resync, l.pending = true, false
			select {
			case <-l.resyncc:
			default:
			}
		}
		l.mu.Unlock()
		if resync {
			l.setStatus(func(s *gateway.LinkStatus) { s.Resync = true })
		}
		err := l.poll(resync)
		if l.ctx.Err() != nil {
			return
		}
		wait := l.o.PollInterval
		var se *statusError
		switch {
		case err != nil && errors.As(err, &se) && se.status != http.StatusUnauthorized && se.status != http.StatusForbidden:
			// apaleo answered (429, 5xx): it is there; the house stays as
			// last read and is read again after a wait.
			l.log.Warn().Str("reason", err.Error()).Msg("apaleo: the in-house reservations could not be read now")
			l.setStatus(func(s *gateway.LinkStatus) { s.Resync = resync || l.pending })
			wait = bo.Next()
		case err != nil:
			msg := err.Error()
			l.setStatus(func(s *gateway.LinkStatus) { s.State, s.Err, s.Resync = gateway.LinkDown, msg, resync || l.pending })
			wait = bo.Next()
		default:
			bo.Reset()
			resync = false
			l.setStatus(func(s *gateway.LinkStatus) { s.State, s.Resync = gateway.LinkAlive, l.pending })
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-l.resyncc:
			resync = true
		case <-l.kickc:
		case <-l.ctx.Done():
			t.Stop()
			return
		}
		t.Stop()
	}
}

// poll reads the house and delivers what changed (everything, in a resync
// bracket, when resync).
func (l *Link) poll(resync bool) error {
	list, err := l.inHouse(l.ctx, "")
	if err != nil {
		return err
	}
	now := map[string]gateway.Guest{}
	perRoom := map[string]int{}
	units := map[string]string{}
	for _, r := range list {
		g := guestOf(r)
		now[r.ID] = g
		perRoom[g.Room]++
		units[g.Room] = r.Unit.ID
	}
	for id, g := range now {
		g.Shared = perRoom[g.Room] > 1
		now[id] = g
	}
	l.mu.Lock()
	for room, id := range units {
		l.units[room] = id
	}
	l.mu.Unlock()
	at := l.o.Now()
	ids := func(m map[string]gateway.Guest) []string {
		s := make([]string, 0, len(m))
		for id := range m {
			s = append(s, id)
		}
		slices.Sort(s)
		return s
	}
	if resync {
		l.events.push(gateway.GuestEvent{Kind: gateway.ResyncStart, Time: at})
		for _, id := range ids(now) {
			l.events.push(gateway.GuestEvent{Kind: gateway.GuestCheckIn, Guest: now[id], Omitted: omitted, Resync: true, Time: at})
		}
		// Ready before the end mark: a posting the engine sends on it is
		// not turned away.
		l.setStatus(func(s *gateway.LinkStatus) { s.State, s.Resync = gateway.LinkAlive, l.pending })
		l.events.push(gateway.GuestEvent{Kind: gateway.ResyncEnd, Time: at})
		l.log.Info().Int("in_house", len(now)).Msg("apaleo: in-house reservations read (resync)")
		l.house = now
		return nil
	}
	for _, id := range ids(l.house) {
		if _, ok := now[id]; !ok {
			old := l.house[id]
			l.events.push(gateway.GuestEvent{Kind: gateway.GuestCheckOut, Guest: gateway.Guest{Room: old.Room, Reservation: id}, Omitted: gateway.AllGuestFields, Time: at})
		}
	}
	for _, id := range ids(now) {
		g := now[id]
		old, ok := l.house[id]
		switch {
		case !ok:
			l.events.push(gateway.GuestEvent{Kind: gateway.GuestCheckIn, Guest: g, Omitted: omitted, Time: at})
		case old != g:
			ev := gateway.GuestEvent{Kind: gateway.GuestChange, Guest: g, Omitted: omitted, Time: at}
			if old.Room != g.Room {
				ev.OldRoom, ev.OldRoomShared = old.Room, perRoom[old.Room] > 1
			}
			l.events.push(ev)
		}
	}
	l.house = now
	return nil
}

// inHouse reads the property's in-house reservations, all pages; unitID,
// when given, asks for that unit's only.
func (l *Link) inHouse(ctx context.Context, unitID string) ([]Reservation, error) {
	const pageSize = 200
	var all []Reservation
	for page := 1; page <= 100; page++ {
		q := url.Values{"propertyIds": {l.o.Property}, "status": {"InHouse"},
			"pageNumber": {strconv.Itoa(page)}, "pageSize": {strconv.Itoa(pageSize)}}
		if unitID != "" {
			q.Set("unitIds", unitID)
		}
		b, err := l.read(ctx, "/booking/v1/reservations", q, "the in-house reservations")
		if err != nil {
			return nil, err
		}
		list, err := DecodeReservations(b)
		if err != nil {
			return nil, gateway.Wrap(gateway.KindTransient, err, "apaleo's reservation list could not be read")
		}
		for _, r := range list.Reservations {
			if r.Status == "InHouse" && (r.Property.ID == "" || r.Property.ID == l.o.Property) {
				all = append(all, r)
			}
		}
		if len(list.Reservations) < pageSize || (list.Count > 0 && page*pageSize >= list.Count) {
			return all, nil
		}
	}
	return all, nil
}

// read GETs path and returns the body of a 200 (nil for 204 No Content).
// Every failure is KindTransient, a sentence naming what was read.
func (l *Link) read(ctx context.Context, path string, q url.Values, what string) ([]byte, error) {
	r, err := l.c.do(ctx, l.o.AnswerTimeout, http.MethodGet, path, q, nil, "")
	if err != nil {
		return nil, gateway.Wrap(gateway.KindTransient, err, "reading "+what+" from apaleo")
	}
	var msg string
	switch r.status {
	case http.StatusOK:
		return r.body, nil
	case http.StatusNoContent:
		return nil, nil
	case http.StatusUnauthorized:
		msg = fmt.Sprintf("apaleo refused a fresh access token reading %s (HTTP 401): check that the client pms.auth.client_id has access to property %s", what, l.o.Property)
	case http.StatusForbidden:
		msg = fmt.Sprintf("apaleo forbids reading %s (HTTP 403, %s): give the client pms.auth.client_id the scopes reservations.read and folios.read", what, ErrorText(r.status, r.body))
	case http.StatusTooManyRequests:
		msg = fmt.Sprintf("apaleo is rate limiting the gateway (HTTP 429) reading %s", what)
	default:
		msg = fmt.Sprintf("apaleo answered HTTP %d reading %s: %s", r.status, what, ErrorText(r.status, r.body))
	}
	return nil, gateway.Wrap(gateway.KindTransient, &statusError{status: r.status, msg: msg}, "")
}

// statusError is an HTTP answer that was not what was asked for.
type statusError struct {
	status int
	msg    string
}

func (e *statusError) Error() string { return e.msg }

// kick marks the link down and has the poller read the reservations now,
// after a posting found the API unreachable or the credentials refused
// (not when the posting's own ctx ended first).
func (l *Link) kick(err error) {
	var ce *callError
	if errors.As(err, &ce) && !ce.written && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		msg := err.Error()
		l.setStatus(func(s *gateway.LinkStatus) { s.State, s.Err = gateway.LinkDown, msg })
		l.poke()
	}
}

// poke has the poller read the reservations now.
func (l *Link) poke() {
	select {
	case l.kickc <- struct{}{}:
	default:
	}
}

// Post resolves the room's in-house reservation and its guest folio, then
// posts the charge with Idempotency-Key = p.Reference.
func (l *Link) Post(ctx context.Context, p gateway.PostRequest) (gateway.PostResult, error) {
	body, err := l.chargeBody(p)
	if err != nil {
		return gateway.PostResult{Outcome: gateway.PostInvalid, At: l.o.Now()}, err
	}
	select {
	case l.post <- struct{}{}:
	case <-ctx.Done():
		return l.transient(false, "", gateway.Errorf(gateway.KindTransient, "posting %d for room %s was not sent: %v", p.Number, p.Room, ctx.Err()))
	}
	defer func() { <-l.post }()
	if st := l.Status(); !st.Ready() {
		why := string(st.State)
		switch {
		case st.Resync:
			why = "reading the in-house reservations (resync)"
		case st.State == gateway.LinkDown && st.Err != "":
			why = "down: " + st.Err
		}
		return l.transient(false, "", gateway.Errorf(gateway.KindTransient, "posting %d for room %s was not sent: the apaleo link is %s", p.Number, p.Room, why))
	}
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(l.ctx, cancel)
	defer stop()

	// A resend goes where the first try went: the same key on another
	// folio (the guest moved or left meanwhile) is another request to
	// apaleo, refused 422 while the first may be booked.
	folio, resend := l.sentTo[p.Reference]
	var res string
	if !resend {
		res, folio, err = l.resolve(pctx, p.Room)
	}
	switch {
	case errors.Is(err, errVacant):
		l.log.Info().Uint32("posting", p.Number).Str("room", p.Room).Msg("apaleo: room vacant, nothing posted")
		return gateway.PostResult{Outcome: gateway.PostVacant, At: l.o.Now()},
			gateway.Errorf(gateway.KindNotFound, "posting %d was not sent: no reservation is in house in room %s at apaleo property %s", p.Number, p.Room, l.o.Property)
	case errors.Is(err, errNoFolio):
		return gateway.PostResult{Outcome: gateway.PostInvalid, At: l.o.Now()},
			gateway.Errorf(gateway.KindInvalid, "posting %d was not sent: reservation %s in room %s has no guest folio that allows charges (AddCharge); open or reopen the guest folio in apaleo, then post the call again from the console", p.Number, res, p.Room)
	case err != nil:
		l.kick(err)
		return l.transient(false, "", gateway.Wrap(gateway.KindTransient, err, fmt.Sprintf("posting %d for room %s was not sent", p.Number, p.Room)))
	}

	if len(l.sentTo) >= sentToMax {
		clear(l.sentTo)
	}
	l.sentTo[p.Reference] = folio
	r, err := l.c.do(pctx, l.o.AnswerTimeout, http.MethodPost, "/finance/v1/folio-actions/"+url.PathEscape(folio)+"/charges", nil, body, p.Reference)
	at := l.o.Now()
	lg := l.log.With().Uint32("posting", p.Number).Str("reference", p.Reference).Str("room", p.Room).Str("folio", folio).Logger()
	// Only an answer that leaves the posting in doubt keeps the folio for
	// the resend.
	keep := false
	defer func() {
		if !keep {
			delete(l.sentTo, p.Reference)
		}
	}()
	if err != nil {
		var ce *callError
		if errors.As(err, &ce) && ce.written {
			keep = true
			lg.Warn().Str("reason", err.Error()).Msg("apaleo: charge in doubt (no answer)")
			return gateway.PostResult{Outcome: gateway.PostInDoubt, Sent: true, At: at}, l.inDoubt(p, err.Error())
		}
		l.kick(err)
		return l.transient(false, "", gateway.Wrap(gateway.KindTransient, err, fmt.Sprintf("posting %d for room %s was not sent", p.Number, p.Room)))
	}
	code := strconv.Itoa(r.status)
	text := ErrorText(r.status, r.body)
	switch {
	case r.status == http.StatusCreated || r.status == http.StatusOK:
		c, err := DecodeCharge(r.body)
		text = "charge " + c.ID + " on folio " + folio
		if err != nil {
			text = "booked on folio " + folio + " (the charge id could not be read: " + err.Error() + ")"
		}
		lg.Info().Str("charge", c.ID).Msg("apaleo: posted")
		return gateway.PostResult{Outcome: gateway.PostPosted, Sent: true, Answer: code, Text: text, At: at}, nil
	case r.status == http.StatusTooManyRequests:
		return l.transient(true, code, gateway.Errorf(gateway.KindTransient, "posting %d for room %s: apaleo is rate limiting the gateway (HTTP 429); it was not booked and is sent again after the wait apaleo asks for", p.Number, p.Room))
	case r.status == http.StatusUnauthorized:
		l.setStatus(func(s *gateway.LinkStatus) {
			s.State, s.Err = gateway.LinkDown, "apaleo refused a fresh access token (HTTP 401): check the app's access to property "+l.o.Property
		})
		l.poke()
		return l.transient(true, code, gateway.Errorf(gateway.KindTransient, "posting %d for room %s: apaleo refused the access token twice (HTTP 401); it was not booked", p.Number, p.Room))
	case r.status == http.StatusConflict:
		keep = true
		lg.Warn().Str("text", text).Msg("apaleo: an earlier try with the same key is still being processed")
		return gateway.PostResult{Outcome: gateway.PostInDoubt, Sent: true, Answer: code, Text: text, At: at},
			l.inDoubt(p, "apaleo is still processing an earlier try with the same Idempotency-Key (HTTP 409)")
	case r.status >= 500:
		keep = true
		lg.Warn().Int("status", r.status).Str("text", text).Msg("apaleo: charge in doubt (server error)")
		return gateway.PostResult{Outcome: gateway.PostInDoubt, Sent: true, Answer: code, Text: text, At: at},
			l.inDoubt(p, fmt.Sprintf("apaleo answered HTTP %d (%s)", r.status, text))
	case r.status == http.StatusUnprocessableEntity && (resend || !p.FirstSent.IsZero()):
		// A resend refused: the key may have met a different request (the
		// folio the first try went to is not known after a restart), and
		// the first try may be booked. Only a person can tell.
		lg.Warn().Str("text", text).Msg("apaleo: a resend refused, the first try may be booked")
		return gateway.PostResult{Outcome: gateway.PostInDoubt, Sent: true, Answer: code, Text: text, At: at},
			l.inDoubt(p, fmt.Sprintf("apaleo refused the resend (HTTP 422: %s), and the first try may have been booked: look for %s on the guest's folio, then confirm it or post it again", text, p.Reference))
	default:
		lg.Warn().Int("status", r.status).Str("text", text).Msg("apaleo: charge refused")
		return gateway.PostResult{Outcome: gateway.PostRefused, Sent: true, Answer: code, Text: text, At: at},
			gateway.Errorf(gateway.KindRejected, "apaleo refused posting %d for room %s (HTTP %d): %s", p.Number, p.Room, r.status, text)
	}
}

func (l *Link) transient(sent bool, code string, err error) (gateway.PostResult, error) {
	res := gateway.PostResult{Outcome: gateway.PostTransient, Sent: sent, Answer: code, At: l.o.Now()}
	if sent {
		res.Cause = gateway.CauseBusy
	}
	return res, err
}

func (l *Link) inDoubt(p gateway.PostRequest, why string) error {
	return gateway.Wrap(gateway.KindInternal, gateway.ErrInDoubt,
		fmt.Sprintf("posting %d (key %s) for room %s is in doubt: %s", p.Number, p.Reference, p.Room, why))
}

var (
	errVacant  = errors.New("no reservation in house")
	errNoFolio = errors.New("no guest folio allows charges")
)

// resolve finds the room's in-house reservation (the earliest checked in
// when the room is shared) and its first guest folio that allows AddCharge.
func (l *Link) resolve(ctx context.Context, room string) (res, folio string, err error) {
	l.mu.Lock()
	unit := l.units[room]
	l.mu.Unlock()
	best, err := l.inRoom(ctx, room, unit)
	if err == nil && best == nil && unit != "" {
		// The unit learnt may no longer carry this room's name: ask for
		// the whole house before calling the room vacant.
		best, err = l.inRoom(ctx, room, "")
	}
	if err != nil {
		return "", "", err
	}
	if best == nil {
		return "", "", errVacant
	}
	l.mu.Lock()
	l.units[room] = best.Unit.ID
	l.mu.Unlock()
	b, err := l.read(ctx, "/finance/v1/folios", url.Values{"reservationIds": {best.ID}, "type": {"Guest"}}, "the guest folios of reservation "+best.ID)
	if err != nil {
		return best.ID, "", err
	}
	folios, err := DecodeFolios(b)
	if err != nil {
		return best.ID, "", gateway.Wrap(gateway.KindTransient, err, "apaleo's folio list could not be read")
	}
	for _, f := range folios.Folios {
		if slices.Contains(f.AllowedActions, "AddCharge") && (f.Reservation == nil || f.Reservation.ID == best.ID) {
			return best.ID, f.ID, nil
		}
	}
	return best.ID, "", errNoFolio
}

// inRoom returns the in-house reservation in room checked in first (nil
// if none), asking for unit's only when unit is given.
func (l *Link) inRoom(ctx context.Context, room, unit string) (*Reservation, error) {
	list, err := l.inHouse(ctx, unit)
	if err != nil {
		return nil, err
	}
	var best *Reservation
	for i, r := range list {
		if r.Unit == nil || strings.TrimSpace(r.Unit.Name) != room {
			continue
		}
		if best == nil || r.CheckInTime < best.CheckInTime || (r.CheckInTime == best.CheckInTime && r.ID < best.ID) {
			best = &list[i]
		}
	}
	return best, nil
}

// chargeBody checks the request and writes the charge's JSON body.
func (l *Link) chargeBody(p gateway.PostRequest) ([]byte, error) {
	invalid := func(format string, args ...any) ([]byte, error) {
		return nil, gateway.Errorf(gateway.KindInvalid, "posting %d for room %q cannot be sent to apaleo: "+format, append([]any{p.Number, p.Room}, args...)...)
	}
	switch {
	case p.Number < 1 || p.Number > 99_999_999:
		return invalid("its number is not from 1 to 99999999")
	case strings.TrimSpace(p.Room) == "":
		return invalid("it has no room")
	case !validReference(p.Reference):
		return invalid("its reference %q is not 1 to 40 letters, digits and hyphens (it is the Idempotency-Key)", p.Reference)
	case p.AmountMinor < 0:
		return invalid("its amount %d is negative", p.AmountMinor)
	case len(p.Currency) != 3 || strings.ToUpper(p.Currency) != p.Currency:
		return invalid("its currency %q is not an ISO 4217 code", p.Currency)
	}
	digits, ok := l.o.MinorDigits(p.Currency)
	if !ok {
		return invalid("the currency %s is unknown", p.Currency)
	}
	sub := l.o.Charge.SubAccountID
	if len(l.o.Charge.SubAccounts) > 0 {
		s, ok := l.o.Charge.SubAccounts[p.Class]
		if !ok {
			return invalid("no apaleo sub-account for calls of class %q: add pms.charge.sub_accounts.%s to the config", p.Class, p.Class)
		}
		sub = s
	}
	return json.Marshal(ChargeRequest{
		ServiceType: l.o.Charge.ServiceType, VatType: l.o.Charge.VatType, SubAccountID: sub,
		Name:    chargeName(l.o.Charge.NamePrefix, p),
		Amount:  Money{Amount: json.Number(FormatAmount(p.AmountMinor, digits)), Currency: p.Currency},
		Receipt: p.Reference, Quantity: 1,
	})
}

// chargeName is the folio line: the prefix, the destination, the digits
// dialed and the duration, like "Telephone London 00442079460000 2:05".
func chargeName(prefix string, p gateway.PostRequest) string {
	var digits strings.Builder
	for _, r := range p.Dialed {
		if r >= '0' && r <= '9' {
			digits.WriteRune(r)
		}
	}
	dest := strings.Join(strings.FieldsFunc(p.Destination, func(r rune) bool { return r < ' ' || r == 0x7f || r == ' ' }), " ")
	parts := []string{prefix}
	for _, s := range []string{clip(dest, 40), digits.String(), fmt.Sprintf("%d:%02d", p.DurationS/60, p.DurationS%60)} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return clip(strings.Join(parts, " "), 120)
}

func validReference(s string) bool {
	if s == "" || len(s) > 40 {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}
