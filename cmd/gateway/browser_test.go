package main

import (
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/rs/zerolog"

	"callgate/gateway"
	"callgate/pms/fias/sim"
)

var screenshots = flag.Bool("screenshots", false, "the browser test saves screenshots of the dashboard and a call detail under test/screenshots/")

// chromiumPath finds a Chromium or Chrome binary.
func chromiumPath() string {
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

// TestBrowserConsole drives the console in headless Chromium against the
// real serve wiring (startGateway): a PBX source following a file the test
// writes, the FIAS PMS simulator. A night auditor logs in, watches a call
// arrive on the dashboard without a reload, opens a call whose posting
// went unanswered (in doubt), confirms it on the folio with a reason, finds
// that in the audit log, runs the busy-hour report with its chart, and
// exports the calls as CSV.
func TestBrowserConsole(t *testing.T) {
	bin := chromiumPath()
	if bin == "" {
		t.Skip("no chromium binary on PATH (apt-get install chromium; .ci/run installs it): the browser test cannot run")
	}
	if testing.Short() {
		t.Skip("-short: the browser test takes a few seconds")
	}
	dir := t.TempDir()
	loc, _ := time.LoadLocation("America/New_York")

	pmsSim, err := sim.Start("127.0.0.1:0", sim.Options{Rooms: []string{"101", "102", "415"}, AnswerWindow: time.Second,
		Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)})
	if err != nil {
		t.Fatal(err)
	}
	defer pmsSim.Close()
	pmsSim.Occupy([]string{"101", "102", "415"})

	smdr := filepath.Join(dir, "smdr.txt")
	cfg := fmt.Sprintf(`site: {name: Harbour Hotel, timezone: America/New_York}
store: {path: journal.db}
pbx:
  format: avaya-ipo
  transport: file
  file: smdr.txt
pms:
  protocol: fias
  address: %q
tariff: tariff.yaml
console: {listen: "127.0.0.1:0"}
`, pmsSim.Addr())
	g := startTestGateway(t, dir, cfg)
	ctx := g.ctx
	g.run(t)
	base := "http://" + g.ln.Addr().String()

	// call appends one Avaya IP Office SMDR record: room 415 calling a
	// US number now.
	call := func(n int, dialed string) {
		t.Helper()
		now := time.Now().In(loc).Add(-time.Duration(3-n) * time.Second)
		rec := fmt.Sprintf("%s,00:03:%02d,4,415,O,%s,%s,,0,10042%02d,0,E415,Room 415,T9005,Line 5.1,0,0,0,n/a,,,,,,,,,,,,,,,,\r\n",
			now.Format("2006/01/02 15:04:05"), 10+n, dialed, dialed, n)
		f, err := os.OpenFile(smdr, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteString(rec); err != nil {
			t.Fatal(err)
		}
	}
	waitState := func(id gateway.EntryID, st gateway.State) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			en, err := g.journal.Entry(ctx, id)
			if err == nil && en.State == st {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("entry %d: %s %v, want %s", id, en.State, err, st)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(filepath.Join(dir, "chromium")),
		chromedp.WindowSize(1280, 900),
	}
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	defer bcancel()
	bctx, tcancel := context.WithTimeout(bctx, 120*time.Second)
	defer tcancel()
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return v
	}
	poll := func(what, expr string) {
		t.Helper()
		if _, err := chromedp.Run(bctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
			t.Fatalf("%s (%s): %v", what, expr, err)
		}
	}
	shot := func(name string) {
		t.Helper()
		if !*screenshots {
			return
		}
		png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100)) // quality 100: PNG
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("..", "..", "test", "screenshots", name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Log in.
	do("log in",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), "night"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), testPassword),
		chromedp.Submit(chromedp.CSS(`form.login`)),
		chromedp.WaitVisible(chromedp.CSS(`#dashboard`)),
	)

	// A call arrives while the dashboard is open: it appears without a
	// reload (a marker set in the page survives).
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`window.stillTheSamePage = true`)); err != nil {
		t.Fatal(err)
	}
	do("the live stream connects", chromedp.WaitVisible(chromedp.CSS(`#live-state.on`)))
	call(1, "6175550134")
	waitState(1, gateway.StatePosted)
	do("see the call arrive", chromedp.WaitVisible(chromedp.CSS(`#recent a[href="/calls/1"]`)))
	poll("the call shows as posted", `document.querySelector('#recent tr td.state').textContent === 'posted'`)
	marker, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`window.stillTheSamePage === true`))
	if err != nil || !marker {
		t.Fatalf("the dashboard reloaded to show the call (%v)", err)
	}
	if room := text(`#recent tr td:nth-child(4)`); room != "415" {
		t.Errorf("dashboard row: room %q", room)
	}
	poll("the day's revenue", `document.querySelector('#today').textContent.includes('USD')`)
	shot("dashboard.png")

	// The PMS books the next posting and the link drops before its answer: in doubt.
	pmsSim.SetFaults(sim.Faults{CutAfterBooking: 1})
	call(2, "4155550199")
	waitState(2, gateway.StateInDoubt)

	do("open the exceptions", chromedp.Navigate(base+"/exceptions"), chromedp.WaitVisible(chromedp.CSS(`input[name=id][value="2"]`)))
	shot("exceptions.png")
	do("open the in-doubt call", chromedp.Click(chromedp.CSS(`a[href="/calls/2"]`)), chromedp.WaitVisible(chromedp.CSS(`#raw`)))
	if raw, history := text(`#raw`), text(`#history`); !strings.Contains(raw, "4155550199") || !strings.Contains(history, "in-doubt") {
		t.Errorf("call detail: raw %q, history %q", raw, history)
	}
	shot("call-detail.png")

	const reason = "found on folio 415 in OPERA at 02:10"
	do("confirm it on the folio",
		chromedp.SetValue(chromedp.CSS(`#action`), "confirm"),
		chromedp.SendKeys(chromedp.CSS(`#reason`), reason),
		chromedp.Click(chromedp.CSS(`#resolve`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash.ok`)),
	)
	if notice := text(`.flash.ok`); !strings.Contains(notice, "posted-manually") {
		t.Errorf("notice %q", notice)
	}
	waitState(2, gateway.StatePostedByHand)

	do("open the audit log", chromedp.Navigate(base+"/audit"), chromedp.WaitVisible(chromedp.CSS(`#audit`)))
	if audit := text(`#audit`); !strings.Contains(audit, reason) || !strings.Contains(audit, "night") || !strings.Contains(audit, "in-doubt → posted-manually") {
		t.Errorf("audit log lacks the confirmation:\n%s", audit)
	}

	// The room's statement lists both calls and their total.
	do("open the room statement", chromedp.Navigate(base+"/rooms/415/statement"), chromedp.WaitVisible(chromedp.CSS(`#statement`)))
	if st := text(`#statement`); strings.Count(st, "USD") < 3 || !strings.Contains(st, "Total (USD)") || strings.Contains(st, "4155550199") {
		t.Errorf("statement (two calls, a total, numbers masked):\n%s", st)
	}
	shot("statement.png")

	// Reports: the busy-hour report over yesterday and today, its chart
	// drawn in the page, and the HTML download with the same chart.
	today := time.Now().In(loc)
	do("run the busy-hour report",
		chromedp.Navigate(base+"/reports"), chromedp.WaitVisible(chromedp.CSS(`#report-list`)),
		chromedp.SetValue(chromedp.CSS(`#report`), "busy-hour"),
		chromedp.SetValue(chromedp.CSS(`input[name=from]`), today.AddDate(0, 0, -1).Format(time.DateOnly)),
		chromedp.SetValue(chromedp.CSS(`input[name=to]`), today.Format(time.DateOnly)),
		chromedp.Click(chromedp.CSS(`#run`)),
		chromedp.WaitVisible(chromedp.CSS(`#chart svg`)),
	)
	poll("the chart has a bar for the calls", `[...document.querySelectorAll('#chart rect.bar')].some(r => parseFloat(r.getAttribute('height')) > 0)`)
	if n, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll('#report-table tbody tr').length`)); err != nil || n < 47 || n > 49 { // 48 clock hours, one more or less across a DST change
		t.Errorf("busy-hour table: %d rows, want 47 to 49 hours (%v)", n, err)
	}
	shot("reports.png")
	page, err := chromedp.Run(bctx, chromedp.Evaluate[string](`fetch(document.querySelector('a.download[href*="format=html"]').href).then(r => r.text())`, chromedp.EvalAwaitPromise))
	if err != nil || !strings.Contains(page, `<figure id="chart"><svg`) {
		t.Errorf("the busy-hour HTML download (%v) lacks its chart", err)
	}

	// Export: the calls page's link, fetched by the page with its session.
	do("open the calls", chromedp.Navigate(base+"/calls?sort=old"), chromedp.WaitVisible(chromedp.CSS(`#export`)))
	body, err := chromedp.Run(bctx, chromedp.Evaluate[string](`fetch(document.querySelector('#export').href).then(r => r.text())`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("export: %v\n%s", err, body)
	}
	if len(rows) != 3 || rows[0][0] != "entry" {
		t.Fatalf("export rows:\n%s", body)
	}
	col := map[string]int{}
	for i, k := range rows[0] {
		col[k] = i
	}
	for i, want := range []struct{ id, state, dialed string }{{"1", "posted", "6175550134"}, {"2", "posted-manually", "4155550199"}} {
		r := rows[i+1]
		if r[col["entry"]] != want.id || r[col["state"]] != want.state || r[col["dialed"]] != want.dialed || r[col["room"]] != "415" ||
			r[col["currency"]] != "USD" || !strings.Contains(r[col["total"]], ".") {
			t.Errorf("export row %d: %v", i+1, r)
		}
	}
}
