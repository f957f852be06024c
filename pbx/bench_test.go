package pbx

import (
	"bytes"
	"errors"
	"os"
	"testing"
	"time"

	"callgate/gateway"
)

// BenchmarkParse measures records parsed per second per format on one core
// (run with -cpu 1), over the call records of the format's golden inputs, and
// allocations per record.
func BenchmarkParse(b *testing.B) {
	for _, f := range Formats() {
		b.Run(f.Name, func(b *testing.B) {
			var lines [][]byte
			var p *Parser
			var clock time.Time
			for _, in := range inputs(b, f.Name) {
				p, clock = loadCase(b, f.Name, in)
				raw, err := os.ReadFile(in)
				if err != nil {
					b.Fatal(err)
				}
				var fr Framer
				fr.LengthPrefixed = f.LengthPrefixed
				fr.Feed(raw, func(d []byte, _ bool) {
					if _, err := p.Parse(gateway.RawRecord{Data: d, Received: clock}); err == nil {
						lines = append(lines, bytes.Clone(d))
					} else if !errors.Is(err, ErrSkip) {
						return
					}
				})
			}
			if len(lines) == 0 {
				b.Skip("no call records in testdata")
			}
			// A parser as a stream would have it; the last case's options.
			p, clock = loadCase(b, f.Name, inputs(b, f.Name)[0])
			rec := gateway.RawRecord{Received: clock}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				rec.Data = lines[i%len(lines)]
				p.Parse(rec)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// BenchmarkFramer measures the framer alone on a stream of 90-column records.
func BenchmarkFramer(b *testing.B) {
	line := []byte(" 11/05 06:40P 00:01:35 415       6175550134                A T021                    002  \r\n")
	stream := bytes.Repeat(line, 1000)
	var fr Framer
	n := 0
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		fr.Feed(stream, func([]byte, bool) { n++ })
	}
	if n != 1000*b.N {
		b.Fatalf("%d records, want %d", n, 1000*b.N)
	}
}
