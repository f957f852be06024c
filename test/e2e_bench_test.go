package test

// The figures of issue 7, measured on the real binary: end-to-end latency,
// backlog drain rate, and the memory of serve over a 1,000,000-entry journal.
// They are benchmarks and an opt-in test, never timed assertions.

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/pms/fias"
	"callgate/pms/fias/sim"
	"callgate/store"
	"callgate/tariff"
)

var rssTest = flag.Bool("rss", false, "run TestE2ERSS1M: serve over a journal of 1,000,000 calls, report its RSS")

// chargeable is call id, a 95 s national call from room (an occupied one),
// each with its own start so that no two are replays of each other.
func chargeable(id int, room string) string {
	start := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC).Add(time.Duration(id) * 97 * time.Second)
	return ipo(id, start.Format("2006/01/02 15:04:05"), 95, room, "96175550134", false)
}

func occupiedRoom(i int) string { return strconv.Itoa(101 + i%49) }

// warmUp posts one call, so that the link is alive and the gateway has its
// guest data.
func (h *hotel) warmUp(id int) {
	h.t.Helper()
	h.write([]byte(chargeable(id, "101")))
	h.waitPMS(60*time.Second, "the first posting", func() bool { return len(h.pms.Ledger()) >= 1 })
}

// BenchmarkE2ELatency is the time from the last byte of a record written to
// the pty until its PS reaches the FIAS simulator, through the real serve
// with the journal's fsync on (each record: captured, rated, queued and
// sent in one commit when the poster waits — one commit — before the PS
// leaves). One call at a time, each once the last one's answer is journaled.
// Reports p50 and p99 in milliseconds. Run with -benchtime=500x or so.
func BenchmarkE2ELatency(b *testing.B) { e2eLatency(b, hotelOptions{}) }

// e2eLatency is BenchmarkE2ELatency with the hotel's options (a central
// to ship to: BenchmarkE2ELatencyShipping).
func e2eLatency(b *testing.B, o hotelOptions) {
	h := newHotel(b, o)
	g := h.start()
	h.warmUp(1)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		before := len(h.pms.Received())
		line := chargeable(i+2, occupiedRoom(i))
		if _, err := h.master.Write([]byte(line)); err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		h.waitPMS(30*time.Second, "the posting", func() bool { return len(h.pms.Received()) > before })
		lat = append(lat, h.pms.Received()[before].At.Sub(t0))
		b.StopTimer()
		h.waitPMS(30*time.Second, "the booking", func() bool { return len(h.pms.Ledger()) >= before+1 })
		// The next call comes once the engine has journaled this answer
		// (the warm-up's posting and this one: i+2), so that the poster
		// waits idle for it.
		g.waitMetric(`callgate_postings_total{outcome="posted"}`, float64(i+2), 30*time.Second)
		b.StartTimer()
	}
	b.StopTimer()
	g.stop()
	slices.Sort(lat)
	q := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))]) / float64(time.Millisecond)
	}
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1])/float64(time.Millisecond), "max-ms")
}

// bookingRate is the rate of a ledger, from its first booking to its last.
func bookingRate(l []sim.Booking) float64 {
	if len(l) < 2 {
		return 0
	}
	return float64(len(l)-1) / l[len(l)-1].At.Sub(l[0].At).Seconds()
}

// BenchmarkE2EDrain measures how fast serve drains a backlog after a PMS
// outage, against the simulator's own answer rate: the rate a bare FIAS link
// (no journal, no engine) gets from a simulator answering after the same
// delay. Rates run from the first booking to the last, so the reconnection
// back-off after the outage is not counted (it is reported apart). pa is
// the simulator's answer delay: 0 (loopback only) and 20 ms (a PMS's own
// time to book).
func BenchmarkE2EDrain(b *testing.B) {
	for _, pa := range []time.Duration{0, 20 * time.Millisecond} {
		b.Run(fmt.Sprintf("pa=%v", pa), func(b *testing.B) {
			n := 400
			if testing.Short() {
				n = 100
			}
			var own, drain, reconnect float64
			for range b.N {
				own = bareRate(b, pa, n)
				drain, reconnect = gatewayDrain(b, pa, n)
			}
			b.ReportMetric(own, "sim-postings/s")
			b.ReportMetric(drain, "drain-postings/s")
			b.ReportMetric(100*drain/own, "%-of-sim")
			b.ReportMetric(reconnect, "reconnect-s")
		})
	}
}

// bareRate posts n postings through a bare FIAS link, one at a time.
func bareRate(b *testing.B, pa time.Duration, n int) float64 {
	s, err := sim.Start("127.0.0.1:0", sim.Options{Rooms: sim.Range(101, 160)})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	s.Occupy(sim.Range(101, 149))
	s.SetFaults(sim.Faults{PADelay: pa})
	link, err := fias.Open(fias.Options{Address: s.Addr(), AmountExponent: 2, MinorDigits: tariff.MinorDigits,
		ListenWait: 50 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	defer link.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := link.WaitReady(ctx); err != nil {
		b.Fatal(err)
	}
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	for i := range n {
		res, err := link.Post(ctx, gateway.PostRequest{Number: uint32(i + 1), Room: occupiedRoom(i), AmountMinor: 181, Currency: "USD",
			Start: start, DurationS: 95, Dialed: "16175550134", Class: "national", Trunk: "9005"})
		if err != nil || res.Outcome != gateway.PostPosted {
			b.Fatalf("bare posting %d: %v %v", i, res.Outcome, err)
		}
	}
	return bookingRate(s.Ledger())
}

// gatewayDrain queues n postings in serve while the PMS is down, brings it
// back and returns the drain rate and the seconds from the PMS's return to
// the first booking.
func gatewayDrain(b *testing.B, pa time.Duration, n int) (rate, reconnect float64) {
	rooms, occupied := sim.Range(101, 160), sim.Range(101, 149)
	h := newHotel(b, hotelOptions{rooms: rooms, occupied: occupied})
	g := h.start()
	h.warmUp(1)
	h.pms.Close()
	g.waitMetric(`callgate_pms_link_state{state="down"}`, 1, 30*time.Second)
	var lines strings.Builder
	for i := range n {
		lines.WriteString(chargeable(i+2, occupiedRoom(i)))
	}
	if _, err := h.master.Write([]byte(lines.String())); err != nil {
		b.Fatal(err)
	}
	g.waitMetric("callgate_queue_depth", float64(n), 120*time.Second)
	back := time.Now()
	s := h.restartPMS(rooms, occupied, sim.Faults{PADelay: pa})
	h.waitPMS(10*time.Minute, "the backlog drained", func() bool { return len(s.Ledger()) >= n })
	g.stop()
	l := s.Ledger()
	return bookingRate(l), l[0].At.Sub(back).Seconds()
}

// TestE2ERSS1M (opt-in: -rss) measures serve's memory over a journal of
// 1,000,000 calls. The journal is filled with store.Import (1,000,000 calls
// of a 300-room hotel over ~3 years: the same bbolt file and indexes serve
// writes, at a fraction of the time 1,000,000 fsynced captures would take),
// then serve runs on it, 2,000 more calls come through the pty and are
// posted, and VmRSS and VmHWM are read from /proc.
func TestE2ERSS1M(t *testing.T) {
	if !*rssTest {
		t.Skip("opt-in: go test ./test/ -run RSS1M -rss -v")
	}
	h := newHotel(t, hotelOptions{})
	j, err := store.Open(h.journal, store.Options{Location: h.loc})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	const total = 1_000_000
	recs := make([]gateway.ImportRecord, 0, 20_000)
	for n := range total {
		recs = append(recs, importCall(n))
		if len(recs) == cap(recs) || n == total-1 {
			if _, err := j.Import(context.Background(), recs); err != nil {
				t.Fatal(err)
			}
			recs = recs[:0]
		}
	}
	j.Close()
	st, _ := os.Stat(h.journal)
	t.Logf("journal of %d calls imported in %v: %.0f MB", total, time.Since(start).Round(time.Second), float64(st.Size())/1e6)

	g := h.start()
	pid := g.cmd.Process.Pid
	t.Logf("serve started: %s", vm(t, pid))
	cs := h.chunks(h.simulator(2000, 9, 0))
	n := h.writeChunks(cs)
	g.waitMetric("callgate_records_read_total", float64(n), 5*time.Minute)
	want := h.expectedPosted()
	h.waitPMS(10*time.Minute, "all postings booked", func() bool { return len(h.pms.Ledger()) >= want })
	g.waitDrained(5 * time.Minute)
	for range 3 { // the console's scrapes count the journal
		if _, err := g.metric("callgate_queue_depth"); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("after %d more calls through the pty (%d posted): %s", n, want, vm(t, pid))
	g.stop()
	h.checkAll(h.entries()[total:])
}

// importCall is call n of a 300-room hotel making 1,000 calls a day.
func importCall(n int) gateway.ImportRecord {
	room := strconv.Itoa(100 + n%300)
	start := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(n) * 86400 * time.Millisecond)
	c := &gateway.Call{Format: "avaya-ipo", Extension: room, Dialed: "6175550134", Start: start, StartUTC: start,
		DurationS: 95, Direction: gateway.Outgoing, Trunk: "9005", Answered: gateway.Bool(true)}
	raw := fmt.Appendf(nil, "%s,00:01:35,4,%s,O,6175550134,6175550134,,0,%09d,0,E%s,Room %s,T9005,Line 5.1",
		start.Format("2006/01/02 15:04:05"), room, n, room, room)
	return gateway.ImportRecord{Raw: gateway.RawRecord{Data: raw, Received: start}, Call: c,
		Charge: &gateway.Charge{Chargeable: true, Currency: "USD", TotalMinor: 181}, Room: room}
}

// vm returns a process's VmRSS and VmHWM.
func vm(t *testing.T, pid int) string {
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := sc.Text(); strings.HasPrefix(l, "VmRSS") || strings.HasPrefix(l, "VmHWM") {
			out = append(out, strings.Join(strings.Fields(l), " "))
		}
	}
	return strings.Join(out, ", ")
}
