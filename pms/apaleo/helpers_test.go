package apaleo_test

import (
	"context"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/pms/apaleo"
	"callgate/pms/apaleo/sim"

	"github.com/rs/zerolog"
)

func startSim(t testing.TB, o sim.Options) *sim.Sim {
	t.Helper()
	s, err := sim.Start(o, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// fastOptions are the link's options against s with waits short enough for
// a test.
func fastOptions(s *sim.Sim) apaleo.Options {
	c := apaleo.DefaultConfig()
	c.BaseURL, c.Auth.TokenURL, c.Auth.ClientID, c.Property, c.RequestsPerS = s.URL(), s.TokenURL(), "callgate", "MUC", 1000
	return apaleo.Options{Config: c, ClientSecret: "sim-secret", PollInterval: 50 * time.Millisecond, AnswerTimeout: 500 * time.Millisecond,
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, Logger: zerolog.Nop()}
}

func openLink(t testing.TB, o apaleo.Options) *apaleo.Link {
	t.Helper()
	l, err := apaleo.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		go func() { // Close delivers what is left; nobody else reads now
			for range l.GuestEvents() {
			}
		}()
		_ = l.Close()
	})
	return l
}

// awaitResync reads the link's events through the first ResyncEnd and
// returns the check-ins in it.
func awaitResync(t testing.TB, l *apaleo.Link) []gateway.GuestEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var ins []gateway.GuestEvent
	for {
		select {
		case ev := <-l.GuestEvents():
			switch ev.Kind {
			case gateway.GuestCheckIn:
				ins = append(ins, ev)
			case gateway.ResyncEnd:
				if err := l.WaitReady(ctx); err != nil {
					t.Fatalf("not ready after the resync: %v", err)
				}
				return ins
			}
		case <-ctx.Done():
			t.Fatalf("no resync from the link: %+v", l.Status())
		}
	}
}

// nextEvent returns the link's next guest event of kind k.
func nextEvent(t testing.TB, l *apaleo.Link, k gateway.GuestEventKind) gateway.GuestEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		select {
		case ev := <-l.GuestEvents():
			if ev.Kind == k {
				return ev
			}
		case <-ctx.Done():
			t.Fatalf("no %s event", k)
		}
	}
}

func testCtx(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func posting(n uint32, room string) gateway.PostRequest {
	return gateway.PostRequest{Number: n, Room: room, AmountMinor: 539, Currency: "EUR", Reference: "MUC-1-" + itoa(n),
		Start: time.Date(2026, 12, 5, 14, 3, 5, 0, time.UTC), DurationS: 130, Dialed: "0044 1632 960123",
		Class: "international", Destination: "United Kingdom"}
}

func itoa(n uint32) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}
