package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/gateway/ship"
	"callgate/internal/testutil"
	"callgate/store"
)

// TestConfigCentral: the central section's checks (docs/central.md).
func TestConfigCentral(t *testing.T) {
	dir := filepath.Dir(writeConfig(t, goodConfig))
	token := filepath.Join(dir, "token")
	os.WriteFile(token, []byte("tok-1\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "empty"), nil, 0o600)
	os.WriteFile(filepath.Join(dir, "ca.pem"), []byte("not a certificate"), 0o600)
	ok := "central: {url: https://central.example.com:8443, property: grand-vienna, token_file: " + token + "}\n"
	c, err := ParseConfig([]byte(goodConfig+ok), filepath.Join(dir, "callgate.yaml"))
	if err != nil || !c.Central.Enabled() || c.Central.BatchMax != 0 || c.Central.ShipGuestNames {
		t.Fatalf("a good central section: %+v %v", c.Central, err)
	}
	if o := storeOptions(c); !o.CentralGuard {
		t.Error("the journal's prune guard is off with a central configured")
	}
	if c, _ := ParseConfig([]byte(goodConfig), filepath.Join(dir, "callgate.yaml")); c.Central.Enabled() || storeOptions(c).CentralGuard {
		t.Error("a central without a central section")
	}
	for _, tc := range []struct{ section, want string }{
		{"central: {url: http://central.example.com, property: p, token_file: token}", "central.url: line 11: http://central.example.com is plain http to another machine"},
		{"central: {url: http://127.0.0.1:9000, property: p, token_file: token, batch_max: 10001}", "central.batch_max: line 11: 10001: give the most events a batch carries, 1 to 10000"},
		{"central: {url: https://c.example, token_file: token}", "central.property: line 11: missing"},
		{"central: {url: https://c.example, property: p}", "central.token_file: line 11: missing"},
		{"central: {url: https://c.example, property: p, token_file: nothere}", "central.token_file: line 11: " + filepath.Join(dir, "nothere") + " cannot be read"},
		{"central: {url: https://c.example, property: p, token_file: empty}", "does not hold one token"},
		{"central: {url: https://c.example, property: p, token_file: token, ca_file: ca.pem}", "central.ca_file: line 11: " + filepath.Join(dir, "ca.pem") + " holds no PEM certificate"},
		{"central: {property: p, token_file: token}", "central.url: line 11: missing"},
	} {
		_, err := ParseConfig([]byte(goodConfig+tc.section+"\n"), filepath.Join(dir, "callgate.yaml"))
		var ps Problems
		if !errors.As(err, &ps) || !strings.Contains(ps.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.section, err, tc.want)
		}
	}
}

// centralDouble is a loopback stand-in for the central: it applies the
// batches it decodes in order and answers its cursor.
type centralDouble struct {
	mu     sync.Mutex
	events map[string][]gateway.Event
}

func (d *centralDouble) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer tok-1" {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	b, err := ship.DecodeBatch(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	held := d.events[b.Epoch]
	if b.Events[0].Seq > uint64(len(held))+1 {
		w.WriteHeader(http.StatusConflict)
		return
	}
	for _, e := range b.Events {
		if e.Seq > uint64(len(held)) {
			held = append(held, e)
		}
	}
	d.events[b.Epoch] = held
	w.Header().Set("Content-Type", "application/json")
	ack := ship.AckOf(gateway.ShipAck{Epoch: b.Epoch, Cursor: uint64(len(held)), At: time.Now()})
	json.NewEncoder(w).Encode(ack)
}

func (d *centralDouble) held(epoch string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.events[epoch])
}

// TestServeShips: gateway serve with a central section ships the journal,
// shows it on /metrics and /api/v1/status, and keeps the cursor in the
// journal.
func TestServeShips(t *testing.T) {
	d := &centralDouble{events: map[string][]gateway.Event{}}
	srv := httptest.NewServer(d)
	defer srv.Close()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "token"), []byte("tok-1\n"), 0o600)
	g := startTestGateway(t, dir, `site: {name: Harbour Hotel, timezone: America/New_York}
store: {path: journal.db}
pbx: {format: avaya-ipo, transport: file, file: smdr.txt}
pms: {protocol: fias, address: "127.0.0.1:1"}
tariff: tariff.yaml
console: {listen: "127.0.0.1:0"}
central: {url: "`+srv.URL+`", property: harbour, token_file: token}
`)
	g.run(t)
	ctx := context.Background()
	in, err := g.journal.Info(ctx)
	if err != nil || in.LastSeq == 0 {
		t.Fatalf("journal %+v %v", in, err)
	}
	testutil.WaitFor(t, 10*time.Second, "the central holds the journal", func() bool {
		st, _ := g.shipStatus()
		return d.held(in.Epoch) >= int(in.LastSeq) && st.Cursor >= in.LastSeq
	})
	rec := httptest.NewRecorder()
	g.http.Handler.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if !strings.Contains(rec.Body.String(), "callgate_ship_cursor ") || !strings.Contains(rec.Body.String(), "callgate_ship_lag_events ") {
		t.Error("/metrics has no shipping series")
	}
	g.stop(t)
	j, err := store.Open(filepath.Join(dir, "journal.db"), store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if c, err := j.ShipCursor(ctx); err != nil || c.Cursor < in.LastSeq || c.Epoch != in.Epoch {
		t.Fatalf("the cursor kept in the journal: %+v %v", c, err)
	}
}

// TestJournalPruneSaysWhatCentralHolds: with a central configured, prune
// says what it kept for the central.
func TestJournalPruneSaysWhatCentralHolds(t *testing.T) {
	config, _ := journalSite(t)
	token := filepath.Join(filepath.Dir(config), "token")
	os.WriteFile(token, []byte("tok-1"), 0o600)
	body, _ := os.ReadFile(config)
	os.WriteFile(config, append(body, []byte("central: {url: http://127.0.0.1:1, property: p, token_file: token}\n")...), 0o600)
	code, out, errOut := run(t, "", "journal", "prune", "--config", config, "--months", "1", "--dry-run")
	if code != 0 || !strings.Contains(out, "the central holds this journal's events up to 0") {
		t.Fatalf("prune with a central: exit %d %q %q", code, out, errOut)
	}
}

// BenchmarkShipCatchUp ships a backlog of imported events (one event each,
// ~400 bytes of body) from a store journal through the HTTPS client's
// encoding over loopback HTTP to a stand-in central that decodes, checks
// and holds them in memory: the property's share of a catch-up (the
// central's PostgreSQL apply is not in it). Reports events/s and the time
// a backlog of 1,000,000 would take at that rate.
//
//	go test ./cmd/gateway -run '^$' -bench ShipCatchUp -benchtime 1x
func BenchmarkShipCatchUp(b *testing.B) {
	const backlog = 200_000
	ctx := context.Background()
	dir := b.TempDir()
	j, err := store.Open(filepath.Join(dir, "journal.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	recs := make([]gateway.ImportRecord, 0, 20_000)
	for i := range backlog {
		t := start.Add(time.Duration(i) * time.Second)
		c := &gateway.Call{Format: "avaya-ipo", Extension: fmt.Sprint(100 + i%300), Dialed: "6175550134", Start: t, StartUTC: t,
			DurationS: 10 + (i*7919)%1790, Direction: gateway.Outgoing, Trunk: "9001", Answered: gateway.Bool(true)}
		raw := fmt.Appendf(nil, "%s,%d,%s,%09d", t.Format("2006/01/02 15:04:05"), c.DurationS, c.Extension, i)
		recs = append(recs, gateway.ImportRecord{Raw: gateway.RawRecord{Data: raw, Received: t}, Call: c, Room: c.Extension,
			Charge: &gateway.Charge{Class: "national", Chargeable: true, TotalMinor: 20, Currency: "USD"}})
		if len(recs) == cap(recs) || i == backlog-1 {
			if _, err := j.Import(ctx, recs); err != nil {
				b.Fatal(err)
			}
			recs = recs[:0]
		}
	}
	in, _ := j.Info(ctx)
	os.WriteFile(filepath.Join(dir, "token"), []byte("tok-1"), 0o600)
	var rate float64
	b.ResetTimer()
	for range b.N {
		d := &centralDouble{events: map[string][]gateway.Event{}}
		srv := httptest.NewServer(d)
		client, err := ship.NewClient(ship.ClientConfig{URL: srv.URL, TokenFile: filepath.Join(dir, "token")})
		if err != nil {
			b.Fatal(err)
		}
		if err := j.SetShipCursor(ctx, gateway.ShipAck{Epoch: in.Epoch}); err != nil {
			b.Fatal(err)
		}
		s := &ship.Shipper{Sink: client, Journal: j, Queries: j, Poll: time.Millisecond}
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		t0 := time.Now()
		go func() { s.Run(runCtx); close(done) }()
		for s.Status().Cursor < in.LastSeq {
			if time.Since(t0) > 10*time.Minute {
				b.Fatalf("not caught up in 10 min: %+v", s.Status())
			}
			time.Sleep(5 * time.Millisecond)
		}
		rate = float64(in.LastSeq) / time.Since(t0).Seconds()
		cancel()
		<-done
		srv.Close()
		if d.held(in.Epoch) != int(in.LastSeq) {
			b.Fatalf("the central holds %d of %d", d.held(in.Epoch), in.LastSeq)
		}
	}
	b.ReportMetric(rate, "events/s")
	b.ReportMetric(1e6/rate, "s-per-1M")
}

// BenchmarkShipStep is what the shipper does for one call's events while
// calls trickle in (the case of BenchmarkE2ELatencyShipping): read the five
// events above the cursor from a store journal, encode and post them over
// loopback HTTP to a stand-in central (the cursor is persisted at most
// every 5 s, not per batch: not in it). Reports the
// process's CPU time per batch beside the wall time (both sides of the
// loopback are in this process).
func BenchmarkShipStep(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	j, err := store.Open(filepath.Join(dir, "journal.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	in, _ := j.Info(ctx)
	os.WriteFile(filepath.Join(dir, "token"), []byte("tok-1"), 0o600)
	d := &centralDouble{events: map[string][]gateway.Event{}}
	srv := httptest.NewServer(d)
	defer srv.Close()
	client, err := ship.NewClient(ship.ClientConfig{URL: srv.URL, TokenFile: filepath.Join(dir, "token")})
	if err != nil {
		b.Fatal(err)
	}
	var cursor uint64
	var prev [32]byte
	oneCall := func(i int) {
		c, err := j.Capture(ctx, gateway.RawRecord{Data: fmt.Appendf(nil, "2026/12/06 03:00:00,95,415,6175550134,%09d", i)})
		if err != nil {
			b.Fatal(err)
		}
		t := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
		call := &gateway.Call{Format: "avaya-ipo", Extension: "415", Dialed: "6175550134", Start: t, StartUTC: t, DurationS: 95, Direction: gateway.Outgoing}
		for _, ch := range []gateway.Change{{To: gateway.StateRated, Call: call, Charge: &gateway.Charge{Class: "national", Chargeable: true, TotalMinor: 136, Currency: "USD"}},
			{To: gateway.StateQueued, Room: "415"}, {To: gateway.StateSent}, {To: gateway.StatePosted, Answer: &gateway.Answer{Code: "OK"}}} {
			if _, err := j.Move(ctx, c.ID, ch); err != nil {
				b.Fatal(err)
			}
		}
	}
	var ru0, ru1 syscall.Rusage
	var cpu time.Duration
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		oneCall(i)
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
		b.StartTimer()
		evs, err := j.Events(ctx, gateway.EventFilter{Since: cursor, Limit: 5000})
		if err != nil || len(evs) == 0 {
			b.Fatal(len(evs), err)
		}
		ack, err := client.Ship(ctx, gateway.ShipBatch{Epoch: in.Epoch, Events: evs, PrevHash: prev, Site: gateway.SiteSnapshot{Name: "bench"}})
		if err != nil {
			b.Fatal(err)
		}
		cursor, prev = ack.Cursor, evs[len(evs)-1].Hash
		b.StopTimer()
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
		cpu += time.Duration(ru1.Utime.Nano()+ru1.Stime.Nano()-ru0.Utime.Nano()-ru0.Stime.Nano()) * time.Nanosecond
		b.StartTimer()
	}
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/batch")
}
