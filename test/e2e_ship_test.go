package test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/gateway/ship"
	"callgate/pms/fias/sim"
	"callgate/store"
)

// centralDouble is a loopback stand-in for `gateway central` (which is not this
// test's subject): it decodes each batch with ship.DecodeBatch and applies
// it with the central's cursor, gap and overlap rules (docs/central.md),
// counting what it stores and what it skips.
type centralDouble struct {
	t       testing.TB
	srv     *http.Server
	url     string
	mu      sync.Mutex
	events  map[string][]gateway.Event
	applied int
	overlap int
	batches int
	// down refuses every request with 503 (the WAN or the central away);
	// delay holds each batch's answer (a slow line), so that kills find
	// batches in flight.
	down  atomic.Bool
	delay time.Duration
}

func startCentralDouble(t testing.TB, delay time.Duration) *centralDouble {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &centralDouble{t: t, events: map[string][]gateway.Event{}, delay: delay, url: "http://" + ln.Addr().String()}
	c.srv = &http.Server{Handler: c, ReadHeaderTimeout: 10 * time.Second}
	go c.srv.Serve(ln)
	t.Cleanup(func() { c.srv.Close() })
	return c
}

func (c *centralDouble) answer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (c *centralDouble) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if c.down.Load() {
		c.answer(w, http.StatusServiceUnavailable, ship.Refusal{Error: "the central is away"})
		return
	}
	if r.Header.Get("Authorization") != "Bearer e2e-token" {
		c.answer(w, http.StatusUnauthorized, ship.Refusal{Error: "unknown token"})
		return
	}
	if r.URL.Path == ship.PathCursor {
		epoch := r.URL.Query().Get("epoch")
		c.mu.Lock()
		n := len(c.events[epoch])
		c.mu.Unlock()
		c.answer(w, http.StatusOK, ship.Ack{Epoch: epoch, Cursor: uint64(n)})
		return
	}
	b, err := ship.DecodeBatch(r.Body)
	if err != nil {
		c.answer(w, http.StatusBadRequest, ship.Refusal{Error: err.Error()})
		return
	}
	time.Sleep(c.delay)
	c.mu.Lock()
	defer c.mu.Unlock()
	held := c.events[b.Epoch]
	first := b.Events[0].Seq
	if first > uint64(len(held))+1 {
		c.answer(w, http.StatusConflict, ship.Refusal{Error: "gap", Epoch: b.Epoch, Cursor: uint64(len(held))})
		return
	}
	if first > 1 && held[first-2].Hash != b.PrevHash {
		c.answer(w, http.StatusUnprocessableEntity, ship.Refusal{Error: "the chain does not continue"})
		return
	}
	for _, e := range b.Events {
		if e.Seq <= uint64(len(held)) {
			if held[e.Seq-1].Hash != e.Hash {
				c.answer(w, http.StatusUnprocessableEntity, ship.Refusal{Error: "an overlapping event differs"})
				return
			}
			c.overlap++
			continue
		}
		held = append(held, e)
		c.applied++
	}
	c.events[b.Epoch] = held
	c.batches++
	c.answer(w, http.StatusOK, ship.AckOf(gateway.ShipAck{Epoch: b.Epoch, Cursor: uint64(len(held)), At: time.Now()}))
}

func (c *centralDouble) held(epoch string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.events[epoch])
}

// centralConfig writes the token in a folder of its own and returns the
// central section for it.
func centralConfig(t testing.TB, c *centralDouble, batchMax int) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "central.token"), []byte("e2e-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("central: {url: %q, property: e2e, token_file: %s, batch_max: %d}\n", c.url, filepath.Join(dir, "central.token"), batchMax)
}

// waitShipped waits until the running gateway says nothing waits to be
// shipped and its last try succeeded, twice in a row.
func (g *gw) waitShipped(within time.Duration) {
	g.h.t.Helper()
	deadline := time.Now().Add(within)
	ok := 0
	for ok < 2 {
		if time.Now().After(deadline) {
			g.h.t.Fatalf("the journal was not shipped within %v\n%s", within, g.tail())
		}
		lag, err1 := g.metric("callgate_ship_lag_events")
		failing, err2 := g.metric("callgate_ship_failing")
		if err1 == nil && err2 == nil && lag == 0 && failing == 0 {
			ok++
		} else {
			ok = 0
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitShipping waits until the running gateway has shipped a batch.
func (g *gw) waitShipping(within time.Duration) {
	g.h.t.Helper()
	deadline := time.Now().Add(within)
	for {
		if v, err := g.metric("callgate_ship_batches_total"); err == nil && v >= 1 {
			return
		}
		if time.Now().After(deadline) {
			g.h.t.Fatalf("nothing shipped within %v; the shipper's log:\n%s", within, g.linesWith(`"component":"shipper"`))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// linesWith returns the process's log lines holding s.
func (g *gw) linesWith(s string) string {
	b, _ := os.ReadFile(g.log)
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestE2EShipping: serve ships its journal to a central while calls flow;
// the central is away for a while (postings go on), and the gateway is
// SIGKILLed three times mid-shipping and restarted. At the end the central
// holds every event of the journal exactly once, in order, byte for byte,
// and the cursor kept in the journal is the central's: events acknowledged
// but whose cursor was not yet written when a kill came were sent again
// and skipped by the central's overlap rule, none lost, none stored twice.
func TestE2EShipping(t *testing.T) {
	c := startCentralDouble(t, 3*time.Millisecond)
	h := newHotel(t, hotelOptions{extraConfig: centralConfig(t, c, 20)})
	n := calls(600, 200)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 16))
	cs := h.chunks(h.simulator(n, 16, 0))
	h.pms.SetFaults(sim.Faults{PADelay: 5 * time.Millisecond})
	next := 0
	take := func(k int) [][]byte {
		k = min(k, len(cs)-next)
		part := cs[next : next+k]
		next += k
		return part
	}
	read := 0
	// The WAN is down: postings go on at the property, nothing ships.
	c.down.Store(true)
	g := h.start()
	read += h.writeChunks(take(len(cs) / 5))
	g.waitMetric("callgate_records_read_total", float64(read), 60*time.Second)
	g.waitMetric(`callgate_postings_total{outcome="posted"}`, 5, 60*time.Second)
	g.waitMetric("callgate_ship_failing", 1, 30*time.Second)
	if lag, _ := g.metric("callgate_ship_lag_events"); lag == 0 {
		t.Fatal("nothing waits to be shipped while the central is away")
	}
	c.down.Store(false)
	// Kills while the backlog ships and calls flow.
	for kill := 0; kill < 3; kill++ {
		read += h.writeChunks(take(len(cs) / 6))
		g.waitMetric("callgate_records_read_total", float64(read), 60*time.Second)
		g.waitShipping(60 * time.Second) // shipping is under way
		time.Sleep(time.Duration(rng.IntN(150)) * time.Millisecond)
		g.kill()
		read = 0 // the counter starts again with each process
		g = h.start()
	}
	read += h.writeChunks(take(len(cs)))
	g.waitMetric("callgate_records_read_total", float64(read), 60*time.Second)
	g.waitDrained(120 * time.Second)
	g.waitShipped(120 * time.Second)
	g.stop()

	j, err := store.Open(h.journal, store.Options{ReadOnly: true, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	ctx := context.Background()
	in, _ := j.Info(ctx)
	evs, err := j.Events(ctx, gateway.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	cur, _ := j.ShipCursor(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	got := c.events[in.Epoch]
	t.Logf("%d events in %d batches; %d sent again and skipped by the central", len(got), c.batches, c.overlap)
	if len(got) != len(evs) || c.applied != len(evs) {
		t.Fatalf("the central stored %d events (%d applied) of the journal's %d: lost or duplicated", len(got), c.applied, len(evs))
	}
	for i := range evs {
		if got[i].Seq != evs[i].Seq || got[i].Hash != evs[i].Hash || string(got[i].Body) != string(evs[i].Body) {
			t.Fatalf("event %d at the central differs from the journal's", i+1)
		}
	}
	if cur.Cursor != uint64(len(evs)) || cur.Epoch != in.Epoch {
		t.Errorf("the journal's cursor %+v, want %d of epoch %s", cur, len(evs), in.Epoch)
	}
}

// BenchmarkE2ELatencyShipping is BenchmarkE2ELatency with a shipper to a
// loopback central (docs/central.md): shipping's cost on the property's
// end-to-end latency. Each call's events ship as soon as the shipper's
// poll finds them, while the next call is posted.
func BenchmarkE2ELatencyShipping(b *testing.B) {
	c := startCentralDouble(b, 0)
	e2eLatency(b, hotelOptions{extraConfig: centralConfig(b, c, 5000)})
	if c.applied == 0 {
		b.Fatal("nothing was shipped")
	}
}
