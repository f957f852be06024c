package sim

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func start(t testing.TB, o Options) *Sim {
	t.Helper()
	s, err := Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// token asks s for a token with its own credentials.
func token(t testing.TB, s *Sim) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/oauth/v1/tokens",
		strings.NewReader(url.Values{"grant_type": {"client_credentials"}, "scope": {"s"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("x-app-key", s.o.AppKey)
	req.SetBasicAuth(s.o.ClientID, s.o.ClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
		TokenType   string `json:"token_type"`
	}
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&a) != nil || a.AccessToken == "" || a.TokenType != "Bearer" || a.ExpiresIn != 3600 {
		t.Fatalf("token: %d %+v", resp.StatusCode, a)
	}
	return a.AccessToken
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
}

func call(t testing.TB, s *Sim, method, path, tok, body string, hdr map[string]string) answer {
	t.Helper()
	var rd *strings.Reader
	if body != "" {
		rd = strings.NewReader(body)
	} else {
		rd = strings.NewReader("")
	}
	req, _ := http.NewRequest(method, s.URL()+path, rd)
	req.Header.Set("authorization", "Bearer "+tok)
	req.Header.Set("x-app-key", s.o.AppKey)
	req.Header.Set("x-hotelid", s.o.Hotel)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, header: resp.Header}
	_ = json.NewDecoder(resp.Body).Decode(&a.body)
	return a
}

const chargePath = "/csh/v1/hotels/HOTEL1/reservations/123456/charges"

// TestChargeValidation: charge requests from testdata, each answered as
// OPERA would: booked (201) or refused in OHIP's error shape with the
// status and o:errorCode; a refused request books nothing.
func TestChargeValidation(t *testing.T) {
	s := start(t, Options{})
	s.CheckIn("101", "123456", "Guest")
	tok := token(t, s)
	for _, c := range []struct {
		file   string
		status int
		code   string
	}{
		{"charge_ok.json", 201, ""},
		{"charge_unknown_field.json", 400, "400"},
		{"charge_decimals.json", 400, "INVALID_AMOUNT"},
		{"charge_currency.json", 400, "INVALID_CURRENCY"},
		{"charge_code.json", 400, "INVALID_TRX_CODE"},
		{"charge_cashier.json", 403, "CASHIER_NOT_AUTHORIZED"},
		{"charge_no_criteria.json", 400, "400"},
		{"charge_other_reservation.json", 400, "400"},
		{"charge_broken.json", 400, "400"},
	} {
		body, err := os.ReadFile(filepath.Join("testdata", c.file))
		if err != nil {
			t.Fatal(err)
		}
		before := len(s.Ledger())
		a := call(t, s, http.MethodPost, chargePath, tok, string(body), nil)
		if a.status != c.status {
			t.Errorf("%s: %d %v", c.file, a.status, a.body)
			continue
		}
		if c.status != 201 {
			if a.body["o:errorCode"] != c.code || a.body["title"] == "" || a.body["detail"] == "" || a.body["status"] != float64(c.status) {
				t.Errorf("%s: error body %v", c.file, a.body)
			}
			if len(s.Ledger()) != before {
				t.Errorf("%s: booked", c.file)
			}
		}
	}
	led := s.Ledger()
	if len(led) != 1 || led[0].AmountMinor != 539 || led[0].Reference != "CG-HOTEL1-4711" || led[0].Room != "101" {
		t.Errorf("ledger %+v", led)
	}
}

// TestNoDuplicateProtection: like OHIP, the same request twice is two
// charges.
func TestNoDuplicateProtection(t *testing.T) {
	s := start(t, Options{})
	s.CheckIn("101", "123456", "Guest")
	tok := token(t, s)
	body, _ := os.ReadFile(filepath.Join("testdata", "charge_ok.json"))
	for i := 0; i < 2; i++ {
		if a := call(t, s, http.MethodPost, chargePath, tok, string(body), nil); a.status != 201 {
			t.Fatalf("%d %v", a.status, a.body)
		}
	}
	if n := len(s.Ledger()); n != 2 {
		t.Errorf("%d charges", n)
	}
	s.CheckOut("123456")
	if a := call(t, s, http.MethodPost, chargePath, tok, string(body), nil); a.status != 404 || a.body["o:errorCode"] != "RESERVATION_NOT_FOUND" {
		t.Errorf("after check-out: %d %v", a.status, a.body)
	}
}

// TestAuthAndHeaders: a missing, unknown or expired token is 401 in OHIP's
// shape; a missing x-hotelid is 400, another hotel 403.
func TestAuthAndHeaders(t *testing.T) {
	s := start(t, Options{})
	tok := token(t, s)
	path := "/rsv/v1/hotels/HOTEL1/reservations?searchType=InHouse"
	for _, c := range []struct {
		name   string
		path   string
		tok    string
		hdr    map[string]string
		status int
	}{
		{"ok", path, tok, nil, 200},
		{"no token", path, "", nil, 401},
		{"unknown token", path, "nope", nil, 401},
		{"no app key", path, tok, map[string]string{"x-app-key": ""}, 401},
		{"no hotel header", path, tok, map[string]string{"x-hotelid": ""}, 400},
		{"other hotel", "/rsv/v1/hotels/OTHER/reservations?searchType=InHouse", tok, nil, 403},
		{"search type", "/rsv/v1/hotels/HOTEL1/reservations?searchType=Arrival", tok, nil, 400},
		{"bad limit", path + "&limit=0", tok, nil, 400},
		{"transactions without reservations", "/csh/v1/hotels/HOTEL1/transactions", tok, nil, 400},
		{"bad dates", "/csh/v1/hotels/HOTEL1/transactions?reservationList=1&startDate=2026-12-06&endDate=2026-12-01", tok, nil, 400},
		{"unknown operation", "/fof/v1/hotels/HOTEL1/wakeUpCalls", tok, nil, 404},
	} {
		a := call(t, s, http.MethodGet, c.path, c.tok, "", c.hdr)
		if a.status != c.status {
			t.Errorf("%s: %d %v", c.name, a.status, a.body)
		} else if c.status != 200 && a.body["title"] == nil {
			t.Errorf("%s: no OHIP error body: %v", c.name, a.body)
		}
	}
	s.ExpireTokens()
	if a := call(t, s, http.MethodGet, path, tok, "", nil); a.status != 401 || !strings.Contains(a.body["detail"].(string), "expired") {
		t.Errorf("expired: %d %v", a.status, a.body)
	}
}

// TestRateLimit: the 51st request within a second is 429 with
// Retry-After; a storm answers 429 to the next requests.
func TestRateLimit(t *testing.T) {
	s := start(t, Options{RatePerS: 5})
	tok := token(t, s)
	path := "/rsv/v1/hotels/HOTEL1/reservations?searchType=InHouse"
	limited := 0
	for i := 0; i < 6; i++ {
		a := call(t, s, http.MethodGet, path, tok, "", nil)
		if a.status == 429 {
			limited++
			if a.header.Get("Retry-After") != "1" || a.body["o:errorCode"] != "429" {
				t.Errorf("429 without Retry-After or body: %v %v", a.header, a.body)
			}
		}
	}
	if limited != 1 {
		t.Errorf("%d requests limited of 6 at 5/s", limited)
	}
}

// TestTransactions: the lookup operation lists a reservation's postings
// filtered by reference.
func TestTransactions(t *testing.T) {
	s := start(t, Options{})
	s.CheckIn("101", "123456", "Guest")
	tok := token(t, s)
	body, _ := os.ReadFile(filepath.Join("testdata", "charge_ok.json"))
	if a := call(t, s, http.MethodPost, chargePath, tok, string(body), nil); a.status != 201 {
		t.Fatal(a)
	}
	today := time.Now().UTC().Format(time.DateOnly)
	for ref, n := range map[string]int{"CG-HOTEL1-4711": 1, "HOTEL1": 1, "OTHER": 0} {
		a := call(t, s, http.MethodGet, "/csh/v1/hotels/HOTEL1/transactions?reservationList=123456&referenceNumberWildCard="+ref+"&startDate="+today+"&endDate="+today, tok, "", nil)
		b, _ := json.Marshal(a.body)
		if a.status != 200 || strings.Count(string(b), `"transactionNo"`) != n {
			t.Errorf("%s: %d %s", ref, a.status, b)
		}
	}
}

func TestParseRooms(t *testing.T) {
	got, err := ParseRooms("101-103, 0201-0202,PH1")
	if err != nil || strings.Join(got, " ") != "101 102 103 0201 0202 PH1" {
		t.Errorf("%v %v", got, err)
	}
	for _, bad := range []string{"", "103-101", "a-b", " , "} {
		if _, err := ParseRooms(bad); err == nil {
			t.Errorf("%q", bad)
		}
	}
}

// TestRun: Run serves until ctx ends with a guest in each room.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out strings.Builder
	done := make(chan error, 1)
	go func() { done <- Run(ctx, RunConfig{Listen: "127.0.0.1:0", Rooms: "101-103", Out: &out}) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not end")
	}
	if !strings.Contains(out.String(), "3 rooms in house") {
		t.Errorf("%q", out.String())
	}
	if err := Run(context.Background(), RunConfig{Rooms: "x-y"}); err == nil {
		t.Error("bad rooms accepted")
	}
}

// FuzzCharge: no charge body breaks the simulator; whatever it books has
// a known code, the hotel's currency and a positive quantity.
func FuzzCharge(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	s := start(f, Options{RatePerS: -1})
	s.CheckIn("101", "123456", "Guest")
	tok := token(f, s)
	f.Fuzz(func(t *testing.T, body []byte) {
		a := call(t, s, http.MethodPost, chargePath, tok, string(body), nil)
		if a.status != 201 && (a.status < 400 || a.status > 499 || a.body["title"] == nil) {
			t.Fatalf("%d %v", a.status, a.body)
		}
		for _, c := range s.Ledger() {
			if c.Currency != "USD" || c.Code == "" {
				t.Fatalf("booked %+v", c)
			}
		}
	})
}
