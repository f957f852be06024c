package console_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/gateway/console"
)

// TestConsoleStatusReadsBounded: the dashboard and /api/v1/status read the
// day's running totals, not the day's entries (D3): on a day of 300
// entries a call reads at most the dozen entries it shows, and the totals
// are those the entries give.
func TestConsoleStatusReadsBounded(t *testing.T) {
	now := time.Date(2026, 11, 27, 23, 0, 0, 0, time.UTC) // 18:00 in New York
	e := newConsoleEnv(t, func(o *console.Options) { o.Now = func() time.Time { return now } })
	const day = 300
	for i := range day {
		switch i % 3 {
		case 0:
			e.seed(gateway.StatePosted, i)
		case 1:
			e.seed(gateway.StateQueued, i)
		default:
			e.seed(gateway.StateException, i)
		}
	}
	fd := e.token("fd") // the lowest role may call status
	before := e.j.EntriesRead()
	code, body := e.api("GET", "/api/v1/status", fd, "")
	if code != http.StatusOK {
		t.Fatalf("status: %d %s", code, body)
	}
	if n := e.j.EntriesRead() - before; n > 12 {
		t.Errorf("one status call read %d entries of a day of %d: it must read the running totals, not the day", n, day)
	}
	var st struct {
		RecordsToday int `json:"records_today"`
		Today        []struct {
			Class   string `json:"class"`
			Calls   int    `json:"calls"`
			Revenue string `json:"revenue"`
		} `json:"today"`
		Recent []json.RawMessage `json:"recent"`
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	// Every seed's charge is postable (300 calls); 100 posted at 5.39.
	if st.RecordsToday != day || len(st.Today) != 1 || st.Today[0].Class != "international" || st.Today[0].Calls != day ||
		!strings.Contains(st.Today[0].Revenue, "539.00") || len(st.Recent) != 10 {
		t.Errorf("status %s", body)
	}
	before = e.j.EntriesRead()
	if code, page, _ := e.as("fd").get("/"); code != http.StatusOK || !strings.Contains(page, "539.00") {
		t.Errorf("dashboard: %d", code)
	}
	if n := e.j.EntriesRead() - before; n > 2*12 { // the page after the login, and the page
		t.Errorf("the dashboard read %d entries of a day of %d", n, day)
	}
}

// TestConsoleLiveCap: past Options.LiveStreams open streams, /live answers
// 503 with Retry-After and a sentence; a closed stream frees its place.
func TestConsoleLiveCap(t *testing.T) {
	e := newConsoleEnv(t, func(o *console.Options) { o.LiveStreams = 2 })
	b := e.as("fd")
	open := func() *http.Response {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, b.base+"/live", nil)
		res, err := b.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { res.Body.Close() })
		return res
	}
	first, second := open(), open()
	if first.StatusCode != http.StatusOK || second.StatusCode != http.StatusOK {
		t.Fatalf("streams within the cap: %d %d", first.StatusCode, second.StatusCode)
	}
	third := open()
	if third.StatusCode != http.StatusServiceUnavailable || third.Header.Get("Retry-After") == "" {
		t.Errorf("a stream past the cap: %d, Retry-After %q", third.StatusCode, third.Header.Get("Retry-After"))
	}
	first.Body.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		res := open()
		if res.StatusCode == http.StatusOK {
			break
		}
		res.Body.Close()
		if time.Now().After(deadline) {
			t.Fatal("a closed stream's place was not freed in 5 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestConsoleShowsThePostersWait: the dashboard and /api/v1/status say how
// long the poster waits and why, after the PMS answered RY or NA.
func TestConsoleShowsThePostersWait(t *testing.T) {
	now := time.Date(2026, 11, 27, 8, 10, 0, 0, time.UTC) // 03:10 in New York
	e := newConsoleEnv(t, func(o *console.Options) { o.Now = func() time.Time { return now } })
	fd := e.token("fd")
	if _, body := e.api("GET", "/api/v1/status", fd, ""); !strings.Contains(body, `"post_wait":"—"`) || strings.Contains(body, `"retry"`) {
		t.Errorf("no wait: %s", body)
	}
	e.eng.mu.Lock()
	e.eng.st.Wait = &gateway.PostWait{Cause: gateway.CauseBusy, Entry: 7, Posting: 12, Room: "101", Answer: "RY", Text: "Folio open",
		Wait: 4 * time.Second, Until: now.Add(4 * time.Second)}
	e.eng.mu.Unlock()
	code, body := e.api("GET", "/api/v1/status", fd, "")
	var st struct {
		PostWait string `json:"post_wait"`
		Retry    *struct {
			Cause   string `json:"cause"`
			Posting uint32 `json:"posting"`
			Answer  string `json:"answer"`
			WaitMS  int64  `json:"wait_ms"`
			NextTry string `json:"next_try"`
		} `json:"retry"`
	}
	if err := json.Unmarshal([]byte(body), &st); code != http.StatusOK || err != nil {
		t.Fatalf("status: %d %v %s", code, err, body)
	}
	if st.PostWait != "retrying P#12 in 4 s: the PMS answered RY (busy: Folio open)" || st.Retry == nil ||
		st.Retry.Cause != "busy" || st.Retry.Posting != 12 || st.Retry.Answer != "RY" || st.Retry.WaitMS != 4000 || st.Retry.NextTry != "2026-11-27 03:10:04" {
		t.Errorf("busy: %s", body)
	}
	e.eng.mu.Lock()
	e.eng.st.Wait = &gateway.PostWait{Cause: gateway.CauseNightAudit, Entry: 7, Posting: 12, Room: "101", Answer: "NA",
		Wait: time.Minute, Until: now.Add(time.Minute)}
	e.eng.mu.Unlock()
	_, page, _ := e.as("fd").get("/")
	if want := `data-live="post_wait">waiting for the PMS&#39;s night audit to end (it answered NA to P#12), next try at 03:11:00 at the latest<`; !strings.Contains(page, want) {
		t.Errorf("the dashboard lacks %q", want)
	}
}

// TestDashboardShowsRuleAlarms: the fraud, room-credit and notify-failed
// alarms of the engine's list show on the dashboard and in
// /api/v1/status, each with what it is about, sorted by kind and subject.
func TestDashboardShowsRuleAlarms(t *testing.T) {
	e := newConsoleEnv(t)
	since := time.Date(2026, 11, 27, 7, 30, 0, 0, time.UTC)
	e.eng.mu.Lock()
	e.eng.st.Alarms = []gateway.Alarm{
		{Kind: gateway.AlarmRoomCredit, Subject: "101", Since: since, Text: "room 101: posted calls this stay come to 212.00 USD, over its credit limit of 150.00 USD (default)"},
		{Kind: gateway.AlarmFraud, Subject: "205/night", Since: since, Text: "extension 205, not a room, made 1 international or premium calls during the night hours 00:00-06:00, 4.80 USD"},
		{Kind: gateway.AlarmNotifyFailed, Subject: "webhook https://ops.example/callgate", Since: since, Text: "alarms cannot be delivered to webhook https://ops.example/callgate"},
		{Kind: gateway.AlarmFraud, Subject: "117/international_per_hour", Since: since, Text: "room 117 made 4 international calls within an hour (limit 3)"},
	}
	e.eng.mu.Unlock()
	code, page, _ := e.as("fd").get("/")
	if code != http.StatusOK {
		t.Fatalf("dashboard: %d", code)
	}
	for _, want := range []string{"fraud · 117/international_per_hour", "fraud · 205/night", "room-credit · 101", "notify-failed · webhook https://ops.example/callgate",
		"over its credit limit of 150.00 USD"} {
		if !strings.Contains(page, want) {
			t.Errorf("the dashboard lacks %q", want)
		}
	}
	if i, j := strings.Index(page, "117/international"), strings.Index(page, "205/night"); i < 0 || j < i {
		t.Error("fraud alarms not in subject order")
	}
	_, body := e.api("GET", "/api/v1/status", e.token("fd"), "")
	var st struct {
		Alarms []struct{ Kind, Subject, Text string } `json:"alarms"`
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil || len(st.Alarms) != 4 || st.Alarms[0].Kind != "fraud" || st.Alarms[0].Subject != "117/international_per_hour" || st.Alarms[3].Kind != "room-credit" {
		t.Errorf("status alarms %+v (%v)", st.Alarms, err)
	}
}
