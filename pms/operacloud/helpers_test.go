package operacloud_test

import (
	"context"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/internal/testutil"
	"callgate/pms/operacloud"
	"callgate/pms/operacloud/sim"
)

func digits(c string) (int, bool) {
	d, ok := map[string]int{"USD": 2, "EUR": 2, "JPY": 0, "KWD": 3}[c]
	return d, ok
}

func startSim(t testing.TB, o sim.Options) *sim.Sim {
	t.Helper()
	s, err := sim.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// fastOptions connects to s with the durations shortened for tests.
func fastOptions(t testing.TB, s *sim.Sim) operacloud.Options {
	so := s.Options()
	c := operacloud.DefaultConfig()
	c.BaseURL, c.Property = s.URL(), so.Hotel
	c.Auth.ClientID, c.Auth.AppKey = so.ClientID, so.AppKey
	c.Charge.CashierID = so.CashierID
	c.Charge.TransactionCodes = map[string]string{"international": "9100", "national": "9110", "local": "9120", "mobile": "9130"}
	c.RatePerS = 200
	return operacloud.Options{Config: c, ClientSecret: so.ClientSecret,
		Poll: 50 * time.Millisecond, AnswerTimeout: 2 * time.Second,
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		MinorDigits: digits, Logger: testutil.Logger(t, nil),
	}
}

func openLink(t testing.TB, o operacloud.Options) *operacloud.Link {
	t.Helper()
	l, err := operacloud.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// drainEvents reads l's guest events in the background (tests that do not
// look at them), until the link closes.
func drainEvents(l *operacloud.Link) {
	go func() {
		for range l.GuestEvents() {
		}
	}()
}

func ready(t testing.TB, l *operacloud.Link) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	if err := l.WaitReady(ctx); err != nil {
		t.Fatalf("the link is not ready: %v (%+v)", err, l.Status())
	}
	return ctx
}

func request(n uint32, room, ref string) gateway.PostRequest {
	return gateway.PostRequest{Number: n, Room: room, AmountMinor: 539, Currency: "USD",
		Start: time.Date(2026, 12, 5, 14, 3, 5, 0, time.UTC), DurationS: 130, Dialed: "011441632960123",
		Class: "international", Trunk: "T9", Destination: "United Kingdom", Reference: ref}
}
