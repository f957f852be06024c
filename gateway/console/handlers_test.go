package console_test

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/crypto/bcrypt"

	"callgate/gateway"
	"callgate/gateway/console"
	"callgate/gateway/gatewaytest"
)

// The console's handler tests run the whole echo app (middleware included)
// in httptest, on the in-memory journal of gatewaytest (whose contract suite
// holds it to package store's rules), with a fake engine and a fake tariff.

type fakeEngine struct {
	wakes     atomic.Int32
	resyncs   atomic.Int32
	resyncErr error
	reloads   atomic.Int32
	reloadOK  atomic.Bool
	mu        sync.Mutex
	st        gateway.Status
}

func (f *fakeEngine) Status() gateway.Status { f.mu.Lock(); defer f.mu.Unlock(); return f.st }
func (f *fakeEngine) Wake()                  { f.wakes.Add(1) }
func (f *fakeEngine) Resync(context.Context) error {
	f.resyncs.Add(1)
	return f.resyncErr
}

// fakeTariff is a gateway.TariffView with three destinations. It prices
// every call as a national one, 3 minor units a second plus 100, in band
// "evening" from 18:00 to 08:00 and "day" otherwise, and keeps the last
// call it rated, so that a test sees what the console asked.
type fakeTariff struct {
	mu   sync.Mutex
	last *gateway.Call
}

func (f *fakeTariff) Summary() string {
	return "tariff OK: currency USD, rounding up\nbands: day, evening\nedition base: 3 destinations\n"
}

func (f *fakeTariff) Destinations(time.Time) []gateway.TariffDestination {
	rates := func(day, evening int64) []gateway.BandRate {
		return []gateway.BandRate{{Band: "day", PerMinuteMinor: day}, {Band: "evening", PerMinuteMinor: evening}}
	}
	return []gateway.TariffDestination{
		{Prefix: "1212", Name: "New York local", Class: "local", Edition: "base", Currency: "USD", Rates: rates(10, 5), FirstS: 60, NextS: 60, MinimumMinor: 25},
		{Prefix: "1", Name: "USA and Canada", Class: "national", Edition: "base", Currency: "USD", Rates: rates(15, 10), FirstS: 60, NextS: 6},
		{Prefix: "44", Name: "United Kingdom", Class: "international", Edition: "base", Currency: "USD", Rates: rates(120, 120), FirstS: 30, NextS: 6, SetupMinor: 50},
	}
}

func (f *fakeTariff) Rate(c gateway.Call) (gateway.Charge, error) {
	f.mu.Lock()
	f.last = &c
	f.mu.Unlock()
	band := "day"
	if h := c.Start.Hour(); h >= 18 || h < 8 {
		band = "evening"
	}
	ch := gateway.Charge{Class: "national", Destination: "USA and Canada", Prefix: "1", E164: "1" + c.Dialed, Band: band,
		Currency: "USD", TariffVersion: "base"}
	if c.DurationS > 0 {
		ch.Chargeable, ch.BillableS = true, c.DurationS
		ch.CarrierMinor = 3 * int64(c.DurationS)
		ch.SurchargeMinor = 100
		ch.TotalMinor = ch.CarrierMinor + ch.SurchargeMinor
	}
	return ch, nil
}

func (f *fakeTariff) lastCall() *gateway.Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

func usdDigits(currency string) (int, bool) { return 2, currency == "USD" }

type consoleEnv struct {
	t   *testing.T
	j   *gatewaytest.Journal
	eng *fakeEngine
	tf  *fakeTariff
	srv *httptest.Server
	con *console.Server
}

const testPassword = "correct horse battery"

func newConsoleEnv(t *testing.T, more ...func(*console.Options)) *consoleEnv {
	t.Helper()
	loc, _ := time.LoadLocation("America/New_York")
	j := gatewaytest.NewJournal(gatewaytest.JournalOptions{Location: loc})
	e := &consoleEnv{t: t, j: j, eng: &fakeEngine{}, tf: &fakeTariff{}}
	e.eng.st.PMS.State = gateway.LinkAlive
	o := console.Options{
		Engine: e.eng, Journal: j, Queries: j, Users: j, Tariff: e.tf, Site: "Test Hotel", Location: loc,
		ReloadTariff: func() bool { e.eng.reloads.Add(1); return e.eng.reloadOK.Load() },
		MaskDigits:   4, MinorDigits: usdDigits, LiveInterval: 50 * time.Millisecond,
		Logger: zerolog.New(zerolog.NewTestWriter(t)),
	}
	for _, f := range more {
		f(&o)
	}
	var err error
	e.con, err = console.New(o)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(e.con)
	t.Cleanup(func() { e.con.Close(); e.srv.Close() })
	for _, u := range []struct{ name, role string }{{"fd", "frontdesk"}, {"aud", "auditor"}, {"adm", "admin"}} {
		// The lowest bcrypt cost keeps the tests fast; the console hashes
		// with bcrypt.DefaultCost.
		h, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		if err := j.PutUser(context.Background(), gateway.User{Name: u.name, Role: u.role, PasswordHash: h, Created: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// browser is a person at a browser: a cookie jar, redirects not followed,
// and the CSRF token of the last page read that carried one.
type browser struct {
	t    *testing.T
	base string
	hc   *http.Client
	csrf string
}

func (e *consoleEnv) browser() *browser {
	jar, _ := cookiejar.New(nil)
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &browser{t: e.t, base: e.srv.URL, hc: &http.Client{Jar: jar, CheckRedirect: noRedirect}}
}

var csrfToken = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// send makes one request, a form when form is not nil, and returns the
// status, the body and the header.
func (b *browser) send(method, path string, form url.Values) (int, string, http.Header) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := b.hc.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	page, _ := io.ReadAll(res.Body)
	if m := csrfToken.FindSubmatch(page); m != nil && method == http.MethodGet {
		b.csrf = string(m[1])
	}
	return res.StatusCode, string(page), res.Header
}

func (b *browser) get(path string) (int, string, http.Header) {
	b.t.Helper()
	return b.send(http.MethodGet, path, nil)
}

func (b *browser) post(path string, form url.Values) (int, string, http.Header) {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	return b.send(http.MethodPost, path, form)
}

// login signs in through the login form; after a good login it reads a
// page, so that the browser holds the session's CSRF token.
func (b *browser) login(user, password string) int {
	b.t.Helper()
	b.get("/login")
	code, _, _ := b.post("/login", url.Values{"_csrf": {b.csrf}, "username": {user}, "password": {password}})
	if code == http.StatusSeeOther {
		b.get("/")
	}
	return code
}

func (e *consoleEnv) as(user string) *browser {
	b := e.browser()
	if code := b.login(user, testPassword); code != http.StatusSeeOther {
		e.t.Fatalf("login %s: %d", user, code)
	}
	return b
}

// seed journals a call to +441632960123 from extension 101 and moves it to
// state to; it returns the entry.
func (e *consoleEnv) seed(to gateway.State, n int) gateway.Entry {
	e.t.Helper()
	ctx := context.Background()
	start := time.Date(2026, 11, 27, 14, 3, n, 0, time.UTC)
	raw := fmt.Sprintf("11/27 14:03:%02d 00:02:10 101 011441632960123 T9 #%d", n, n)
	c, err := e.j.Capture(ctx, gateway.RawRecord{Data: []byte(raw), Received: start, Source: "test"})
	if err != nil {
		e.t.Fatal(err)
	}
	call := gateway.Call{Format: "test", Extension: "101", Dialed: "011441632960123", Start: start, StartUTC: start.Add(5 * time.Hour),
		DurationS: 130, Direction: gateway.Outgoing, Answered: gateway.Bool(true), AccountCode: "77", Raw: []byte(raw)}
	ch := gateway.Charge{Class: "international", Destination: "United Kingdom", Prefix: "44", Band: "peak", BillableS: 180, Chargeable: true,
		CarrierMinor: 90, MarkupMinor: 300, SurchargeMinor: 100, TaxMinor: 49, TotalMinor: 539, Currency: "USD", TariffVersion: "base"}
	steps := []gateway.Change{{To: gateway.StateRated, Call: &call, Charge: &ch}}
	switch to {
	case gateway.StateException:
		steps = []gateway.Change{{To: gateway.StateException, Call: &call, Charge: &ch, Reason: "extension \"101\" maps to no room"}}
	case gateway.StateQueued:
		steps = append(steps, gateway.Change{To: gateway.StateQueued, Room: "101"})
	case gateway.StateInDoubt:
		steps = append(steps, gateway.Change{To: gateway.StateQueued, Room: "101"}, gateway.Change{To: gateway.StateSent},
			gateway.Change{To: gateway.StateInDoubt, Reason: "no answer from the PMS in 30 s"})
	case gateway.StateRefused:
		steps = append(steps, gateway.Change{To: gateway.StateQueued, Room: "101"}, gateway.Change{To: gateway.StateSent},
			gateway.Change{To: gateway.StateRefused, Answer: &gateway.Answer{Code: "NG", Text: "no post"}, Reason: "refused"})
	case gateway.StatePosted:
		steps = append(steps, gateway.Change{To: gateway.StateQueued, Room: "101"}, gateway.Change{To: gateway.StateSent},
			gateway.Change{To: gateway.StatePosted, Answer: &gateway.Answer{Code: "OK"}})
	}
	var en gateway.Entry
	for _, s := range steps {
		en, err = e.j.Move(ctx, c.ID, s)
		if err != nil {
			e.t.Fatalf("seed %s: %v", s.To, err)
		}
	}
	return en
}

var getRoutes = []string{"/", "/calls", "/calls/1", "/calls.csv", "/exceptions", "/audit", "/live", "/rooms", "/rooms/101/statement", "/tariff", "/reports", "/reports/download"}

func TestConsoleNeedsLogin(t *testing.T) {
	e := newConsoleEnv(t)
	e.seed(gateway.StateQueued, 1)
	c := e.browser()
	for _, p := range getRoutes {
		code, _, h := c.get(p)
		if code != http.StatusSeeOther || h.Get("Location") != "/login" {
			t.Errorf("GET %s without a session: %d to %q, want 303 to /login", p, code, h.Get("Location"))
		}
	}
	c.get("/login")
	code, _, _ := c.post("/exceptions/resolve", url.Values{"_csrf": {c.csrf}, "id": {"1"}, "action": {"void"}, "reason": {"x"}})
	if code != http.StatusUnauthorized {
		t.Errorf("POST resolve without a session: %d, want 401", code)
	}
	if en, _ := e.j.Entry(context.Background(), 1); en.State != gateway.StateQueued {
		t.Errorf("state %s after an unauthenticated action", en.State)
	}
}

func TestConsoleLogin(t *testing.T) {
	e := newConsoleEnv(t)
	c := e.browser()
	code, body, h := c.get("/login")
	if code != 200 || !strings.Contains(body, `name="username"`) || !strings.Contains(body, `name="password"`) {
		t.Fatalf("login page: %d\n%s", code, body)
	}
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP %q", csp)
	}
	if strings.Contains(body, "<script>") {
		t.Error("inline script on the login page")
	}
	if code, _, _ := c.post("/login", url.Values{"_csrf": {c.csrf}, "username": {"aud"}, "password": {"wrong password!"}}); code != http.StatusUnauthorized {
		t.Errorf("wrong password: %d", code)
	}
	if code, _, _ := c.post("/login", url.Values{"_csrf": {c.csrf}, "username": {"nobody"}, "password": {"wrong password!"}}); code != http.StatusUnauthorized {
		t.Errorf("unknown user: %d", code)
	}
	if code, _, _ := c.post("/login", url.Values{"_csrf": {c.csrf}, "username": {""}, "password": {""}}); code != http.StatusBadRequest {
		t.Errorf("empty form: %d", code)
	}
	res, err := c.hc.PostForm(c.base+"/login", url.Values{"_csrf": {c.csrf}, "username": {"aud"}, "password": {testPassword}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		t.Fatalf("good login: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	var sc *http.Cookie
	for _, ck := range res.Cookies() {
		if ck.Name == "callgate_session" {
			sc = ck
		}
	}
	if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteStrictMode || sc.Secure {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, not Secure without TLS", sc)
	}
	if code, body, _ := c.get("/"); code != 200 || !strings.Contains(body, "aud · auditor") {
		t.Fatalf("dashboard after login: %d", code)
	}
	if code, _, h := c.post("/logout", url.Values{"_csrf": {c.csrf}}); code != http.StatusSeeOther || h.Get("Location") != "/login" {
		t.Errorf("logout: %d", code)
	}
	if code, _, _ := c.get("/"); code != http.StatusSeeOther {
		t.Errorf("after logout: %d, want the login redirect", code)
	}
}

func TestConsoleCSRF(t *testing.T) {
	e := newConsoleEnv(t)
	e.seed(gateway.StateInDoubt, 1)
	c := e.browser()
	c.get("/login")
	if code, _, _ := c.post("/login", url.Values{"username": {"aud"}, "password": {testPassword}}); code != http.StatusBadRequest {
		t.Errorf("login without a token: %d, want 400", code)
	}
	if code, _, _ := c.post("/login", url.Values{"_csrf": {"forged"}, "username": {"aud"}, "password": {testPassword}}); code != http.StatusForbidden {
		t.Errorf("login with a forged token: %d, want 403", code)
	}
	a := e.as("aud")
	form := url.Values{"id": {"1"}, "action": {"confirm"}, "reason": {"found on the folio"}}
	if code, _, _ := a.post("/exceptions/resolve", form); code != http.StatusBadRequest {
		t.Errorf("action without a token: %d, want 400", code)
	}
	form.Set("_csrf", "forged")
	if code, _, _ := a.post("/exceptions/resolve", form); code != http.StatusForbidden {
		t.Errorf("action with a forged token: %d, want 403", code)
	}
	if en, _ := e.j.Entry(context.Background(), 1); en.State != gateway.StateInDoubt {
		t.Errorf("state %s after rejected actions", en.State)
	}
}

func TestConsoleRoles(t *testing.T) {
	e := newConsoleEnv(t)
	e.seed(gateway.StateInDoubt, 1)
	want := map[string]map[string]int{
		"fd":  {"/": 200, "/calls": 200, "/calls/1": 200, "/rooms": 200, "/rooms/101/statement": 200, "/calls.csv": 403, "/exceptions": 403, "/audit": 403, "/tariff": 403},
		"aud": {"/": 200, "/calls": 200, "/calls/1": 200, "/rooms": 200, "/rooms/101/statement": 200, "/calls.csv": 200, "/exceptions": 200, "/audit": 200, "/tariff": 200},
		"adm": {"/": 200, "/calls": 200, "/calls/1": 200, "/rooms": 200, "/rooms/101/statement": 200, "/calls.csv": 200, "/exceptions": 200, "/audit": 200, "/tariff": 200},
	}
	for user, routes := range want {
		c := e.as(user)
		for p, code := range routes {
			if got, _, _ := c.get(p); got != code {
				t.Errorf("%s GET %s: %d, want %d", user, p, got, code)
			}
		}
	}
	fd := e.as("fd")
	fd.get("/calls")
	if code, _, _ := fd.post("/exceptions/resolve", url.Values{"_csrf": {fd.csrf}, "id": {"1"}, "action": {"void"}, "reason": {"x"}}); code != http.StatusForbidden {
		t.Errorf("front desk resolving: %d, want 403", code)
	}
	// The front desk sees masked numbers and no raw record; auditors see both.
	_, body, _ := fd.get("/calls/1")
	if strings.Contains(body, "011441632960123") || !strings.Contains(body, "0114xxxxxxxxxxx") || !strings.Contains(body, "auditors only") {
		t.Errorf("front desk call detail shows the number or lacks the mask")
	}
	if strings.Contains(body, `action="/exceptions/resolve"`) {
		t.Error("front desk gets the resolve form")
	}
	_, body, _ = fd.get("/calls")
	if strings.Contains(body, "011441632960123") {
		t.Error("front desk calls list shows the whole number")
	}
	_, body, _ = e.as("aud").get("/calls/1")
	for _, want := range []string{"011441632960123", `<pre class="raw" id="raw">11/27 14:03:01`, "5.39 USD", "3.00 USD", "United Kingdom", "peak", "no answer from the PMS in 30 s", `action="/exceptions/resolve"`} {
		if !strings.Contains(body, want) {
			t.Errorf("auditor call detail lacks %q", want)
		}
	}
}

func TestConsoleValidation(t *testing.T) {
	e := newConsoleEnv(t)
	e.seed(gateway.StateInDoubt, 1)
	c := e.as("aud")
	for p, code := range map[string]int{
		"/calls?from=yesterday": 400, "/calls?from=2026-11-28&to=2026-11-01": 400, "/calls?state=lost": 400,
		"/calls?sort=sideways": 400, "/calls?room=%3Cscript%3E": 400, "/calls?after=x": 400, "/calls/abc": 400,
		"/calls/0": 400, "/calls/999": 404, "/calls.csv?state=lost": 400, "/calls?state=in-doubt&from=2026-11-27&to=2026-11-27": 200,
	} {
		got, body, _ := c.get(p)
		if got != code {
			t.Errorf("GET %s: %d, want %d", p, got, code)
		}
		if got >= 400 && !strings.Contains(body, `class="flash error"`) {
			t.Errorf("GET %s: no message on the error page", p)
		}
	}
	for _, f := range []url.Values{
		{"id": {"1"}, "action": {"confirm"}},                                    // no reason
		{"id": {"1"}, "action": {"confirm"}, "reason": {"   "}},                 // blank reason
		{"id": {"1"}, "action": {"burn"}, "reason": {"x"}},                      // unknown action
		{"action": {"confirm"}, "reason": {"x"}},                                // no call
		{"id": {"one"}, "action": {"confirm"}, "reason": {"x"}},                 // not a number
		{"id": {"1"}, "action": {"transfer"}, "reason": {"x"}},                  // transfer without a room
		{"id": {"1"}, "action": {"transfer"}, "reason": {"x"}, "room": {"1 0"}}, // bad room
		{"id": {"1"}, "action": {"void"}, "reason": {"x"}, "room": {"102"}},     // room without transfer
		{"id": {"1"}, "action": {"void"}, "reason": {strings.Repeat("x", 501)}}, // too long
	} {
		f.Set("_csrf", c.csrf)
		if code, _, _ := c.post("/exceptions/resolve", f); code != http.StatusBadRequest {
			t.Errorf("resolve %v: %d, want 400", f, code)
		}
	}
	// A move the journal forbids (a queued entry is no exception): 409 with the reason.
	e.seed(gateway.StateQueued, 2)
	code, body, _ := c.post("/exceptions/resolve", url.Values{"_csrf": {c.csrf}, "id": {"2"}, "action": {"confirm"}, "reason": {"x"}})
	if code != http.StatusConflict || !strings.Contains(body, "call 2:") {
		t.Errorf("resolving a queued entry: %d", code)
	}
	if en, _ := e.j.Entry(context.Background(), 1); en.State != gateway.StateInDoubt {
		t.Errorf("entry 1 is %s after rejected forms", en.State)
	}
}

func TestConsoleActions(t *testing.T) {
	e := newConsoleEnv(t)
	ctx := context.Background()
	inDoubt := e.seed(gateway.StateInDoubt, 1)
	e.seed(gateway.StateInDoubt, 2)
	e.seed(gateway.StateRefused, 3)
	e.seed(gateway.StateException, 4)
	e.seed(gateway.StateInDoubt, 5)
	e.seed(gateway.StateInDoubt, 6)
	c := e.as("aud")
	_, body, _ := c.get("/exceptions")
	for _, id := range []string{"1", "2", "3", "4", "5", "6"} {
		if !strings.Contains(body, `name="id" value="`+id+`"`) {
			t.Errorf("exceptions page lacks call %s", id)
		}
	}
	act := func(action, reason, room string, ids ...string) {
		t.Helper()
		f := url.Values{"_csrf": {c.csrf}, "id": ids, "action": {action}, "reason": {reason}}
		if room != "" {
			f.Set("room", room)
		}
		code, body, _ := c.post("/exceptions/resolve", f)
		if code != 200 {
			t.Fatalf("%s %v: %d\n%s", action, ids, code, body)
		}
	}
	act("confirm", "found on the folio in OPERA", "", "1")
	act("repost", "not on the folio: send again", "", "3")
	act("transfer", "the guest moved to 204", "204", "4")
	act("void", "test call by engineering", "", "5", "6") // bulk
	want := map[gateway.EntryID]gateway.State{1: gateway.StatePostedByHand, 2: gateway.StateInDoubt, 3: gateway.StateQueued,
		4: gateway.StateQueued, 5: gateway.StateVoided, 6: gateway.StateVoided}
	for id, st := range want {
		en, err := e.j.Entry(ctx, id)
		if err != nil || en.State != st {
			t.Errorf("entry %d: %s %v, want %s", id, en.State, err, st)
		}
	}
	// Reposted: queued without its old number; its sending gives a new one.
	if en, _ := e.j.Entry(ctx, 3); en.Posting != 0 || inDoubt.Posting == 0 {
		t.Errorf("reposted entry has posting %d (in doubt it had %d)", en.Posting, inDoubt.Posting)
	}
	if en, _ := e.j.Entry(ctx, 4); en.Room != "204" {
		t.Errorf("transferred entry's room %q", en.Room)
	}
	if e.eng.wakes.Load() < 2 {
		t.Errorf("the engine was woken %d times after repost and transfer", e.eng.wakes.Load())
	}
	evs, err := e.j.Events(ctx, gateway.EventFilter{Audit: true})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, ev := range evs {
		if ev.Actor == "aud" {
			got[fmt.Sprint(ev.Entry, ev.To)] = ev.Reason
		}
	}
	for k, reason := range map[string]string{"1posted-manually": "found on the folio in OPERA", "3reposted": "not on the folio: send again",
		"4transferred": "the guest moved to 204", "5voided": "test call by engineering", "6voided": "test call by engineering"} {
		if got[k] != reason {
			t.Errorf("audit of %s: reason %q, want %q (all: %v)", k, got[k], reason, got)
		}
	}
	_, body, _ = c.get("/audit?actor=aud")
	if !strings.Contains(body, "found on the folio in OPERA") || !strings.Contains(body, "in-doubt → posted-manually") {
		t.Errorf("audit page lacks the confirmation")
	}
	if _, body, _ = c.get("/audit?q=engineering"); strings.Contains(body, "OPERA") || !strings.Contains(body, "engineering") {
		t.Errorf("audit text filter")
	}
	// Acting twice on the same entry is refused, and says why.
	code, body, _ := c.post("/exceptions/resolve", url.Values{"_csrf": {c.csrf}, "id": {"1"}, "action": {"void"}, "reason": {"again"}})
	if code != http.StatusConflict || !strings.Contains(body, "call 1:") {
		t.Errorf("second action on an entry: %d", code)
	}
}

func TestConsoleDisabledUser(t *testing.T) {
	e := newConsoleEnv(t)
	if _, err := e.j.UpdateUser(context.Background(), "aud", func(u *gateway.User) error { u.Disabled = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if code := e.browser().login("aud", testPassword); code != http.StatusUnauthorized {
		t.Errorf("disabled user's login: %d", code)
	}
}

func TestConsoleCallsList(t *testing.T) {
	e := newConsoleEnv(t)
	for i := 1; i <= 55; i++ {
		e.seed(gateway.StatePosted, i)
	}
	e.seed(gateway.StateInDoubt, 56)
	c := e.as("aud")
	_, body, _ := c.get("/calls")
	if n := strings.Count(body, `<td><a href="/calls/`); n != 50 {
		t.Errorf("first page: %d rows, want 50", n)
	}
	if !strings.Contains(body, `href="/calls/56"`) || strings.Contains(body, `href="/calls/6">`) {
		t.Error("newest first: 56 on page one, 6 not")
	}
	next := regexp.MustCompile(`href="(/calls\?[^"]*after=\d+)" rel="next"`).FindStringSubmatch(body)
	if next == nil {
		t.Fatal("no next page link")
	}
	_, body, _ = c.get(strings.ReplaceAll(next[1], "&amp;", "&"))
	if n := strings.Count(body, `<td><a href="/calls/`); n != 6 {
		t.Errorf("second page: %d rows, want 6", n)
	}
	for p, n := range map[string]int{"/calls?state=in-doubt": 1, "/calls?dialed=4416": 50, "/calls?account=77&sort=old": 50,
		"/calls?class=international&room=101": 50, "/calls?ext=999": 0, "/calls?class=local": 0, "/calls?from=2026-11-28": 0} {
		_, body, _ := c.get(p)
		if got := strings.Count(body, `<td><a href="/calls/`); got != n {
			t.Errorf("%s: %d rows, want %d", p, got, n)
		}
	}
	_, body, _ = c.get("/calls?sort=old")
	if i1, i2 := strings.Index(body, `href="/calls/1"`), strings.Index(body, `href="/calls/2"`); i1 < 0 || i2 < 0 || i1 > i2 {
		t.Error("oldest first: 1 before 2")
	}
}

func TestConsoleExportCSV(t *testing.T) {
	e := newConsoleEnv(t)
	e.seed(gateway.StatePosted, 1)
	e.seed(gateway.StateInDoubt, 2)
	c := e.as("aud")
	code, body, h := c.get("/calls.csv?state=posted")
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") || !strings.Contains(h.Get("Content-Disposition"), "attachment") {
		t.Fatalf("export: %d %v", code, h)
	}
	if !strings.Contains(body, "\r\n") {
		t.Error("RFC 4180 wants CRLF line ends")
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rows[0], ",") != strings.Join(console.CSVColumns, ",") || len(rows) != 2 {
		t.Fatalf("rows %v", rows)
	}
	r := map[string]string{}
	for i, k := range rows[0] {
		r[k] = rows[1][i]
	}
	for k, v := range map[string]string{"entry": "1", "state": "posted", "dialed": "011441632960123", "total": "5.39", "carrier": "0.90",
		"tax": "0.49", "currency": "USD", "room": "101", "start_local": "2026-11-27T14:03:01", "start_utc": "2026-11-27T19:03:01Z", "pms_answer": "OK"} {
		if r[k] != v {
			t.Errorf("column %s = %q, want %q", k, r[k], v)
		}
	}
}

func TestConsoleLive(t *testing.T) {
	e := newConsoleEnv(t)
	c := e.as("fd")
	res, err := c.hc.Get(c.base + "/live")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("content type %q", res.Header.Get("Content-Type"))
	}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	next := func() string {
		t.Helper()
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatal("stream ended")
				}
				if strings.HasPrefix(l, "data: ") {
					return l
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no event in 5 s")
			}
		}
	}
	if first := next(); !strings.Contains(first, `"recent":[]`) {
		t.Errorf("first event: %s", first)
	}
	e.seed(gateway.StateQueued, 1) // a call arrives
	ev := next()
	if !strings.Contains(ev, `"id":1`) || !strings.Contains(ev, `"dialed":"0114xxxxxxxxxxx"`) || !strings.Contains(ev, `"queued":1`) {
		t.Errorf("event after a call: %s", ev)
	}
	e.con.Close() // the stream ends when the console closes
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-lines:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("the stream did not end after Close")
		}
	}
}

func TestConsoleDashboard(t *testing.T) {
	e := newConsoleEnv(t)
	e.eng.mu.Lock()
	e.eng.st.RecordsRead = 42
	e.eng.st.Alarms = []gateway.Alarm{{Kind: gateway.AlarmInDoubt, Since: time.Now(), Text: "1 postings in doubt"}}
	e.eng.mu.Unlock()
	e.seed(gateway.StateInDoubt, 1)
	e.seed(gateway.StatePosted, 2)
	_, body, _ := e.as("fd").get("/")
	for _, want := range []string{`data-live="records_read">42<`, " (OK)</dd>", `data-live="pms_waiting">no<`, "1 postings in doubt", `data-live="in_doubt">1<`, `src="/static/live.js"`, "alive"} {
		if !strings.Contains(body, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	if code, js, _ := e.browser().get("/static/live.js"); code != 200 || !strings.Contains(js, "EventSource") {
		t.Errorf("live.js: %d", code)
	}
}

func TestConsoleExportKeepsFilter(t *testing.T) {
	e := newConsoleEnv(t)
	_, body, _ := e.as("aud").get("/calls?state=posted&room=101&sort=old")
	m := regexp.MustCompile(`id="export" href="([^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no export link")
	}
	u, err := url.Parse(strings.ReplaceAll(m[1], "&amp;", "&"))
	if err != nil || u.Path != "/calls.csv" || u.Query().Get("state") != "posted" || u.Query().Get("room") != "101" || u.Query().Get("sort") != "old" {
		t.Errorf("export link %q loses the filter", m[1])
	}
}

// token gives user an API token.
func (e *consoleEnv) token(user string) string {
	e.t.Helper()
	tok, hash := console.NewToken()
	if _, err := e.j.UpdateUser(context.Background(), user, func(u *gateway.User) error {
		u.Tokens = append(u.Tokens, gateway.Token{Hash: hash, Created: time.Now()})
		return nil
	}); err != nil {
		e.t.Fatal(err)
	}
	return tok
}

func (e *consoleEnv) api(method, path, token, body string) (int, string) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestConsoleAPI(t *testing.T) {
	e := newConsoleEnv(t)
	e.seed(gateway.StateInDoubt, 1)
	e.seed(gateway.StatePosted, 2)
	e.seed(gateway.StateException, 3)
	aud, fd := e.token("aud"), e.token("fd")
	for _, p := range []string{"/api/v1/status", "/api/v1/calls", "/api/v1/calls/1", "/api/v1/queues", "/api/v1/nothing"} {
		if code, body := e.api("GET", p, "", ""); code != 401 || !strings.Contains(body, `"error"`) {
			t.Errorf("GET %s without a token: %d %s", p, code, body)
		}
		if code, _ := e.api("GET", p, "cg_forged", ""); code != 401 {
			t.Errorf("GET %s with a forged token: %d", p, code)
		}
	}
	// A session cookie is no API credential.
	c := e.as("aud")
	if code, _, _ := c.get("/api/v1/status"); code != 401 {
		t.Errorf("API with a session cookie: %d", code)
	}
	code, body := e.api("GET", "/api/v1/calls?state=in-doubt", aud, "")
	if code != 200 || !strings.Contains(body, `"id":1`) || strings.Contains(body, `"id":2`) || !strings.Contains(body, "011441632960123") {
		t.Errorf("calls: %d %s", code, body)
	}
	code, body = e.api("GET", "/api/v1/calls?limit=1&sort=old", aud, "")
	if code != 200 || !strings.Contains(body, `"next_after":1`) {
		t.Errorf("calls page: %d %s", code, body)
	}
	if code, _ := e.api("GET", "/api/v1/calls?limit=0x", aud, ""); code != 400 {
		t.Errorf("bad limit: %d", code)
	}
	if code, _ := e.api("GET", "/api/v1/calls?state=lost", aud, ""); code != 400 {
		t.Errorf("bad state: %d", code)
	}
	if code, _ := e.api("GET", "/api/v1/calls/99", aud, ""); code != 404 {
		t.Errorf("unknown call: %d", code)
	}
	code, body = e.api("GET", "/api/v1/calls/1", fd, "")
	if code != 200 || strings.Contains(body, "011441632960123") || !strings.Contains(body, "0114xxxxxxxxxxx") {
		t.Errorf("front desk call: %d %s", code, body)
	}
	if code, _ := e.api("GET", "/api/v1/queues", fd, ""); code != 403 {
		t.Errorf("front desk queues: %d", code)
	}
	code, body = e.api("GET", "/api/v1/queues", aud, "")
	if code != 200 || !strings.Contains(body, `"in-doubt":{"total":1,"entries":[{"id":1`) || !strings.Contains(body, `"exception":{"total":1,"entries":[{"id":3`) {
		t.Errorf("queues: %d %s", code, body)
	}
	if code, body := e.api("GET", "/api/v1/status", fd, ""); code != 200 || !strings.Contains(body, `"in_doubt":1`) {
		t.Errorf("status: %d %s", code, body)
	}
	if code, _ := e.api("POST", "/api/v1/actions", fd, `{"ids":[1],"action":"void","reason":"x"}`); code != 403 {
		t.Errorf("front desk action: %d", code)
	}
	if code, _ := e.api("POST", "/api/v1/actions", aud, `{"ids":[1],"action":"void"}`); code != 400 {
		t.Errorf("action without reason: %d", code)
	}
	if code, _ := e.api("POST", "/api/v1/actions", aud, `{"ids":"x"`); code != 400 {
		t.Errorf("bad JSON: %d", code)
	}
	code, body = e.api("POST", "/api/v1/actions", aud, `{"ids":[1,2],"action":"confirm","reason":"found on the folio"}`)
	if code != 200 || !strings.Contains(body, `"done":[1]`) || !strings.Contains(body, "call 2:") {
		t.Errorf("action: %d %s", code, body)
	}
	if en, _ := e.j.Entry(context.Background(), 1); en.State != gateway.StatePostedByHand || en.History[len(en.History)-1].Actor != "aud" {
		t.Errorf("entry 1 after the API action: %s", en.State)
	}
	// A disabled user's token stops working.
	e.j.UpdateUser(context.Background(), "aud", func(u *gateway.User) error { u.Disabled = true; return nil })
	if code, _ := e.api("GET", "/api/v1/status", aud, ""); code != 401 {
		t.Errorf("disabled user's token: %d", code)
	}
}

func TestConsoleRoomsAndStatement(t *testing.T) {
	e := newConsoleEnv(t)
	ctx := context.Background()
	arrival := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	if _, err := e.j.ApplyGuest(ctx, gateway.GuestEvent{Kind: gateway.GuestCheckIn, Guest: gateway.Guest{Room: "101", Reservation: "R77",
		LastName: "Hartley", Title: "Ms", Arrival: arrival}}); err != nil {
		t.Fatal(err)
	}
	e.seed(gateway.StatePosted, 1)
	e.seed(gateway.StatePosted, 2)
	e.seed(gateway.StateInDoubt, 3)
	e.seed(gateway.StateQueued, 4)
	fd := e.as("fd")
	_, body, _ := fd.get("/rooms")
	for _, want := range []string{"Hartley", "R77", "2026-11-26", `href="/rooms/101/statement"`} {
		if !strings.Contains(body, want) {
			t.Errorf("rooms page lacks %q", want)
		}
	}
	if strings.Contains(body, `id="resync"`) {
		t.Error("front desk gets the resync button")
	}
	code, body, _ := fd.get("/rooms/101/statement")
	if code != 200 {
		t.Fatalf("statement: %d", code)
	}
	for _, want := range []string{"room 101", "Ms Hartley", "Stay: 2026-11-26 to", `id="total">10.78 USD<`, "0114xxxxxxxxxxx", "United Kingdom", "2 more call(s)"} {
		if !strings.Contains(body, want) {
			t.Errorf("statement lacks %q", want)
		}
	}
	if strings.Contains(body, "011441632960123") {
		t.Error("the statement shows a whole number")
	}
	_, body, _ = e.as("aud").get("/rooms/101/statement?from=2026-11-28&to=2026-11-29")
	if !strings.Contains(body, "No telephone charges") || strings.Contains(body, "0114xxxxxxxxxxx") {
		t.Error("a stay after the calls lists them")
	}
	for p, want := range map[string]int{"/rooms/1%3B1/statement": 400, "/rooms/101/statement?from=x": 400,
		"/rooms/101/statement?from=2026-11-28&to=2026-11-01": 400, "/rooms/999/statement": 200} {
		if code, _, _ := fd.get(p); code != want {
			t.Errorf("GET %s: %d, want %d", p, code, want)
		}
	}

	// Resync: admins only, audited.
	fd.get("/rooms")
	if code, _, _ := fd.post("/rooms/resync", url.Values{"_csrf": {fd.csrf}}); code != 403 {
		t.Errorf("front desk resync: %d", code)
	}
	adm := e.as("adm")
	_, body, _ = adm.get("/rooms")
	if !strings.Contains(body, `id="resync"`) {
		t.Error("admin lacks the resync button")
	}
	if code, _, _ := adm.post("/rooms/resync", url.Values{}); code != 400 {
		t.Errorf("resync without a CSRF token: %d", code)
	}
	if code, _, h := adm.post("/rooms/resync", url.Values{"_csrf": {adm.csrf}}); code != 303 || h.Get("Location") != "/rooms?resync=asked" {
		t.Errorf("resync: %d", code)
	}
	if e.eng.resyncs.Load() != 1 {
		t.Errorf("%d resyncs asked", e.eng.resyncs.Load())
	}
	evs, _ := e.j.Events(ctx, gateway.EventFilter{Audit: true})
	if last := evs[len(evs)-1]; last.Actor != "adm" || !strings.Contains(string(last.Data), "resync-request") {
		t.Errorf("last audit record %+v", last)
	}
	e.eng.resyncErr = gateway.Errorf(gateway.KindTransient, "the PMS link is down")
	if code, body, _ := adm.post("/rooms/resync", url.Values{"_csrf": {adm.csrf}}); code != 503 || !strings.Contains(body, "the PMS link is down") {
		t.Errorf("resync with the link down: %d", code)
	}
}

func TestConsoleTariff(t *testing.T) {
	e := newConsoleEnv(t)
	c := e.as("aud")
	code, body, _ := c.get("/tariff")
	if code != 200 || !strings.Contains(body, "currency USD") || !strings.Contains(body, `<table id="destinations">`) {
		t.Fatalf("tariff page: %d", code)
	}
	all := strings.Count(body, `<td class="mono">`)
	_, body, _ = c.get("/tariff?q=zzzz-no-such")
	if strings.Count(body, `<td class="mono">`) != 0 || !strings.Contains(body, "No destination matches") {
		t.Error("search for nothing lists destinations")
	}
	_, body, _ = c.get("/tariff?q=1")
	if n := strings.Count(body, `<td class="mono">`); n == 0 || n > all {
		t.Errorf("prefix search: %d of %d", n, all)
	}
	// Try a number: the breakdown is the tariff's own rating of that call,
	// and the call the tariff was asked to rate is the one the form
	// describes: dialed out, answered, at 21:30 site time.
	code, body, _ = c.get("/tariff?dialed=6175550134&start=2026-11-27T21:30&duration=125")
	if code != 200 || !strings.Contains(body, `<table class="kv" id="tried">`) {
		t.Fatalf("try: %d", code)
	}
	loc, _ := time.LoadLocation("America/New_York")
	start := time.Date(2026, 11, 27, 21, 30, 0, 0, time.UTC)
	tried := gateway.Call{Format: "console", Extension: "try", Dialed: "6175550134", Start: start,
		StartUTC: time.Date(2026, 11, 27, 21, 30, 0, 0, loc).UTC(), DurationS: 125, Direction: gateway.Outgoing, Answered: gateway.Bool(true)}
	got := e.tf.lastCall()
	if got == nil || got.Format != tried.Format || got.Extension != tried.Extension || got.Dialed != tried.Dialed || !got.Start.Equal(tried.Start) ||
		!got.StartUTC.Equal(tried.StartUTC) || got.DurationS != tried.DurationS || got.Direction != tried.Direction ||
		got.Answered == nil || *got.Answered != *tried.Answered {
		t.Errorf("the tariff rated %+v, want %+v", got, tried)
	}
	ch, err := e.tf.Rate(tried)
	if err != nil {
		t.Fatal(err)
	}
	want := gateway.FormatMinor(ch.TotalMinor, 2) + " USD"
	if !strings.Contains(body, "<th>Total</th><td class=\"num\">"+want+"</td>") || !strings.Contains(body, ch.Band) {
		t.Errorf("try lacks the total %s or band %s", want, ch.Band)
	}
	for _, p := range []string{"/tariff?dialed=abc&duration=60", "/tariff?dialed=123&duration=-1", "/tariff?dialed=123&duration=60&start=tonight",
		"/tariff?dialed=&duration=60", "/tariff?q=" + strings.Repeat("x", 65)} {
		if code, body, _ := c.get(p); code != 400 || !strings.Contains(body, `class="flash error"`) {
			t.Errorf("GET %s: %d", p, code)
		}
	}
}

func TestConsoleUsers(t *testing.T) {
	e := newConsoleEnv(t)
	ctx := context.Background()
	for _, u := range []string{"fd", "aud"} {
		c := e.as(u)
		if code, _, _ := c.get("/users"); code != 403 {
			t.Errorf("%s GET /users: %d", u, code)
		}
		if code, _, _ := c.post("/users", url.Values{"_csrf": {c.csrf}, "do": {"disable"}, "name": {"adm"}}); code != 403 {
			t.Errorf("%s disabling: %d", u, code)
		}
	}
	adm := e.as("adm")
	code, body, _ := adm.get("/users")
	if code != 200 || !strings.Contains(body, "<td>aud</td><td>auditor</td><td>active</td>") {
		t.Fatalf("users page: %d", code)
	}
	if strings.Contains(body, "$2a$") {
		t.Error("a password hash on the page")
	}
	post := func(f url.Values) (int, string) {
		t.Helper()
		f.Set("_csrf", adm.csrf)
		code, body, _ := adm.post("/users", f)
		return code, body
	}
	for _, f := range []url.Values{
		{"do": {"add"}, "name": {"new one"}, "role": {"auditor"}, "password": {"long enough pw"}, "again": {"long enough pw"}},
		{"do": {"add"}, "name": {"n"}, "role": {"king"}, "password": {"long enough pw"}, "again": {"long enough pw"}},
		{"do": {"add"}, "name": {"n"}, "role": {"auditor"}, "password": {"long enough pw"}, "again": {"other"}},
		{"do": {"add"}, "name": {"n"}, "role": {"auditor"}, "password": {"short"}, "again": {"short"}},
		{"do": {"explode"}, "name": {"n"}},
		{"do": {"disable"}, "name": {"adm"}},
	} {
		if code, _ := post(f); code != 400 {
			t.Errorf("%v: %d, want 400", f, code)
		}
	}
	if code, _ := post(url.Values{"do": {"add"}, "name": {"aud"}, "role": {"auditor"}, "password": {"long enough pw"}, "again": {"long enough pw"}}); code != 409 {
		t.Errorf("adding an existing user: %d", code)
	}
	if code, _ := post(url.Values{"do": {"disable"}, "name": {"ghost"}}); code != 404 {
		t.Errorf("disabling an unknown user: %d", code)
	}
	if code, _ := post(url.Values{"do": {"add"}, "name": {"night2"}, "role": {"auditor"}, "password": {"long enough pw"}, "again": {"long enough pw"}}); code != 200 {
		t.Fatalf("add: %d", code)
	}
	if code := e.browser().login("night2", "long enough pw"); code != 303 {
		t.Errorf("the new user's login: %d", code)
	}
	code, body = post(url.Values{"do": {"token"}, "name": {"night2"}})
	tok := regexp.MustCompile(`id="token">(cg_[^<]+)<`).FindStringSubmatch(body)
	if code != 200 || tok == nil {
		t.Fatalf("token: %d", code)
	}
	if code, _ := e.api("GET", "/api/v1/status", tok[1], ""); code != 200 {
		t.Errorf("the issued token: %d", code)
	}
	// Disable: the user's session ends and the token stops working.
	fd := e.as("fd")
	if code, _ := post(url.Values{"do": {"disable"}, "name": {"fd"}}); code != 200 {
		t.Fatal("disable")
	}
	if code, _, _ := fd.get("/"); code != 303 {
		t.Errorf("a disabled user's session still works: %d", code)
	}
	post(url.Values{"do": {"disable"}, "name": {"night2"}})
	if code, _ := e.api("GET", "/api/v1/status", tok[1], ""); code != 401 {
		t.Errorf("a disabled user's token: %d", code)
	}
	if code, _ := post(url.Values{"do": {"passwd"}, "name": {"fd"}, "password": {"a new password"}, "again": {"a new password"}}); code != 200 {
		t.Fatal("passwd")
	}
	if code := e.browser().login("fd", "a new password"); code != 303 {
		t.Errorf("login with the new password: %d", code)
	}
	evs, _ := e.j.Events(ctx, gateway.EventFilter{Audit: true})
	var all []string
	for _, ev := range evs {
		if ev.Actor == "adm" {
			all = append(all, string(ev.Data))
		}
	}
	s := strings.Join(all, " ")
	for _, a := range []string{"user-add", "user-token", "user-disable", "user-passwd"} {
		if !strings.Contains(s, a) {
			t.Errorf("no %s audit record", a)
		}
	}
	if strings.Contains(s, "long enough pw") || strings.Contains(s, tok[1]) {
		t.Error("a secret in the audit log")
	}
}

func TestConsoleTLSCookies(t *testing.T) {
	j := gatewaytest.NewJournal(gatewaytest.JournalOptions{})
	con, err := console.New(console.Options{Engine: &fakeEngine{}, Journal: j, Queries: j, Users: j, TLS: true, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(con)
	defer srv.Close()
	res, err := srv.Client().Get(srv.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS under TLS")
	}
	for _, ck := range res.Cookies() {
		if !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode {
			t.Errorf("cookie %s under TLS: %+v", ck.Name, ck)
		}
	}
	if len(res.Cookies()) == 0 {
		t.Error("no CSRF cookie")
	}
}

func TestConsoleUnknownPaths(t *testing.T) {
	e := newConsoleEnv(t)
	for _, c := range []*browser{e.browser(), e.as("fd"), e.as("aud")} {
		if code, body, _ := c.get("/no-such-page"); code != 404 || !strings.Contains(body, `class="flash error"`) {
			t.Errorf("unknown page: %d", code)
		}
	}
	if code, _ := e.api("GET", "/api/v1/no-such", e.token("aud"), ""); code != 404 {
		t.Errorf("unknown API path with a token: %d", code)
	}
}

func TestConsoleTariffReload(t *testing.T) {
	e := newConsoleEnv(t)
	aud := e.as("aud")
	if _, body, _ := aud.get("/tariff"); strings.Contains(body, `id="reload"`) {
		t.Error("an auditor gets the reload button")
	}
	if code, _, _ := aud.post("/tariff/reload", url.Values{"_csrf": {aud.csrf}}); code != 403 {
		t.Errorf("auditor reload: %d", code)
	}
	adm := e.as("adm")
	if _, body, _ := adm.get("/tariff"); !strings.Contains(body, `id="reload"`) {
		t.Error("no reload button for an admin")
	}
	if code, body, _ := adm.post("/tariff/reload", url.Values{"_csrf": {adm.csrf}}); code != 422 || !strings.Contains(body, "the tariff in force stays") {
		t.Errorf("refused reload: %d", code)
	}
	e.eng.reloadOK.Store(true)
	if code, _, h := adm.post("/tariff/reload", url.Values{"_csrf": {adm.csrf}}); code != 303 || h.Get("Location") != "/tariff?reloaded=1" {
		t.Errorf("reload: %d", code)
	}
	if e.eng.reloads.Load() != 2 {
		t.Errorf("%d reloads", e.eng.reloads.Load())
	}
	evs, _ := e.j.Events(context.Background(), gateway.EventFilter{Audit: true})
	n := 0
	for _, ev := range evs {
		if ev.Actor == "adm" && strings.Contains(string(ev.Data), "tariff-reload") {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d tariff-reload audit records, want 2", n)
	}
}
