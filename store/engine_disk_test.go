package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"callgate/gateway"
	"callgate/gateway/gatewaytest"
	"callgate/store"
)

// TestEngineFullDisk runs the engine on the bbolt journal whose commits
// fail, as on a full disk, from the moment the PMS has a posting: the
// PMS's OK is kept and journaled once commits land again; the posting is
// never left sent, and a restart finds nothing in doubt (issue 14, D7).
func TestEngineFullDisk(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	clock := gatewaytest.NewClock(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	path := filepath.Join(t.TempDir(), "journal.db")
	j, err := store.Open(path, store.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { j.Close() }()
	if _, err := j.ApplyGuest(ctx, gateway.GuestEvent{Kind: gateway.GuestCheckIn, Guest: gateway.Guest{Room: "101", Reservation: "R1"}}); err != nil {
		t.Fatal(err)
	}
	pms := gatewaytest.NewPMSLink(clock)
	var full atomic.Bool
	full.Store(true)
	attempts := make(chan struct{})
	store.FailCommits(j, func() error {
		if full.Load() && len(pms.Posted()) > 0 {
			select {
			case attempts <- struct{}{}:
			case <-ctx.Done():
			}
			return errors.New("write journal.db: no space left on device")
		}
		return nil
	})
	src := gatewaytest.NewCallSource(clock)
	alarms := make(chan bool, 16)
	e := &gateway.Engine{Source: src, Parser: gatewaytest.Parser{}, Rater: gatewaytest.Rater{}, Journal: j, Queries: j, PMS: pms,
		Rooms: gateway.RoomMap{Map: map[string]string{"101": "101"}}, Clock: clock, Logger: zerolog.New(zerolog.NewTestWriter(t)),
		OnAlarm: func(a gateway.Alarm, raised bool) {
			if a.Kind == gateway.AlarmJournalWrite {
				alarms <- raised
			}
		}}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(runCtx) }()
	src.Line("out 101 4416 60")
	attempt := func() {
		t.Helper()
		select {
		case <-attempts:
		case <-ctx.Done():
			t.Fatal("the answer's commit was not tried again")
		}
	}
	attempt()
	select {
	case raised := <-alarms:
		if !raised {
			t.Fatal("the journal-write alarm was cleared, not raised")
		}
	case <-ctx.Done():
		t.Fatal("no journal-write alarm")
	}
	for range 2 {
		if !clock.WaitFor(ctx, 1) {
			t.Fatal("no wait before the next attempt")
		}
		clock.Advance(10 * time.Second)
		attempt()
	}
	if en, _ := j.Entry(ctx, 1); en.State != gateway.StateSent {
		t.Fatalf("while the disk is full the entry is %s, want sent", en.State)
	}
	full.Store(false)
	if !clock.WaitFor(ctx, 1) {
		t.Fatal("no wait before the next attempt")
	}
	clock.Advance(10 * time.Second)
	select {
	case raised := <-alarms:
		if raised {
			t.Fatal("the alarm was raised again")
		}
	case <-ctx.Done():
		t.Fatal("the journal-write alarm was not cleared")
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	en, err := j.Entry(ctx, 1)
	if err != nil || en.State != gateway.StatePosted || en.Answer == nil || en.Answer.Code != "OK" {
		t.Fatalf("after the disk came back: %s %+v %v", en.State, en.Answer, err)
	}
	// A restart finds nothing sent, so nothing in doubt.
	j.Close()
	if j, err = store.Open(path, store.Options{Now: clock.Now}); err != nil {
		t.Fatal(err)
	}
	if c, _ := j.Counts(ctx); c.States[gateway.StateSent] != 0 || c.States[gateway.StateInDoubt] != 0 {
		t.Errorf("after a restart: %v", c.States)
	}
}
