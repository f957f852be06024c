package mews_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/internal/testutil"
	"callgate/pms/mews"
	"callgate/pms/mews/sim"
)

// startSim starts a simulator with rooms 101-110 and a rate limit a test
// does not reach unless it says so; the test's cleanup stops it.
func startSim(t testing.TB, o sim.Options) *sim.Sim {
	t.Helper()
	if o.Rooms == nil {
		o.Rooms = []string{"101", "102", "103", "104", "105", "106", "107", "108", "109", "110"}
	}
	if o.RateLimit == 0 {
		o.RateLimit = 100000
	}
	s, err := sim.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// writeSecret writes a token file the way `echo` does (with a newline).
func writeSecret(t testing.TB, dir, name, value string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(value+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// testConfig is a valid config for the simulator s, its tokens in files
// under a temp folder.
func testConfig(t testing.TB, s *sim.Sim) mews.Config {
	t.Helper()
	dir := t.TempDir()
	c := mews.DefaultConfig()
	c.BaseURL = s.URL()
	c.Auth.ClientTokenFile = writeSecret(t, dir, "client.token", sim.DefaultClientToken)
	c.Auth.AccessTokenFile = writeSecret(t, dir, "access.token", sim.DefaultAccessToken)
	c.Charge.ServiceID = sim.DefaultServiceID
	c.Charge.AccountingCategories = map[string]string{}
	for k, v := range sim.DefaultAccountingCategories {
		c.Charge.AccountingCategories[k] = v
	}
	c.Charge.TaxCode = "DE-2020-1-S"
	c.RateLimit.Requests = 100000
	return c
}

// fastOptions are options for a test: short polls and answers.
func fastOptions(t testing.TB, s *sim.Sim) mews.Options {
	return mews.Options{
		Config:        testConfig(t, s),
		Logger:        testutil.Logger(t, nil),
		MinorDigits:   func(string) (int, bool) { return 2, true },
		Location:      time.UTC,
		PollInterval:  100 * time.Millisecond,
		AnswerTimeout: 2 * time.Second,
		MinBackoff:    20 * time.Millisecond,
		MaxBackoff:    200 * time.Millisecond,
	}
}

// openLink opens a link and drains its guest events into the returned
// channel-less log unless the test reads them itself; the cleanup closes
// it.
func openLink(t testing.TB, o mews.Options) *mews.Link {
	t.Helper()
	l, err := mews.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// drainEvents reads l's guest events until it closes, so that polls never
// wait for a reader.
func drainEvents(l *mews.Link) {
	go func() {
		for range l.GuestEvents() {
		}
	}()
}

// ready waits until l is ready.
func ready(t testing.TB, l *mews.Link) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.WaitReady(ctx); err != nil {
		t.Fatalf("the link is not ready: %v (%+v)", err, l.Status())
	}
}

func request(n uint32, room, class string, minor int64) gateway.PostRequest {
	return gateway.PostRequest{Number: n, Room: room, AmountMinor: minor, Currency: "EUR",
		Start: time.Date(2026, 11, 27, 14, 3, 5, 0, time.UTC), DurationS: 130, Dialed: "0044 1632 960123",
		Class: class, Trunk: "T9", Destination: "United Kingdom", Reference: "HOTEL-" + itoa(n)}
}

func itoa(n uint32) string {
	b := []byte{}
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
		if n == 0 {
			return string(b)
		}
	}
}

// awaitKind reads l's guest events until one of kind k, and returns it.
func awaitKind(t testing.TB, l *mews.Link, k gateway.GuestEventKind) gateway.GuestEvent {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-l.GuestEvents():
			if !ok {
				t.Fatalf("the guest events ended before a %s", k)
			}
			if ev.Kind == k {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %s event", k)
		}
	}
}
