package operacloud

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"callgate/gateway"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// canonical re-encodes JSON so that two documents compare by content.
func canonical(t testing.TB, b []byte) string {
	t.Helper()
	var v any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		t.Fatalf("%v in %s", err, b)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

// TestEncodeCharge: the charge body is postBillingCharges' billingCharges
// as recorded in testdata (field names and nesting from csh.json).
func TestEncodeCharge(t *testing.T) {
	p := gateway.PostRequest{Number: 4711, Room: "101", AmountMinor: 539, Currency: "USD", DurationS: 130,
		Dialed: "011441632960123", Class: "international", Destination: " United Kingdom\t", Reference: "CG-HOTEL1-4711"}
	b, err := encodeCharge("HOTEL1", "1001", "123456", "9100", p, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := canonical(t, b), canonical(t, readTestdata(t, "charge_request.json")); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if strings.Contains(string(b), "4416") {
		t.Error("the number dialed is in the charge")
	}
}

func TestRemark(t *testing.T) {
	for _, c := range []struct {
		dest string
		dur  int
		want string
	}{
		{"London", 65, "Call London 1:05"},
		{"", 0, "Call 0:00"},
		{"Mobile\x00\x1b[31m", 3725, "Call Mobile[31m 1:02:05"},
		{strings.Repeat("é", 30), 1, "Call " + strings.Repeat("é", 20) + " 0:01"},
		{"X", -5, "Call X 0:00"},
	} {
		if got := remark(gateway.PostRequest{Destination: c.dest, DurationS: c.dur}); got != c.want {
			t.Errorf("%q %d: %q, want %q", c.dest, c.dur, got, c.want)
		}
	}
}

// TestDecodeCharge: the transaction number of our posting in
// billingChargesDetails; an empty 201 is still booked.
func TestDecodeCharge(t *testing.T) {
	for _, c := range []struct {
		body, ref, want string
		err             bool
	}{
		{string(readTestdata(t, "charge_answer.json")), "CG-HOTEL1-4711", "5000123", false},
		{string(readTestdata(t, "charge_answer.json")), "OTHER", "5000123", false},
		{"", "X", "", false},
		{`{"links":[]}`, "X", "", false},
		{`{"postings":`, "X", "", true},
	} {
		got, err := decodeCharge([]byte(c.body), c.ref)
		if got != c.want || (err != nil) != c.err {
			t.Errorf("%.40q: %q %v", c.body, got, err)
		}
	}
}

// TestDecodeTransactions: a lookup finds exactly our reference (not one
// it is a prefix of) anywhere in the folio windows.
func TestDecodeTransactions(t *testing.T) {
	for _, c := range []struct {
		file, ref string
		found     bool
		trx       string
	}{
		{"transactions_found.json", "CG-HOTEL1-4711", true, "5000123"},
		{"transactions_found.json", "CG-HOTEL1-47110", true, "5000120"},
		{"transactions_absent.json", "CG-HOTEL1-4711", false, ""},
		{"transactions_found.json", "CG-HOTEL1-471", false, ""},
	} {
		p, found, err := decodeTransactions(readTestdata(t, c.file), c.ref)
		if err != nil || found != c.found || string(p.TransactionNo) != c.trx {
			t.Errorf("%s %s: %+v %v %v", c.file, c.ref, p, found, err)
		}
	}
	if _, found, err := decodeTransactions(nil, "X"); found || err != nil {
		t.Error("an empty answer (204)")
	}
	if _, _, err := decodeTransactions([]byte("[1,2]"), "X"); err == nil {
		t.Error("no error for a list")
	}
}

// TestDecodeReservations: the in-house stays with a room, the reservation
// id of type Reservation, the guest's data, and hasMore.
func TestDecodeReservations(t *testing.T) {
	stays, more, err := decodeReservations(readTestdata(t, "reservations_inhouse.json"))
	if err != nil || !more || len(stays) != 2 {
		t.Fatalf("%+v %v %v", stays, more, err)
	}
	a := stays[0]
	want := gateway.Guest{Room: "0101", Reservation: "123456", LastName: "Lovelace", FirstName: "Ada", Title: "Ms",
		Language: "E", VIP: "V1", Arrival: time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC), Departure: time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)}
	if a.ID != "123456" || a.Guest != want {
		t.Errorf("first %+v", a)
	}
	if b := stays[1]; b.ID != "123457" || b.Guest.Room != "102" {
		t.Errorf("second (due out) %+v", b)
	}
	if s, more, err := decodeReservations([]byte(`{"reservations":{"hasMore":false}}`)); len(s) != 0 || more || err != nil {
		t.Error("no reservations")
	}
	if _, more, _ := decodeReservations([]byte(`{"reservations":{"reservationInfo":[],"hasMore":true}}`)); more {
		t.Error("an empty page with hasMore asks for more")
	}
	if _, _, err := decodeReservations([]byte(`{"reservations":[]}`)); err == nil {
		t.Error("no error for a wrong shape")
	}
}

// TestDecodeProblem: OHIP's exceptionDetailType, an OAuth error, and an
// HTML page from a proxy each give a code and one clean sentence.
func TestDecodeProblem(t *testing.T) {
	for _, c := range []struct {
		file       string
		status     int
		code, text string
	}{
		{"error_problem.json", 400, "INVALID_TRX_CODE", "Transaction code 9999 is not valid for this property."},
		{"error_oauth.json", 401, "invalid_client", "Client authentication failed"},
		{"error_html.txt", 502, "502", "HTTP 502"},
	} {
		code, text := decodeProblem(c.status, readTestdata(t, c.file))
		if code != c.code || text != c.text {
			t.Errorf("%s: %q %q", c.file, code, text)
		}
	}
	if code, text := decodeProblem(400, []byte(`{"title":"Bad Request","status":"400"}`)); code != "400" || text != "Bad Request" {
		t.Errorf("status as a string: %q %q", code, text)
	}
	if code, text := decodeProblem(503, []byte("  upstream\n down ")); code != "503" || text != "upstream down" {
		t.Errorf("plain text: %q %q", code, text)
	}
}

// TestDecodeToken: OAuth2TokenResponse as recorded, and its faults.
func TestDecodeToken(t *testing.T) {
	for _, c := range []struct {
		body string
		tok  string
		life time.Duration
		err  bool
	}{
		{string(readTestdata(t, "token.json")), "eyJ4NXQjUzI1NiI6Ik9", time.Hour, false},
		{`{"access_token":"a","expires_in":120}`, "a", 2 * time.Minute, false},
		{`{"access_token":"a","expires_in":0}`, "a", time.Hour, false},
		{`{"access_token":"a","expires_in":999999999}`, "a", time.Hour, false},
		{`{"access_token":"a","token_type":"MAC"}`, "", 0, true},
		{`{"expires_in":3600}`, "", 0, true},
		{`<html>`, "", 0, true},
	} {
		tok, life, err := decodeToken([]byte(c.body))
		if tok != c.tok || life != c.life || (err != nil) != c.err {
			t.Errorf("%.40q: %q %v %v", c.body, tok, life, err)
		}
	}
}

func TestAmounts(t *testing.T) {
	for _, c := range []struct {
		minor  int64
		digits int
		text   string
	}{
		{539, 2, "5.39"}, {5, 2, "0.05"}, {0, 2, "0.00"}, {-539, 2, "-5.39"}, {1234, 0, "1234"},
		{1, 3, "0.001"}, {-9223372036854775808, 2, "-92233720368547758.08"}, {9223372036854775807, 0, "9223372036854775807"},
	} {
		got, err := FormatAmount(c.minor, c.digits)
		if err != nil || got != c.text {
			t.Errorf("format %d/%d: %q %v", c.minor, c.digits, got, err)
		}
	}
	for _, c := range []struct {
		text   string
		digits int
		minor  int64
		ok     bool
	}{
		{"5.39", 2, 539, true}, {"5.4", 2, 540, true}, {"5", 2, 500, true}, {"5.390", 2, 539, true},
		{"5.39E0", 2, 539, true}, {"539e-2", 2, 539, true}, {"0.0539E2", 2, 539, true}, {"-5.39", 2, -539, true},
		{"1234", 0, 1234, true}, {"1234.0", 0, 1234, true}, {"0.001", 3, 1, true}, {"0", 2, 0, true},
		{"5.391", 2, 0, false}, {"1234.5", 0, 0, false}, {"", 2, 0, false}, {"5.", 2, 0, false}, {".5", 2, 0, false},
		{"1e99", 2, 0, false}, {"99999999999999999999", 2, 0, false}, {"abc", 2, 0, false}, {"5.39", 9, 0, false},
		{"--5", 2, 0, false}, {"5e", 2, 0, false},
	} {
		got, err := ParseAmount(c.text, c.digits)
		if (err == nil) != c.ok || got != c.minor {
			t.Errorf("parse %q/%d: %d %v", c.text, c.digits, got, err)
		}
	}
}

func TestValidReference(t *testing.T) {
	for r, ok := range map[string]bool{"CG-HOTEL1-4711": true, "a": true, strings.Repeat("x", 40): true,
		"": false, strings.Repeat("x", 41): false, "a b": false, "a_b": false, "é": false, "a%": false} {
		if ValidReference(r) != ok {
			t.Errorf("%q", r)
		}
	}
}

// TestLimiter: never more than n starts within the window; the first n
// go at once.
func TestLimiter(t *testing.T) {
	l := limiter{n: 5, window: time.Second}
	begin := time.Now()
	var at []time.Time
	for i := 0; i < 16; i++ {
		at = append(at, l.reserve())
	}
	for i := 5; i < len(at); i++ {
		if d := at[i].Sub(at[i-5]); d < time.Second {
			t.Errorf("starts %d and %d only %v apart", i-5, i, d)
		}
	}
	if at[4].Sub(begin) > 100*time.Millisecond || at[15].Sub(begin) < 3*time.Second {
		t.Errorf("schedule %v … %v from the start", at[4].Sub(begin), at[15].Sub(begin))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.take(ctx); err == nil {
		t.Error("take waited past its ctx")
	}
}

// FuzzDecode: no answer body, however broken, makes the decoders panic,
// and what they return is bounded.
func FuzzDecode(f *testing.F) {
	for _, name := range []string{"token.json", "charge_answer.json", "reservations_inhouse.json", "transactions_found.json",
		"transactions_absent.json", "error_problem.json", "error_oauth.json", "error_html.txt"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"reservations":{"reservationInfo":[{"reservationIdList":[{"id":""}],"roomStay":{"roomId":" "}}]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = decodeCharge(b, "R")
		if tok, life, err := decodeToken(b); err == nil && (tok == "" || life <= 0 || life > 24*time.Hour) {
			t.Fatalf("token %q %v", tok, life)
		}
		_, _, _ = decodeTransactions(b, "R")
		stays, _, err := decodeReservations(b)
		for _, s := range stays {
			if err != nil || s.ID == "" || s.Guest.Room == "" || s.Guest.Reservation != s.ID {
				t.Fatalf("stay %+v %v", s, err)
			}
		}
		code, text := decodeProblem(400, b)
		if code == "" || len(code) > 40 || text == "" || len(text) > 200 {
			t.Fatalf("problem %q %q", code, text)
		}
	})
}

// FuzzAmount: an amount parsed exactly writes back to the same value.
func FuzzAmount(f *testing.F) {
	for _, s := range []string{"5.39", "0.001", "-1e2", "12345678901234567", "5.4e-1"} {
		f.Add(s, 2)
	}
	f.Fuzz(func(t *testing.T, s string, digits int) {
		v, err := ParseAmount(s, digits)
		if err != nil {
			return
		}
		out, err := FormatAmount(v, digits)
		if err != nil {
			t.Fatalf("%q/%d parsed to %d but does not format: %v", s, digits, v, err)
		}
		if back, err := ParseAmount(out, digits); err != nil || back != v {
			t.Fatalf("%q/%d → %d → %q → %d %v", s, digits, v, out, back, err)
		}
	})
}
