package tariff_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"callgate/gateway"
	"callgate/tariff"
)

// bigDeck returns a tariff with n destinations: an international carrier deck
// with prefixes of 4 to 9 digits, and bands that change in the evening.
func bigDeck(n int) string {
	var b strings.Builder
	b.WriteString(`version: 1
currency: EUR
rounding: half_up
dialing: {strip: ["0"], international_prefix: "00", national_prefix: "0", country_code: "49", area_code: "30", national_number_length: 11, local_number_length: 8}
bands:
  - {name: weekend, days: [sat, sun]}
  - {name: offpeak, from: "18:00", to: "08:00"}
  - {name: peak}
holidays: ["2026-12-25"]
holiday_band: weekend
free: [{prefix: "112", class: emergency}]
guest: {markup_percent: "35.5", surcharge: 50, tax_percent: "19", grace_seconds: 10}
destinations:
  - {prefix: "49", name: Germany, class: national, rate: {weekend: 3, offpeak: 4, peak: 6}, increments: [60, 1]}
`)
	for i := 0; i < n; i++ {
		// Unique prefixes: a 2-digit "country" and a 6-digit zone.
		prefix := fmt.Sprintf("%02d%06d", 10+i%89, i)
		fmt.Fprintf(&b, "  - {prefix: \"%s\", name: Zone %d, class: international, rate: {weekend: %d, offpeak: %d, peak: %d}, increments: [30, 6], setup: %d}\n",
			prefix, i, 5+i%50, 7+i%60, 9+i%70, i%3*10)
	}
	return b.String()
}

func BenchmarkLoad100k(b *testing.B) {
	src := []byte(bigDeck(100_000))
	b.SetBytes(int64(len(src)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := tariff.Parse(src); err != nil {
			b.Fatal(err)
		}
	}
}

// csvDeck writes the same deck with its destinations in a CSV file.
func csvDeck(tb testing.TB, n int) string {
	dir := tb.TempDir()
	var b strings.Builder
	b.WriteString("prefix,name,class,rate_weekend,rate_offpeak,rate_peak,first,next,setup\n49,Germany,national,3,4,6,60,1,0\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "%02d%06d,Zone %d,international,%d,%d,%d,30,6,%d\n", 10+i%89, i, i, 5+i%50, 7+i%60, 9+i%70, i%3*10)
	}
	if err := os.WriteFile(filepath.Join(dir, "deck.csv"), []byte(b.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	yml := bigDeck(0)
	yml = yml[:strings.Index(yml, "destinations:")] + "destinations: deck.csv\n"
	path := filepath.Join(dir, "tariff.yaml")
	if err := os.WriteFile(path, []byte(yml), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

func BenchmarkLoad100kCSV(b *testing.B) {
	path := csvDeck(b, 100_000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := tariff.Load(path); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRate(b *testing.B) {
	tf, err := tariff.Parse([]byte(bigDeck(100_000)))
	if err != nil {
		b.Fatal(err)
	}
	calls := make([]gateway.Call, 1024)
	for i := range calls {
		calls[i] = gateway.Call{
			Direction: gateway.Outgoing,
			Dialed:    fmt.Sprintf("000%02d%06d%04d", 10+(i*97%100_000)%89, i*97%100_000, i),
			Start:     at("2026-11-25T17:59:00").Add(0),
			DurationS: 30 + i%900,
			Answered:  gateway.Bool(true),
		}
	}
	for _, tc := range []struct {
		name  string
		build func(c gateway.Call) gateway.Call
	}{
		{"international", func(c gateway.Call) gateway.Call { return c }},
		{"national", func(c gateway.Call) gateway.Call { c.Dialed = "0030" + c.Dialed[len(c.Dialed)-8:]; return c }},
	} {
		cs := make([]gateway.Call, len(calls))
		for i, c := range calls {
			cs[i] = tc.build(c)
		}
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			var sum int64
			for i := 0; i < b.N; i++ {
				ch, err := tf.Rate(cs[i%len(cs)])
				if err != nil {
					b.Fatal(err)
				}
				sum += ch.TotalMinor
			}
			if sum == 0 {
				b.Fatal("nothing charged")
			}
		})
	}
}

func BenchmarkRateSplit(b *testing.B) {
	src := strings.Replace(bigDeck(1000), "free:", "split_at_band_change: true\nfree:", 1)
	tf, err := tariff.Parse([]byte(src))
	if err != nil {
		b.Fatal(err)
	}
	c := gateway.Call{Direction: gateway.Outgoing, Dialed: "00010000000001234", Start: at("2026-11-25T17:50:00"), DurationS: 3600, Answered: gateway.Bool(true)}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := tf.Rate(c); err != nil {
			b.Fatal(err)
		}
	}
}
