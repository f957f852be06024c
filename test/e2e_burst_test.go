package test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/store"
)

// burstLines is a PBX's buffer replayed after a reconnect: n records from
// id on, internal calls but every 50th a chargeable one to an occupied room.
func burstLines(id, n int) []byte {
	var b bytes.Buffer
	for i := range n {
		if (id+i)%50 == 0 {
			b.WriteString(chargeable(id+i, occupiedRoom(id+i)))
			continue
		}
		start := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC).Add(time.Duration(id+i) * 97 * time.Second)
		b.WriteString(ipo(id+i, start.Format("2006/01/02 15:04:05"), 30, occupiedRoom(id+i), "205", true))
	}
	return b.Bytes()
}

// Scenario 2b: the gateway is SIGKILLed at random instants while
// 3,000-record bursts arrive, which it journals a burst's worth at a time
// (docs/design.md "The path of one call"). Every record in the journal is
// intact with everything derived from it — its call, charge, decision and
// posting as the same parser and tariff say — nothing derived exists
// without its raw record, and no record is journaled twice. Records the
// killed process had read from the tty and not yet committed are lost, as
// for any serial reader (see TestE2ESigkill); they are counted.
func TestE2ESigkillBursts(t *testing.T) {
	h := newHotel(t, hotelOptions{})
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 3))
	id := 1
	for range calls(4, 2) {
		// A kill may cut the first run's guest resync: the next start must
		// not take the part it holds for the whole house (it asks again).
		g := h.start()
		h.write(burstLines(id, 3000))
		id += 3000
		time.Sleep(time.Duration(rng.IntN(250)) * time.Millisecond)
		g.kill()
	}
	g := h.start()
	h.write(burstLines(id, 10))
	// Wait until the gateway has read everything left in the tty: its
	// count of records read stops moving (bounded).
	last, still := -1.0, 0
	for deadline := time.Now().Add(60 * time.Second); still < 4; time.Sleep(250 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the gateway did not settle\n%s", g.tail())
		}
		v, err := g.metric("callgate_records_read_total")
		if err == nil && v == last && v > 0 {
			still++
		} else {
			still, last = 0, v
		}
	}
	g.waitDrained(120 * time.Second)
	g.stop()

	j, err := store.Open(h.journal, store.Options{ReadOnly: true, Location: h.loc, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := j.Verify(context.Background(), t.TempDir())
	j.Close()
	if err != nil || !rep.OK() {
		t.Fatalf("journal verify: %v %v", rep.Problems, err)
	}
	es := h.entries()
	idx := byRaw(t, es)
	written := map[string]bool{}
	for _, l := range h.records() {
		written[l] = true
	}
	lost, tails := 0, 0
	for _, l := range h.records() {
		e, ok := idx[l]
		if !ok {
			lost++
			continue
		}
		want := h.expect(l)
		switch {
		case len(e.Raw.Data) == 0:
			t.Errorf("entry %d has no raw record", e.ID)
		case want.state == gateway.StatePosted && e.State != gateway.StatePosted && e.State != gateway.StateInDoubt:
			why := ""
			if n := len(e.History); n > 0 {
				why = e.History[n-1].Reason
			}
			t.Errorf("entry %d: %s (%s), want posted or in doubt", e.ID, e.State, why)
		case want.state != gateway.StatePosted && e.State != want.state:
			t.Errorf("entry %d: %s, want %s (%s)", e.ID, e.State, want.state, want.why)
		case want.state == gateway.StatePosted && (e.Room != want.room || e.Charge == nil || e.Charge.TotalMinor != want.amount || e.Posting == 0):
			t.Errorf("entry %d: room %s, charge %+v, posting %d; want room %s, %d", e.ID, e.Room, e.Charge, e.Posting, want.room, want.amount)
		}
	}
	for _, e := range es {
		if written[rawLine(e)] {
			continue
		}
		// The tail of a line the killed process had begun to read: an
		// unreadable record, held as an exception, never posted.
		tails++
		if e.State != gateway.StateException || e.Posting != 0 || len(e.Raw.Data) == 0 {
			t.Errorf("entry %d of no record written: %s, posting %d, %q", e.ID, e.State, e.Posting, e.Raw.Data)
		}
	}
	if idx[rawLine(gateway.Entry{Raw: gateway.RawRecord{Data: bytes.TrimRight(burstLines(id+9, 1), "\r\n")}})].ID == 0 {
		t.Error("the last record written is not in the journal")
	}
	if v := h.pms.Violations(); len(v) > 0 {
		t.Errorf("%d FIAS violations, first %v", len(v), v[0])
	}
	t.Logf("%d records written, %d journaled, %d lost in killed processes, %d line tails; states %v",
		len(written), len(es)-tails, lost, tails, states(es))
}

// BenchmarkE2EBurst is the time from writing a burst of 3,000 IP Office
// records at once (a PBX replaying its buffer after a reconnect) to the
// pty of a running serve until the last is journaled (records read, as
// /metrics counts them once committed). Reports ms per burst and records
// per second. Run with -benchtime=5x or so.
func BenchmarkE2EBurst(b *testing.B) {
	const n = 3000
	h := newHotel(b, hotelOptions{})
	g := h.start()
	h.warmUp(1)
	id, read := 2, 0.0
	if v, err := g.metric("callgate_records_read_total"); err == nil {
		read = v
	}
	var total time.Duration
	b.ResetTimer()
	for range b.N {
		burst := burstLines(id, n)
		id += n
		t0 := time.Now()
		if _, err := h.master.Write(burst); err != nil {
			b.Fatal(err)
		}
		read += n
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(time.Millisecond) {
			if v, err := g.metric("callgate_records_read_total"); err == nil && v >= read {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("the burst was not journaled within 60 s\n%s", g.tail())
			}
		}
		total += time.Since(t0)
	}
	b.StopTimer()
	g.stop()
	b.ReportMetric(float64(total)/float64(b.N)/float64(time.Millisecond), "ms/burst")
	b.ReportMetric(float64(n*b.N)/total.Seconds(), "records/s")
}
