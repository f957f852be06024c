package sim

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"callgate/pms/apaleo"
)

// Handler serves the identity server's token endpoint and the API.
func (s *Sim) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /connect/token", s.token)
	mux.Handle("GET /booking/v1/reservations", s.api(s.reservations))
	mux.Handle("GET /finance/v1/folios", s.api(s.folioList))
	mux.Handle("POST /finance/v1/folio-actions/{folioId}/charges", s.api(s.charge))
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// messages is apaleo's error answer.
func messages(w http.ResponseWriter, status int, msgs ...string) {
	writeJSON(w, status, apaleo.ErrorBody{Messages: msgs})
}

// token is the client-credentials grant (RFC 6749 4.4), client
// authentication by HTTP Basic (form-encoded id and secret) or in the
// form.
func (s *Sim) token(w http.ResponseWriter, r *http.Request) {
	oauthErr := func(code, desc string) {
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusBadRequest, apaleo.OAuthError{Error: code, Description: desc})
	}
	if err := r.ParseForm(); err != nil {
		oauthErr("invalid_request", "the body is not a form")
		return
	}
	id, secret, basic := r.BasicAuth()
	if basic {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != s.o.ClientID || secret != s.o.ClientSecret {
		oauthErr("invalid_client", "")
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "client_credentials" {
		oauthErr("unsupported_grant_type", "")
		return
	}
	tok := newToken()
	s.mu.Lock()
	s.tokens[tok] = time.Now().Add(s.o.TokenLifetime)
	s.issued++
	s.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, apaleo.TokenResponse{AccessToken: tok, ExpiresIn: int(s.o.TokenLifetime / time.Second), TokenType: "Bearer", Scope: "reservations.read folios.read folios.manage"})
}

// api checks the bearer token (401 with WWW-Authenticate and no body, as
// apaleo answers) and the rate (429 with Retry-After), then serves h.
func (s *Sim) api(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.o.Logger.Debug().Str("method", r.Method).Str("path", r.URL.Path).Msg("apaleo sim request")
		auth := r.Header.Get("Authorization")
		tok, ok := strings.CutPrefix(auth, "Bearer ")
		s.mu.Lock()
		exp, known := s.tokens[tok]
		if !ok || !known || time.Now().After(exp) {
			s.refused++
		}
		s.mu.Unlock()
		switch {
		case !ok || !known:
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		case time.Now().After(exp):
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="The token expired"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		s.mu.Lock()
		limited := false
		if s.faults.TooMany > 0 {
			s.faults.TooMany--
			limited = true
		} else if s.o.RequestsPerS > 0 {
			now := time.Now()
			if now.Sub(s.winStart) >= time.Second {
				s.winStart, s.winN = now, 0
			}
			s.winN++
			limited = s.winN > s.o.RequestsPerS
		}
		if limited {
			s.limited++
		}
		s.mu.Unlock()
		if limited {
			w.Header().Set("Retry-After", strconv.Itoa(s.o.RetryAfterS))
			messages(w, http.StatusTooManyRequests, "Too many requests. Retry after "+strconv.Itoa(s.o.RetryAfterS)+" seconds.")
			return
		}
		h(w, r)
	})
}

// list reads a query parameter given as a comma-separated list or
// repeated.
func list(q url.Values, key string) []string {
	var out []string
	for _, v := range q[key] {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// paging reads pageNumber and pageSize (1-based; defaults 1 and all).
func paging(q url.Values) (number, size int, msg string) {
	number, size = 1, 0
	for _, p := range []struct {
		key string
		v   *int
	}{{"pageNumber", &number}, {"pageSize", &size}} {
		if s := q.Get(p.key); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 {
				return 0, 0, fmt.Sprintf("The value '%s' is not valid for %s.", s, p.key)
			}
			*p.v = n
		}
	}
	return number, size, ""
}

var reservationStatuses = []string{"Confirmed", "InHouse", "CheckedOut", "Canceled", "NoShow"}

func (s *Sim) reservations(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	statuses := list(q, "status")
	for _, st := range statuses {
		if !slices.Contains(reservationStatuses, st) {
			messages(w, http.StatusBadRequest, fmt.Sprintf("The value '%s' is not valid for status.", st))
			return
		}
	}
	number, size, msg := paging(q)
	if msg != "" {
		messages(w, http.StatusBadRequest, msg)
		return
	}
	s.mu.Lock()
	holdIt := s.faults.HoldListings
	s.listings++
	s.changedLocked()
	s.mu.Unlock()
	if holdIt {
		_ = s.hold(r)
		return
	}
	props, units := list(q, "propertyIds"), list(q, "unitIds")
	s.mu.Lock()
	var out []apaleo.Reservation
	for _, rv := range s.res {
		unitID := s.unitIDLocked(rv.room)
		if (len(props) > 0 && !slices.Contains(props, s.o.Property)) ||
			(len(statuses) > 0 && !slices.Contains(statuses, rv.status)) ||
			(len(units) > 0 && !slices.Contains(units, unitID)) {
			continue
		}
		out = append(out, apaleo.Reservation{ID: rv.id, BookingID: strings.Split(rv.id, "-")[0], Status: rv.status,
			Property: apaleo.Embedded{ID: s.o.Property}, Unit: &apaleo.Unit{ID: unitID, Name: rv.room},
			Arrival: rv.arrival, Departure: rv.departure, CheckInTime: rv.checkIn.Format(time.RFC3339),
			PrimaryGuest: &apaleo.Guest{FirstName: rv.firstName, LastName: rv.lastName}})
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b apaleo.Reservation) int { return strings.Compare(a.ID, b.ID) })
	total := len(out)
	if size > 0 {
		from := min((number-1)*size, total)
		out = out[from:min(from+size, total)]
	}
	if len(out) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, http.StatusOK, apaleo.ReservationList{Reservations: out, Count: total})
}

var folioTypes = []string{"Guest", "External", "Booking"}

func (s *Sim) folioList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	typ := q.Get("type")
	if typ != "" && !slices.Contains(folioTypes, typ) {
		messages(w, http.StatusBadRequest, fmt.Sprintf("The value '%s' is not valid for type.", typ))
		return
	}
	ids := list(q, "reservationIds")
	s.mu.Lock()
	var out []apaleo.Folio
	for _, f := range s.folios {
		if len(ids) > 0 && !slices.Contains(ids, f.reservation) || typ != "" && typ != "Guest" {
			continue
		}
		actions := []string{"AddPayment"}
		if !f.closed {
			actions = []string{"AddCharge", "AddAllowance", "AddPayment", "Close"}
		}
		out = append(out, apaleo.Folio{ID: f.id, Type: "Guest", Reservation: &apaleo.Embedded{ID: f.reservation}, IsMainFolio: strings.HasSuffix(f.id, "-1"), AllowedActions: actions})
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b apaleo.Folio) int { return strings.Compare(a.ID, b.ID) })
	if len(out) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, http.StatusOK, apaleo.FolioList{Folios: out, Count: len(out)})
}

// charge books a charge on a folio. The same Idempotency-Key with the same
// body answers the first result and books nothing; with another body it
// is refused (422); while the first is still running, 409.
func (s *Sim) charge(w http.ResponseWriter, r *http.Request) {
	folioID := r.PathValue("folioId")
	key := r.Header.Get("Idempotency-Key")
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	s.mu.Lock()
	s.received++
	f := s.faults
	fail := f.Status != 0
	if fail {
		if s.faults.Times <= 1 {
			s.faults.Status, s.faults.Messages, s.faults.Times = 0, nil, 0
		} else {
			s.faults.Times--
		}
	}
	s.changedLocked()
	s.mu.Unlock()
	if f.Hold {
		_ = s.hold(r)
		return
	}
	if fail {
		msgs := f.Messages
		if len(msgs) == 0 {
			msgs = []string{http.StatusText(f.Status)}
		}
		if f.Status == http.StatusTooManyRequests || f.Status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", strconv.Itoa(s.o.RetryAfterS))
		}
		messages(w, f.Status, msgs...)
		return
	}
	if r.Header.Get("Content-Type") != "" && !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		messages(w, http.StatusUnsupportedMediaType, "The request body must be application/json.")
		return
	}
	if len(key) > 255 {
		messages(w, http.StatusBadRequest, "The Idempotency-Key header is longer than 255 characters.")
		return
	}
	var c apaleo.ChargeRequest
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(&c); err != nil {
		messages(w, http.StatusBadRequest, "The request body is not valid JSON: "+err.Error())
		return
	}
	minor, msgs := s.validate(c)
	if len(msgs) > 0 {
		messages(w, http.StatusUnprocessableEntity, msgs...)
		return
	}
	sum := sha256.Sum256(append([]byte(folioID+"\n"), body...))
	hash := hex.EncodeToString(sum[:])

	s.mu.Lock()
	if key != "" {
		if st, ok := s.keys[key]; ok {
			s.mu.Unlock()
			if st.hash != hash {
				messages(w, http.StatusUnprocessableEntity, "The Idempotency-Key '"+key+"' was already used with a different request.")
				return
			}
			s.answer(w, st.id)
			return
		}
		if s.inflight[key] {
			s.mu.Unlock()
			messages(w, http.StatusConflict, "A request with the Idempotency-Key '"+key+"' is still being processed.")
			return
		}
	}
	fo, ok := s.folios[folioID]
	if !ok {
		s.mu.Unlock()
		messages(w, http.StatusNotFound, "Folio with id '"+folioID+"' not found.")
		return
	}
	if fo.closed {
		s.mu.Unlock()
		messages(w, http.StatusUnprocessableEntity, "The folio '"+folioID+"' is closed: charges cannot be added.")
		return
	}
	lose := 0 // 1 after booking, 2 before
	if f.LoseEvery > 0 {
		s.seen++
		if s.seen%f.LoseEvery == 0 {
			s.lost++
			lose = 2 - s.lost%2
		}
	}
	if lose == 2 {
		s.mu.Unlock()
		drop(w)
		return
	}
	if key != "" {
		s.inflight[key] = true
	}
	s.seq++
	id := fmt.Sprintf("%s-C%d", folioID, s.seq)
	rv := s.res[fo.reservation]
	s.ledger = append(s.ledger, Charge{ID: id, FolioID: folioID, Reservation: fo.reservation, Room: rv.room, Key: key,
		ServiceType: c.ServiceType, VatType: c.VatType, SubAccountID: c.SubAccountID, Name: c.Name, Receipt: c.Receipt,
		AmountMinor: minor, Currency: c.Amount.Currency, Quantity: c.Quantity, At: time.Now()})
	s.changedLocked()
	s.mu.Unlock()
	s.o.Logger.Info().Str("charge", id).Str("room", rv.room).Str("amount", c.Amount.Amount.String()).Str("currency", c.Amount.Currency).
		Str("key", key).Msg("apaleo sim: charge booked")
	if f.Slow > 0 {
		t := time.NewTimer(f.Slow)
		select {
		case <-t.C:
		case <-r.Context().Done():
		case <-s.stop:
		}
		t.Stop()
	}
	s.mu.Lock()
	if key != "" {
		delete(s.inflight, key)
		s.keys[key] = stored{hash: hash, id: id}
	}
	s.mu.Unlock()
	if lose == 1 {
		drop(w)
		return
	}
	s.answer(w, id)
}

func (s *Sim) answer(w http.ResponseWriter, id string) {
	w.Header().Set("Location", "/finance/v1/charges/"+id)
	writeJSON(w, http.StatusCreated, apaleo.ChargeResponse{ID: id})
}

// drop closes the connection without an answer: the client never learns
// what happened. Where the connection cannot be taken over (a handler
// served without a server, HTTP/2), it answers 504 with no body instead,
// as a proxy that lost the answer would.
func drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	w.WriteHeader(http.StatusGatewayTimeout)
}

var (
	serviceTypes = []string{"Other", "Accommodation", "FoodAndBeverages"}
	vatTypes     = []string{"Null", "VeryReduced", "Reduced", "Normal", "Without", "Special", "ReducedCovid", "NormalCovid"}
)

// validate checks a charge as apaleo does and returns its amount in minor
// units, or the messages of a 422.
func (s *Sim) validate(c apaleo.ChargeRequest) (int64, []string) {
	var msgs []string
	if !slices.Contains(serviceTypes, c.ServiceType) {
		msgs = append(msgs, fmt.Sprintf("The value '%s' is not valid for serviceType.", c.ServiceType))
	}
	if !slices.Contains(vatTypes, c.VatType) {
		msgs = append(msgs, fmt.Sprintf("The value '%s' is not valid for vatType.", c.VatType))
	}
	if strings.TrimSpace(c.Name) == "" {
		msgs = append(msgs, "The name field is required.")
	}
	if c.Quantity < 1 {
		msgs = append(msgs, "The quantity must be at least 1.")
	}
	var minor int64
	switch {
	case c.Amount.Currency == "":
		msgs = append(msgs, "The amount.currency field is required.")
	case c.Amount.Currency != s.o.Currency:
		msgs = append(msgs, fmt.Sprintf("The currency '%s' does not match the property's currency '%s'.", c.Amount.Currency, s.o.Currency))
	default:
		v, err := apaleo.ParseAmount(c.Amount.Amount.String(), digitsOf(s.o.Currency))
		if err != nil {
			msgs = append(msgs, "The amount.amount is not valid: "+err.Error())
		}
		minor = v
	}
	return minor, msgs
}
