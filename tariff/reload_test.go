package tariff_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"callgate/gateway"
	"callgate/tariff"
)

const reloadTariff = `version: 1
currency: USD
dialing: {international_prefix: "011", national_prefix: "1", country_code: "1", national_number_length: 10}
bands: [{name: all}]
destinations: [{prefix: "1", name: USA, class: national, rate: 10}]
`

func TestReloading(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tariff.yaml")
	write := func(body string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(reloadTariff)
	// Read only before Watch runs: the watcher writes it after.
	var logs bytes.Buffer
	r, err := tariff.LoadReloading(path, zerolog.New(&logs))
	if err != nil {
		t.Fatal(err)
	}
	changes := make(chan string, 4)
	r.OnChange = func(p string) { changes <- p }
	changed := func(what string) {
		t.Helper()
		select {
		case <-changes:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: the new tariff did not take over", what)
		}
	}
	call := gateway.Call{Direction: gateway.Outgoing, Dialed: "16175550134", Start: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC), DurationS: 60, Answered: gateway.Bool(true)}
	rate := func() int64 {
		ch, err := r.Rate(call)
		if err != nil {
			t.Fatal(err)
		}
		return ch.CarrierMinor
	}
	if got := rate(); got != 10 {
		t.Fatalf("carrier %d, want 10", got)
	}
	// A bad file is refused; the old tariff stays.
	write(strings.Replace(reloadTariff, "currency: USD", "currency: USX", 1))
	if r.Reload() || rate() != 10 || !strings.Contains(logs.String(), "new tariff refused") || !strings.Contains(logs.String(), `USX`) {
		t.Errorf("bad tariff taken, or not logged:\n%s", logs.String())
	}
	if len(changes) != 0 {
		t.Error("a refused tariff reported as a change")
	}
	// A good one takes over on a signal, through Watch (fed the channel cmd
	// wires SIGHUP to).
	write(strings.Replace(reloadTariff, "rate: 10", "rate: 20", 1))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hup := make(chan os.Signal, 1)
	done := make(chan struct{})
	go func() { defer close(done); r.Watch(ctx, time.Hour, hup) }()
	hup <- syscall.SIGHUP
	changed("signal")
	if rate() != 20 {
		t.Errorf("after the signal: carrier %d", rate())
	}
	cancel()
	<-done
	// A changed file is noticed by polling.
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	go r.Watch(ctx2, 20*time.Millisecond, nil)
	write(strings.Replace(reloadTariff, "rate: 10", "rate: 300", 1))
	changed("polling")
	if rate() != 300 {
		t.Errorf("file change not noticed: carrier %d", rate())
	}
}
