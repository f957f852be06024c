package console_test

import (
	"context"
	"encoding/csv"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/gateway/console"
)

// D13: HEAD is answered on every page as GET is, without a body.
func TestConsoleHead(t *testing.T) {
	e := newConsoleEnv(t)
	e.seed(gateway.StatePosted, 1)
	head := func(b *browser, path string) (int, http.Header, string) {
		t.Helper()
		code, body, h := b.send(http.MethodHead, path, nil)
		return code, h, body
	}
	out := e.browser()
	for _, p := range getRoutes {
		if code, h, _ := head(out, p); code != http.StatusSeeOther || h.Get("Location") != "/login" {
			t.Errorf("HEAD %s without a session: %d, want 303 to /login as GET", p, code)
		}
	}
	if code, _, _ := head(out, "/login"); code != 200 {
		t.Errorf("HEAD /login: %d", code)
	}
	aud := e.as("aud")
	for _, p := range getRoutes {
		want := 200 // a stream's GET never ends
		if p != "/live" {
			want, _, _ = aud.get(p)
		}
		code, h, body := head(aud, p)
		if code != want || body != "" {
			t.Errorf("HEAD %s: %d with %d bytes, GET %d", p, code, len(body), want)
		}
		if p == "/calls.csv" && !strings.HasPrefix(h.Get("Content-Type"), "text/csv") {
			t.Errorf("HEAD /calls.csv: Content-Type %q", h.Get("Content-Type"))
		}
	}
	if code, _, _ := head(e.as("fd"), "/calls.csv"); code != http.StatusForbidden {
		t.Errorf("front desk HEAD /calls.csv: %d", code)
	}
	tok := e.token("fd")
	for _, p := range []string{"/api/v1/status", "/api/v1/calls", "/api/v1/calls/1"} {
		req, _ := http.NewRequest(http.MethodHead, e.srv.URL+p, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Errorf("HEAD %s: %d", p, res.StatusCode)
		}
	}
}

// D13: pages and API answers are never cached; the static files may be.
func TestConsoleNoStore(t *testing.T) {
	e := newConsoleEnv(t)
	e.seed(gateway.StatePosted, 1)
	adm := e.as("adm")
	for _, p := range append(getRoutes, "/login", "/users") {
		if p == "/live" { // a stream: its HEAD has GET's header
			continue
		}
		if _, _, h := adm.get(p); h.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: Cache-Control %q, want no-store", p, h.Get("Cache-Control"))
		}
	}
	if _, _, h := adm.send(http.MethodHead, "/live", nil); h.Get("Cache-Control") != "no-store" {
		t.Errorf("/live: Cache-Control %q", h.Get("Cache-Control"))
	}
	_, body, h := adm.post("/users", url.Values{"_csrf": {adm.csrf}, "do": {"token"}, "name": {"aud"}})
	if !regexp.MustCompile(`id="token">cg_`).MatchString(body) || h.Get("Cache-Control") != "no-store" {
		t.Errorf("the page with a new API token: Cache-Control %q", h.Get("Cache-Control"))
	}
	tok := e.token("aud")
	for _, p := range []string{"/api/v1/status", "/api/v1/calls", "/api/v1/calls/1", "/api/v1/queues"} {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+p, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 || res.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: %d, Cache-Control %q", p, res.StatusCode, res.Header.Get("Cache-Control"))
		}
	}
	if _, _, h := adm.get("/static/console.css"); h.Get("Cache-Control") == "no-store" {
		t.Error("the style sheet is no-store")
	}
}

// D13: the write deadline is set on pages and never on the CSV export,
// which streams: with a deadline already past, a page cannot be written
// but the export still arrives whole.
func TestConsoleWriteDeadline(t *testing.T) {
	e := newConsoleEnv(t, func(o *console.Options) { o.WriteTimeout = time.Nanosecond })
	for i := 1; i <= 40; i++ {
		e.seed(gateway.StatePosted, i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// (No login page can be written either: the session is made directly.)
	session := &http.Cookie{Name: "callgate_session", Value: e.con.SessionFor("aud", "auditor")}
	get := func(path string) (*http.Response, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+path, nil)
		req.AddCookie(session)
		return http.DefaultClient.Do(req)
	}
	res, err := get("/calls?sort=old")
	if err == nil {
		_, err = io.ReadAll(res.Body)
		res.Body.Close()
	}
	if err == nil {
		t.Error("a page was written after its write deadline")
	}
	res, err = get("/calls.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	rows, err := csv.NewReader(res.Body).ReadAll()
	if err != nil || res.StatusCode != 200 || len(rows) != 41 {
		t.Errorf("the export under a past write deadline: %d, %d rows, %v", res.StatusCode, len(rows), err)
	}
}
