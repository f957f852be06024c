package store_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"callgate/gateway"
	"callgate/store"
)

// Benchmarks for issue 5's goals. They write real files with fsync; figures
// depend on the disk more than on the code.
//
//	go test ./store -run '^$' -bench . -benchtime 3s
//
// BenchmarkQuery1M builds a journal of 1,000,000 entries once per run (a
// minute or so) in a temporary folder, removed at the end unless
// -bench.keep names a file to keep it in (and reuse it next time).

var benchKeep = flag.String("bench.keep", "", "BenchmarkQuery1M: keep the 1,000,000-entry journal in this file and reuse it")

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if big.dir != "" {
		os.RemoveAll(big.dir)
	}
	os.Exit(code)
}

func benchJournal(b *testing.B) *store.Journal {
	b.Helper()
	j, err := store.Open(filepath.Join(b.TempDir(), "journal.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { j.Close() })
	return j
}

// BenchmarkCapture is one raw record journaled, committed with fsync: the
// step before anything else happens to a record. Goal ≥ 3,000/s.
func BenchmarkCapture(b *testing.B) {
	j := benchJournal(b)
	recs := make([]gateway.RawRecord, b.N)
	for i := range recs {
		recs[i] = record(i)
	}
	b.ResetTimer()
	for i := range b.N {
		if _, err := j.Capture(ctx, recs[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkCaptureAllSent is the one commit on a call's way to the PMS
// (docs/design.md, invariant 1): a record captured with its rating, its
// queuing and its move to sent in one transaction, committed with fsync.
// The posting's answer (a second commit) is journaled outside the timing.
// This commit is most of BenchmarkE2ELatency's time: bbolt writes every page
// it touches (a leaf in each bucket the record and its moves index: more
// pages than BenchmarkCapture's) and syncs twice.
func BenchmarkCaptureAllSent(b *testing.B) {
	j := benchJournal(b)
	var pages, cpu int64
	b.ResetTimer()
	for i := range b.N {
		n := i + 1
		cs := []gateway.Capture{{Rec: record(n), Send: true, Moves: []gateway.Change{
			{To: gateway.StateRated, Call: call(n), Charge: charge(136)},
			{To: gateway.StateQueued, Room: fmt.Sprint(400 + n%50)}}}}
		p0, c0 := store.PagesWritten(j), cpuNow()
		got, err := j.CaptureAll(ctx, cs)
		cpu += cpuNow() - c0
		if err != nil || got[0].Sent == nil {
			b.Fatalf("record %d: %+v, %v", n, got, err)
		}
		b.StopTimer()
		pages += store.PagesWritten(j) - p0
		if _, err := j.Move(ctx, got[0].ID, gateway.Change{To: gateway.StatePosted}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(pages)/float64(b.N), "pages/commit")
	b.ReportMetric(float64(cpu)/float64(b.N)/1e3, "cpu-µs/op")
}

// BenchmarkCaptureAllBurst is the store's part of a burst (issue 15: a
// PBX replaying its buffer, a new CDR file): 1,000 records a commit, each
// captured with its rating and its decision (queued, as the engine decides
// for an occupied room), as Engine.handleAll journals them. It reports the
// CPU time and allocations a record and the pages a commit writes.
func BenchmarkCaptureAllBurst(b *testing.B) {
	const batch = 1000
	j := benchJournal(b)
	var pages, cpu int64
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		cs := make([]gateway.Capture, batch)
		for k := range cs {
			n := i*batch + k + 1
			cs[k] = gateway.Capture{Rec: record(n), Moves: []gateway.Change{
				{To: gateway.StateRated, Call: call(n), Charge: charge(136)},
				{To: gateway.StateQueued, Room: fmt.Sprint(400 + n%50)}}}
		}
		b.StartTimer()
		p0, c0 := store.PagesWritten(j), cpuNow()
		if _, err := j.CaptureAll(ctx, cs); err != nil {
			b.Fatal(err)
		}
		cpu += cpuNow() - c0
		pages += store.PagesWritten(j) - p0
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(cpu)/float64(b.N*batch)/1e3, "cpu-µs/record")
	b.ReportMetric(float64(pages)/float64(b.N), "pages/commit")
}

// BenchmarkCaptureConcurrent is BenchmarkCapture with several writers at
// once (PBX sources, the poster, the console), each waiting for its own
// record's commit: the committer runs the writes that arrive during a
// commit's fsync in the next transaction together (group commit).
func BenchmarkCaptureConcurrent(b *testing.B) {
	for _, writers := range []int{2, 4, 8, 16} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			j := benchJournal(b)
			recs := make([]gateway.RawRecord, b.N)
			for i := range recs {
				recs[i] = record(i)
			}
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			for range writers {
				wg.Go(func() {
					for {
						i := next.Add(1) - 1
						if i >= int64(b.N) {
							return
						}
						if _, err := j.Capture(ctx, recs[i]); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
			commits, writes := store.Grouped(j)
			b.ReportMetric(float64(writes)/float64(max(commits, 1)), "records/commit")
		})
	}
}

// BenchmarkBoltUpdate is the disk's floor for BenchmarkCapture and
// BenchmarkMove: a bare bbolt Update putting one small value, two fsyncs.
func BenchmarkBoltUpdate(b *testing.B) {
	db, err := bolt.Open(filepath.Join(b.TempDir(), "bare.db"), 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	b.ResetTimer()
	for i := range b.N {
		err := db.Update(func(tx *bolt.Tx) error {
			bk, err := tx.CreateBucketIfNotExists([]byte("b"))
			if err != nil {
				return err
			}
			return bk.Put(binary.BigEndian.AppendUint64(nil, uint64(i)), []byte("a record of about a hundred bytes"))
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "updates/s")
}

// BenchmarkBoltHotSpots is what a commit costs by the places it writes
// (issue 15: a lone call's latency is mostly its one commit): bare bbolt,
// each commit putting one 200-byte value at the end of each of k buckets
// of 50,000 keys (a leaf and its branch in each, as the journal's log,
// entries and indices take a record), with fsync. The journal's commit
// before a PS writes at 11 such places (BenchmarkCaptureAllSent): this is
// the floor of that commit, and of any schema that keeps its indices.
func BenchmarkBoltHotSpots(b *testing.B) {
	for _, k := range []int{1, 3, 6, 11} {
		b.Run(fmt.Sprintf("buckets=%d", k), func(b *testing.B) {
			db, err := bolt.Open(filepath.Join(b.TempDir(), "bare.db"), 0o600, &bolt.Options{Timeout: time.Second, FreelistType: bolt.FreelistMapType})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			val := make([]byte, 200)
			const prefill = 50_000
			err = db.Update(func(tx *bolt.Tx) error {
				for i := range k {
					bk, err := tx.CreateBucket(fmt.Appendf(nil, "b%02d", i))
					if err != nil {
						return err
					}
					bk.FillPercent = 0.95
					for n := range prefill {
						if err := bk.Put(binary.BigEndian.AppendUint64(nil, uint64(n)), val); err != nil {
							return err
						}
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			var pages, cpu int64
			b.ResetTimer()
			for n := range b.N {
				st0, c0 := db.Stats(), cpuNow()
				err := db.Update(func(tx *bolt.Tx) error {
					for i := range k {
						bk := tx.Bucket(fmt.Appendf(nil, "b%02d", i))
						bk.FillPercent = 0.95
						if err := bk.Put(binary.BigEndian.AppendUint64(nil, uint64(prefill+n)), val); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				st1 := db.Stats()
				cpu += cpuNow() - c0
				pages += st1.TxStats.GetWrite() - st0.TxStats.GetWrite()
			}
			b.ReportMetric(float64(pages)/float64(b.N), "pages/commit")
			b.ReportMetric(float64(cpu)/float64(b.N)/1e3, "cpu-µs/op")
		})
	}
}

// BenchmarkBoltCapture is the floor of BenchmarkCapture: bare bbolt making
// the same puts per record in one fsync'd transaction (the event, the entry
// record, its event, time and state index keys, a replay digest, the
// counters), with values of the same sizes and no encoding or hashing.
func BenchmarkBoltCapture(b *testing.B) {
	db, err := bolt.Open(filepath.Join(b.TempDir(), "bare.db"), 0o600, &bolt.Options{Timeout: time.Second, FreelistType: bolt.FreelistMapType})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	b.ResetTimer()
	for n := range b.N {
		if err := db.Update(func(tx *bolt.Tx) error { return journalPuts(tx, n) }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// journalPuts makes record n's puts of a capture in tx, as bare bbolt: the
// event, the entry record, its event, time and state index keys, a replay
// digest and the counters, with values of the journal's sizes.
func journalPuts(tx *bolt.Tx, n int) error {
	var bk [8]*bolt.Bucket
	for i, name := range [...]string{"meta", "events", "entries", "entry_events", "by_time", "by_state", "counts", "replay"} {
		var err error
		if bk[i], err = tx.CreateBucketIfNotExists([]byte(name)); err != nil {
			return err
		}
	}
	event, entry := make([]byte, 300), make([]byte, 250)
	id := binary.BigEndian.AppendUint64(nil, uint64(n+1))
	tid := binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, uint64(n)*1_000_000), uint64(n+1))
	digest := sha256.Sum256(id)
	for _, p := range []struct {
		b    *bolt.Bucket
		k, v []byte
	}{
		{bk[0], []byte("head"), make([]byte, 40)}, {bk[0], []byte("entries"), id},
		{bk[1], id, event}, {bk[2], id, entry}, {bk[3], append(id[:8:8], id...), nil}, {bk[4], tid, nil},
		{bk[5], append([]byte("captured\x00"), tid...), nil}, {bk[6], []byte("captured"), id},
		{bk[7], digest[:], tid},
	} {
		if err := p.b.Put(p.k, p.v); err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkImport is history loaded in batches of 10,000 records, each batch
// one transaction. Goal ≥ 100,000 records/s.
func BenchmarkImport(b *testing.B) {
	j := benchJournal(b)
	const batch = 10_000
	recs := make([]gateway.ImportRecord, batch)
	n := 0
	b.ResetTimer()
	for done := 0; done < b.N; done += batch {
		b.StopTimer()
		for i := range recs {
			recs[i] = importRecord(n)
			n++
		}
		size := min(batch, b.N-done)
		b.StartTimer()
		if _, err := j.Import(ctx, recs[:size]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkBoltImport is the floor of BenchmarkImport: bare bbolt doing
// the same seven puts per record, with keys and values of the same shapes
// and sizes (an event of ~700 bytes, an entry record of ~450, five index
// keys), 10,000 records a transaction, and no encoding, hashing or
// duplicate check at all.
func BenchmarkBoltImport(b *testing.B) {
	db, err := bolt.Open(filepath.Join(b.TempDir(), "bare.db"), 0o600, &bolt.Options{Timeout: time.Second, FreelistType: bolt.FreelistMapType})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	names := []string{"events", "entries", "entry_events", "by_time", "by_state", "by_room", "by_ext"}
	event, entry := make([]byte, 700), make([]byte, 450)
	const batch = 10_000
	b.ResetTimer()
	for done := 0; done < b.N; done += batch {
		err := db.Update(func(tx *bolt.Tx) error {
			var bk [7]*bolt.Bucket
			for i, name := range names {
				var err error
				if bk[i], err = tx.CreateBucketIfNotExists([]byte(name)); err != nil {
					return err
				}
			}
			var rooms [][]byte
			for n := done; n < min(done+batch, b.N); n++ {
				id := binary.BigEndian.AppendUint64(nil, uint64(n+1))
				tid := binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, uint64(n)*86_400_000), uint64(n+1))
				bk[0].Put(binary.BigEndian.AppendUint64(nil, uint64(2*n+1)), event)
				bk[1].Put(id, entry)
				bk[2].Put(binary.BigEndian.AppendUint64(id[:8:8], uint64(2*n+1)), nil)
				bk[3].Put(tid, nil)
				bk[4].Put(append([]byte("imported\x00"), tid...), nil)
				rooms = append(rooms, append([]byte(fmt.Sprint(100+n%300, "\x00")), tid...))
			}
			slices.SortFunc(rooms, bytes.Compare)
			for _, k := range rooms {
				if err := bk[5].Put(k, nil); err != nil {
					return err
				}
				if err := bk[6].Put(k, nil); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// importRecord is call n of a 300-room hotel making 1,000 calls a day.
func importRecord(n int) gateway.ImportRecord {
	room := fmt.Sprint(100 + n%300)
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(n) * 86400 * time.Millisecond) // 1,000 calls a day
	c := &gateway.Call{Format: "avaya-ipo", Extension: room, Dialed: "6175550134", Start: start, StartUTC: start,
		DurationS: 95, Direction: gateway.Outgoing, Trunk: "9005", Answered: gateway.Bool(true)}
	raw := fmt.Appendf(nil, "%s,00:01:35,4,%s,O,6175550134,6175550134,,0,%09d,0,E%s,Room %s,T9005,Line 5.1",
		start.Format("2006/01/02 15:04:05"), room, n, room, room)
	return gateway.ImportRecord{Raw: gateway.RawRecord{Data: raw, Received: start}, Call: c, Charge: charge(136), Room: room}
}

// BenchmarkMove is one state change committed with fsync (a posting sent,
// then put back in the queue by a busy PMS, and so on).
func BenchmarkMove(b *testing.B) {
	j := benchJournal(b)
	c, _ := j.Capture(ctx, record(1))
	j.Move(ctx, c.ID, gateway.Change{To: gateway.StateRated, Call: call(1), Charge: charge(136)})
	if _, err := j.Move(ctx, c.ID, gateway.Change{To: gateway.StateQueued, Room: "415"}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		ch := gateway.Change{To: gateway.StateSent}
		if i%2 == 1 {
			ch = gateway.Change{To: gateway.StateQueued, Answer: &gateway.Answer{Code: "RY"}}
		}
		if _, err := j.Move(ctx, c.ID, ch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "moves/s")
}

// big is the 1,000,000-entry journal, built once.
var big struct {
	once sync.Once
	dir  string
	j    *store.Journal
	err  error
}

const bigN = 1_000_000

func bigJournal(b *testing.B) *store.Journal {
	big.once.Do(func() {
		path := *benchKeep
		if path == "" {
			if big.dir, big.err = os.MkdirTemp("", "callgate-bench-"); big.err != nil {
				return
			}
			path = filepath.Join(big.dir, "journal.db")
		}
		if big.j, big.err = store.Open(path, store.Options{}); big.err != nil {
			return
		}
		in, _ := big.j.Info(ctx)
		start := time.Now()
		recs := make([]gateway.ImportRecord, 0, 20_000)
		for n := int(in.Entries); n < bigN; n++ {
			recs = append(recs, importRecord(n))
			if len(recs) == cap(recs) || n == bigN-1 {
				if _, big.err = big.j.Import(ctx, recs); big.err != nil {
					return
				}
				recs = recs[:0]
			}
		}
		// A queue of 200 postings among them.
		if c, _ := big.j.Counts(ctx); c.States[gateway.StateQueued] == 0 {
			for n := range 200 {
				c, err := big.j.Capture(ctx, record(5_000_000+n))
				if err != nil {
					big.err = err
					return
				}
				big.j.Move(ctx, c.ID, gateway.Change{To: gateway.StateRated, Call: call(n), Charge: charge(136)})
				if _, big.err = big.j.Move(ctx, c.ID, gateway.Change{To: gateway.StateQueued, Room: "415"}); big.err != nil {
					return
				}
			}
		}
		if st, err := os.Stat(path); err == nil {
			fmt.Fprintf(os.Stderr, "BenchmarkQuery1M: journal of %d entries ready (%.0f MB) in %v\n", bigN, float64(st.Size())/1e6, time.Since(start).Round(time.Second))
		}
	})
	if big.err != nil {
		b.Fatal(big.err)
	}
	return big.j
}

// BenchmarkQuery1M is the console's and reports' queries over 1,000,000
// entries. Goal ≤ 10 ms for a day's page.
func BenchmarkQuery1M(b *testing.B) {
	j := bigJournal(b)
	// A day in the middle of the history: entries 500,000… (1,000 a day).
	day := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, 500)
	for _, q := range []struct {
		name string
		f    gateway.Filter
		want int
	}{
		{"room-day", gateway.Filter{Room: "215", From: day, To: day.AddDate(0, 0, 1)}, 3},
		{"room-month", gateway.Filter{Room: "215", From: day, To: day.AddDate(0, 1, 0)}, 100},
		{"extension-day", gateway.Filter{Extension: "215", From: day, To: day.AddDate(0, 0, 1)}, 3},
		{"day-page-100", gateway.Filter{From: day, To: day.AddDate(0, 0, 1), Limit: 100}, 100},
		{"day-page-100-history", gateway.Filter{From: day, To: day.AddDate(0, 0, 1), Limit: 100, History: true}, 100},
		{"day-all-1000", gateway.Filter{From: day, To: day.AddDate(0, 0, 1)}, 1000},
		{"latest-page-100", gateway.Filter{Newest: true, Limit: 100}, 100},
		{"queued-100", gateway.Filter{States: []gateway.State{gateway.StateQueued}, Limit: 100}, 100},
		{"posting-number", gateway.Filter{Posting: 150}, 1},
	} {
		b.Run(q.name, func(b *testing.B) {
			for range b.N {
				list, err := j.Entries(ctx, q.f)
				if err != nil {
					b.Fatal(err)
				}
				if len(list) < q.want {
					b.Fatalf("%d entries, want at least %d", len(list), q.want)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/query")
		})
	}
	b.Run("counts", func(b *testing.B) {
		for range b.N {
			if _, err := j.Counts(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkStartCheck1M compares, on the 1,000,000-entry journal that
// BenchmarkQuery1M keeps (-args -bench.keep=FILE, made first), the check
// Open makes of a large file at start (a bounded walk: store.Open
// read-only), the whole walk it makes of a file up to 256 MiB, and bbolt's
// whole-file consistency check (tx.Check), which Open does not make: see
// docs/journal.md "A damaged journal".
func BenchmarkStartCheck1M(b *testing.B) {
	if *benchKeep == "" {
		b.Skip("needs -bench.keep=FILE naming the journal BenchmarkQuery1M made")
	}
	if _, err := os.Stat(*benchKeep); err != nil {
		b.Skip("run BenchmarkQuery1M with -bench.keep first")
	}
	b.Run("open", func(b *testing.B) {
		for b.Loop() {
			j, err := store.Open(*benchKeep, store.Options{ReadOnly: true})
			if err != nil {
				b.Fatal(err)
			}
			j.Close()
		}
	})
	b.Run("open-walk-whole", func(b *testing.B) {
		defer store.SetFullCheckMax(1 << 40)()
		for b.Loop() {
			j, err := store.Open(*benchKeep, store.Options{})
			if err != nil {
				b.Fatal(err)
			}
			j.Close()
		}
	})
	b.Run("bbolt-check", func(b *testing.B) {
		db, err := bolt.Open(*benchKeep, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		for b.Loop() {
			db.View(func(tx *bolt.Tx) error {
				for err := range tx.Check() {
					b.Fatal(err)
				}
				return nil
			})
		}
	})
}
