package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"callgate/gateway"
	"callgate/gateway/console"
	"callgate/store"
)

// BenchmarkStatusDay125k is issue 14's D3 probe as a benchmark: a real
// journal with a day of 125,000 calls, and one or eight callers asking
// /api/v1/status (the front desk's token) at once, through the console as
// serve wires it. It reports the p50 and p99 of one call, the peak heap
// above the heap before the calls, and the growth of the process's peak
// RSS (VmHWM, reset before the calls; Linux only) over its RSS then.
//
//	go test ./cmd/gateway -run '^$' -bench StatusDay125k -benchtime 4000x
func BenchmarkStatusDay125k(b *testing.B) {
	const day = 125_000
	ctx := context.Background()
	j, err := store.Open(filepath.Join(b.TempDir(), "journal.db"), store.Options{Logger: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	start := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	step := 24 * time.Hour / day
	recs := make([]gateway.ImportRecord, 0, 20_000)
	for i := range day {
		t := start.Add(time.Duration(i) * step)
		c := &gateway.Call{Format: "avaya-ipo", Extension: fmt.Sprint(100 + i%300), Dialed: "6175550134", Start: t, StartUTC: t,
			DurationS: 10 + (i*7919)%1790, Direction: gateway.Outgoing, Trunk: "9001", Answered: gateway.Bool(true)}
		raw := fmt.Appendf(nil, "%s,%d,%s,%09d", t.Format("2006/01/02 15:04:05"), c.DurationS, c.Extension, i)
		recs = append(recs, gateway.ImportRecord{Raw: gateway.RawRecord{Data: raw, Received: t}, Call: c, Room: c.Extension,
			Charge: &gateway.Charge{Class: []string{"local", "national", "international"}[i%3], Chargeable: true, TotalMinor: 20, Currency: "USD"}})
		if len(recs) == cap(recs) || i == day-1 {
			if _, err := j.Import(ctx, recs); err != nil {
				b.Fatal(err)
			}
			recs = recs[:0]
		}
	}
	tok, hash := console.NewToken()
	if err := j.PutUser(ctx, gateway.User{Name: "desk", Role: "frontdesk", PasswordHash: []byte("x"), Tokens: []gateway.Token{{Hash: hash}}}); err != nil {
		b.Fatal(err)
	}
	con, err := console.New(console.Options{Engine: benchEngine{}, Journal: j, Queries: j, Users: j, Location: time.UTC,
		Now: func() time.Time { return start.Add(23 * time.Hour) }, Logger: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	defer con.Close()
	call := func() time.Duration {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/status", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		t0 := time.Now()
		con.ServeHTTP(rec, req)
		d := time.Since(t0)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"records_today":125000`) {
			b.Fatalf("status: %d %.200s", rec.Code, rec.Body.String())
		}
		return d
	}
	call()
	for _, callers := range []int{1, 8} {
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) { benchStatus(b, callers, call) })
	}
}

// benchStatus makes b.N calls from callers goroutines and reports their
// latencies and the memory they took.
func benchStatus(b *testing.B, callers int, call func() time.Duration) {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heap0 := ms.HeapAlloc
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) // resets VmHWM
	rss0 := procKB("VmRSS")
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() { // samples the heap while the callers run
		defer close(sampled)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > peak.Load() {
				peak.Store(m.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-time.After(25 * time.Millisecond):
			}
		}
	}()
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < int64(b.N); i = next.Add(1) - 1 {
				lat[i] = call()
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	close(stop)
	<-sampled
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(float64(len(lat)-1)*p)]) / float64(time.Millisecond) }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(peak.Load()-min(peak.Load(), heap0))/(1<<20), "heap-growth-MB")
	if rss0 > 0 {
		b.ReportMetric(float64(procKB("VmHWM")-min(procKB("VmHWM"), rss0))/1024, "rss-growth-MB")
	}
}

// procKB reads a "Name: N kB" line of /proc/self/status, 0 if there is none.
func procKB(name string) uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, name+":"); ok {
			n, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// benchEngine is an engine at rest, for the console.
type benchEngine struct{}

func (benchEngine) Status() gateway.Status           { return gateway.Status{} }
func (benchEngine) Wake()                            {}
func (benchEngine) Resync(ctx context.Context) error { return nil }
