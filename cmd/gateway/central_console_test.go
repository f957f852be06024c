package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"callgate/gateway"
	"callgate/gateway/console"
	"callgate/gateway/gatewaytest"
	"callgate/gateway/report"
	"callgate/gateway/report/render"
	"callgate/internal/pgtest"
	"callgate/tariff"
)

// chainFixture is a central with two properties that shipped their calls
// (grand in Vienna, beach in UTC), its chain console, and users: boss
// (admin, every property), alice (auditor, grand only), desk (front desk,
// grand only).
type chainFixture struct {
	console string
	logs    map[string]*gatewaytest.ShipLog
	zone    map[string]*time.Location
	start   time.Time
}

const chainPassword = "correct horse battery"

func newChainFixture(t *testing.T) *chainFixture {
	t.Helper()
	dsn := pgtest.DB(t)
	cfg := writeCentralConfig(t, dsn, "127.0.0.1:0", "")
	vienna, err := time.LoadLocation("Europe/Vienna")
	if err != nil {
		t.Fatal(err)
	}
	f := &chainFixture{logs: map[string]*gatewaytest.ShipLog{}, zone: map[string]*time.Location{"grand": vienna, "beach": time.UTC}}
	tokens := map[string]string{"grand": addProperty(t, cfg, "grand"), "beach": addProperty(t, cfg, "beach")}
	for _, u := range []struct{ name, role, props string }{{"boss", "admin", ""}, {"alice", "auditor", "grand"}, {"desk", "frontdesk", "grand"}} {
		args := []string{"central", "user", "add", u.name, "--role", u.role, "--config", cfg}
		if u.props != "" {
			args = append(args, "--properties", u.props)
		}
		if code, _, errs := run(t, chainPassword+"\n", args...); code != 0 {
			t.Fatalf("user add %s: %s", u.name, errs)
		}
	}
	ingest, cons := serveChain(t, cfg)
	f.console = cons
	// The calls run up to now, so that today's figures have calls.
	f.start = time.Now().UTC().Add(-30 * time.Hour).Truncate(time.Minute)
	for name, n := range map[string]int{"grand": 120, "beach": 80} {
		l := gatewaytest.NewShipLog("e-"+name, f.start, f.zone[name])
		for i := 0; i < n; i++ {
			l.Tick(9 * time.Minute)
			l.PostedCall(i, fmt.Sprint(100+i%25), int64(40+i))
			if i%20 == 0 {
				l.Capture(fmt.Sprintf("an unparsed record %d", i)) // an entry without a call
			}
		}
		// And one call a minute ago: today has a call at each property.
		l.Tick(time.Until(l.Now()) * -1)
		l.Tick(-time.Minute)
		l.PostedCall(n, "199", 1234)
		last := uint64(len(l.Events()))
		if name == "beach" {
			// An audit record the property has not shipped yet: beach's
			// lag is one event.
			l.Audit("night", "note", "the shipper has not sent this", nil)
		}
		if st, r := postBatch(t, ingest, tokens[name], encodeBatch(t, l.Batch(1, last))); st != http.StatusOK {
			t.Fatalf("%s: %d %+v", name, st, r)
		}
		f.logs[name] = l
	}
	return f
}

// serveChain runs `gateway central serve` until the test ends and returns
// the ingest's and the chain console's base URLs.
func serveChain(t *testing.T, cfg string) (ingest, cons string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"central", "serve", "--config", cfg}, strings.NewReader(""), &out, &errb)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("central serve ended with %d: %s", code, errb.String())
			}
		case <-time.After(time.Minute):
			t.Error("central serve did not stop")
		}
	})
	re := regexp.MustCompile(`(?s)central listening on (https?://\S+).*chain console on (https?://\S+)`)
	if !out.wait(time.Minute, func(s string) bool { return re.MatchString(s) }) {
		t.Fatalf("central serve did not start: %s %s", out.String(), errb.String())
	}
	m := re.FindStringSubmatch(out.String())
	return m[1], m[2]
}

// login returns a client logged in to the chain console as user.
func (f *chainFixture) login(t *testing.T, user string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: time.Minute}
	_, body := get(t, c, f.console+"/login")
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token on the login page:\n%s", body)
	}
	resp, err := c.PostForm(f.console+"/login", url.Values{"_csrf": {m[1]}, "username": {user}, "password": {chainPassword}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), user) || resp.Request.URL.Path != "/" {
		t.Fatalf("login as %s: %d at %s\n%s", user, resp.StatusCode, resp.Request.URL, b)
	}
	return c
}

func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// apiCalls reads every page of /api/v1/calls with the query q.
func (f *chainFixture) apiCalls(t *testing.T, c *http.Client, q string) []map[string]any {
	t.Helper()
	var all []map[string]any
	for page := 0; page < 100; page++ {
		st, body := get(t, c, fmt.Sprintf("%s/api/v1/calls?%s&page=%d", f.console, q, page))
		if st != http.StatusOK {
			t.Fatalf("api calls %s page %d: %d %s", q, page, st, body)
		}
		var r struct {
			Calls []map[string]any `json:"calls"`
			More  bool             `json:"more"`
		}
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			t.Fatal(err)
		}
		all = append(all, r.Calls...)
		if !r.More {
			return all
		}
	}
	t.Fatal("more than 100 pages")
	return nil
}

// TestChainConsoleScope: a user of property grand sees grand's rows and
// never beach's, on the pages, through the JSON API and in the exports;
// asking for beach is refused; the chain admin sees both; the front desk
// sees masked numbers and no reports; nothing can be posted.
func TestChainConsoleScope(t *testing.T) {
	f := newChainFixture(t)
	alice, boss, desk := f.login(t, "alice"), f.login(t, "boss"), f.login(t, "desk")

	st, dash := get(t, alice, f.console+"/")
	if st != http.StatusOK || !strings.Contains(dash, `data-property="grand"`) || strings.Contains(dash, "beach") {
		t.Errorf("alice's dashboard: %d, grand %v, beach %v", st, strings.Contains(dash, `data-property="grand"`), strings.Contains(dash, "beach"))
	}
	if !strings.Contains(dash, "read-only") {
		t.Error("the dashboard does not say the console is read-only")
	}
	_, props := get(t, alice, f.console+"/api/v1/properties")
	if !strings.Contains(props, `"property":"grand"`) || strings.Contains(props, "beach") {
		t.Errorf("alice's /api/v1/properties: %s", props)
	}
	calls := f.apiCalls(t, alice, "")
	if len(calls) != len(f.logs["grand"].Entries) {
		t.Errorf("alice sees %d calls, grand has %d", len(calls), len(f.logs["grand"].Entries))
	}
	seen := map[float64]bool{}
	for _, c := range calls {
		if c["property"] != "grand" {
			t.Fatalf("alice sees a call of %v", c["property"])
		}
		seen[c["entry"].(float64)] = true
	}
	if len(seen) != len(calls) {
		t.Errorf("the pages repeat calls: %d distinct of %d", len(seen), len(calls))
	}
	_, csv := get(t, alice, f.console+"/calls/export?format=csv")
	if strings.Count(csv, "\ngrand,") != len(f.logs["grand"].Entries) || strings.Contains(csv, "beach") {
		t.Errorf("alice's export: %d grand rows (want %d), beach %v", strings.Count(csv, "\ngrand,"), len(f.logs["grand"].Entries), strings.Contains(csv, "beach"))
	}
	for _, p := range []string{"/?property=beach", "/calls?property=beach", "/api/v1/calls?property=beach", "/api/v1/properties?property=grand,beach",
		"/calls/export?format=csv&property=beach", "/reports?report=rooms&from=2026-12-01&property=beach",
		"/reports/download?report=rooms&from=2026-12-01&format=csv&property=beach"} {
		if st, body := get(t, alice, f.console+p); st != http.StatusForbidden || strings.Contains(body, "0044") {
			t.Errorf("alice asks %s: %d, want 403", p, st)
		}
	}

	both := f.apiCalls(t, boss, "")
	if len(both) != len(f.logs["grand"].Entries)+len(f.logs["beach"].Entries) {
		t.Errorf("the admin sees %d calls, the properties have %d", len(both), len(f.logs["grand"].Entries)+len(f.logs["beach"].Entries))
	}
	if got := f.apiCalls(t, boss, "property=beach&room=101"); len(got) == 0 || got[0]["property"] != "beach" || got[0]["room"] != "101" {
		t.Errorf("the admin's filter property=beach&room=101: %v", got)
	} else {
		for _, c := range got {
			if c["property"] != "beach" || c["room"] != "101" {
				t.Errorf("filter property=beach&room=101 lets through %v/%v", c["property"], c["room"])
			}
		}
	}

	dcalls := f.apiCalls(t, desk, "")
	for _, c := range dcalls {
		if d, _ := c["dialed"].(string); d != "" && !strings.HasSuffix(d, "x") {
			t.Fatalf("the front desk sees the whole number %s", d)
		}
	}
	if st, _ := get(t, desk, f.console+"/reports"); st != http.StatusForbidden {
		t.Errorf("the front desk's /reports: %d, want 403", st)
	}
	// Read-only: no action route exists, also for an admin.
	_, page := get(t, boss, f.console+"/calls")
	tok := csrfField.FindStringSubmatch(page)
	if tok == nil {
		t.Fatal("no CSRF token on /calls")
	}
	for _, p := range []string{"/exceptions/resolve", "/exceptions/bulk", "/api/v1/actions"} {
		resp, err := boss.PostForm(f.console+p, url.Values{"_csrf": {tok[1]}, "id": {"1"}, "action": {"void"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("POST %s at the chain console: %d", p, resp.StatusCode)
		}
	}
	if st, _ := get(t, &http.Client{Timeout: time.Minute}, f.console+"/api/v1/calls"); st != http.StatusUnauthorized {
		t.Errorf("/api/v1/calls without a session: %d, want 401", st)
	}
}

// TestChainConsoleReports: the chain console's report pages and downloads
// over one property, a list and all equal gateway/report's output over the
// properties' own entries, number for number; today's calls and revenue on
// the dashboard are the properties' own local day's, as gateway.Tally
// counts them.
func TestChainConsoleReports(t *testing.T) {
	// Reports and exports read the central 7 entries at a time (set before
	// the central starts serving).
	defer func(n int) { console.ChainPage = n }(console.ChainPage)
	console.ChainPage = 7
	f := newChainFixture(t)
	boss := f.login(t, "boss")
	from := f.start.Add(-24 * time.Hour).Format(time.DateOnly)
	to := time.Now().UTC().Add(24 * time.Hour).Format(time.DateOnly)
	expect := func(name, format string, props ...string) string {
		loc := time.UTC
		if len(props) == 1 {
			loc = f.zone[props[0]]
		}
		d0, _ := time.Parse(time.DateOnly, from)
		d1, _ := time.Parse(time.DateOnly, to)
		o := report.Options{From: d0, To: d1, Location: loc, MinorDigits: tariff.MinorDigits}
		in := report.InPeriod(o)
		var es []gateway.Entry
		for _, p := range props {
			for _, e := range f.logs[p].Entries {
				if in(e) {
					es = append(es, *e)
				}
			}
		}
		sort.SliceStable(es, func(i, j int) bool { return es[i].Time.Before(es[j].Time) })
		r, _ := report.Lookup(name)
		tb, err := r.Run(es, o)
		if err != nil {
			t.Fatal(err)
		}
		if len(props) > 1 {
			tb.Title = fmt.Sprintf("%s (%d properties)", tb.Title, len(props))
		}
		var b bytes.Buffer
		if err := render.Write(&b, tb, format); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	for _, tc := range []struct {
		report, property string
		props            []string
	}{
		{"rooms", "grand", []string{"grand"}},
		{"classes", "", []string{"beach", "grand"}},
		{"busy-hour", "grand,beach", []string{"beach", "grand"}},
		{"busy-hour", "grand", []string{"grand"}},
		{"night-audit", "beach", []string{"beach"}},
		{"extensions", "all", []string{"beach", "grand"}},
		{"trunks", "all", []string{"beach", "grand"}},
		{"unanswered", "grand,beach", []string{"beach", "grand"}},
	} {
		for _, format := range []string{"csv", "json"} {
			q := url.Values{"report": {tc.report}, "from": {from}, "to": {to}, "format": {format}}
			if tc.property != "" {
				q.Set("property", tc.property)
			}
			st, got := get(t, boss, f.console+"/reports/download?"+q.Encode())
			if want := expect(tc.report, format, tc.props...); st != http.StatusOK || got != want {
				t.Errorf("%s over %q as %s: %d\n%s\nwant\n%s", tc.report, tc.property, format, st, got, want)
			}
			if strings.Count(got, "\n") < 2 {
				t.Errorf("%s over %q: nearly empty:\n%s", tc.report, tc.property, got)
			}
		}
	}
	q := url.Values{"report": {"rooms"}, "from": {from}, "to": {to}, "property": {"grand"}}
	st, page := get(t, boss, f.console+"/reports?"+q.Encode())
	if st != http.StatusOK || !strings.Contains(page, `id="report-table"`) || !strings.Contains(page, "/reports/download?") {
		t.Errorf("the reports page: %d", st)
	}
	q.Set("format", "xlsx")
	if st, x := get(t, boss, f.console+"/reports/download?"+q.Encode()); st != http.StatusOK || !strings.HasPrefix(x, "PK") {
		t.Errorf("the xlsx download: %d, %q", st, x[:min(len(x), 8)])
	}
	// The export streams pages of 7 (console.ChainPage): every entry of
	// both properties, once, in CSV and in XLSX (read back), the same rows.
	n := len(f.logs["grand"].Entries) + len(f.logs["beach"].Entries)
	st, c := get(t, boss, f.console+"/calls/export?format=csv")
	recs, err := csv.NewReader(strings.NewReader(c)).ReadAll()
	if st != http.StatusOK || err != nil || len(recs) != n+1 || recs[0][0] != "property" {
		t.Fatalf("the calls' CSV export: %d, %d records for %d entries: %v", st, len(recs), n, err)
	}
	st, x := get(t, boss, f.console+"/calls/export?format=xlsx")
	xf, err := excelize.OpenReader(strings.NewReader(x))
	if st != http.StatusOK || err != nil {
		t.Fatalf("the calls' xlsx export: %d %v", st, err)
	}
	defer xf.Close()
	xrows, err := xf.GetRows("calls")
	if err != nil || len(xrows) != n+1 {
		t.Fatalf("the xlsx export has %d rows for %d entries: %v", len(xrows), n, err)
	}
	seen := map[string]bool{}
	for i, r := range recs {
		key := strings.Join(r[:3], "/")
		if i > 0 && seen[key] {
			t.Errorf("the export repeats %s", key)
		}
		seen[key] = true
		if strings.Join(xrows[i][:3], "/") != key || (len(xrows[i]) > 7 && xrows[i][7] != r[7]) {
			t.Errorf("row %d: xlsx %v, csv %v", i, xrows[i], r)
		}
	}

	// Today: each property's own local day, counted as gateway.Tally does.
	_, body := get(t, boss, f.console+"/api/v1/properties")
	var r struct {
		Properties []struct {
			Property   string `json:"property"`
			TodayCalls int64  `json:"today_calls"`
			Today      string `json:"today_revenue"`
			Cursor     uint64 `json:"cursor"`
			Link       string `json:"link"`
			LagEvents  int64  `json:"lag_events"`
		} `json:"properties"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil || len(r.Properties) != 2 {
		t.Fatalf("/api/v1/properties: %v %s", err, body)
	}
	for _, p := range r.Properties {
		l := f.logs[p.Property]
		now := time.Now().In(l.Loc)
		var calls, revenue int64
		for _, e := range l.Entries {
			if lt := e.Time.In(l.Loc); lt.Year() != now.Year() || lt.YearDay() != now.YearDay() {
				continue
			}
			if call, rev := gateway.Tally(e.State, e.Charge); call {
				calls++
				revenue += rev
			}
		}
		if calls == 0 {
			t.Fatalf("%s: the fixture has no calls today", p.Property)
		}
		if want := gateway.FormatMinor(revenue, 2) + " EUR"; p.TodayCalls != calls || p.Today != want {
			t.Errorf("%s today: %d calls, %s; want %d, %s", p.Property, p.TodayCalls, p.Today, calls, want)
		}
		lag := map[string]int64{"grand": 0, "beach": 1}[p.Property]
		if p.Cursor != uint64(len(l.Events()))-uint64(lag) || p.Link != string(gateway.LinkAlive) || p.LagEvents != lag {
			t.Errorf("%s: cursor %d link %s lag %d events, want %d alive %d", p.Property, p.Cursor, p.Link, p.LagEvents, len(l.Events())-int(lag), lag)
		}
	}
}
