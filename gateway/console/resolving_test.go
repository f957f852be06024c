package console_test

import (
	"context"
	"html"
	"strings"
	"testing"
	"time"

	"callgate/gateway"
)

// A posting whose answer was lost on a lookup PMS: the dashboard counts it
// while it is resolved, and its page shows its reference and every step
// of the resolving in its history.
func TestConsoleShowsTheResolvingSteps(t *testing.T) {
	e := newConsoleEnv(t)
	e.eng.mu.Lock()
	e.eng.st.Capability, e.eng.st.Property, e.eng.st.Epoch = gateway.CapabilityLookup, "Test Hotel", "3f2a9c1d-7b4e-4c2a-9d1e-0a1b2c3d4e5f"
	until := time.Now().Add(20 * time.Second)
	e.eng.st.Wait = &gateway.PostWait{Cause: gateway.CauseLookup, Entry: 1, Posting: 1, Room: "101", Reason: "test-hotel-3f2a9c1d-1-1",
		Wait: 30 * time.Second, Until: until}
	e.eng.mu.Unlock()
	en := e.seed(gateway.StateQueued, 1)
	ctx := context.Background()
	for _, c := range []gateway.Change{
		{To: gateway.StateSent},
		{To: gateway.StateResolving, Reason: "the PMS's answer was lost (no answer in 30 s): looking up reference test-hotel-3f2a9c1d-1-1 after 30s"},
		{To: gateway.StateResolving, Reason: "looking up reference test-hotel-3f2a9c1d-1-1 failed (try 1 of 5: 503): asking again in 30s"},
	} {
		var err error
		if en, err = e.j.Move(ctx, en.ID, c); err != nil {
			t.Fatal(err)
		}
	}
	_, body, _ := e.as("fd").get("/")
	for _, want := range []string{`data-live="resolving">1<`, "looking up P#1 (reference test-hotel-3f2a9c1d-1-1) in "} {
		if !strings.Contains(body, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	_, body, _ = e.as("aud").get("/calls/" + itoa(uint64(en.ID)))
	body = html.UnescapeString(body)
	for _, want := range []string{"state-resolving", "Posting reference (lookup)", "test-hotel-3f2a9c1d-1-1",
		"looking up reference test-hotel-3f2a9c1d-1-1 after 30s", "failed (try 1 of 5: 503)"} {
		if !strings.Contains(body, want) {
			t.Errorf("call page lacks %q", want)
		}
	}
	// A blind link (FIAS): no reference shown, the P# is the reference.
	e.eng.mu.Lock()
	e.eng.st.Capability = gateway.CapabilityBlind
	e.eng.mu.Unlock()
	if _, body, _ = e.as("aud").get("/calls/" + itoa(uint64(en.ID))); strings.Contains(body, "Posting reference") {
		t.Error("a reference shown for a blind link")
	}
}
