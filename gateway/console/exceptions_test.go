package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/gateway/console"
)

var (
	callLink  = regexp.MustCompile(`<td><a href="/calls/(\d+)">`)
	nextLink  = regexp.MustCompile(`<a href="([^"]+)" rel="next">`)
	showing   = regexp.MustCompile(`Showing (\d+)–(\d+) of (\d+)`)
	expectBox = regexp.MustCompile(`name="expect" value="(\d+)"`)
)

// ids are the entry numbers of a page's rows, in order.
func ids(t *testing.T, page string) []int {
	t.Helper()
	var out []int
	for _, m := range callLink.FindAllStringSubmatch(page, -1) {
		n, _ := strconv.Atoi(m[1])
		out = append(out, n)
	}
	return out
}

// TestConsoleExceptionsPaged: the exceptions queue shows its true count,
// newest first by default (oldest first on request), a page at a time, and
// every entry is reachable by the next-page links (D5: main showed the
// oldest 500 under a heading that read like the total).
func TestConsoleExceptionsPaged(t *testing.T) {
	e := newConsoleEnv(t)
	const n = 520
	for i := range n {
		e.seed(gateway.StateException, i) // call start i s after 14:03 local: entry i+1 is the newest so far
	}
	e.seed(gateway.StateInDoubt, n)
	aud := e.as("aud")
	code, page, _ := aud.get("/exceptions")
	if code != http.StatusOK || !strings.Contains(page, "Exceptions: not postable as read: 520 in all") || !strings.Contains(page, "Showing 1–50 of 520") ||
		!strings.Contains(page, "In doubt: sent, never answered — check the folio: 1 in all") {
		t.Fatalf("exceptions page %d lacks the true counts", code)
	}
	if got := ids(t, page); len(got) != 51 || got[1] != n || got[50] != n-49 { // the in-doubt entry, then the newest exceptions
		t.Errorf("first page's rows %v, want the in-doubt entry then %d down to %d", got, n, n-49)
	}
	// One queue, 200 a page, followed to its end.
	seen := map[int]bool{}
	last := n + 1
	link := "/exceptions?queue=exception&per=200"
	for pages := 0; link != ""; pages++ {
		if pages > 3 {
			t.Fatal("more pages than 520 entries need")
		}
		code, page, _ := aud.get(link)
		if code != http.StatusOK {
			t.Fatalf("%s: %d", link, code)
		}
		if m := showing.FindStringSubmatch(page); m == nil || m[3] != "520" || m[1] != strconv.Itoa(len(seen)+1) {
			t.Errorf("%s: %q", link, m)
		}
		for _, id := range ids(t, page) {
			if id >= last || seen[id] {
				t.Errorf("%s: entry %d after %d: not newest first", link, id, last)
			}
			seen[id], last = true, id
		}
		link = ""
		if m := nextLink.FindStringSubmatch(page); m != nil {
			link = html.UnescapeString(m[1])
		}
	}
	if len(seen) != n {
		t.Errorf("the pages showed %d of %d exceptions", len(seen), n)
	}
	_, page, _ = aud.get("/exceptions?queue=exception&order=old&per=10")
	if got := ids(t, page); len(got) != 10 || got[0] != 1 || got[9] != 10 {
		t.Errorf("oldest first: %v", got)
	}
	for _, bad := range []string{"?order=up", "?per=0", "?per=501", "?queue=posted", "?after=3", "?queue=exception&after=x"} {
		if code, _, _ := aud.get("/exceptions" + bad); code != http.StatusBadRequest {
			t.Errorf("/exceptions%s: %d, want 400", bad, code)
		}
	}

	// The API: totals, pages with next_after, both orders.
	tok := e.token("aud")
	type queue struct {
		Total     int64             `json:"total"`
		Entries   []json.RawMessage `json:"entries"`
		NextAfter *uint64           `json:"next_after"`
	}
	got := 0
	path := "/api/v1/queues?queue=exception&limit=300"
	for pages := 0; path != ""; pages++ {
		code, body := e.api("GET", path, tok, "")
		var out map[string]queue
		if code != http.StatusOK || json.Unmarshal([]byte(body), &out) != nil || pages > 2 {
			t.Fatalf("%s: %d %.300s", path, code, body)
		}
		q := out["exception"]
		if q.Total != n || len(out) != 1 {
			t.Errorf("%s: total %d, %d queues", path, q.Total, len(out))
		}
		got += len(q.Entries)
		path = ""
		if q.NextAfter != nil {
			path = fmt.Sprintf("/api/v1/queues?queue=exception&limit=300&after=%d", *q.NextAfter)
		}
	}
	if got != n {
		t.Errorf("the API's pages listed %d of %d", got, n)
	}
	if code, body := e.api("GET", "/api/v1/queues?order=old&limit=1", tok, ""); code != http.StatusOK || !strings.Contains(body, `"exception":{"total":520,"entries":[{"id":1,`) {
		t.Errorf("oldest first: %d %.200s", code, body)
	}
	if code, _ := e.api("GET", "/api/v1/queues?limit=1001", tok, ""); code != http.StatusBadRequest {
		t.Errorf("limit past 1000: %d", code)
	}
}

// unreadable journals a record that could not be read, as an exception,
// read at t.
func (e *consoleEnv) unreadable(t time.Time) gateway.EntryID {
	e.t.Helper()
	ctx := context.Background()
	c, err := e.j.Capture(ctx, gateway.RawRecord{Data: []byte(fmt.Sprintf("=junk %d", t.UnixNano())), Received: t, Source: "test"})
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.j.Move(ctx, c.ID, gateway.Change{To: gateway.StateException, Reason: "unreadable record: no date"}); err != nil {
		e.t.Fatal(err)
	}
	return c.ID
}

// TestConsoleBulkAction: an action by filter counts first and changes
// nothing, applies only the count confirmed, moves exactly what the filter
// matches, each move audited, plus one record of the action; front desk,
// a missing CSRF token and bad filters are refused.
func TestConsoleBulkAction(t *testing.T) {
	e := newConsoleEnv(t)
	loc, _ := time.LoadLocation("America/New_York")
	flood := time.Date(2026, 11, 27, 2, 0, 0, 0, loc)
	for i := range 30 {
		e.unreadable(flood.Add(time.Duration(i) * time.Minute)) // 02:00 to 02:29
	}
	for i := range 10 {
		e.unreadable(flood.Add(-time.Duration(i+1) * time.Hour)) // before the range
	}
	readable := e.seed(gateway.StateException, 1) // 14:03 local, a readable call
	inRange := e.seed(gateway.StateInDoubt, 2)
	form := url.Values{"queue": {"exception"}, "kind": {"unreadable"}, "from": {"2026-11-27T02:00"}, "to": {"2026-11-27T03:00"},
		"action": {"void"}, "reason": {"junk flood from the PBX port"}}
	post := func(b *browser, f url.Values) (int, string) {
		t.Helper()
		g := url.Values{"_csrf": {b.csrf}}
		for k, v := range f {
			g[k] = v
		}
		code, body, _ := b.post("/exceptions/bulk", g)
		return code, body
	}
	exceptions := func() int { return e.j.EntryCount(gateway.StateException) }
	if exceptions() != 41 {
		t.Fatalf("%d exceptions seeded", exceptions())
	}

	if code, _ := post(e.as("fd"), form); code != http.StatusForbidden {
		t.Errorf("front desk's action by filter: %d", code)
	}
	aud := e.as("aud")
	if code, _, _ := aud.post("/exceptions/bulk", form); code == http.StatusOK || exceptions() != 41 {
		t.Errorf("an action by filter without the CSRF token: %d", code)
	}
	// Step 1: the count, nothing changed.
	code, page := post(aud, form)
	m := expectBox.FindStringSubmatch(page)
	if code != http.StatusOK || m == nil || m[1] != "30" || !strings.Contains(page, "matches <strong>30</strong> entries") || exceptions() != 41 {
		t.Fatalf("count step: %d %v, %d exceptions", code, m, exceptions())
	}
	// A count that is not the one matched now changes nothing.
	wrong := url.Values{"expect": {"29"}}
	for k, v := range form {
		wrong[k] = v
	}
	if code, page := post(aud, wrong); code != http.StatusConflict || !strings.Contains(page, "now matches 30 entries, not the 29") || exceptions() != 41 {
		t.Errorf("a stale count: %d, %d exceptions", code, exceptions())
	}
	// Step 2: confirmed.
	form.Set("expect", "30")
	if code, page := post(aud, form); code != http.StatusOK || !strings.Contains(page, "void: 30 calls") {
		t.Errorf("apply step: %d", code)
	}
	if exceptions() != 11 || e.j.EntryCount(gateway.StateVoided) != 30 {
		t.Errorf("after the action: %d exceptions, %d voided", exceptions(), e.j.EntryCount(gateway.StateVoided))
	}
	if en, _ := e.j.Entry(context.Background(), readable.ID); en.State != gateway.StateException {
		t.Errorf("a readable exception was moved: %s", en.State)
	}
	if en, _ := e.j.Entry(context.Background(), inRange.ID); en.State != gateway.StateInDoubt {
		t.Errorf("another queue's entry was moved: %s", en.State)
	}
	evs, _ := e.j.Events(context.Background(), gateway.EventFilter{Audit: true})
	moves, records := 0, 0
	for _, ev := range evs {
		switch {
		case ev.Kind == gateway.EventMoved && ev.Actor == "aud" && ev.Reason == "junk flood from the PBX port" && ev.To == gateway.StateVoided:
			moves++
		case ev.Kind == gateway.EventAudit && ev.Actor == "aud" && strings.Contains(string(ev.Data), `"bulk-void"`) &&
			strings.Contains(string(ev.Data), `"matched":"30"`) && strings.Contains(string(ev.Data), `"moved":"30"`):
			records++
		}
	}
	if moves != 30 || records != 1 {
		t.Errorf("audit log: %d moves, %d records of the action; want 30 and 1", moves, records)
	}
	// Confirming again finds nothing left.
	if code, _ := post(aud, form); code != http.StatusConflict {
		t.Errorf("a second apply: %d", code)
	}
	// A filter matching more than one action may move is refused whole.
	restore := console.SetBulkMax(5)
	over := url.Values{}
	for k, v := range form {
		over[k] = v
	}
	over.Set("from", "2026-11-26")
	over.Del("expect")
	if code, page := post(aud, over); code != http.StatusBadRequest || !strings.Contains(page, "more than 5 entries") || exceptions() != 11 {
		t.Errorf("a filter past the most one action moves: %d", code)
	}
	restore()
	for _, bad := range []url.Values{{"queue": {"posted"}}, {"from": {"yesterday"}}, {"kind": {"some"}}, {"reason": {" "}}, {"to": {"2026-11-27T01:00"}}} {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		for k, v := range bad {
			f[k] = v
		}
		f.Del("expect")
		if code, _ := post(aud, f); code != http.StatusBadRequest {
			t.Errorf("bad filter %v: %d", bad, code)
		}
	}

	// The API: the same two steps.
	fd, tok := e.token("fd"), e.token("aud")
	body := `{"state":"exception","kind":"unreadable","from":"2026-11-26","to":"2026-11-27","action":"void","reason":"older junk"%s}`
	if code, _ := e.api("POST", "/api/v1/actions/bulk", fd, fmt.Sprintf(body, "")); code != http.StatusForbidden {
		t.Errorf("front desk: %d", code)
	}
	if code, out := e.api("POST", "/api/v1/actions/bulk", tok, fmt.Sprintf(body, "")); code != http.StatusOK || !strings.Contains(out, `"matched":10`) || exceptions() != 11 {
		t.Errorf("count: %d %s", code, out)
	}
	if code, out := e.api("POST", "/api/v1/actions/bulk", tok, fmt.Sprintf(body, `,"expect":9`)); code != http.StatusConflict || exceptions() != 11 {
		t.Errorf("stale count: %d %s", code, out)
	}
	if code, out := e.api("POST", "/api/v1/actions/bulk", tok, fmt.Sprintf(body, `,"expect":10`)); code != http.StatusOK || !strings.Contains(out, `"moved":10`) || exceptions() != 1 {
		t.Errorf("apply: %d %s, %d exceptions left", code, out, exceptions())
	}
}
