package console_test

import (
	"context"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/gateway/console"
)

// The console's login, session and CSRF rules (docs/design.md, "Console
// security"), through the whole echo app.

// browserFrom is a browser whose connections come from the loopback
// address ip (127.0.0.2, …), another client as the login limits see it.
func (e *consoleEnv) browserFrom(ip string) *browser {
	b := e.browser()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	b.hc.Transport = &http.Transport{DialContext: d.DialContext}
	return b
}

var flash = regexp.MustCompile(`class="flash error" role="alert">([^<]*)<`)

// attempt posts a login form from b and returns the status and the
// error shown.
func (b *browser) attempt(user, password string) (int, string) {
	b.t.Helper()
	b.get("/login")
	code, body, _ := b.post("/login", url.Values{"_csrf": {b.csrf}, "username": {user}, "password": {password}})
	m := flash.FindStringSubmatch(body)
	if m == nil {
		return code, ""
	}
	return code, m[1]
}

// countBcrypt counts the password checks made until the test ends.
func countBcrypt(t *testing.T) *atomic.Int32 {
	var n atomic.Int32
	orig := *console.CompareHash
	*console.CompareHash = func(hash, password []byte) error { n.Add(1); return orig(hash, password) }
	t.Cleanup(func() { *console.CompareHash = orig })
	return &n
}

// D10: an unknown user, a disabled one, one locked by the old lockout and a
// wrong password get the same answer after the same bcrypt work.
func TestConsoleLoginSameAnswer(t *testing.T) {
	e := newConsoleEnv(t)
	ctx := context.Background()
	if _, err := e.j.UpdateUser(ctx, "fd", func(u *gateway.User) error { u.Disabled = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := e.j.UpdateUser(ctx, "adm", func(u *gateway.User) error {
		u.FailedLogins, u.LockedUntil = 5, time.Now().Add(time.Hour)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	n := countBcrypt(t)
	c := e.browser()
	type answer struct {
		code    int
		message string
		checks  int32
	}
	var want answer
	for i, try := range []struct{ name, user, password string }{
		{"wrong password", "aud", "not the password"},
		{"unknown user", "nobody", "not the password"},
		{"disabled user, right password", "fd", testPassword},
		{"disabled user, wrong password", "fd", "not the password"},
		{"user locked by the old lockout, wrong password", "adm", "not the password"},
	} {
		before := n.Load()
		code, msg := c.attempt(try.user, try.password)
		got := answer{code, msg, n.Load() - before}
		if i == 0 {
			want = got
			if code != http.StatusUnauthorized || msg != "wrong user name or password" || got.checks != 1 {
				t.Fatalf("%s: %+v", try.name, got)
			}
			continue
		}
		if got != want {
			t.Errorf("%s: %+v, want %+v as for a wrong password", try.name, got, want)
		}
	}
	// The old lock kept in the user's record refuses nothing.
	if code := e.browser().login("adm", testPassword); code != http.StatusSeeOther {
		t.Errorf("login of a user with a LockedUntil in the record: %d", code)
	}
}

// D10: failures from one address back off that address for that name; the
// user logs in from elsewhere all the same; the back-off is audited and
// answers alike for a user and for a name nobody has.
func TestConsoleLoginBackoff(t *testing.T) {
	e := newConsoleEnv(t)
	ctx := context.Background()
	attacker := e.browserFrom("127.0.0.2")
	var last int
	for i := 0; i < 5; i++ {
		last, _ = attacker.attempt("adm", "not the password")
	}
	if last != http.StatusUnauthorized {
		t.Errorf("5th failure: %d, want 401", last)
	}
	code, msg := attacker.attempt("adm", testPassword)
	if code != http.StatusTooManyRequests || !strings.Contains(msg, "too many failed logins with this name from this address") {
		t.Errorf("the right password from the backed-off address: %d %q, want 429", code, msg)
	}
	// A name nobody has backs off the same way, with the same words.
	// (From another address: this one has used up its 10 attempts.)
	prober := e.browserFrom("127.0.0.4")
	for i := 0; i < 5; i++ {
		prober.attempt("ghost", "not the password")
	}
	gcode, gmsg := prober.attempt("ghost", testPassword)
	words := func(m string) string { w, _, _ := strings.Cut(m, " after "); return w }
	if gcode != code || words(gmsg) != words(msg) {
		t.Errorf("an unknown name's back-off: %d %q, a user's: %d %q", gcode, gmsg, code, msg)
	}
	// The admin, from another address, is not kept out.
	adm := e.browser()
	if code := adm.login("adm", testPassword); code != http.StatusSeeOther {
		t.Fatalf("the admin's own login after a third party's failures: %d, want 303", code)
	}
	if u, _ := e.j.User(ctx, "adm"); !u.LockedUntil.IsZero() || u.FailedLogins != 0 {
		t.Errorf("the user's record holds a lock: %+v", u)
	}
	evs, _ := e.j.Events(ctx, gateway.EventFilter{Audit: true})
	found := false
	for _, ev := range evs {
		found = found || (strings.Contains(string(ev.Data), "login-backoff") && strings.Contains(string(ev.Data), `"adm"`) &&
			strings.Contains(string(ev.Data), "127.0.0.2"))
	}
	if !found {
		t.Error("no login-backoff audit record naming the user and the address")
	}
	for _, ev := range evs {
		if strings.Contains(string(ev.Data), "ghost") {
			t.Errorf("the audit log writes down a name that is no user's: %s", ev.Data)
		}
	}
	// The per-address limit stays: 10 attempts, then 429 for any name.
	other := e.browserFrom("127.0.0.3")
	for i := 0; i < 10; i++ {
		last, _ = other.attempt("fd", "nope nope nope")
		if i < 4 && last != http.StatusUnauthorized {
			t.Errorf("attempt %d: %d", i+1, last)
		}
	}
	if code, msg := other.attempt("aud", testPassword); code != http.StatusTooManyRequests || !strings.Contains(msg, "from this address") {
		t.Errorf("11th attempt from one address: %d %q, want 429", code, msg)
	}
}

// D11: the CSRF token is the server-side session's: a cookie and token
// made up together do nothing; a token dies at logout and at a new login.
func TestConsoleCSRFBoundToSession(t *testing.T) {
	e := newConsoleEnv(t)
	adm := e.as("adm")
	base, _ := url.Parse(e.srv.URL)
	// Echo's double-submit cookie, planted by a same-site page, with a
	// matching token in the form; and a made-up session cookie.
	adm.hc.Jar.SetCookies(base, []*http.Cookie{{Name: "_csrf", Value: "invented-pair"}, {Name: "callgate_csrf", Value: "invented-pair"}})
	if code, _, _ := adm.post("/rooms/resync", url.Values{"_csrf": {"invented-pair"}}); code != http.StatusForbidden {
		t.Errorf("resync with an invented cookie/token pair: %d, want 403", code)
	}
	stranger := e.browser()
	jar, _ := cookiejar.New(nil)
	jar.SetCookies(base, []*http.Cookie{{Name: "callgate_session", Value: "invented-session"}, {Name: "callgate_csrf", Value: "invented-pair"}})
	stranger.hc.Jar = jar
	if code, _, _ := stranger.post("/rooms/resync", url.Values{"_csrf": {"invented-pair"}}); code != http.StatusForbidden {
		t.Errorf("resync with an invented session and token: %d, want 403", code)
	}
	if n := e.eng.resyncs.Load(); n != 0 {
		t.Fatalf("%d resyncs from forged forms", n)
	}
	if code, _, _ := adm.post("/rooms/resync", url.Values{"_csrf": {adm.csrf}}); code != http.StatusSeeOther || e.eng.resyncs.Load() != 1 {
		t.Fatalf("resync with the session's token: %d", code)
	}

	// Rotated at login: the login form's token is not the session's.
	c := e.browser()
	c.get("/login")
	before := c.csrf
	c.post("/login", url.Values{"_csrf": {before}, "username": {"adm"}, "password": {testPassword}})
	c.get("/")
	if c.csrf == "" || c.csrf == before {
		t.Errorf("the token was not rotated at login: %q then %q", before, c.csrf)
	}
	if code, _, _ := c.post("/rooms/resync", url.Values{"_csrf": {before}}); code != http.StatusForbidden {
		t.Errorf("the login form's token after login: %d, want 403", code)
	}
	// Dead at logout, and after a login as another user.
	old := c.csrf
	if code, _, _ := c.post("/logout", url.Values{"_csrf": {old}}); code != http.StatusSeeOther {
		t.Fatalf("logout: %d", code)
	}
	if code := c.login("adm", testPassword); code != http.StatusSeeOther {
		t.Fatalf("login again: %d", code)
	}
	if c.csrf == old {
		t.Error("the token survived logout")
	}
	if code, _, _ := c.post("/rooms/resync", url.Values{"_csrf": {old}}); code != http.StatusForbidden {
		t.Errorf("the token of before the logout: %d, want 403", code)
	}
	admToken := c.csrf
	if code := c.login("aud", testPassword); code != http.StatusSeeOther {
		t.Fatalf("login as aud: %d", code)
	}
	if c.csrf == admToken {
		t.Error("the token survived a login as another user")
	}
	if code, _, _ := c.post("/exceptions/resolve", url.Values{"_csrf": {admToken}, "id": {"1"}, "action": {"void"}, "reason": {"x"}}); code != http.StatusForbidden {
		t.Errorf("the previous user's token: %d, want 403", code)
	}
	if n := e.eng.resyncs.Load(); n != 1 {
		t.Errorf("%d resyncs, want 1", n)
	}
	// A logout without a session (it expired) just goes to the login page.
	if code, _, h := e.browser().post("/logout", url.Values{}); code != http.StatusSeeOther || h.Get("Location") != "/login" {
		t.Errorf("logout without a session: %d", code)
	}
}
