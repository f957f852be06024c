package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"callgate/pms/apaleo"
)

// token gets an access token from s's identity server, through the handler.
func token(t testing.TB, s *Sim) string {
	t.Helper()
	req := httptest.NewRequest("POST", "/connect/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("callgate", "sim-secret")
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, req)
	tok, err := apaleo.DecodeToken(w.Body.Bytes())
	if w.Code != 200 || err != nil {
		t.Fatalf("token: %d %s %v", w.Code, w.Body, err)
	}
	return tok.AccessToken
}

func call(s *Sim, tok, method, target string, body []byte, key string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, req)
	return w
}

func newSim(t testing.TB) *Sim {
	t.Helper()
	s, err := New(Options{Occupied: []string{"101"}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestChargeValidation posts the recorded charge bodies: the good one is
// booked (201 {id}), the others get apaleo's statuses and
// {"messages": […]}, booking nothing.
func TestChargeValidation(t *testing.T) {
	for _, tc := range []struct {
		file   string
		status int
		msg    string
	}{
		{"charge-request.json", 201, ""},
		{"charge-request-float.json", 422, "more than 2 decimals"},
		{"charge-request-currency.json", 422, "does not match the property's currency"},
		{"charge-request-missing.json", 422, "serviceType"},
		{"charge-request-broken.json", 400, "not valid JSON"},
	} {
		s := newSim(t)
		body, err := os.ReadFile(filepath.Join("..", "testdata", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		w := call(s, token(t, s), "POST", "/finance/v1/folio-actions/SIM0001-1-1/charges", body, "K1")
		if w.Code != tc.status {
			t.Errorf("%s: %d %s", tc.file, w.Code, w.Body)
			continue
		}
		if tc.status == 201 {
			c, err := apaleo.DecodeCharge(w.Body.Bytes())
			if err != nil || len(s.Ledger()) != 1 || s.Ledger()[0].ID != c.ID || s.Ledger()[0].AmountMinor != 539 {
				t.Errorf("%s: %s %v %+v", tc.file, w.Body, err, s.Ledger())
			}
			continue
		}
		if got := apaleo.ErrorText(w.Code, w.Body.Bytes()); !strings.Contains(got, tc.msg) || len(s.Ledger()) != 0 {
			t.Errorf("%s: %q, want %q; ledger %+v", tc.file, got, tc.msg, s.Ledger())
		}
	}
}

// TestIdempotencyKey: the same key and body answer the first result and
// book nothing new; another body with the key is refused (422); another
// folio is not found (404); a closed folio refuses charges (422).
func TestIdempotencyKey(t *testing.T) {
	s := newSim(t)
	tok := token(t, s)
	body, _ := os.ReadFile(filepath.Join("..", "testdata", "charge-request.json"))
	const path = "/finance/v1/folio-actions/SIM0001-1-1/charges"
	first := call(s, tok, "POST", path, body, "K1")
	again := call(s, tok, "POST", path, body, "K1")
	if first.Code != 201 || again.Code != 201 || first.Body.String() != again.Body.String() || len(s.Ledger()) != 1 {
		t.Errorf("same key: %d %s / %d %s, ledger %d", first.Code, first.Body, again.Code, again.Body, len(s.Ledger()))
	}
	other := bytes.Replace(body, []byte("5.39"), []byte("5.40"), 1)
	if w := call(s, tok, "POST", path, other, "K1"); w.Code != 422 || !strings.Contains(w.Body.String(), "different request") {
		t.Errorf("key with another body: %d %s", w.Code, w.Body)
	}
	if w := call(s, tok, "POST", path, body, "K2"); w.Code != 201 || len(s.Ledger()) != 2 {
		t.Errorf("another key: %d %s", w.Code, w.Body)
	}
	if w := call(s, tok, "POST", "/finance/v1/folio-actions/NOPE-1/charges", body, "K3"); w.Code != 404 {
		t.Errorf("unknown folio: %d %s", w.Code, w.Body)
	}
	if err := s.CheckOut("SIM0001-1"); err != nil {
		t.Fatal(err)
	}
	if w := call(s, tok, "POST", path, body, "K4"); w.Code != 422 {
		t.Errorf("closed folio: %d %s", w.Code, w.Body)
	}
}

// TestAuth: no token, an unknown one and an expired one get 401 with
// WWW-Authenticate and no body; wrong credentials or grant get the OAuth
// error shape.
func TestAuth(t *testing.T) {
	s := newSim(t)
	tok := token(t, s)
	for _, tk := range []string{"", "unknown"} {
		if w := call(s, tk, "GET", "/booking/v1/reservations", nil, ""); w.Code != 401 || w.Body.Len() != 0 || w.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("token %q: %d %q", tk, w.Code, w.Body)
		}
	}
	s.ExpireTokens()
	if w := call(s, tok, "GET", "/booking/v1/reservations", nil, ""); w.Code != 401 || !strings.Contains(w.Header().Get("WWW-Authenticate"), "expired") {
		t.Errorf("expired: %d %v", w.Code, w.Header())
	}
	for _, tc := range []struct{ form, id, secret, want string }{
		{"grant_type=client_credentials", "callgate", "wrong", "invalid_client"},
		{"grant_type=password", "callgate", "sim-secret", "unsupported_grant_type"},
	} {
		req := httptest.NewRequest("POST", "/connect/token", strings.NewReader(tc.form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(tc.id, tc.secret)
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, req)
		var e apaleo.OAuthError
		if w.Code != 400 || json.Unmarshal(w.Body.Bytes(), &e) != nil || e.Error != tc.want {
			t.Errorf("%s: %d %s", tc.want, w.Code, w.Body)
		}
	}
}

// TestListings: filters, paging, 204 for nothing, 400 for a bad value, and
// the rate limit's 429 with Retry-After.
func TestListings(t *testing.T) {
	s := newSim(t)
	_ = s.CheckIn("102", "R2", "Two")
	_ = s.CheckIn("103", "R3", "Three")
	_ = s.CheckOut("R3")
	tok := token(t, s)
	q := url.Values{"propertyIds": {"MUC"}, "status": {"InHouse"}}
	w := call(s, tok, "GET", "/booking/v1/reservations?"+q.Encode(), nil, "")
	l, err := apaleo.DecodeReservations(w.Body.Bytes())
	if w.Code != 200 || err != nil || l.Count != 2 || len(l.Reservations) != 2 {
		t.Errorf("in house: %d %s", w.Code, w.Body)
	}
	q.Set("pageSize", "1")
	q.Set("pageNumber", "2")
	w = call(s, tok, "GET", "/booking/v1/reservations?"+q.Encode(), nil, "")
	if l, _ := apaleo.DecodeReservations(w.Body.Bytes()); len(l.Reservations) != 1 || l.Count != 2 || l.Reservations[0].ID != "SIM0001-1" {
		t.Errorf("page 2: %s", w.Body)
	}
	if w := call(s, tok, "GET", "/booking/v1/reservations?unitIds=MUC-U999&status=InHouse", nil, ""); w.Code != 204 || w.Body.Len() != 0 {
		t.Errorf("nobody: %d %s", w.Code, w.Body)
	}
	if w := call(s, tok, "GET", "/booking/v1/reservations?status=Sleeping", nil, ""); w.Code != 400 {
		t.Errorf("bad status: %d %s", w.Code, w.Body)
	}
	w = call(s, tok, "GET", "/finance/v1/folios?reservationIds=R3&type=Guest", nil, "")
	if f, err := apaleo.DecodeFolios(w.Body.Bytes()); err != nil || len(f.Folios) != 1 || len(f.Folios[0].AllowedActions) != 1 {
		t.Errorf("closed folio: %s %v", w.Body, err)
	}
	s.SetFaults(Faults{TooMany: 1})
	if w := call(s, tok, "GET", "/finance/v1/folios", nil, ""); w.Code != 429 || w.Header().Get("Retry-After") != "1" {
		t.Errorf("storm: %d %v", w.Code, w.Header())
	}
}

// FuzzCharge: no body makes the charge endpoint panic or book a charge
// without an exact amount in the property's currency.
func FuzzCharge(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "charge-request*.json"))
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	s := newSim(f)
	tok := token(f, s)
	f.Fuzz(func(t *testing.T, body []byte) {
		before := len(s.Ledger())
		w := call(s, tok, "POST", "/finance/v1/folio-actions/SIM0001-1-1/charges", body, "")
		switch w.Code {
		case 201:
			led := s.Ledger()
			if len(led) != before+1 || led[len(led)-1].Currency != "EUR" || led[len(led)-1].Quantity < 1 {
				t.Errorf("booked %s as %+v", body, led[len(led)-1])
			}
		case 400, 422:
			if len(s.Ledger()) != before {
				t.Errorf("refused %s yet booked", body)
			}
		default:
			t.Errorf("%s: %d", body, w.Code)
		}
	})
}

// TestRun serves on loopback until its ctx ends, and a link-shaped client
// gets a token and the in-house list from it.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	go func() { done <- Run(ctx, Options{Rooms: []string{"101", "102"}, Occupied: []string{"101"}}, addr) }()
	var resp *http.Response
	for try := 0; try < 100; try++ { // until it listens
		resp, err = http.PostForm("http://"+addr+"/connect/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"callgate"}, "client_secret": {"sim-secret"}})
		if err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	var tok apaleo.TokenResponse
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	req, _ := http.NewRequest("GET", "http://"+addr+"/booking/v1/reservations?status=InHouse", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var l apaleo.ReservationList
	_ = json.NewDecoder(resp.Body).Decode(&l)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(l.Reservations) != 1 || l.Reservations[0].Unit.Name != "101" {
		t.Errorf("%d %+v", resp.StatusCode, l)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not end with its ctx")
	}
}
