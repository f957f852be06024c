package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"callgate/gateway/gatewaytest"
	"callgate/gateway/ship"
	"callgate/internal/pgtest"
	"callgate/store/postgres"
)

// BenchmarkCentralIngest5000 posts batches of 5,000 events (1,000 posted
// calls) over loopback HTTP to the central's handler, which decodes them,
// checks the chain and applies them to PostgreSQL: the whole central path
// of a shipped batch; goal ≥ 50,000 events/s (docs/central.md).
func BenchmarkCentralIngest5000(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	s, err := postgres.Open(ctx, pgtest.DB(b), zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	token, err := s.AddProperty(ctx, "grand")
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(ship.NewServer(s, s, s, zerolog.Nop()))
	defer srv.Close()
	const size = 5000
	l := gatewaytest.NewShipLog("bench", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), time.UTC)
	for i := 0; i < b.N*size/5; i++ {
		l.PostedCall(i, fmt.Sprint(100+i%400), int64(100+i%900))
	}
	bodies := make([][]byte, b.N)
	for i := range bodies {
		from := uint64(i*size + 1)
		if bodies[i], err = ship.EncodeBatch(l.Batch(from, from+size-1)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+ship.PathBatch, bytes.NewReader(bodies[i]))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("batch %d: %d", i, resp.StatusCode)
		}
	}
	b.ReportMetric(float64(b.N*size)/time.Since(start).Seconds(), "events/s")
}
