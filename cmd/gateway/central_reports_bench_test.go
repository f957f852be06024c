package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"callgate/gateway"
	"callgate/gateway/console"
	"callgate/gateway/gatewaytest"
	"callgate/gateway/report"
	"callgate/gateway/report/render"
	"callgate/internal/pgtest"
	"callgate/store/postgres"
	"callgate/tariff"
)

// BenchmarkChain1M loads 1,000,000 projected calls of November 2026 over
// 10 properties into the central's PostgreSQL (COPY, as store/postgres's
// TestBusyHourMonth does), then measures, each as a sub-benchmark:
// reports that stream the entries into gateway/report's fold at the
// central (every call read; the trunks sweep by start order), with the
// peak of the Go heap while the report runs (peak-heap-MB, sampled every
// 2 ms, less the heap before it) and the calls read per second; and the
// calls export as CSV and XLSX (rows/s) through render.RowWriter.
//
//	go test ./cmd/gateway -run '^$' -bench Chain1M -benchtime 1x
func BenchmarkChain1M(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	s, err := postgres.Open(ctx, pgtest.DB(b), zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const calls = 1_000_000
	loadCalls(ctx, b, s, calls, 10)
	ch := chainStore{s}
	o := report.Options{From: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), MinorDigits: tariff.MinorDigits}
	for _, name := range []string{"callers", "trunks", "exceptions", "unanswered"} {
		b.Run("report-"+name, func(b *testing.B) {
			r, _ := report.Lookup(name)
			var peak uint64
			for i := 0; i < b.N; i++ {
				var t *report.Table
				p := heapPeak(func() {
					t, err = console.ChainReport(ctx, entriesOnly{ch}, r, nil, o)
				})
				if err != nil {
					b.Fatal(err)
				}
				if len(t.Rows) == 0 {
					b.Fatalf("%s: no rows", name)
				}
				peak = max(peak, p)
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
			b.ReportMetric(float64(calls)*float64(b.N)/b.Elapsed().Seconds(), "calls/s")
		})
	}
	for _, format := range []string{"csv", "xlsx"} {
		b.Run("export-"+format, func(b *testing.B) {
			var peak uint64
			rows := 0
			for i := 0; i < b.N; i++ {
				rows = 0
				p := heapPeak(func() {
					var rw render.RowWriter
					rw, err = render.NewRowWriter(io.Discard, "calls", exportColumns, format)
					if err != nil {
						return
					}
					row := make([]any, len(exportColumns))
					err = ch.ChainExport(ctx, console.ChainFilter{}, console.ChainPage, nil, func(es []console.ChainEntry) error {
						for _, e := range es {
							exportRow(row, &e)
							if err := rw.Write(row); err != nil {
								return err
							}
							rows++
						}
						return rw.Flush()
					})
					if err == nil {
						err = rw.Close()
					}
				})
				if err != nil {
					b.Fatal(err)
				}
				if rows < calls {
					b.Fatalf("%d rows exported of %d", rows, calls)
				}
				peak = max(peak, p)
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// exportColumns and exportRow are the chain console's export's columns
// and cells (console's chainExportColumns), for the benchmark.
var exportColumns = []report.Column{
	{Name: "property"}, {Name: "epoch"}, {Name: "entry", Kind: report.Int}, {Name: "start_local", Kind: report.Instant}, {Name: "start_utc"},
	{Name: "extension"}, {Name: "room"}, {Name: "dialed"}, {Name: "duration_s", Kind: report.Int}, {Name: "direction"},
	{Name: "class"}, {Name: "total", Kind: report.Money}, {Name: "currency"}, {Name: "state"}, {Name: "posting", Kind: report.Int}}

func exportRow(row []any, e *console.ChainEntry) {
	var class, cur string
	var total report.Amount
	c := e.Call
	if c == nil {
		c = &gateway.Call{}
	}
	if e.Charge != nil {
		class, cur, total = e.Charge.Class, e.Charge.Currency, report.Amount{Minor: e.Charge.TotalMinor, Digits: 2}
	}
	row[0], row[1], row[2], row[3], row[4] = e.Property, e.Epoch, int64(e.ID), c.Start, e.Time.UTC().Format(time.RFC3339)
	row[5], row[6], row[7], row[8], row[9] = c.Extension, e.Room, c.Dialed, int64(c.DurationS), string(c.Direction)
	row[10], row[11], row[12], row[13], row[14] = class, total, cur, string(e.State), int64(e.Posting)
}

// heapPeak runs fn and returns the most the live heap grew while it ran
// (sampled every 2 ms, from a collected heap before).
func heapPeak(fn func()) uint64 {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 { metrics.Read(sample); return sample[0].Value.Uint64() }
	base := read()
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			if h := read(); h > peak {
				peak = h
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	fn()
	close(done)
	wg.Wait()
	if peak < base {
		return 0
	}
	return peak - base
}

// loadCalls COPYs n projected calls of November 2026 over props properties
// into s's call_state (the columns Apply writes), 85 % trunk calls, some
// inbound with caller IDs, then VACUUM ANALYZEs.
func loadCalls(ctx context.Context, tb testing.TB, s *postgres.Store, n, props int) {
	tb.Helper()
	// One tiny log makes the partitions of November and December.
	l := gatewaytest.NewShipLog("parts", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.UTC)
	l.Capture("november")
	l.Tick(31 * 24 * time.Hour)
	l.Capture("december")
	if _, err := s.AddProperty(ctx, "parts"); err != nil {
		tb.Fatal(err)
	}
	if _, err := s.Apply(ctx, "parts", l.Batch(1, 2)); err != nil {
		tb.Fatal(err)
	}
	names := make([]string, props)
	for p := range names {
		names[p] = fmt.Sprintf("p%03d", p)
		if _, err := s.AddProperty(ctx, names[p]); err != nil {
			tb.Fatal(err)
		}
	}
	start := time.Now()
	if err := pgtest.LoadCalls(ctx, s.Pool(), names, n/props, pgtest.CallsOptions{CallerIDs: true}); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("loaded %d calls over %d properties: COPY and VACUUM ANALYZE %s", n/props*props, props, time.Since(start).Round(time.Millisecond))
}
