package main

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"callgate/gateway"
	"callgate/gateway/report"
	"callgate/store"
)

// BenchmarkReportBusyHour1M is a month's busy-hour report as gateway
// report runs it: 1,000,000 calls read from the journal through
// gateway.Queries, then computed. The journal is built (through
// store.Import, in batches) only when the benchmark runs.
func BenchmarkReportBusyHour1M(b *testing.B) {
	benchJournalReport(b, "busy-hour", benchN)
}

// benchN is the calls of the journal benchmarks.
var benchN = 1_000_000

func benchJournalReport(b *testing.B, name string, n int) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "journal.db")
	j, err := store.Open(path, store.Options{Logger: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	step := 30 * 24 * time.Hour / time.Duration(n)
	const batch = 20_000
	recs := make([]gateway.ImportRecord, 0, batch)
	for i := range n {
		t := start.Add(time.Duration(i) * step)
		dir := gateway.Outgoing
		if i%3 == 0 {
			dir = gateway.Incoming
		}
		c := &gateway.Call{Format: "avaya-ipo", Extension: fmt.Sprint(100 + i%300), Dialed: "6175550134", Start: t, StartUTC: t,
			DurationS: 10 + (i*7919)%1790, Direction: dir, Trunk: fmt.Sprint(9001 + i%8), Answered: gateway.Bool(true)}
		raw := fmt.Appendf(nil, "%s,%d,%s,%09d", t.Format("2006/01/02 15:04:05"), c.DurationS, c.Extension, i)
		recs = append(recs, gateway.ImportRecord{Raw: gateway.RawRecord{Data: raw, Received: t}, Call: c,
			Charge: &gateway.Charge{Class: "national", Chargeable: true, CarrierMinor: 10, TotalMinor: 20, Currency: "USD"}})
		if len(recs) == batch || i == n-1 {
			if _, err := j.Import(ctx, recs); err != nil {
				b.Fatal(err)
			}
			recs = recs[:0]
		}
	}
	r, _ := report.Lookup(name)
	o := report.Options{From: start, To: start.AddDate(0, 0, 29), Location: time.UTC}
	b.ResetTimer()
	for range b.N {
		t, err := report.Generate(ctx, j, r.Name, o)
		if err != nil {
			b.Fatal(err)
		}
		if len(t.Rows) != 720 && n == benchN {
			b.Fatalf("%d rows", len(t.Rows))
		}
	}
	b.StopTimer()
	j.Close()
}

func BenchmarkReportBusyHour200k(b *testing.B) { benchJournalReport(b, "busy-hour", 200_000) }
