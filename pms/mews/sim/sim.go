// Package sim is a Mews Connector API simulator for tests and for `gateway
// sim pms --protocol mews`: a real HTTP server implementing strictly the
// operations pms/mews uses (resources/getAll, reservations/getAll
// ver 2023-06-06, orders/add, orderItems/getAll), with the API's
// authentication, validation and error shapes, its rate limit (429 +
// Retry-After), a ledger of the charges it booked, and faults for tests.
// Like the real API it has no duplicate protection: a second orders/add
// is a second charge. See docs/pms-mews.md, "Simulator".
package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"callgate/internal/changes"
	"callgate/pms/mews"
)

// Options configures a simulator.
type Options struct {
	// Listen is the address to listen on; "" means 127.0.0.1:0.
	Listen string
	// Rooms are the room numbers the property has (resources).
	Rooms []string
	// ClientToken and AccessToken are the tokens it accepts; "" means
	// DefaultClientToken and DefaultAccessToken.
	ClientToken, AccessToken string
	// ServiceID is the service orders may be added to; "" means
	// DefaultServiceID.
	ServiceID string
	// AccountingCategories are the accounting category ids orders may
	// name; nil means DefaultAccountingCategories.
	AccountingCategories []string
	// Currency and Digits are the property's currency and its minor
	// digits; "" means EUR with 2.
	Currency string
	Digits   int
	// RateLimit requests per AccessToken in any RateWindow; 0 means Mews's
	// 200 in 30 s.
	RateLimit  int
	RateWindow time.Duration
	// Logger gets one line per request at debug level; zero logs nothing.
	Logger zerolog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// The simulator's default identifiers (Mews-shaped GUIDs).
const (
	DefaultClientToken = "E0D439EE522F44368DC78E1BFB03710C-D24FB11DBE31D4621C4817E028D9E1D"
	DefaultAccessToken = "C66EF7B239D24632943D115EDE9CB810-EA00F8FD8294692C940F6B5A8F9453D"
	DefaultServiceID   = "bd26d8db-86da-4f96-9efc-e5a4654a4a94"
)

// DefaultAccountingCategories are one category per usual tariff class.
var DefaultAccountingCategories = map[string]string{
	"international": "90eff5aa-36b4-4689-80c0-ab3a00bb4101",
	"national":      "90eff5aa-36b4-4689-80c0-ab3a00bb4102",
	"local":         "90eff5aa-36b4-4689-80c0-ab3a00bb4103",
	"mobile":        "90eff5aa-36b4-4689-80c0-ab3a00bb4104",
	"premium":       "90eff5aa-36b4-4689-80c0-ab3a00bb4105",
}

// Charge is one item the simulator booked (its ledger).
type Charge struct {
	OrderID, ItemID       string
	Reference             string // the item's ExternalIdentifier
	ServiceID             string
	AccountID             string
	ReservationID         string // LinkedReservationId
	Room                  string // the linked reservation's room
	AccountingCategoryID  string
	Name, Notes, Currency string
	AmountMinor           int64
	TaxCodes              []string
	ConsumptionUtc        string
	Created               time.Time
}

// Faults make the simulator misbehave for tests. Counts are of the
// requests still to come.
type Faults struct {
	// LoseAfter: the next so many orders/add are booked, then the
	// connection is closed without an answer.
	LoseAfter int
	// LoseBefore: the next so many orders/add are read, not booked, and
	// the connection is closed without an answer.
	LoseBefore int
	// LoseEvery: every n-th orders/add (counting from when it is set)
	// has its answer lost, alternately after booking and before.
	LoseEvery int
	// Slow: the next so many orders/add are booked and answered only
	// after SlowFor (or never, if the client leaves first).
	Slow    int
	SlowFor time.Duration
	// Hold: the next so many orders/add wait, unbooked, until the client
	// leaves.
	Hold int
	// Fail: the next so many orders/add get FailStatus (500 if 0) with
	// FailMessage, booked first if FailApplied.
	Fail        int
	FailStatus  int
	FailMessage string
	FailApplied bool
	// Storm: the next so many requests of any operation get 429 with
	// Retry-After StormRetryAfter (1 s if 0).
	Storm           int
	StormRetryAfter time.Duration
	// HoldReads: every reservations/getAll waits until the client leaves.
	HoldReads bool
}

// Sim is a running simulator.
type Sim struct {
	o    Options
	ln   net.Listener
	srv  *http.Server
	log  zerolog.Logger
	now  func() time.Time
	cats map[string]bool

	mu        sync.Mutex
	access    string
	rooms     []resource
	res       []*reservation // in creation order
	ledger    []Charge
	received  int // orders/add requests read
	refused   int // requests answered 401
	faults    Faults
	loseCount int
	stamps    map[string][]time.Time // per access token
	seq       int
	changed   changes.Signal
}

type resource struct{ id, name string }

type reservation struct {
	id, number, account, resourceID, state string
	start, end, actualStart                time.Time
	created                                time.Time
}

// New starts a simulator on o.Listen.
func New(o Options) (*Sim, error) {
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	if o.ClientToken == "" {
		o.ClientToken = DefaultClientToken
	}
	if o.AccessToken == "" {
		o.AccessToken = DefaultAccessToken
	}
	if o.ServiceID == "" {
		o.ServiceID = DefaultServiceID
	}
	if o.AccountingCategories == nil {
		for _, id := range DefaultAccountingCategories {
			o.AccountingCategories = append(o.AccountingCategories, id)
		}
	}
	if o.Currency == "" {
		o.Currency, o.Digits = "EUR", 2
	}
	if o.RateLimit <= 0 {
		o.RateLimit = 200
	}
	if o.RateWindow <= 0 {
		o.RateWindow = 30 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return nil, fmt.Errorf("the Mews simulator cannot listen on %s: %v", o.Listen, err)
	}
	s := &Sim{o: o, ln: ln, log: o.Logger, now: o.Now, access: o.AccessToken, cats: map[string]bool{},
		stamps: map[string][]time.Time{}}
	for _, c := range o.AccountingCategories {
		s.cats[strings.ToLower(c)] = true
	}
	for _, r := range o.Rooms {
		s.rooms = append(s.rooms, resource{id: s.guid(), name: r})
	}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln) //nolint:errcheck // ends with Close
	return s, nil
}

// URL is the simulator's platform address (pms.base_url).
func (s *Sim) URL() string { return "http://" + s.ln.Addr().String() }

// Close stops the simulator.
func (s *Sim) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s.mu.Lock()
	s.faults.HoldReads, s.faults.Hold = false, 0
	s.mu.Unlock()
	if err := s.srv.Shutdown(ctx); err != nil {
		return s.srv.Close()
	}
	return nil
}

// SetFaults replaces the faults to come.
func (s *Sim) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults, s.loseCount = f, 0
}

// RotateAccessToken makes the simulator accept only tok from now on: the
// old token gets 401, as a token the hotel revoked.
func (s *Sim) RotateAccessToken(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.access = tok
}

// Ledger returns the charges booked, in booking order.
func (s *Sim) Ledger() []Charge {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.ledger)
}

// Received is the number of orders/add requests the simulator read.
func (s *Sim) Received() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.received
}

// Unauthorized is the number of requests answered 401 (tokens refused).
func (s *Sim) Unauthorized() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused
}

// WaitFor waits until cond holds (checked at each change) or ctx ends.
func (s *Sim) WaitFor(ctx context.Context, cond func() bool) error {
	return s.changed.Wait(ctx, cond)
}

func (s *Sim) changedLocked() {
	s.changed.Notify()
}

// CheckIn puts a new reservation with confirmation number number, in
// state Started, in room; it returns the reservation's id.
func (s *Sim) CheckIn(room, number string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rid := s.resourceLocked(room)
	if rid == "" {
		return "", fmt.Errorf("room %s is not one of the simulator's rooms", room)
	}
	now := s.now().UTC().Truncate(time.Second)
	r := &reservation{id: s.guid(), number: number, account: s.guid(), resourceID: rid, state: mews.StateStarted,
		start: now.Add(-2 * time.Hour), end: now.Add(46 * time.Hour), actualStart: now, created: now}
	s.res = append(s.res, r)
	s.changedLocked()
	return r.id, nil
}

// CheckOut marks the reservation with confirmation number number as
// Processed (checked out).
func (s *Sim) CheckOut(number string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.res {
		if r.number == number && r.state == mews.StateStarted {
			r.state = "Processed"
			s.changedLocked()
			return nil
		}
	}
	return fmt.Errorf("no reservation %s in house", number)
}

// Move puts the reservation with confirmation number number in room.
func (s *Sim) Move(number, room string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rid := s.resourceLocked(room)
	for _, r := range s.res {
		if r.number == number && r.state == mews.StateStarted && rid != "" {
			r.resourceID = rid
			s.changedLocked()
			return nil
		}
	}
	return fmt.Errorf("no reservation %s in house, or no room %s", number, room)
}

// Occupy checks a guest into each room given, numbered R<room>.
func (s *Sim) Occupy(rooms ...string) error {
	for _, r := range rooms {
		if _, err := s.CheckIn(r, "R"+r); err != nil {
			return err
		}
	}
	return nil
}

func (s *Sim) resourceLocked(room string) string {
	for _, r := range s.rooms {
		if r.name == room {
			return r.id
		}
	}
	return ""
}

func (s *Sim) guid() string {
	s.seq++
	return fmt.Sprintf("5ee074b1-6c86-48e8-915f-%012x", s.seq)
}

// apiError writes the API's error shape.
func apiError(w http.ResponseWriter, status int, msg string) {
	id := fmt.Sprintf("%d", time.Now().UnixNano())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Request-Id", id)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(mews.ErrorResponse{Message: msg, RequestID: &id}) //nolint:errcheck // the client may be gone
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Request-Id", fmt.Sprintf("%d", time.Now().UnixNano()))
	json.NewEncoder(w).Encode(v) //nolint:errcheck // the client may be gone
}

// ServeHTTP answers one operation.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.URL.Path, mews.APIPrefix)
	switch {
	case !ok || !slices.Contains([]string{mews.PathResources, mews.PathReservations, mews.PathAddOrder, mews.PathOrderItems}, op):
		apiError(w, http.StatusNotFound, "Not found: "+r.URL.Path)
		return
	case r.Method != http.MethodPost:
		apiError(w, http.StatusMethodNotAllowed, "The API accepts only POST.")
		return
	case !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json"):
		apiError(w, http.StatusBadRequest, "Content-Type must be application/json.")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		apiError(w, http.StatusBadRequest, "The request body could not be read.")
		return
	}
	var auth mews.Auth
	if err := json.Unmarshal(body, &auth); err != nil {
		apiError(w, http.StatusBadRequest, "Invalid request: the body is not JSON.")
		return
	}
	s.mu.Lock()
	access := s.access
	s.mu.Unlock()
	if auth.ClientToken != s.o.ClientToken || auth.AccessToken != access {
		s.mu.Lock()
		s.refused++
		s.mu.Unlock()
		apiError(w, http.StatusUnauthorized, "Invalid ClientToken or AccessToken.")
		return
	}
	if strings.TrimSpace(auth.Client) == "" {
		apiError(w, http.StatusBadRequest, "Invalid Client: the name and version of the client application are required.")
		return
	}
	if wait, limited := s.limit(auth.AccessToken); limited {
		w.Header().Set("Retry-After", fmt.Sprintf("%d", int(math.Ceil(wait.Seconds()))))
		apiError(w, http.StatusTooManyRequests, "Too many requests: the request limit of the access token was exceeded.")
		return
	}
	s.log.Debug().Str("operation", op).Msg("Mews simulator request")
	switch op {
	case mews.PathResources:
		s.resources(w, body)
	case mews.PathReservations:
		s.reservations(w, r, body)
	case mews.PathAddOrder:
		s.addOrder(w, r, body)
	case mews.PathOrderItems:
		s.orderItems(w, body)
	}
}

// limit counts a request against the token's sliding window and the
// storm fault; it returns how long to wait when over.
func (s *Sim) limit(token string) (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.faults.Storm > 0 {
		s.faults.Storm--
		d := s.faults.StormRetryAfter
		if d <= 0 {
			d = time.Second
		}
		return d, true
	}
	now := s.now()
	cut := now.Add(-s.o.RateWindow)
	st := s.stamps[token]
	i := 0
	for i < len(st) && !st[i].After(cut) {
		i++
	}
	st = st[i:]
	if len(st) >= s.o.RateLimit {
		s.stamps[token] = st
		return st[0].Sub(cut), true
	}
	s.stamps[token] = append(st, now)
	return 0, false
}

func checkLimitation(l *mews.Limitation) string {
	if l == nil {
		return "Invalid Limitation: it is required."
	}
	if l.Count < 1 || l.Count > 1000 {
		return fmt.Sprintf("Invalid Limitation.Count %d: it must be from 1 to 1000.", l.Count)
	}
	return ""
}

// page returns the items after the cursor (ids in order), at most count,
// and the cursor of the last one.
func page[T any](items []T, id func(T) string, l mews.Limitation) ([]T, *string, error) {
	start := 0
	if l.Cursor != nil {
		start = -1
		for i, it := range items {
			if id(it) == *l.Cursor {
				start = i + 1
			}
		}
		if start < 0 {
			return nil, nil, errors.New("Invalid Limitation.Cursor.")
		}
	}
	end := min(start+l.Count, len(items))
	out := items[start:end]
	if len(out) == 0 {
		return out, nil, nil
	}
	c := id(out[len(out)-1])
	return out, &c, nil
}

func (s *Sim) resources(w http.ResponseWriter, body []byte) {
	var q struct {
		mews.ResourcesRequest
		Limitation *mews.Limitation `json:"Limitation"`
		Extent     *mews.ResourceExtent
	}
	if err := json.Unmarshal(body, &q); err != nil {
		apiError(w, http.StatusBadRequest, "Invalid request: "+err.Error())
		return
	}
	if msg := checkLimitation(q.Limitation); msg != "" {
		apiError(w, http.StatusBadRequest, msg)
		return
	}
	if q.Extent == nil {
		apiError(w, http.StatusBadRequest, "Invalid Extent: it is required.")
		return
	}
	s.mu.Lock()
	var out []mews.Resource
	if q.Extent.Resources {
		for _, r := range s.rooms {
			if len(q.Names) == 0 || slices.Contains(q.Names, r.name) {
				out = append(out, mews.Resource{ID: r.id, Name: r.name, IsActive: true})
			}
		}
	}
	s.mu.Unlock()
	pg, cur, err := page(out, func(r mews.Resource) string { return r.ID }, *q.Limitation)
	if err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	if pg == nil {
		pg = []mews.Resource{}
	}
	reply(w, mews.ResourcesResponse{Resources: pg, Cursor: cur})
}

func (s *Sim) reservations(w http.ResponseWriter, r *http.Request, body []byte) {
	var q struct {
		mews.ReservationsRequest
		Limitation *mews.Limitation `json:"Limitation"`
	}
	if err := json.Unmarshal(body, &q); err != nil {
		apiError(w, http.StatusBadRequest, "Invalid request: "+err.Error())
		return
	}
	if msg := checkLimitation(q.Limitation); msg != "" {
		apiError(w, http.StatusBadRequest, msg)
		return
	}
	states := []string{"Inquired", "Confirmed", "Started", "Processed", "Canceled", "Optional", "Requested"}
	for _, st := range q.States {
		if !slices.Contains(states, st) {
			apiError(w, http.StatusBadRequest, "Invalid States: "+st+" is not a service order state.")
			return
		}
	}
	s.mu.Lock()
	hold := s.faults.HoldReads
	s.mu.Unlock()
	if hold {
		<-r.Context().Done()
		return
	}
	s.mu.Lock()
	var out []mews.Reservation
	for _, v := range s.res {
		if len(q.States) > 0 && !slices.Contains(q.States, v.state) {
			continue
		}
		if len(q.AssignedResourceIDs) > 0 && !slices.Contains(q.AssignedResourceIDs, v.resourceID) {
			continue
		}
		out = append(out, v.wire())
	}
	s.mu.Unlock()
	pg, cur, err := page(out, func(r mews.Reservation) string { return r.ID }, *q.Limitation)
	if err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	if pg == nil {
		pg = []mews.Reservation{}
	}
	reply(w, mews.ReservationsResponse{Reservations: pg, Cursor: cur})
}

func (v *reservation) wire() mews.Reservation {
	rid := v.resourceID
	r := mews.Reservation{ID: v.id, AccountID: v.account, AccountType: "Customer", Number: v.number, State: v.state,
		AssignedResourceID: &rid, ScheduledStartUtc: mews.FormatTime(v.start), ScheduledEndUtc: mews.FormatTime(v.end)}
	if !v.actualStart.IsZero() {
		a := mews.FormatTime(v.actualStart)
		r.ActualStartUtc = &a
	}
	return r
}
