package gatewaytest

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"callgate/gateway"
)

// OpenSource opens a call source that delivers lines once, as a PBX
// prints them (each ended by CR LF), and then ends, like a file read to
// its end; the test's cleanup closes it.
type OpenSource func(t *testing.T, lines []string) gateway.CallSource

// CallSourceContract checks that open's sources keep the contract of
// gateway.CallSource for a source that ends: records in order, without
// their line ends, stamped and named; io.EOF at the end, for good; and
// Close making Read return. It runs against the fake (NewCallSource) and
// a PBX file read once (pbx.ReadFile).
func CallSourceContract(t *testing.T, open OpenSource) {
	lines := []string{"11/27 14:03 101 0114416 00:02:10", "11/27 14:05 102 6175550134 00:00:45", "page 2"}
	t.Run("records in order, then the end", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		src := open(t, lines)
		for _, want := range lines {
			rec, err := src.Read(ctx)
			if err != nil || string(rec.Data) != want || rec.Received.IsZero() || rec.Source == "" || rec.Truncated || rec.Cut {
				t.Fatalf("record %+v %v, want %q", rec, err, want)
			}
		}
		for range 2 {
			if rec, err := src.Read(ctx); !errors.Is(err, io.EOF) || rec.Data != nil {
				t.Errorf("after the last record: %+v %v, want io.EOF", rec, err)
			}
		}
	})
	t.Run("records waiting", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		src := open(t, lines)
		ws, ok := src.(gateway.WaitingSource)
		if !ok {
			t.Skip("the source hands over no waiting records")
		}
		// Read blocks for the first; TryRead then takes what is framed
		// behind it, in order, and leaves the end for Read.
		rec, err := src.Read(ctx)
		if err != nil || string(rec.Data) != lines[0] {
			t.Fatalf("first record %+v %v", rec, err)
		}
		got := 1
		for got < len(lines) {
			rec, ok := ws.TryRead()
			if !ok {
				// Not framed yet: Read waits for it.
				if rec, err = src.Read(ctx); err != nil {
					t.Fatalf("record %d: %v", got+1, err)
				}
			}
			if string(rec.Data) != lines[got] || rec.Received.IsZero() {
				t.Fatalf("record %d: %+v, want %q", got+1, rec, lines[got])
			}
			got++
		}
		if rec, ok := ws.TryRead(); ok {
			t.Errorf("TryRead after the last record: %+v", rec)
		}
		if _, err := src.Read(ctx); !errors.Is(err, io.EOF) {
			t.Errorf("after the last record: %v, want io.EOF", err)
		}
	})
	t.Run("close", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		src := open(t, lines)
		if err := src.Close(); err != nil {
			t.Fatal(err)
		}
		// Records framed before Close may still come; then Read fails.
		var err error
		for range len(lines) + 1 {
			if _, err = src.Read(ctx); err != nil {
				break
			}
		}
		if err == nil || ctx.Err() != nil {
			t.Errorf("Read after Close: %v", err)
		}
		if err := src.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
}
