package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserChainConsole drives the chain console in headless Chromium
// against a real `gateway central serve` with two properties shipped: the
// chain admin logs in, sees both properties on the chain dashboard, picks
// one, and runs the busy-hour report over it with its chart.
func TestBrowserChainConsole(t *testing.T) {
	bin := chromiumPath()
	if bin == "" {
		t.Skip("no chromium binary on PATH (apt-get install chromium; .ci/run installs it): the browser test cannot run")
	}
	if testing.Short() {
		t.Skip("-short: the browser test takes a few seconds")
	}
	f := newChainFixture(t)
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
		chromedp.UserDataDir(filepath.Join(t.TempDir(), "chromium")),
		chromedp.WindowSize(1280, 900),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
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
	rows := func() []string {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#properties tbody tr[data-property]')].map(r => r.dataset.property)`))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}

	do("log in",
		chromedp.Navigate(f.console+"/"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), "boss"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), chainPassword),
		chromedp.Submit(chromedp.CSS(`form.login`)),
		chromedp.WaitVisible(chromedp.CSS(`#properties`)),
	)
	if got := strings.Join(rows(), ","); got != "beach,grand" {
		t.Errorf("the chain dashboard shows %q, want beach,grand", got)
	}
	do("pick grand",
		chromedp.SetValue(chromedp.CSS(`#property`), "grand"),
		chromedp.Click(chromedp.CSS(`#pick`)),
		chromedp.WaitVisible(chromedp.CSS(`#picked`)),
	)
	if got := strings.Join(rows(), ","); got != "grand" {
		t.Errorf("picked grand, the dashboard shows %q", got)
	}
	today := time.Now().UTC()
	do("run the busy-hour report over grand",
		chromedp.Navigate(f.console+"/reports?property=grand"), chromedp.WaitVisible(chromedp.CSS(`#report-list`)),
		chromedp.SetValue(chromedp.CSS(`#report`), "busy-hour"),
		chromedp.SetValue(chromedp.CSS(`input[name=from]`), today.AddDate(0, 0, -1).Format(time.DateOnly)),
		chromedp.SetValue(chromedp.CSS(`input[name=to]`), today.Format(time.DateOnly)),
		chromedp.Click(chromedp.CSS(`#run`)),
		chromedp.WaitVisible(chromedp.CSS(`#chart svg`)),
	)
	if _, err := chromedp.Run(bctx, chromedp.Poll[chromedp.Void](`[...document.querySelectorAll('#chart rect.bar')].some(r => parseFloat(r.getAttribute('height')) > 0)`,
		chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		t.Errorf("the busy-hour chart has no bar: %v", err)
	}
	if n, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll('#report-table tbody tr').length`)); err != nil || n < 47 || n > 49 {
		t.Errorf("busy-hour table: %d rows, want 47 to 49 hours (%v)", n, err)
	}
}
