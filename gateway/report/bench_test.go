package report

import (
	"testing"
	"time"

	"callgate/gateway"
)

// monthOfCalls returns n trunk calls spread over November 2026 on 8
// trunks, with talk times from 10 s to 30 min.
func monthOfCalls(n int) []gateway.Entry {
	es := make([]gateway.Entry, n)
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	step := 30 * 24 * time.Hour / time.Duration(n)
	for i := range es {
		t := start.Add(time.Duration(i) * step)
		dir := gateway.Outgoing
		if i%3 == 0 {
			dir = gateway.Incoming
		}
		es[i] = gateway.Entry{ID: gateway.EntryID(i + 1), Time: t, Call: &gateway.Call{Extension: "101", Start: t, StartUTC: t,
			DurationS: 10 + (i*7919)%1790, Direction: dir, Trunk: string(rune('1' + i%8)), Answered: gateway.Bool(true)},
			Charge: &gateway.Charge{Class: "national", Chargeable: true, CarrierMinor: 10, TotalMinor: 20, Currency: "USD"}}
	}
	return es
}

func benchReport(b *testing.B, name string) {
	es := monthOfCalls(1_000_000)
	r, err := Lookup(name)
	if err != nil {
		b.Fatal(err)
	}
	o := Options{From: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC),
		TrunkGroups: []TrunkGroup{{Name: "all", Trunks: []string{"1-8"}, Size: 8}}, Thresholds: DefaultThresholds()}
	b.ResetTimer()
	for range b.N {
		if _, err := r.Run(es, o); err != nil {
			b.Fatal(err)
		}
	}
}

// The computing part of a month's report over 1,000,000 calls (the journal
// read is measured in cmd/gateway's BenchmarkReportBusyHour1M).
func BenchmarkBusyHour1M(b *testing.B)   { benchReport(b, "busy-hour") }
func BenchmarkTrunks1M(b *testing.B)     { benchReport(b, "trunks") }
func BenchmarkRooms1M(b *testing.B)      { benchReport(b, "rooms") }
func BenchmarkExceptions1M(b *testing.B) { benchReport(b, "exceptions") }
func BenchmarkSizing1M(b *testing.B)     { benchReport(b, "sizing") }
