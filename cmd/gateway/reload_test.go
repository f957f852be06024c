package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"callgate/gateway"
)

func TestReloadingTariff(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tariff.yaml")
	if err := os.WriteFile(path, []byte(testTariff), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	r, err := loadTariff(path, zerolog.New(&logs))
	if err != nil {
		t.Fatal(err)
	}
	var changes atomic.Int32
	r.onChange = func(string) { changes.Add(1) }
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
	os.WriteFile(path, []byte(strings.Replace(testTariff, "currency: USD", "currency: USX", 1)), 0o644)
	if r.Reload() || rate() != 10 || !strings.Contains(logs.String(), "new tariff refused") || !strings.Contains(logs.String(), `USX`) {
		t.Errorf("bad tariff taken, or not logged:\n%s", logs.String())
	}
	// A good one takes over: by SIGHUP, through Watch.
	os.WriteFile(path, []byte(strings.Replace(testTariff, "rate: 10", "rate: 20", 1)), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Watch(ctx, time.Hour)
	time.Sleep(50 * time.Millisecond) // let Watch install its handler
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	for i := 0; i < 100 && rate() != 20; i++ {
		time.Sleep(20 * time.Millisecond)
	}
	if rate() != 20 || changes.Load() != 1 {
		t.Errorf("after SIGHUP: carrier %d, %d changes", rate(), changes.Load())
	}
	// A changed file is noticed by polling.
	cancel()
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	go r.Watch(ctx2, 20*time.Millisecond)
	os.WriteFile(path, []byte(strings.Replace(testTariff, "rate: 10", "rate: 300", 1)), 0o644)
	for i := 0; i < 100 && rate() != 300; i++ {
		time.Sleep(20 * time.Millisecond)
	}
	if rate() != 300 {
		t.Errorf("file change not noticed: carrier %d", rate())
	}
}
