// Package sim is a simulator of the OPERA Cloud (OHIP) operations the
// opera-cloud PMS link uses, over real HTTP: the OAuth token, the in-house
// reservations, postBillingCharges and getGuestsTransactions, with OHIP's
// headers, error shapes, rate limit and duplicate semantics (none: a second
// request is a second charge), and faults for tests. See
// docs/pms-operacloud.md.
package sim

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"callgate/internal/changes"
	"callgate/pms/operacloud"
)

// Options configures a simulator; zero values take the defaults named.
type Options struct {
	// Listen is the TCP address; "" means 127.0.0.1:0.
	Listen string
	// Hotel is the hotel id; "" means HOTEL1.
	Hotel string
	// ClientID, ClientSecret and AppKey are the credentials it accepts;
	// "" means callgate, secret, and DefaultAppKey.
	ClientID, ClientSecret, AppKey string
	// Username and Password are the integration user the password grant
	// accepts; "" means IFC_USER and password.
	Username, Password string
	// CashierID is the integration user's cashier id; "" means 1001.
	CashierID string
	// Currency and Digits are the hotel's currency; "" means USD with 2.
	Currency string
	Digits   int
	// Codes are the revenue transaction codes it knows; nil means
	// DefaultCodes.
	Codes []string
	// RatePerS is OHIP's limit: more requests within one second are
	// answered 429 with Retry-After; 0 means 50, negative no limit.
	RatePerS int
	// TokenLife is how long a token lives; 0 means an hour.
	TokenLife time.Duration
	// Location is the hotel's time zone for business dates; nil is UTC.
	Location *time.Location
	Logger   zerolog.Logger
}

// DefaultAppKey is the application key a simulator accepts by default.
const DefaultAppKey = "41ecd082-8997-4c69-af34-2f72b83645ff"

// DefaultCodes are the transaction codes a simulator knows by default.
var DefaultCodes = []string{"9100", "9110", "9120", "9130", "9140"}

// FaultKind is what goes wrong with one charge request.
type FaultKind int

// The faults of a charge request.
const (
	// LoseAfter books the charge, then drops the connection unanswered.
	LoseAfter FaultKind = iota + 1
	// LoseBefore drops the connection without booking anything.
	LoseBefore
	// Status answers Fault.Status with an OHIP error body; nothing booked.
	Status
	// Slow books the charge and answers after Fault.Delay (or when the
	// client gives up).
	Slow
	// Hold books nothing and answers nothing until the client gives up.
	Hold
)

// Fault is one scripted misbehaviour.
type Fault struct {
	Kind   FaultKind
	Status int    // for Status
	Code   string // for Status: o:errorCode
	Detail string // for Status
	Delay  time.Duration
}

// Charge is one transaction in the simulator's ledger.
type Charge struct {
	TransactionNo int64
	Reservation   string
	Room          string
	Code          string
	AmountMinor   int64
	Currency      string
	Reference     string
	Remark        string
	Cashier       string
	At            time.Time
}

// Reservation is an in-house stay.
type Reservation struct {
	ID, Room, Surname, GivenName string
	Arrival, Departure           time.Time
}

// Sim is a running simulator.
type Sim struct {
	o   Options
	srv *http.Server
	ln  net.Listener
	log zerolog.Logger

	mu       sync.Mutex
	tokens   map[string]time.Time
	res      map[string]*Reservation
	nextRes  int
	ledger   []Charge
	nextTrx  int64
	received int // charge requests that passed auth
	requests int // API requests answered (any)
	faults   []Fault
	// ChargeFault, if set, picks the fault of the n-th charge request
	// (from 1) when no scripted fault is queued.
	chargeFault  func(n int) Fault
	storm        int // the next API requests answered 429
	window       []time.Time
	hold         chan struct{} // non-nil: reservation reads wait for it
	rejectAll    bool          // every API request is 401
	tokenReqs    int
	unauthorized int
	throttled    int
	changed      changes.Signal
}

// Start starts a simulator.
func Start(o Options) (*Sim, error) {
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	if o.Hotel == "" {
		o.Hotel = "HOTEL1"
	}
	if o.ClientID == "" {
		o.ClientID = "callgate"
	}
	if o.ClientSecret == "" {
		o.ClientSecret = "secret"
	}
	if o.AppKey == "" {
		o.AppKey = DefaultAppKey
	}
	if o.Username == "" {
		o.Username, o.Password = "IFC_USER", "password"
	}
	if o.CashierID == "" {
		o.CashierID = "1001"
	}
	if o.Currency == "" {
		o.Currency, o.Digits = "USD", 2
	}
	if o.Codes == nil {
		o.Codes = DefaultCodes
	}
	if o.RatePerS == 0 {
		o.RatePerS = 50
	}
	if o.TokenLife <= 0 {
		o.TokenLife = time.Hour
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return nil, fmt.Errorf("the OPERA Cloud simulator cannot listen on %s: %v", o.Listen, err)
	}
	s := &Sim{o: o, ln: ln, log: o.Logger, tokens: map[string]time.Time{}, res: map[string]*Reservation{},
		nextRes: 100000, nextTrx: 5000000}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth/v1/tokens", s.token)
	mux.HandleFunc("GET /rsv/v1/hotels/{hotelId}/reservations", s.api(s.reservations))
	mux.HandleFunc("POST /csh/v1/hotels/{hotelId}/reservations/{reservationId}/charges", s.api(s.charges))
	mux.HandleFunc("GET /csh/v1/hotels/{hotelId}/transactions", s.api(s.transactions))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		problem(w, http.StatusNotFound, "NOT_FOUND", "Not Found", "the simulator has no operation "+r.Method+" "+r.URL.Path)
	})
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// URL is the simulator's base URL (http://127.0.0.1:port).
func (s *Sim) URL() string { return "http://" + s.ln.Addr().String() }

// Options returns the simulator's settings, defaults filled in.
func (s *Sim) Options() Options { return s.o }

// Close stops the simulator.
func (s *Sim) Close() error {
	s.mu.Lock()
	if s.hold != nil {
		close(s.hold)
		s.hold = nil
	}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		return s.srv.Close()
	}
	return nil
}

// notify wakes WaitFor; called with mu held.
func (s *Sim) notify() {
	s.changed.Notify()
}

// WaitFor waits until cond holds (it may call the simulator's methods), or
// ctx ends. It looks again at every change of the simulator's state.
func (s *Sim) WaitFor(ctx context.Context, cond func() bool) error {
	return s.changed.Wait(ctx, cond)
}

// CheckIn puts a reservation in house in room (id "" makes one up) and
// returns its id.
func (s *Sim) CheckIn(room, id, surname string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id == "" {
		s.nextRes++
		id = strconv.Itoa(s.nextRes)
	}
	today := time.Now().In(s.o.Location)
	s.res[id] = &Reservation{ID: id, Room: room, Surname: surname, GivenName: "Sim",
		Arrival: today, Departure: today.AddDate(0, 0, 3)}
	s.notify()
	return id
}

// CheckOut takes a reservation out of the house; false if it was not in.
func (s *Sim) CheckOut(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.res[id]
	delete(s.res, id)
	s.notify()
	return ok
}

// Move moves an in-house reservation to another room.
func (s *Sim) Move(id, room string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.res[id]
	if ok {
		r.Room = room
	}
	s.notify()
	return ok
}

// InHouse returns the in-house reservations.
func (s *Sim) InHouse() []Reservation {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Reservation, 0, len(s.res))
	for _, r := range s.res {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Room < out[j].Room || out[i].Room == out[j].Room && out[i].ID < out[j].ID
	})
	return out
}

// Ledger returns the charges booked, in order.
func (s *Sim) Ledger() []Charge {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Charge(nil), s.ledger...)
}

// Received is the number of charge requests that passed authentication.
func (s *Sim) Received() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.received
}

// Counts are the simulator's counters.
type Counts struct {
	Tokens       int // tokens issued
	Throttled    int // requests answered 429
	Unauthorized int // API requests answered 401
	Requests     int // API requests that passed authentication
}

// Counts returns the simulator's counters.
func (s *Sim) Counts() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Counts{Tokens: s.tokenReqs, Throttled: s.throttled, Unauthorized: s.unauthorized, Requests: s.requests}
}

// Fail queues faults for the next charge requests, one each.
func (s *Sim) Fail(f ...Fault) {
	s.mu.Lock()
	s.faults = append(s.faults, f...)
	s.mu.Unlock()
}

// SetChargeFault sets the fault picker of charge requests (nil: none).
func (s *Sim) SetChargeFault(f func(n int) Fault) {
	s.mu.Lock()
	s.chargeFault = f
	s.mu.Unlock()
}

// Storm answers the next n API requests 429 Too Many Requests.
func (s *Sim) Storm(n int) {
	s.mu.Lock()
	s.storm = n
	s.mu.Unlock()
}

// ExpireTokens ends every token issued: the next request with one is 401.
func (s *Sim) ExpireTokens() {
	s.mu.Lock()
	for t := range s.tokens {
		s.tokens[t] = time.Time{}
	}
	s.mu.Unlock()
}

// RejectAll answers every API request 401 while on (new tokens are still
// issued): an integration user whose access was withdrawn.
func (s *Sim) RejectAll(on bool) {
	s.mu.Lock()
	s.rejectAll = on
	s.mu.Unlock()
}

// HoldReservations makes reservation reads wait until Release (or the
// client gives up).
func (s *Sim) HoldReservations() {
	s.mu.Lock()
	if s.hold == nil {
		s.hold = make(chan struct{})
	}
	s.mu.Unlock()
}

// Release lets held reservation reads go on.
func (s *Sim) Release() {
	s.mu.Lock()
	if s.hold != nil {
		close(s.hold)
		s.hold = nil
	}
	s.mu.Unlock()
}

// problem writes OHIP's error body (exceptionDetailType).
func problem(w http.ResponseWriter, status int, code, title, detail string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"type": "https://tools.ietf.org/html/rfc9110#section-15", "title": title, "status": status,
		"detail": detail, "o:errorCode": code,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// token is POST /oauth/v1/tokens (getToken).
func (s *Sim) token(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	switch {
	case !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded"):
		problem(w, http.StatusBadRequest, "invalid_request", "Bad Request", "the token request must be application/x-www-form-urlencoded")
		return
	case r.Header.Get("x-app-key") != s.o.AppKey:
		problem(w, http.StatusUnauthorized, "invalid_client", "Unauthorized", "unknown application key (x-app-key)")
		return
	case !ok || id != s.o.ClientID || secret != s.o.ClientSecret:
		problem(w, http.StatusUnauthorized, "invalid_client", "Unauthorized", "invalid client id or client secret")
		return
	}
	if err := r.ParseForm(); err != nil {
		problem(w, http.StatusBadRequest, "invalid_request", "Bad Request", "the token request's form cannot be read")
		return
	}
	switch r.PostForm.Get("grant_type") {
	case "client_credentials":
		if r.PostForm.Get("scope") == "" {
			problem(w, http.StatusBadRequest, "invalid_scope", "Bad Request", "scope is required with client_credentials")
			return
		}
	case "password":
		if r.PostForm.Get("username") != s.o.Username || r.PostForm.Get("password") != s.o.Password {
			problem(w, http.StatusUnauthorized, "invalid_grant", "Unauthorized", "invalid username or password")
			return
		}
	default:
		problem(w, http.StatusBadRequest, "unsupported_grant_type", "Bad Request", "grant_type must be password or client_credentials")
		return
	}
	var b [24]byte
	_, _ = rand.Read(b[:])
	tok := base64.RawURLEncoding.EncodeToString(b[:])
	s.mu.Lock()
	s.tokens[tok] = time.Now().Add(s.o.TokenLife)
	s.tokenReqs++
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "expires_in": int64(s.o.TokenLife / time.Second),
		"token_type": "Bearer", "oracle_tk_context": "user_assertion"})
}

// api wraps an operation with OHIP's checks: the token, x-app-key,
// x-hotelid and the rate limit.
func (s *Sim) api(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, hasBearer := strings.CutPrefix(r.Header.Get("authorization"), "Bearer ")
		now := time.Now()
		s.mu.Lock()
		exp, known := s.tokens[tok]
		reject := s.rejectAll
		if reject || !hasBearer || !known || !now.Before(exp) || r.Header.Get("x-app-key") != s.o.AppKey {
			s.unauthorized++
		}
		s.mu.Unlock()
		switch {
		case reject:
			problem(w, http.StatusUnauthorized, "401", "Unauthorized", "the integration user has no access to this environment")
			return
		case !hasBearer || !known:
			problem(w, http.StatusUnauthorized, "401", "Unauthorized", "missing or unknown bearer token")
			return
		case !now.Before(exp):
			problem(w, http.StatusUnauthorized, "401", "Unauthorized", "the bearer token has expired")
			return
		case r.Header.Get("x-app-key") != s.o.AppKey:
			problem(w, http.StatusUnauthorized, "401", "Unauthorized", "missing or unknown x-app-key")
			return
		case r.Header.Get("x-hotelid") == "":
			problem(w, http.StatusBadRequest, "400", "Bad Request", "the header x-hotelid is required")
			return
		case r.PathValue("hotelId") != s.o.Hotel || r.Header.Get("x-hotelid") != s.o.Hotel:
			problem(w, http.StatusForbidden, "403", "Forbidden", "no access to hotel "+r.PathValue("hotelId"))
			return
		}
		s.mu.Lock()
		limited := false
		if s.storm > 0 {
			s.storm--
			limited = true
		} else if s.o.RatePerS > 0 {
			cut := 0
			for cut < len(s.window) && !s.window[cut].After(now.Add(-time.Second)) {
				cut++
			}
			s.window = s.window[cut:]
			if len(s.window) >= s.o.RatePerS {
				limited = true
			} else {
				s.window = append(s.window, now)
			}
		}
		if limited {
			s.throttled++
		}
		s.requests++
		s.mu.Unlock()
		if limited {
			w.Header().Set("Retry-After", "1")
			problem(w, http.StatusTooManyRequests, "429", "Too Many Requests", "the rate limit of this environment is exceeded")
			return
		}
		h(w, r)
	}
}

// reservations is GET /rsv/v1/hotels/{hotelId}/reservations
// (getHotelReservations), searchType InHouse only.
func (s *Sim) reservations(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if st := q.Get("searchType"); st != "InHouse" {
		problem(w, http.StatusBadRequest, "400", "Bad Request", fmt.Sprintf("searchType %q is not simulated: only InHouse", st))
		return
	}
	limit, offset := 20, 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			problem(w, http.StatusBadRequest, "400", "Bad Request", "limit must be a number from 1 to 200")
			return
		}
		limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			problem(w, http.StatusBadRequest, "400", "Bad Request", "offset must be a number from 0")
			return
		}
		offset = n
	}
	s.mu.Lock()
	hold := s.hold
	s.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-r.Context().Done():
			return
		}
	}
	all := s.InHouse()
	if room := q.Get("roomId"); room != "" {
		kept := all[:0]
		for _, x := range all {
			if x.Room == room {
				kept = append(kept, x)
			}
		}
		all = kept
	}
	page := []Reservation{}
	if offset < len(all) {
		page = all[offset:min(offset+limit, len(all))]
	}
	infos := make([]map[string]any, 0, len(page))
	for _, x := range page {
		infos = append(infos, map[string]any{
			"reservationIdList": []map[string]string{{"id": x.ID, "type": "Reservation"}, {"id": "C" + x.ID, "type": "Confirmation"}},
			"roomStay": map[string]any{"roomId": x.Room, "arrivalDate": x.Arrival.Format(time.DateOnly),
				"departureDate": x.Departure.Format(time.DateOnly)},
			"reservationGuest":  map[string]any{"givenName": x.GivenName, "surname": x.Surname},
			"reservationStatus": "InHouse",
			"hotelId":           s.o.Hotel,
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"reservations": map[string]any{
		"reservationInfo": infos, "hasMore": offset+len(page) < len(all), "totalResults": len(all),
		"count": len(page), "offset": offset, "limit": limit}})
}

// The charge request as OHIP's spec declares it (billingCharges), decoded
// strictly: a field it does not declare is refused.
type chargeBody struct {
	Criteria *struct {
		HotelID       string `json:"hotelId"`
		ReservationID *struct {
			ID   string `json:"id"`
			Type string `json:"type"`
		} `json:"reservationId"`
		CashierID json.Number `json:"cashierId"`
		Charges   []struct {
			TransactionCode string `json:"transactionCode"`
			Price           *struct {
				Amount       json.Number `json:"amount"`
				CurrencyCode string      `json:"currencyCode"`
			} `json:"price"`
			PostingQuantity  int    `json:"postingQuantity"`
			PostingReference string `json:"postingReference"`
			PostingRemark    string `json:"postingRemark"`
			CheckNumber      string `json:"checkNumber"`
			FolioWindowNo    int    `json:"folioWindowNo"`
		} `json:"charges"`
	} `json:"criteria"`
}

// charges is POST /csh/v1/hotels/{hotelId}/reservations/{reservationId}/charges
// (postBillingCharges).
func (s *Sim) charges(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.received++
	n := s.received
	var f Fault
	if len(s.faults) > 0 {
		f, s.faults = s.faults[0], s.faults[1:]
	} else if s.chargeFault != nil {
		f = s.chargeFault(n)
	}
	s.notify()
	s.mu.Unlock()

	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		problem(w, http.StatusUnsupportedMediaType, "415", "Unsupported Media Type", "the body must be application/json")
		return
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	var b chargeBody
	if err := dec.Decode(&b); err != nil {
		problem(w, http.StatusBadRequest, "400", "Bad Request", "the body is not a billingCharges request: "+err.Error())
		return
	}
	entries, status, code, detail := s.validate(r.PathValue("reservationId"), &b)
	if status != 0 {
		problem(w, status, code, http.StatusText(status), detail)
		return
	}
	switch f.Kind {
	case LoseBefore:
		drop(w)
		return
	case Status:
		problem(w, f.Status, f.Code, http.StatusText(f.Status), f.Detail)
		return
	case Hold:
		<-r.Context().Done()
		return
	}
	postings := s.book(entries)
	switch f.Kind {
	case LoseAfter:
		drop(w)
		return
	case Slow:
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	writeJSON(w, http.StatusCreated, map[string]any{"postings": postings, "links": []any{}})
}

// validate checks a charge request as OPERA would; status 0 means valid.
func (s *Sim) validate(resID string, b *chargeBody) (out []Charge, status int, code, detail string) {
	c := b.Criteria
	switch {
	case c == nil:
		return nil, 400, "400", "criteria is required"
	case c.HotelID != s.o.Hotel:
		return nil, 400, "400", fmt.Sprintf("criteria.hotelId %q is not the hotel of the path", c.HotelID)
	case c.ReservationID == nil || c.ReservationID.ID != resID:
		return nil, 400, "400", "criteria.reservationId.id must be the reservation of the path"
	case c.CashierID.String() != s.o.CashierID:
		return nil, 403, "CASHIER_NOT_AUTHORIZED", fmt.Sprintf("cashier %q is not the integration user's cashier", c.CashierID)
	case len(c.Charges) == 0:
		return nil, 400, "400", "criteria.charges must hold at least one charge"
	}
	s.mu.Lock()
	res, in := s.res[resID]
	var room string
	if in {
		room = res.Room
	}
	s.mu.Unlock()
	if !in {
		return nil, 404, "RESERVATION_NOT_FOUND", fmt.Sprintf("reservation %s is not in house", resID)
	}
	for i, ch := range c.Charges {
		at := fmt.Sprintf("criteria.charges[%d]", i)
		known := false
		for _, k := range s.o.Codes {
			known = known || k == ch.TransactionCode
		}
		if !known {
			return nil, 400, "INVALID_TRX_CODE", fmt.Sprintf("%s.transactionCode %q is not a revenue transaction code of the hotel", at, ch.TransactionCode)
		}
		if ch.Price == nil {
			return nil, 400, "400", at + ".price is required"
		}
		if ch.Price.CurrencyCode != s.o.Currency {
			return nil, 400, "INVALID_CURRENCY", fmt.Sprintf("%s.price.currencyCode %q is not the hotel's currency %s", at, ch.Price.CurrencyCode, s.o.Currency)
		}
		minor, err := operacloud.ParseAmount(ch.Price.Amount.String(), s.o.Digits)
		if err != nil {
			return nil, 400, "INVALID_AMOUNT", at + ".price." + err.Error()
		}
		if ch.PostingQuantity < 1 {
			return nil, 400, "400", at + ".postingQuantity must be at least 1"
		}
		if len(ch.PostingReference) > 2000 || len(ch.PostingRemark) > 2000 {
			return nil, 400, "400", at + ": postingReference and postingRemark hold at most 2000 characters"
		}
		out = append(out, Charge{Reservation: resID, Room: room, Code: ch.TransactionCode,
			AmountMinor: minor * int64(ch.PostingQuantity), Currency: s.o.Currency,
			Reference: ch.PostingReference, Remark: ch.PostingRemark, Cashier: c.CashierID.String()})
	}
	return out, 0, "", ""
}

// book writes charges to the ledger and returns them as OHIP's postings.
func (s *Sim) book(cs []Charge) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]map[string]any, 0, len(cs))
	for _, c := range cs {
		s.nextTrx++
		c.TransactionNo, c.At = s.nextTrx, time.Now()
		s.ledger = append(s.ledger, c)
		out = append(out, s.postingJSON(c))
	}
	s.notify()
	return out
}

func (s *Sim) postingJSON(c Charge) map[string]any {
	amount, _ := operacloud.FormatAmount(c.AmountMinor, s.o.Digits)
	return map[string]any{"transactionNo": c.TransactionNo, "reference": c.Reference, "remark": c.Remark,
		"transactionCode": c.Code, "price": map[string]any{"amount": json.Number(amount), "currencyCode": c.Currency},
		"transactionDate": c.At.In(s.o.Location).Format(time.DateOnly), "postingDate": c.At.In(s.o.Location).Format(time.DateOnly)}
}

// drop closes the client's connection without an answer.
func drop(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker) // always so over HTTP/1.1; else abort the handler, which also drops the answer
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

// transactions is GET /csh/v1/hotels/{hotelId}/transactions
// (getGuestsTransactions): the postings of reservationList, filtered by
// referenceNumberWildCard (a substring) and startDate … endDate.
func (s *Sim) transactions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ids := q["reservationList"]
	if len(ids) == 0 {
		problem(w, http.StatusBadRequest, "400", "Bad Request", "reservationList is required")
		return
	}
	var start, end time.Time
	var err error
	if v := q.Get("startDate"); v != "" {
		if start, err = time.ParseInLocation(time.DateOnly, v, s.o.Location); err != nil {
			problem(w, http.StatusBadRequest, "400", "Bad Request", "startDate is not a date like 2026-12-06")
			return
		}
	}
	if v := q.Get("endDate"); v != "" {
		if end, err = time.ParseInLocation(time.DateOnly, v, s.o.Location); err != nil {
			problem(w, http.StatusBadRequest, "400", "Bad Request", "endDate is not a date like 2026-12-06")
			return
		}
	}
	if !start.IsZero() && !end.IsZero() && end.Before(start) {
		problem(w, http.StatusBadRequest, "400", "Bad Request", "endDate is before startDate")
		return
	}
	ref := q.Get("referenceNumberWildCard")
	s.mu.Lock()
	defer s.mu.Unlock()
	infos := []map[string]any{}
	for _, id := range ids {
		postings := []map[string]any{}
		for _, c := range s.ledger {
			day, _ := time.ParseInLocation(time.DateOnly, c.At.In(s.o.Location).Format(time.DateOnly), s.o.Location)
			if c.Reservation != id || ref != "" && !strings.Contains(c.Reference, ref) ||
				!start.IsZero() && day.Before(start) || !end.IsZero() && day.After(end) {
				continue
			}
			postings = append(postings, s.postingJSON(c))
		}
		infos = append(infos, map[string]any{
			"reservationInfo": map[string]any{"reservationIdList": []map[string]string{{"id": id, "type": "Reservation"}}},
			"folioWindows":    []map[string]any{{"folioWindowNo": 1, "folios": []map[string]any{{"postings": postings}}}},
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"reservationFolioInformation": infos})
}

// RandomAppKey returns a fresh application key (a version-4 UUID).
func RandomAppKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
