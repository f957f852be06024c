package ship_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"callgate/gateway/gatewaytest"
	"callgate/gateway/ship"
)

// BenchmarkDecodeBatch5000 is the central's cost of reading one batch of
// 5,000 events (1,000 posted calls) off the wire: gunzip, JSON, and the
// hash chain checked event by event.
func BenchmarkDecodeBatch5000(b *testing.B) {
	l := gatewaytest.NewShipLog("bench", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), time.UTC)
	for i := 0; i < 1000; i++ {
		l.PostedCall(i, fmt.Sprint(100+i%400), int64(100+i%900))
	}
	body, err := ship.EncodeBatch(l.Batch(1, 5000))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := ship.DecodeBatch(bytes.NewReader(body)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*5000)/b.Elapsed().Seconds(), "events/s")
}
