package console

import (
	"strings"
	"testing"
	"time"

	"callgate/gateway"
)

// The handler tests, which need a journal, are in handlers_test.go and
// handlers_reports_test.go, on gatewaytest's in-memory journal (this package
// may not import store); the headless-browser test of a whole gateway stays
// in cmd/gateway (browser_test.go).

func TestMask(t *testing.T) {
	for _, c := range []struct {
		keep     int
		in, want string
	}{{4, "011441632960123", "0114xxxxxxxxxxx"}, {4, "911", "911"}, {0, "6175550134", "xxxxxxxxxx"}, {6, "6175550134", "617555xxxx"}} {
		s := &Server{o: Options{MaskDigits: c.keep}}
		if got := s.mask(c.in); got != c.want {
			t.Errorf("mask(%q, %d) = %q, want %q", c.in, c.keep, got, c.want)
		}
		if got := s.number(who{role: roleFrontdesk}, c.in); got != c.want {
			t.Errorf("front desk sees %q", got)
		}
		if got := s.number(who{role: roleAuditor}, c.in); got != c.in {
			t.Errorf("auditor sees %q", got)
		}
	}
}

func TestRoles(t *testing.T) {
	if !(who{role: roleAdmin}).can(roleAuditor) || (who{role: roleFrontdesk}).can(roleAuditor) || (who{role: "boss"}).can(roleFrontdesk) {
		t.Error("role ranks")
	}
	if ValidRole("") || ValidRole("root") || !ValidRole("frontdesk") {
		t.Error("ValidRole")
	}
}

func TestCallFilter(t *testing.T) {
	loc, _ := time.LoadLocation("Europe/London")
	jf, match, err := callFilter{From: "2026-03-29", To: "2026-03-29", State: "posted", Sort: "old", Dialed: "44"}.parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	// The site's day, DST day included: 23 hours.
	if jf.To.Sub(jf.From) != 23*time.Hour || jf.From.UTC().Hour() != 0 || jf.Newest || len(jf.States) != 1 {
		t.Errorf("filter %+v", jf)
	}
	yes := gateway.Entry{Call: &gateway.Call{Dialed: "011441632960123"}}
	no := gateway.Entry{Call: &gateway.Call{Dialed: "6175550134"}}
	if !match(yes) || match(no) || match(gateway.Entry{}) {
		t.Error("the dialed-text condition")
	}
	for _, f := range []callFilter{{From: "29/03/2026"}, {State: "nope"}, {Sort: "up"}, {Room: "<b>"}, {Dialed: strings.Repeat("1", 33)},
		{From: "2026-03-29", To: "2026-03-01"}} {
		if _, _, err := f.parse(loc); err == nil {
			t.Errorf("%+v accepted", f)
		} else if he, ok := err.(interface{ Error() string }); !ok || !strings.Contains(he.Error(), "code=400") {
			t.Errorf("%+v: %v, want a 400", f, err)
		}
	}
}

func TestLoginLimiter(t *testing.T) {
	now := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	l := newLoginLimiter(func() time.Time { return now })
	for i := 0; i < ipBurst; i++ {
		if !l.allow("192.0.2.1") {
			t.Fatalf("attempt %d refused", i+1)
		}
	}
	if l.allow("192.0.2.1") {
		t.Error("attempt past the burst allowed")
	}
	if !l.allow("192.0.2.2") {
		t.Error("another address refused")
	}
	now = now.Add(ipEvery)
	if !l.allow("192.0.2.1") || l.allow("192.0.2.1") {
		t.Error("one attempt per ipEvery after the burst")
	}
}

func TestSessions(t *testing.T) {
	now := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	ss := newSessions(time.Hour, func() time.Time { return now })
	a, av := ss.create("night", roleAuditor)
	b, bv := ss.create("day", roleFrontdesk)
	if a == b || len(a) < 40 {
		t.Fatalf("session ids %q %q", a, b)
	}
	if av.csrf == bv.csrf || len(av.csrf) < 40 || av.csrf == a {
		t.Fatalf("CSRF tokens %q %q: each session has its own, not its id", av.csrf, bv.csrf)
	}
	now = now.Add(59 * time.Minute)
	if _, ok := ss.get(a); !ok {
		t.Error("a session used within its TTL expired")
	}
	now = now.Add(61 * time.Minute)
	if _, ok := ss.get(b); ok {
		t.Error("an idle session outlived its TTL")
	}
	if _, ok := ss.get(a); ok {
		t.Error("a session idle past its TTL since its last use")
	}
	c, _ := ss.create("night", roleAuditor)
	ss.dropUser("night")
	if _, ok := ss.get(c); ok {
		t.Error("dropUser left a session")
	}
}

func TestPasswordsAndTokens(t *testing.T) {
	if _, err := HashPassword("short"); err == nil {
		t.Error("a short password hashed")
	}
	if _, err := HashPassword(strings.Repeat("x", 73)); err == nil {
		t.Error("a password over bcrypt's 72 bytes hashed")
	}
	tok, hash := NewToken()
	tok2, _ := NewToken()
	if !strings.HasPrefix(tok, "cg_") || tok == tok2 || string(TokenHash(tok)) != string(hash) {
		t.Error("tokens")
	}
}

func TestTemplatesParse(t *testing.T) {
	pages, err := parsePages()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"login", "dashboard", "calls", "call", "exceptions", "audit", "rooms", "statement", "tariff", "users", "error"} {
		if pages[p] == nil {
			t.Errorf("no page %s", p)
		}
	}
	// No inline script or style anywhere: the CSP forbids them.
	for name := range pages {
		b, _ := templateFS.ReadFile("templates/" + name + ".html")
		if s := string(b); strings.Contains(s, "<script>") || strings.Contains(s, " onclick=") || strings.Contains(s, "<style") || strings.Contains(s, "style=") {
			t.Errorf("%s has an inline script or style", name)
		}
	}
}

func TestMaskText(t *testing.T) {
	s := &Server{o: Options{MaskDigits: 4}}
	for in, want := range map[string]string{
		"refused: +44 1632 960123":                 "refused: +44 16xx xxxxxx",
		"tariff: invalid-number (0114xxxxxxxxxxx)": "tariff: invalid-number (0114xxxxxxxxxxx)",
		"unreadable record: 011441632960123 T9":    "unreadable record: 0114xxxxxxxxxxx T9",
		"(617) 555-0134 and 617.555.0134":          "(617) 5xx-xxxx and 617.5xx.xxxx",
		"room 101, call 12345, 5.39 USD, P# 48":    "room 101, call 12345, 5.39 USD, P# 48",
		"extension \"4150\" maps to no room":       "extension \"4150\" maps to no room",
	} {
		if got := s.maskText(in); got != want {
			t.Errorf("maskText(%q) = %q, want %q", in, got, want)
		}
	}
}
