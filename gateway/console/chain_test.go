package console_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/gateway/console"
)

// fakeChain is a central in memory that records the property lists the
// console passes to every read, and holds nothing but two users.
type fakeChain struct {
	mu    sync.Mutex
	users map[string]console.ChainUser
	asked [][]string // every read's properties, in order; nil: all
	// endless: ChainExport gives pages until stopped, and tells exported.
	endless  bool
	exported chan exported
}

func (f *fakeChain) record(ps []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, ps)
}

func (f *fakeChain) ChainUser(_ context.Context, name string) (console.ChainUser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.users[name]
	if !ok {
		return u, gateway.Errorf(gateway.KindNotFound, "no user %q", name)
	}
	return u, nil
}

func (f *fakeChain) ChainProperties(_ context.Context, ps []string) ([]console.ChainProperty, error) {
	f.record(ps)
	var out []console.ChainProperty
	for _, n := range []string{"beach", "grand"} {
		if ps == nil || slices.Contains(ps, n) {
			out = append(out, console.ChainProperty{Name: n, Site: gateway.SiteSnapshot{Timezone: "UTC"}})
		}
	}
	return out, nil
}

func (f *fakeChain) ChainToday(_ context.Context, ps []string, _ time.Time) ([]console.ChainDayTotal, error) {
	f.record(ps)
	return nil, nil
}

func (f *fakeChain) ChainCalls(_ context.Context, cf console.ChainFilter) ([]console.ChainEntry, error) {
	f.record(cf.Properties)
	return nil, nil
}

func (f *fakeChain) ChainEach(_ context.Context, sc console.ChainScan, _ func([]console.ChainEntry) error) error {
	f.record(sc.Properties)
	return nil
}

// ChainExport exports nothing, or, with endless set, pages of calls until
// fn or ctx stops it (at most a million pages), and then tells exported
// how many pages it gave and why it stopped.
func (f *fakeChain) ChainExport(ctx context.Context, cf console.ChainFilter, page int, count func(int64) error, fn func([]console.ChainEntry) error) error {
	f.record(cf.Properties)
	if !f.endless {
		if count != nil {
			if err := count(0); err != nil {
				return err
			}
		}
		return nil
	}
	es := make([]console.ChainEntry, page)
	n, err := 0, error(nil)
	for ; n < 1_000_000 && err == nil; n++ {
		for i := range es {
			at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(n*page+i) * time.Second)
			es[i] = console.ChainEntry{Property: "grand", Epoch: "e1", Entry: gateway.Entry{ID: gateway.EntryID(n*page + i + 1), Time: at, State: gateway.StatePosted,
				Call: &gateway.Call{Start: at, Extension: "101", Dialed: "0044207946000", DurationS: 60, Direction: gateway.Outgoing}}}
		}
		if err = ctx.Err(); err == nil {
			err = fn(es)
		}
	}
	f.exported <- exported{n, err}
	return err
}

type exported struct {
	pages int
	err   error
}

var chainCSRF = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// TestChainScopeEveryRead: whatever a user of property grand asks for —
// every page, the JSON API, the exports, the reports — the console passes
// the central a list holding grand only, never nil (all) and never beach;
// asking for beach is refused before anything is read. The chain admin's
// "all" is nil. And a user removed at the central loses the session.
func TestChainScopeEveryRead(t *testing.T) {
	hash, err := console.HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	fc := &fakeChain{users: map[string]console.ChainUser{
		"alice": {User: gateway.User{Name: "alice", Role: "auditor", PasswordHash: hash}, Properties: []string{"grand"}},
		"boss":  {User: gateway.User{Name: "boss", Role: "admin", PasswordHash: hash}},
	}}
	s, err := console.NewChain(console.ChainOptions{Chain: fc})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	login := func(user string) *http.Client {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
		res, err := c.Get(srv.URL + "/login")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		m := chainCSRF.FindSubmatch(b)
		if m == nil {
			t.Fatal("no CSRF token on /login")
		}
		res, err = c.PostForm(srv.URL+"/login", url.Values{"_csrf": {string(m[1])}, "username": {user}, "password": {"correct horse battery"}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK || res.Request.URL.Path != "/" {
			t.Fatalf("login %s: %d at %s", user, res.StatusCode, res.Request.URL)
		}
		return c
	}
	get := func(c *http.Client, p string) int {
		res, err := c.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	pages := []string{"/", "/?property=grand", "/calls", "/calls?property=all&room=101", "/api/v1/calls", "/api/v1/properties",
		"/calls/export?format=csv", "/calls/export?format=xlsx&property=grand", "/reports?report=night-audit&from=2026-12-01&to=2026-12-02",
		"/reports/download?report=exceptions&from=2026-12-01&format=json&property=grand"}
	alice := login("alice")
	fc.asked = nil
	for _, p := range pages {
		if st := get(alice, p); st != http.StatusOK {
			t.Errorf("alice %s: %d", p, st)
		}
	}
	if len(fc.asked) < len(pages) {
		t.Fatalf("%d reads for %d pages", len(fc.asked), len(pages))
	}
	for i, ps := range fc.asked {
		if ps == nil || len(ps) != 1 || ps[0] != "grand" {
			t.Errorf("read %d for alice asked the central for %v", i, ps)
		}
	}
	fc.asked = nil
	for _, p := range []string{"/?property=beach", "/calls?property=grand,beach", "/api/v1/calls?property=beach", "/calls/export?format=csv&property=beach",
		"/reports/download?report=rooms&from=2026-12-01&format=csv&property=beach"} {
		if st := get(alice, p); st != http.StatusForbidden {
			t.Errorf("alice %s: %d, want 403", p, st)
		}
	}
	if len(fc.asked) != 0 {
		t.Errorf("refused requests still read the central: %v", fc.asked)
	}

	boss := login("boss")
	fc.asked = nil
	if st := get(boss, "/api/v1/calls"); st != http.StatusOK || len(fc.asked) == 0 || fc.asked[len(fc.asked)-1] != nil {
		t.Errorf("the chain admin's calls: %d, asked %v, want every property (nil)", st, fc.asked)
	}

	// Removed at the central: the next request has no session.
	fc.mu.Lock()
	delete(fc.users, "alice")
	fc.mu.Unlock()
	if st := get(alice, "/api/v1/calls"); st != http.StatusUnauthorized {
		t.Errorf("a removed user's request: %d, want 401", st)
	}
	res, err := alice.Get(srv.URL + "/calls")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if !strings.HasSuffix(res.Request.URL.Path, "/login") && res.StatusCode != http.StatusUnauthorized {
		t.Errorf("a removed user's page: %d at %s", res.StatusCode, res.Request.URL)
	}
}

// TestChainExportStops: the calls export streams page after page as the
// central gives them, and when the client goes away mid-way the export
// stops reading the central (its context ends, or the write fails) rather
// than run through every call.
func TestChainExportStops(t *testing.T) {
	hash, err := console.HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	fc := &fakeChain{endless: true, exported: make(chan exported, 1), users: map[string]console.ChainUser{
		"boss": {User: gateway.User{Name: "boss", Role: "admin", PasswordHash: hash}},
	}}
	s, err := console.NewChain(console.ChainOptions{Chain: fc})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	srv := httptest.NewServer(s)
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	res, err := c.Get(srv.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := chainCSRF.FindSubmatch(b)
	if m == nil {
		t.Fatal("no CSRF token on /login")
	}
	res, err = c.PostForm(srv.URL+"/login", url.Values{"_csrf": {string(m[1])}, "username": {"boss"}, "password": {"correct horse battery"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	// HEAD answers the type without reading the calls.
	fc.mu.Lock()
	fc.asked = nil
	fc.mu.Unlock()
	res, err = c.Head(srv.URL + "/calls/export?format=csv")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	fc.mu.Lock()
	asked := len(fc.asked)
	fc.mu.Unlock()
	if asked != 0 || res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
		t.Errorf("HEAD: %d %s, %d reads of the central", res.StatusCode, res.Header.Get("Content-Type"), asked)
	}
	for _, format := range []string{"csv", "xlsx"} {
		res, err = c.Get(srv.URL + "/calls/export?format=" + format)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != http.StatusOK || res.TransferEncoding == nil || res.TransferEncoding[0] != "chunked" {
			t.Errorf("%s export: %d %v, want a chunked 200", format, res.StatusCode, res.TransferEncoding)
		}
		// Read a few pages' worth, then go away.
		if n, err := io.CopyN(io.Discard, res.Body, 1<<20); n != 1<<20 {
			t.Fatalf("%s: read %d bytes: %v", format, n, err)
		}
		res.Body.Close()
		select {
		case x := <-fc.exported:
			if x.err == nil || x.pages >= 1_000_000 {
				t.Errorf("%s: the export ran %d pages and ended with %v", format, x.pages, x.err)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: the export did not stop when the client went away", format)
		}
	}
}
