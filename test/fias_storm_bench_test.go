package test

// The GI storm of issue 14 (D12): a PMS floods the link with check-ins
// faster than the journal writes them. A benchmark, never a timed test.

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"callgate/gateway"
	"callgate/pms/fias"
	"callgate/store"
)

// BenchmarkFIASGIStorm sends 100,000 GI records (2,000 rooms, a new
// reservation each) over real TCP in one burst to a real fias.Link, whose
// guest events go into a real journal (store) one by one, as the engine's
// guest loop puts them. The journal lives on /dev/shm where there is one
// (fsync costs nothing there: a disk's fsync would make the run last
// minutes and measure the disk; the journal is slower than the link
// either way, which is the storm's point). One op is the whole storm; run it with
// -benchtime=1x. It reports the records per second and the peak growth of
// the Go heap over the run (sampled every 20 ms), which the bounded event
// queue keeps flat: the link stops reading while 1,024 events wait.
func BenchmarkFIASGIStorm(b *testing.B) {
	records := 100_000
	if testing.Short() {
		records = 10_000
	}
	for range b.N {
		b.StopTimer()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		j, err := store.Open(filepath.Join(stormDir(b), "journal.db"), store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		l, err := fias.Open(fias.Options{Address: ln.Addr().String(), AmountExponent: 2, Logger: zerolog.Nop(),
			ListenWait: time.Second, MinBackoff: 10 * time.Millisecond})
		if err != nil {
			b.Fatal(err)
		}
		c, err := ln.Accept()
		if err != nil {
			b.Fatal(err)
		}
		peer := fias.NewStreamConn(c, fias.ConnOptions{})
		peer.WriteFrame([]byte("LS|DA261206|TI010000|"))
		for {
			body, err := peer.ReadFrame()
			if err != nil {
				b.Fatal(err)
			}
			if string(body[:3]) == "LA|" {
				break
			}
		}
		peer.WriteFrame([]byte("LA|DA261206|TI010001|"))
		go func() { // the PMS discards what the gateway says
			for {
				if _, err := peer.ReadFrame(); err != nil {
					return
				}
			}
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := l.WaitReady(ctx); err != nil {
			b.Fatal(err)
		}
		cancel()
		var storm []byte
		for i := range records {
			storm = fias.AppendFrame(storm, []byte("GI|RN"+strconv.Itoa(1000+i%2000)+"|G#"+strconv.Itoa(500000+i)+
				"|GSN|GNGuest|GFAnna|GLEA|DA261206|TI010002|"), false)
		}
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		base := ms.HeapInuse
		var peak atomic.Uint64
		stop := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			t := time.NewTicker(20 * time.Millisecond)
			defer t.Stop()
			var m runtime.MemStats
			for {
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
				select {
				case <-stop:
					return
				case <-t.C:
				}
			}
		}()
		b.StartTimer()
		t0 := time.Now()
		go c.Write(storm)
		for n := 0; n < records; {
			ev, ok := <-l.GuestEvents()
			if !ok {
				b.Fatalf("guest events closed after %d", n)
			}
			if _, err := j.ApplyGuest(context.Background(), ev); err != nil {
				b.Fatal(err)
			}
			if ev.Kind == gateway.GuestCheckIn {
				n++
			}
		}
		elapsed := time.Since(t0)
		b.StopTimer()
		close(stop)
		<-sampled
		b.ReportMetric(float64(records)/elapsed.Seconds(), "records/s")
		b.ReportMetric(float64(peak.Load()-min(base, peak.Load()))/(1<<20), "peak-heap-growth-MB")
		l.Close()
		c.Close()
		ln.Close()
		j.Close()
		storm = nil
	}
}

// stormDir is a directory for the storm's journal: on /dev/shm when the
// machine has it, removed at the end.
func stormDir(b *testing.B) string {
	if d, err := os.MkdirTemp("/dev/shm", "callgate-storm-"); err == nil {
		b.Cleanup(func() { os.RemoveAll(d) })
		return d
	}
	return b.TempDir()
}
