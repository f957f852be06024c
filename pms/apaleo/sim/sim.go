// Package sim is an apaleo simulator for tests and for `gateway sim pms
// --protocol apaleo`: a real HTTP server on loopback that implements
// strictly the endpoints the link pms/apaleo uses — the identity server's
// client-credentials token, the in-house reservation list, the folio list
// and the folio charge with Idempotency-Key — with the API's own status
// codes and error shapes, a ledger of charges, a rate limit with 429 and
// Retry-After, and faults for tests (docs/pms-apaleo.md, "The simulator").
package sim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"callgate/internal/changes"
)

// Options configures a simulator.
type Options struct {
	// Property is the property id (default MUC); Currency its currency
	// (default EUR).
	Property, Currency string
	// Rooms are the property's units (room numbers); empty means any room
	// may be checked into.
	Rooms []string
	// Occupied rooms get an in-house reservation at the start.
	Occupied []string
	// ClientID and ClientSecret are the credentials the identity server
	// accepts (default callgate / sim-secret).
	ClientID, ClientSecret string
	// TokenLifetime is an access token's life (default 1 h).
	TokenLifetime time.Duration
	// RequestsPerS, when above 0, answers 429 to API requests beyond that
	// many in one second.
	RequestsPerS int
	// RetryAfterS is the Retry-After of a 429 (default 1).
	RetryAfterS int
	// Logger gets one line per request at debug level.
	Logger zerolog.Logger
}

// Charge is one charge in the ledger.
type Charge struct {
	ID, FolioID, Reservation, Room string
	// Key is the request's Idempotency-Key ("" if none).
	Key                                string
	ServiceType, VatType, SubAccountID string
	Name, Receipt                      string
	AmountMinor                        int64
	Currency                           string
	Quantity                           int
	At                                 time.Time
}

// Faults are what the simulator does wrong, for tests.
type Faults struct {
	// LoseEvery, when n > 0, loses the answer to every n-th charge request:
	// the connection is closed without an answer, alternately after the
	// charge was booked (the 1st, 3rd, … lost) and before (the 2nd, 4th, …).
	LoseEvery int
	// Status, when set, answers the next Times charge requests (1 when
	// Times is 0) with this HTTP status and {"messages": Messages},
	// booking nothing (422, 503, …).
	Status   int
	Messages []string
	Times    int
	// TooMany answers the next n API requests with 429 and Retry-After.
	TooMany int
	// Slow delays every charge's answer after it was booked.
	Slow time.Duration
	// Hold keeps charge requests unanswered and unbooked until the client
	// gives up.
	Hold bool
	// HoldListings keeps reservation listings unanswered until the client
	// gives up.
	HoldListings bool
}

type reservation struct {
	id, room, lastName, firstName string
	status                        string // InHouse, CheckedOut
	checkIn                       time.Time
	arrival, departure            string
}

type folio struct {
	id, reservation string
	closed          bool
}

type stored struct {
	hash string
	id   string
}

// Sim is a running simulator.
type Sim struct {
	o   Options
	ln  net.Listener
	srv *http.Server
	url string

	mu       sync.Mutex
	tokens   map[string]time.Time
	issued   int
	res      map[string]*reservation
	folios   map[string]*folio
	ledger   []Charge
	keys     map[string]stored
	unitIDs  map[string]string // room (unit name) → unit id
	inflight map[string]bool
	faults   Faults
	received int // charge requests received
	seen     int // charge requests counted for LoseEvery
	lost     int
	limited  int // 429s answered
	refused  int // 401s answered
	listings int // reservation lists asked for
	winStart time.Time
	winN     int
	seq      int
	changed  changes.Signal
	stop     chan struct{}
	stopOnce sync.Once
}

// Start listens on addr ("" for a free loopback port) and serves.
func Start(o Options, addr string) (*Sim, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	s, err := New(o)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("the apaleo simulator cannot listen on %s: %v", addr, err)
	}
	s.ln = ln
	s.url = "http://" + ln.Addr().String()
	s.srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// New returns a simulator that is not listening (serve its Handler).
func New(o Options) (*Sim, error) {
	if o.Property == "" {
		o.Property = "MUC"
	}
	if o.Currency == "" {
		o.Currency = "EUR"
	}
	if o.ClientID == "" {
		o.ClientID = "callgate"
	}
	if o.ClientSecret == "" {
		o.ClientSecret = "sim-secret"
	}
	if o.TokenLifetime <= 0 {
		o.TokenLifetime = time.Hour
	}
	if o.RetryAfterS <= 0 {
		o.RetryAfterS = 1
	}
	s := &Sim{o: o, tokens: map[string]time.Time{}, res: map[string]*reservation{}, folios: map[string]*folio{},
		keys: map[string]stored{}, unitIDs: map[string]string{}, inflight: map[string]bool{}, stop: make(chan struct{})}
	for i, room := range o.Occupied {
		if err := s.CheckIn(room, fmt.Sprintf("SIM%04d-1", i+1), "Guest"+room); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Run serves a simulator on addr until ctx ends (gateway sim pms
// --protocol apaleo).
func Run(ctx context.Context, o Options, addr string) error {
	s, err := Start(o, addr)
	if err != nil {
		return err
	}
	o.Logger.Info().Str("url", s.URL()).Str("token_url", s.TokenURL()).Str("property", s.o.Property).
		Str("client_id", s.o.ClientID).Int("rooms", len(o.Rooms)).Msg("apaleo simulator serving")
	<-ctx.Done()
	return s.Close()
}

// URL is the API's base URL; TokenURL the identity server's token endpoint.
func (s *Sim) URL() string      { return s.url }
func (s *Sim) TokenURL() string { return s.url + "/connect/token" }

// Close stops serving; held requests end.
func (s *Sim) Close() error {
	s.stopOnce.Do(func() { close(s.stop) })
	if s.srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		return s.srv.Close()
	}
	return nil
}

// changedLocked wakes WaitFor; s.mu is held.
func (s *Sim) changedLocked() {
	s.changed.Notify()
}

// WaitFor waits until cond holds (checked at every change) or ctx ends.
func (s *Sim) WaitFor(ctx context.Context, cond func() bool) error {
	return s.changed.Wait(ctx, cond)
}

// CheckIn puts a new in-house reservation id in room, with its guest folio
// (id+"-1") open for charges.
func (s *Sim) CheckIn(room, id, lastName string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.o.Rooms) > 0 && !slices.Contains(s.o.Rooms, room) {
		return fmt.Errorf("room %s is not a unit of property %s", room, s.o.Property)
	}
	if r, ok := s.res[id]; ok && r.status == "InHouse" {
		return fmt.Errorf("reservation %s is already in house", id)
	}
	now := time.Now().UTC().Truncate(time.Second)
	s.res[id] = &reservation{id: id, room: room, lastName: lastName, firstName: "Sim", status: "InHouse", checkIn: now,
		arrival: now.Format("2006-01-02") + "T15:00:00+01:00", departure: now.AddDate(0, 0, 2).Format("2006-01-02") + "T11:00:00+01:00"}
	s.folios[id+"-1"] = &folio{id: id + "-1", reservation: id}
	s.changedLocked()
	return nil
}

// CheckOut checks reservation id out and closes its folios.
func (s *Sim) CheckOut(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.res[id]
	if !ok || r.status != "InHouse" {
		return fmt.Errorf("reservation %s is not in house", id)
	}
	r.status = "CheckedOut"
	for _, f := range s.folios {
		if f.reservation == id {
			f.closed = true
		}
	}
	s.changedLocked()
	return nil
}

// Move moves in-house reservation id to room.
func (s *Sim) Move(id, room string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.res[id]
	if !ok || r.status != "InHouse" {
		return fmt.Errorf("reservation %s is not in house", id)
	}
	r.room = room
	s.changedLocked()
	return nil
}

// RenameUnit gives the unit named room the name to (an inventory change
// in apaleo): its id stays, its reservations are now in room to.
func (s *Sim) RenameUnit(room, to string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, taken := s.unitIDs[to]; taken {
		return fmt.Errorf("a unit is already named %s", to)
	}
	s.unitIDs[to] = s.unitIDLocked(room)
	delete(s.unitIDs, room)
	for _, r := range s.res {
		if r.room == room {
			r.room = to
		}
	}
	s.changedLocked()
	return nil
}

// unitIDLocked returns the id of the unit named room; s.mu is held.
func (s *Sim) unitIDLocked(room string) string {
	id, ok := s.unitIDs[room]
	if !ok {
		id = s.o.Property + "-U" + room
		s.unitIDs[room] = id
	}
	return id
}

// Ledger returns the charges booked, oldest first.
func (s *Sim) Ledger() []Charge {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.ledger)
}

// Listings is how many reservation lists were asked for (answered or
// not).
func (s *Sim) Listings() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.listings
}

// ChargesWithKey is how many charges in the ledger were booked with the
// Idempotency-Key key.
func (s *Sim) ChargesWithKey(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.ledger {
		if c.Key == key {
			n++
		}
	}
	return n
}

// ChargeRequests is how many charge requests arrived (answered or not).
func (s *Sim) ChargeRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.received
}

// Limited is how many requests were answered 429.
func (s *Sim) Limited() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limited
}

// Unauthorized is how many API requests were answered 401.
func (s *Sim) Unauthorized() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused
}

// TokensIssued is how many access tokens the identity server issued.
func (s *Sim) TokensIssued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issued
}

// SetFaults replaces the faults.
func (s *Sim) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
	s.changedLocked()
}

// ExpireTokens makes every token issued so far expired: the next API
// request with one is answered 401.
func (s *Sim) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for t := range s.tokens {
		s.tokens[t] = time.Now().Add(-time.Second)
	}
}

func newToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

var errStopped = errors.New("simulator stopped")

// hold waits until the request's client gives up or the simulator stops.
func (s *Sim) hold(r *http.Request) error {
	select {
	case <-r.Context().Done():
		return r.Context().Err()
	case <-s.stop:
		return errStopped
	}
}

func digitsOf(currency string) int {
	switch strings.ToUpper(currency) {
	case "JPY", "KRW", "ISK", "CLP", "VND":
		return 0
	case "KWD", "BHD", "OMR", "JOD", "TND":
		return 3
	}
	return 2
}
