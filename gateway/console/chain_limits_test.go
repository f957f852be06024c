package console_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"callgate/gateway"
	"callgate/gateway/console"
	"callgate/gateway/report"
)

// entriesChain is fakeChain with entries for the reports: ChainEach gives
// them a page at a time and counts its calls.
type entriesChain struct {
	*fakeChain
	es    []console.ChainEntry
	eachN int
	eachM sync.Mutex
}

func (c *entriesChain) ChainEach(ctx context.Context, sc console.ChainScan, fn func([]console.ChainEntry) error) error {
	c.eachM.Lock()
	c.eachN++
	c.eachM.Unlock()
	for i := 0; i < len(c.es); i += 7 {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(c.es[i:min(i+7, len(c.es))]); err != nil {
			return err
		}
	}
	return nil
}

func (c *entriesChain) reads() int {
	c.eachM.Lock()
	defer c.eachM.Unlock()
	return c.eachN
}

// postedCalls are n calls of 2026-12-01 posted to rooms: a night-audit
// row each.
func postedCalls(n int) []console.ChainEntry {
	var es []console.ChainEntry
	for i := 0; i < n; i++ {
		at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute)
		es = append(es, console.ChainEntry{Property: "grand", Epoch: "e1", Entry: gateway.Entry{ID: gateway.EntryID(i + 1), Time: at, State: gateway.StatePosted,
			Room: "101", Posting: uint32(i + 1),
			Call:   &gateway.Call{Start: at, StartUTC: at, Extension: "101", Dialed: "0044207946000", DurationS: 60, Direction: gateway.Outgoing, Trunk: "9001"},
			Charge: &gateway.Charge{Class: "international", Chargeable: true, TotalMinor: 250, Currency: "EUR"}}})
	}
	return es
}

// chainLogin logs user in at the chain console srv.
func chainLogin(t *testing.T, srv string, user string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	res, err := c.Get(srv + "/login")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := chainCSRF.FindSubmatch(b)
	if m == nil {
		t.Fatal("no CSRF token on /login")
	}
	res, err = c.PostForm(srv+"/login", url.Values{"_csrf": {string(m[1])}, "username": {user}, "password": {"correct horse battery"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("login %s: %d", user, res.StatusCode)
	}
	return c
}

func bossChain(t *testing.T) *fakeChain {
	t.Helper()
	hash, err := console.HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	return &fakeChain{users: map[string]console.ChainUser{"boss": {User: gateway.User{Name: "boss", Role: "admin", PasswordHash: hash}}}}
}

func fetch(t *testing.T, c *http.Client, method, u string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(method, u, nil)
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

// TestChainReportRows: the page shows at most ChainPageRows of a report's
// rows, with a note and the download links, the download every row; a
// report over report.MaxRows is refused with the sentence; HEAD on the
// page and on the download runs no report; all-busy with no sized trunk
// group and fraud with no rule read no entry.
func TestChainReportRows(t *testing.T) {
	ec := &entriesChain{fakeChain: bossChain(t), es: postedCalls(30)}
	s, err := console.NewChain(console.ChainOptions{Chain: ec})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	srv := httptest.NewServer(s)
	defer srv.Close()
	c := chainLogin(t, srv.URL, "boss")
	defer func(n, m int) { console.ChainPageRows, report.MaxRows = n, m }(console.ChainPageRows, report.MaxRows)
	console.ChainPageRows = 10

	q := "report=night-audit&from=2026-12-01&to=2026-12-01"
	st, _, body := fetch(t, c, "GET", srv.URL+"/reports?"+q)
	if st != http.StatusOK || strings.Count(body, "<tr><td") != 10 || !strings.Contains(body, `id="rows-cut"`) ||
		!strings.Contains(body, "the first 10 of the 30 rows") || !strings.Contains(body, "/reports/download?") {
		t.Errorf("a report of 30 rows on the page: %d, %d rows shown, the note: %v", st, strings.Count(body, "<tr><td"), strings.Contains(body, "rows-cut"))
	}
	st, _, body = fetch(t, c, "GET", srv.URL+"/reports/download?format=csv&"+q)
	if st != http.StatusOK || strings.Count(body, "\n") != 31 {
		t.Errorf("the download: %d, %d lines, want 31", st, strings.Count(body, "\n"))
	}

	report.MaxRows = 20
	for _, p := range []string{"/reports?" + q, "/reports/download?format=csv&" + q} {
		st, _, body = fetch(t, c, "GET", srv.URL+p)
		if st != http.StatusBadRequest && st != http.StatusUnprocessableEntity || !strings.Contains(body, "more than 20 rows") || !strings.Contains(body, "export the calls") {
			t.Errorf("%s over MaxRows: %d %q", p, st, body)
		}
	}
	report.MaxRows = 200_000

	before := ec.reads()
	for _, p := range []string{"/reports?" + q, "/reports/download?format=xlsx&" + q} {
		st, h, _ := fetch(t, c, "HEAD", srv.URL+p)
		if st != http.StatusOK || h.Get("Content-Type") == "" {
			t.Errorf("HEAD %s: %d %q", p, st, h.Get("Content-Type"))
		}
	}
	if n := ec.reads() - before; n != 0 {
		t.Errorf("HEAD ran %d reports", n)
	}

	for _, name := range []string{"all-busy", "fraud"} {
		before := ec.reads()
		st, _, body := fetch(t, c, "GET", srv.URL+"/reports?from=2026-12-01&to=2026-12-01&report="+name)
		if st != http.StatusOK || !strings.Contains(body, "No trunk group has a configured size") && !strings.Contains(body, "No fraud rules are set") {
			t.Errorf("%s: %d", name, st)
		}
		if n := ec.reads() - before; n != 0 {
			t.Errorf("%s with nothing to look for read the central %d times", name, n)
		}
	}
	before = ec.reads()
	if st, _, _ := fetch(t, c, "GET", srv.URL+"/reports?from=2026-12-01&to=2026-12-01&report=trunks"); st != http.StatusOK || ec.reads() != before+1 {
		t.Errorf("trunks: %d, %d reads", st, ec.reads()-before)
	}
}

// TestChainExportStalled: a client that stops reading the calls export
// ends it (each page has the write timeout to be written): the export
// stops reading the central and gives its slot back rather than hold a
// connection and a snapshot for ever.
func TestChainExportStalled(t *testing.T) {
	fc := bossChain(t)
	fc.endless, fc.exported = true, make(chan exported, 1)
	var log syncBuffer
	s, err := console.NewChain(console.ChainOptions{Chain: fc, WriteTimeout: time.Second, Logger: zerolog.New(&log)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	srv := httptest.NewServer(s)
	defer srv.Close()
	c := chainLogin(t, srv.URL, "boss")
	c.Timeout = 0 // the client does not give up: only the server's deadline ends it
	res, err := c.Get(srv.URL + "/calls/export?format=csv")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close() // never read
	select {
	case x := <-fc.exported:
		if x.err == nil || x.pages >= 1_000_000 {
			t.Errorf("the stalled export ran %d pages and ended with %v", x.pages, x.err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the export of a client that stopped reading did not end")
	}
	// Logged as the client's doing, not as an error of the central.
	for i := 0; i < 500 && !strings.Contains(log.String(), "the client stopped reading"); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if l := log.String(); !strings.Contains(l, "the client stopped reading") || strings.Contains(l, `"level":"error"`) {
		t.Errorf("the log of a stalled export:\n%s", l)
	}
}

// syncBuffer is a log's buffer the handlers write while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestChainBusy: with one slot for reports and exports, a report asked
// while an export runs waits BusyWait and is answered 503 with the
// sentence; once the export ends, it runs.
func TestChainBusy(t *testing.T) {
	fc := bossChain(t)
	fc.endless, fc.exported = true, make(chan exported, 1)
	s, err := console.NewChain(console.ChainOptions{Chain: fc, Concurrent: 1, BusyWait: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	srv := httptest.NewServer(s)
	defer srv.Close()
	c := chainLogin(t, srv.URL, "boss")
	res, err := c.Get(srv.URL + "/calls/export?format=csv")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(io.Discard, res.Body, 1<<16); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/reports?report=rooms&from=2026-12-01", "/reports/download?report=exceptions&from=2026-12-01&format=csv", "/calls/export?format=xlsx"} {
		st, h, body := fetch(t, c, "GET", srv.URL+p)
		if st != http.StatusServiceUnavailable || !strings.Contains(body, "the central is busy: 1 reports or exports are running") ||
			!strings.Contains(body, "try again in a minute") {
			t.Errorf("%s beside a running export: %d %q %v", p, st, body[:min(len(body), 200)], h)
		}
	}
	res.Body.Close()
	select {
	case <-fc.exported:
	case <-time.After(30 * time.Second):
		t.Fatal("the export did not end with its client")
	}
	fc.mu.Lock()
	fc.endless = false
	fc.mu.Unlock()
	if st, _, body := fetch(t, c, "GET", srv.URL+"/reports?report=rooms&from=2026-12-01"); st != http.StatusOK {
		t.Errorf("a report once the export ended: %d %q", st, body[:min(len(body), 200)])
	}
}
