package metrics_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/gateway/metrics"
	"callgate/gateway/ship"
)

type engine struct{ st gateway.Status }

func (e engine) Status() gateway.Status { return e.st }

// queries answers Counts and Entries; every other query is not needed here
// (the embedded nil interface would panic if one were called).
type queries struct {
	gateway.Queries
	counts gateway.Counts
	err    error
}

func (q queries) Counts(context.Context) (gateway.Counts, error) { return q.counts, q.err }
func (q queries) Entries(context.Context, gateway.Filter) ([]gateway.Entry, error) {
	return []gateway.Entry{{Updated: time.Now().Add(-time.Minute)}}, q.err
}

func scrape(t *testing.T, h http.Handler) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d", rec.Code)
	}
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func TestCollector(t *testing.T) {
	e := engine{gateway.Status{RecordsRead: 7, Replays: 2, Postings: map[gateway.PostOutcome]uint64{gateway.PostPosted: 5},
		PMS:    gateway.LinkStatus{State: gateway.LinkAlive, OversizeFrames: 4},
		Alarms: []gateway.Alarm{{Kind: gateway.AlarmPBXSilent}}}}
	q := queries{counts: gateway.Counts{States: map[gateway.State]int64{gateway.StateQueued: 3, gateway.StateInDoubt: 1, gateway.StateResolving: 2}}}
	m := metrics.New(e, q)
	m.ObserveLatency(20 * time.Millisecond)
	out := scrape(t, m.Handler())
	for _, want := range []string{
		"callgate_records_read_total 7",
		"callgate_replays_dropped_total 2",
		`callgate_postings_total{outcome="posted"} 5`,
		`callgate_pms_link_state{state="alive"} 1`,
		`callgate_pms_link_state{state="down"} 0`,
		`callgate_alarms{kind="pbx-silent"} 1`,
		"callgate_pbx_silent 1",
		"callgate_queue_depth 3",
		"callgate_in_doubt 1",
		"callgate_resolving 2",
		"callgate_pms_oversize_frames_total 4",
		"callgate_posting_latency_seconds_count 1",
	} {
		t.Run(want, func(t *testing.T) {
			if !strings.Contains(out, want+"\n") {
				t.Errorf("no %q in\n%s", want, out)
			}
		})
	}
}

func TestHealthz(t *testing.T) {
	for _, c := range []struct {
		name   string
		st     gateway.Status
		err    error
		code   int
		status string
	}{
		{"ok", gateway.Status{}, nil, http.StatusOK, "ok"},
		{"alarm", gateway.Status{Alarms: []gateway.Alarm{{Kind: gateway.AlarmPMSDown}}}, nil, http.StatusOK, "alarm"},
		{"journal unreadable", gateway.Status{}, errors.New("disk gone"), http.StatusServiceUnavailable, "down"},
		// The journal reads but cannot be written (a full disk): the
		// engine's journal-write alarm is up (issue 14, D7).
		{"journal unwritable", gateway.Status{Alarms: []gateway.Alarm{{Kind: gateway.AlarmJournalWrite}}}, nil, http.StatusServiceUnavailable, "down"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			metrics.Healthz(engine{c.st}, queries{err: c.err})(rec, httptest.NewRequest("GET", "/healthz", nil))
			var body struct{ Status string }
			if err := json.NewDecoder(rec.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if rec.Code != c.code || body.Status != c.status {
				t.Errorf("%d %q, want %d %q", rec.Code, body.Status, c.code, c.status)
			}
		})
	}
}

// TestAddCounters: an adapter's counters, read at scrape time, one series
// per label value.
func TestAddCounters(t *testing.T) {
	m := metrics.New(engine{gateway.Status{}}, queries{})
	n := int64(0)
	m.AddCounters("pbx_connections_refused_total", "PBX connections refused, by reason.", "reason", func() map[string]int64 {
		n++
		return map[string]int64{"not-allowed": n, "full": 0}
	})
	out := scrape(t, m.Handler())
	for _, want := range []string{`callgate_pbx_connections_refused_total{reason="not-allowed"} 1`, `callgate_pbx_connections_refused_total{reason="full"} 0`} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	m.AddCounters("pbx_connections_evicted_total", "Idle connections closed.", "", func() map[string]int64 { return map[string]int64{"a": 2, "b": 3} })
	out = scrape(t, m.Handler())
	if !strings.Contains(out, `callgate_pbx_connections_refused_total{reason="not-allowed"} 2`) {
		t.Errorf("not read again at the second scrape:\n%s", out)
	}
	if !strings.Contains(out, "callgate_pbx_connections_evicted_total 5\n") {
		t.Errorf("unlabelled counter: not the sum 5:\n%s", out)
	}
}

// TestShippingSeries: with a central, /metrics has the shipper's cursor,
// lag, last success and error; without one, none of its series.
func TestShippingSeries(t *testing.T) {
	at := time.Unix(1_800_000_000, 0)
	m := metrics.New(engine{gateway.Status{}}, queries{})
	on := true
	m.AddShipping(func() (ship.ShipStatus, bool) {
		return ship.ShipStatus{Cursor: 40, LastSeq: 45, Oldest: time.Now().Add(-time.Hour), LastSuccess: at, LastError: "down", LastErrorAt: at,
			Batches: 2, Events: 40}, on
	})
	out := scrape(t, m.Handler())
	for _, want := range []string{"callgate_ship_cursor 40", "callgate_ship_lag_events 5", "callgate_ship_last_success_timestamp_seconds 1.8e+09",
		"callgate_ship_failing 1", "callgate_ship_stopped 0", "callgate_ship_batches_total 2", "callgate_ship_events_total 40", "callgate_ship_lag_seconds 3"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	on = false
	if out := scrape(t, m.Handler()); strings.Contains(out, "callgate_ship_") {
		t.Error("shipping series without a central")
	}
}
