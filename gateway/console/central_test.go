package console_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"callgate/gateway/console"
	"callgate/gateway/ship"
)

// TestConsoleShowsShipping: with a central, the dashboard and
// /api/v1/status show the cursor, the lag in events and time, the last
// success and the last error; without one, neither mentions it.
func TestConsoleShowsShipping(t *testing.T) {
	now := time.Date(2026, 11, 27, 8, 10, 0, 0, time.UTC)
	st := ship.ShipStatus{Running: true, Epoch: "ep-1", Cursor: 120, LastSeq: 150, Oldest: now.Add(-90 * time.Second),
		LastSuccess: now.Add(-2 * time.Minute), LastError: "the central https://c.example cannot be reached", LastErrorAt: now.Add(-time.Minute),
		Batches: 3, Events: 120}
	e := newConsoleEnv(t, func(o *console.Options) {
		o.Now = func() time.Time { return now }
		o.Shipping = func() (ship.ShipStatus, bool) { return st, true }
	})
	code, body := e.api("GET", "/api/v1/status", e.token("fd"), "")
	var got struct {
		Central *struct {
			Cursor      uint64  `json:"cursor"`
			LagEvents   uint64  `json:"lag_events"`
			LagSeconds  float64 `json:"lag_seconds"`
			LastSuccess string  `json:"last_success"`
			LastError   string  `json:"last_error"`
			Epoch       string  `json:"epoch"`
		} `json:"central"`
	}
	if err := json.Unmarshal([]byte(body), &got); code != http.StatusOK || err != nil || got.Central == nil {
		t.Fatalf("status %d %v %s", code, err, body)
	}
	c := got.Central
	if c.Cursor != 120 || c.LagEvents != 30 || c.LagSeconds != 90 || c.LastSuccess != "2026-11-27 03:08:00" || !strings.Contains(c.LastError, "cannot be reached") || c.Epoch != "ep-1" {
		t.Errorf("central %+v", c)
	}
	_, page, _ := e.as("fd").get("/")
	if !strings.Contains(page, `id="central"`) || !strings.Contains(page, "120 of 150") || !strings.Contains(page, "30 events, oldest 90 s") {
		t.Errorf("the dashboard does not show the shipping")
	}

	plain := newConsoleEnv(t)
	if _, body := plain.api("GET", "/api/v1/status", plain.token("fd"), ""); strings.Contains(body, `"central"`) {
		t.Errorf("status without a central: %s", body)
	}
}
