package store_test

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// BenchmarkDiskSync is the disk's own floor under the hot path
// (docs/journal.md, "The floor under a lone call"): invariant 1 puts one
// synced commit between a record's last byte and its posting, so no design
// gets a lone call's latency below what one fdatasync costs when the
// machine was idle before it. Each case reports the median and the 99th percentile of one
// operation:
//
//   - page: one 4 KiB page rewritten in a file written out beforehand, then
//     fdatasync — the cheapest synced write there is;
//   - bolt: one bbolt commit with the journal's puts (two fdatasyncs: the
//     pages, then the meta page);
//
// each run back to back ("busy") and after 2 ms with nothing to do
// ("idle", the case of a call arriving at a quiet gateway). On a virtual
// machine the idle figure is often many times the busy one: the disk path
// and the idle CPU wake up for the write.
//
//	go test ./store -run '^$' -bench DiskSync -benchtime 500x
func BenchmarkDiskSync(b *testing.B) {
	for _, c := range []struct {
		name string
		idle time.Duration
	}{{"busy", 0}, {"idle", 2 * time.Millisecond}} {
		b.Run("page/"+c.name, func(b *testing.B) {
			f, err := os.OpenFile(filepath.Join(b.TempDir(), "pages"), os.O_CREATE|os.O_RDWR, 0o600)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			if _, err := f.Write(make([]byte, 1<<20)); err != nil {
				b.Fatal(err)
			}
			if err := f.Sync(); err != nil {
				b.Fatal(err)
			}
			page := make([]byte, 4096)
			syncTimes(b, c.idle, func(n int) {
				binary.BigEndian.PutUint64(page, uint64(n))
				if _, err := f.WriteAt(page, int64(n%256)*4096); err != nil {
					b.Fatal(err)
				}
				if err := syscall.Fdatasync(int(f.Fd())); err != nil {
					b.Fatal(err)
				}
			})
		})
		b.Run("bolt/"+c.name, func(b *testing.B) {
			db, err := bolt.Open(filepath.Join(b.TempDir(), "bare.db"), 0o600, &bolt.Options{Timeout: time.Second, FreelistType: bolt.FreelistMapType})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			syncTimes(b, c.idle, func(n int) {
				if err := db.Update(func(tx *bolt.Tx) error { return journalPuts(tx, n) }); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// syncTimes runs op b.N times, each after idle with the timer stopped,
// and reports the median and 99th percentile of op in µs.
func syncTimes(b *testing.B, idle time.Duration, op func(n int)) {
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for n := range b.N {
		if idle > 0 {
			b.StopTimer()
			time.Sleep(idle)
			b.StartTimer()
		}
		t0 := time.Now()
		op(n)
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	q := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))]) / float64(time.Microsecond)
	}
	b.ReportMetric(q(0.50), "p50-µs")
	b.ReportMetric(q(0.99), "p99-µs")
}
