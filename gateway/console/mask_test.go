package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"callgate/gateway"
)

// The number of the masking tests and what the front desk may see of it
// (mask_digits 4).
const (
	secretNumber = "011441632960123"
	secretE164   = "441632960123"
	secretCaller = "16175550134"
	maskedNumber = "0114xxxxxxxxxxx"
)

// seedSecret journals a refused call whose every number-bearing field holds
// a number: the dialed number, the caller's, the E.164 form and prefix, the
// PMS's text and the history's reasons.
func (e *consoleEnv) seedSecret() gateway.Entry {
	e.t.Helper()
	ctx := context.Background()
	start := time.Date(2026, 11, 27, 14, 3, 0, 0, time.UTC)
	raw := "11/27 14:03:00 00:02:10 101 " + secretNumber + " T9 CLI " + secretCaller
	c, err := e.j.Capture(ctx, gateway.RawRecord{Data: []byte(raw), Received: start, Source: "test"})
	if err != nil {
		e.t.Fatal(err)
	}
	call := gateway.Call{Format: "test", Extension: "101", Dialed: secretNumber, CallerID: secretCaller, Start: start, StartUTC: start.Add(5 * time.Hour),
		DurationS: 130, Direction: gateway.Outgoing, Answered: gateway.Bool(true), Raw: []byte(raw)}
	ch := gateway.Charge{Class: "international", Destination: "United Kingdom", Prefix: "441632", E164: secretE164, Band: "peak", BillableS: 180,
		Chargeable: true, TotalMinor: 539, Currency: "USD", TariffVersion: "base"}
	var en gateway.Entry
	for _, s := range []gateway.Change{
		{To: gateway.StateRated, Call: &call, Charge: &ch},
		{To: gateway.StateQueued, Room: "101", Reason: "cannot be rated as 011-44-1632-960123 first"},
		{To: gateway.StateSent},
		{To: gateway.StateRefused, Answer: &gateway.Answer{Code: "NG", Text: "no post: " + secretE164 + " barred"}, Reason: "refused: +44 1632 960123"},
	} {
		if en, err = e.j.Move(ctx, c.ID, s); err != nil {
			e.t.Fatalf("seed %s: %v", s.To, err)
		}
	}
	return en
}

// D2: each number-bearing field is masked or withheld for the front desk, in
// the API and on the pages; auditors see them whole.
func TestConsoleFrontDeskMasking(t *testing.T) {
	e := newConsoleEnv(t)
	en := e.seedSecret()
	id := "/calls/" + itoa(uint64(en.ID))
	leaks := func(where, body string) {
		t.Helper()
		for _, secret := range []string{secretNumber, secretE164, secretCaller, "1632", "960123", "5550134"} {
			if strings.Contains(body, secret) {
				t.Errorf("%s shows %q to the front desk", where, secret)
			}
		}
	}
	fd, aud := e.token("fd"), e.token("aud")
	code, body := e.api("GET", "/api/v1"+id, fd, "")
	if code != 200 {
		t.Fatalf("API call: %d", code)
	}
	leaks("the API's call", body)
	for _, want := range []string{`"dialed":"` + maskedNumber + `"`, `"caller_id":"1617xxxxxxx"`, `"e164":null`, `"prefix":null`, `"raw":""`,
		`"destination":"United Kingdom"`, `"text":"no post: 4416xxxxxxxx barred"`, `"reason":"refused: +44 16xx xxxxxx"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the front desk's API call lacks %s:\n%s", want, body)
		}
	}
	code, body = e.api("GET", "/api/v1/calls", fd, "")
	if code != 200 || !strings.Contains(body, maskedNumber) {
		t.Fatalf("API calls: %d %s", code, body)
	}
	leaks("the API's calls", body)
	code, body = e.api("GET", "/api/v1"+id, aud, "")
	for _, want := range []string{secretNumber, secretE164, secretCaller, `"prefix":"441632"`, "refused: +44 1632 960123"} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("the auditor's API call lacks %s", want)
		}
	}

	b := e.as("fd")
	for _, p := range []string{id, "/calls", "/", "/rooms/101/statement"} {
		code, body, _ := b.get(p)
		if code != 200 {
			t.Errorf("front desk GET %s: %d", p, code)
		}
		leaks(p, body)
	}
	if _, body, _ := b.get(id); !strings.Contains(body, maskedNumber) || !strings.Contains(body, "44 16xx xxxxxx") {
		t.Errorf("the front desk's call detail lacks the masked number or the masked reason")
	}
	if code, _, _ := b.get("/calls.csv"); code != http.StatusForbidden {
		t.Errorf("front desk CSV: %d, want 403 (the export is for auditors)", code)
	}
	if _, body, _ := e.as("aud").get(id); !strings.Contains(body, secretNumber) || !strings.Contains(body, "441632") {
		t.Error("the auditor's call detail lacks the whole number")
	}
}

// D2: the probe's attack, one digit at a time through the dialed filter,
// recovers no more than the front desk sees, through the page and the API;
// an auditor's filter still matches the whole number.
func TestConsoleDialedFilterRecovery(t *testing.T) {
	e := newConsoleEnv(t)
	en := e.seedSecret()
	row := `href="/calls/` + itoa(uint64(en.ID)) + `"`
	fd := e.as("fd")
	page := func(digits string) bool {
		code, body, _ := fd.get("/calls?dialed=" + url.QueryEscape(digits))
		if code != 200 {
			t.Fatalf("/calls?dialed=%s: %d", digits, code)
		}
		return strings.Contains(body, row)
	}
	tok := e.token("fd")
	api := func(digits string) bool {
		code, body := e.api("GET", "/api/v1/calls?dialed="+url.QueryEscape(digits), tok, "")
		if code != 200 {
			t.Fatalf("API dialed=%s: %d", digits, code)
		}
		return strings.Contains(body, `"id":`+itoa(uint64(en.ID))+`,`)
	}
	for name, found := range map[string]func(string) bool{"/calls": page, "/api/v1/calls": api} {
		known, asked := "", 0
		for grown := true; grown && asked < 200; {
			grown = false
			for d := '0'; d <= '9'; d++ {
				asked++
				if found(known + string(d)) {
					known += string(d)
					grown = true
					break
				}
			}
		}
		if known != "0114" {
			t.Errorf("%s: %d requests recovered %q, want only the 4 digits shown (%s)", name, asked, known, maskedNumber)
		}
		if found("1632") || found("960123") {
			t.Errorf("%s: digits past the mask match", name)
		}
		if !found("0114") || !found("0114xxx") {
			t.Errorf("%s: the masked form does not match", name)
		}
	}
	if _, body, _ := e.as("aud").get("/calls?dialed=960123"); !strings.Contains(body, row) {
		t.Error("the auditor's dialed filter does not match the whole number")
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }
