package test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"callgate/gateway"
	pbxsim "callgate/pbx/sim"
	"callgate/pms/fias/sim"
)

// calls trims a count under -short.
func calls(full, short int) int {
	if testing.Short() {
		return short
	}
	return full
}

// states counts the entries by state.
func states(es []gateway.Entry) map[gateway.State]int {
	m := map[gateway.State]int{}
	for _, e := range es {
		m[e.State]++
	}
	return m
}

// checkAll checks every record written ended as expect says, and returns
// the records expected posted.
func (h *hotel) checkAll(es []gateway.Entry) (posted int) {
	h.t.Helper()
	idx := byRaw(h.t, es)
	bad := 0
	for _, l := range h.records() {
		want := h.expect(l)
		e, ok := idx[l]
		switch {
		case !ok:
			h.t.Errorf("record lost (not in the journal): %q", l)
			bad++
		case e.State != want.state:
			h.t.Errorf("entry %d: %s, want %s (%s): %q", e.ID, e.State, want.state, want.why, l)
			bad++
		case want.state == gateway.StatePosted && (e.Room != want.room || e.Charge == nil || e.Charge.TotalMinor != want.amount):
			h.t.Errorf("entry %d: room %s, charge %+v; want room %s, %d", e.ID, e.Room, e.Charge, want.room, want.amount)
			bad++
		}
		if want.state == gateway.StatePosted {
			posted++
		}
		if bad > 20 {
			h.t.Fatal("too many wrong entries")
		}
	}
	return posted
}

// expectedPosted counts the records written that must be posted.
func (h *hotel) expectedPosted() int {
	n := 0
	for _, l := range h.records() {
		if h.expect(l).state == gateway.StatePosted {
			n++
		}
	}
	return n
}

// Scenario 1: 1,000 calls of mixed classes across 60 rooms, 11 of them
// vacant: every chargeable call to an occupied room is posted once with the
// tariff's amount; vacant rooms are exceptions; free, internal and incoming
// calls are not chargeable; the FIAS simulator sees no violation.
func TestE2ENormalFlow(t *testing.T) {
	h := newHotel(t, hotelOptions{})
	g := h.start()
	n := calls(1000, 300)
	h.runPBX(h.simulator(n, 1, 0))()
	recs := h.records()
	g.waitMetric("callgate_records_read_total", float64(len(recs)), 60*time.Second)
	want := h.expectedPosted()
	h.waitPMS(120*time.Second, "all postings booked", func() bool { return len(h.pms.Ledger()) >= want })
	g.stop()

	es := h.entries()
	posted := h.checkAll(es)
	booked := h.checkLedger(es, h.pms.Ledger())
	if len(booked) != posted || len(h.pms.Ledger()) != posted {
		t.Errorf("%d bookings (%d distinct), want %d", len(h.pms.Ledger()), len(booked), posted)
	}
	st := states(es)
	t.Logf("%d calls, %d records: %v", n, len(recs), st)
	// The mix must exercise every branch, or the test proves less than it says.
	if st[gateway.StatePosted] < n/5 || st[gateway.StateNotChargeable] < n/5 || st[gateway.StateException] == 0 {
		t.Errorf("the call mix does not cover posted, not chargeable and exceptions: %v", st)
	}
	vacant := 0
	for _, e := range es {
		if e.State == gateway.StateException && e.Room >= "150" && e.Room <= "160" {
			vacant++
		}
	}
	if vacant == 0 {
		t.Error("no call to a vacant room became an exception")
	}
}

// Scenario 2: the gateway is SIGKILLed 10 times at random moments while
// 1,000 calls flow, and restarted each time; the PBX keeps printing while it
// is dead. No record is lost, no posting is booked twice, every in-doubt
// entry is listed, and posted + in doubt + the other final states account
// for every call.
//
// How the PBX keeps printing: the test holds the pty's slave open (as the
// serial driver would hold a real port), so bytes written while no gateway
// runs wait in the tty and the restarted gateway reads them. What no serial
// reader can survive is being killed between read(2) and fsync: bytes the
// dead process had taken from the tty are gone, and a serial line has no
// acknowledgement to make the PBX send them again. So each kill lands after
// the gateway has journaled what was written so far (checked on /metrics),
// at a random moment of its posting: between postings, on a posting's
// fsync, or with a posting on the wire (which must end in doubt, never sent
// again).
func TestE2ESigkill(t *testing.T) {
	h := newHotel(t, hotelOptions{})
	n := calls(1000, 300)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	cs := h.chunks(h.simulator(n, 2, 0))
	// Each answer takes a little while, so that kills find postings on the
	// wire as well as between them.
	h.pms.SetFaults(sim.Faults{PADelay: 20 * time.Millisecond})
	next := 0
	take := func(k int) [][]byte {
		k = min(k, len(cs)-next)
		c := cs[next : next+k]
		next += k
		return c
	}
	pending := 0 // records written while no gateway ran
	var logs []*gw
	for kill := 0; kill < 10; kill++ {
		g := h.start()
		logs = append(logs, g)
		pending += h.writeChunks(take(len(cs) / 12))
		g.waitMetric("callgate_records_read_total", float64(pending), 60*time.Second)
		time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond)
		g.kill()
		// The PBX goes on printing while the gateway is dead.
		pending = h.writeChunks(take(rng.IntN(15)))
	}
	g := h.start()
	logs = append(logs, g)
	pending += h.writeChunks(take(len(cs)))
	g.waitMetric("callgate_records_read_total", float64(pending), 60*time.Second)
	g.waitDrained(120 * time.Second)
	inDoubtMetric, err := g.metric("callgate_in_doubt")
	if err != nil {
		t.Fatal(err)
	}
	g.stop()

	es := h.entries()
	idx := byRaw(t, es)
	recs := h.records()
	if len(es) != len(recs) {
		t.Errorf("%d entries for %d records written", len(es), len(recs))
	}
	byPosting := map[uint32]gateway.Entry{}
	wantPostable, posted, inDoubt := 0, 0, 0
	for _, l := range recs {
		want := h.expect(l)
		e, ok := idx[l]
		if !ok {
			t.Errorf("record lost: %q", l)
			continue
		}
		if e.Posting != 0 {
			byPosting[e.Posting] = e
		}
		if want.state != gateway.StatePosted {
			if e.State != want.state {
				t.Errorf("entry %d: %s, want %s (%s)", e.ID, e.State, want.state, want.why)
			}
			continue
		}
		wantPostable++
		switch e.State {
		case gateway.StatePosted:
			posted++
		case gateway.StateInDoubt:
			inDoubt++
			// Listed: counted on /metrics and logged with its entry number.
			listed := false
			for _, g := range logs {
				listed = listed || g.logHas(fmt.Sprintf(`"entry":%d,`, e.ID))
			}
			if !listed {
				t.Errorf("in-doubt entry %d is in no log line", e.ID)
			}
		default:
			t.Errorf("entry %d: %s, want posted or in doubt", e.ID, e.State)
		}
		if e.Charge == nil || e.Charge.TotalMinor != want.amount || e.Room != want.room {
			t.Errorf("entry %d: room %s charge %+v, want room %s %d", e.ID, e.Room, e.Charge, want.room, want.amount)
		}
	}
	if posted+inDoubt != wantPostable {
		t.Errorf("posted %d + in doubt %d != %d postable calls", posted, inDoubt, wantPostable)
	}
	if int(inDoubtMetric) != inDoubt {
		t.Errorf("/metrics shows %v in doubt, the journal %d", inDoubtMetric, inDoubt)
	}
	ledger := h.pms.Ledger()
	seen := map[string]bool{}
	for _, b := range ledger {
		if b.Duplicate || seen[b.Number] {
			t.Errorf("posting %s booked twice", b.Number)
		}
		seen[b.Number] = true
		p, _ := strconv.ParseUint(b.Number, 10, 32)
		e, ok := byPosting[uint32(p)]
		switch {
		case !ok:
			t.Errorf("booking %s matches no entry", b.Number)
		case e.State != gateway.StatePosted && e.State != gateway.StateInDoubt:
			t.Errorf("booking %s: entry %d is %s", b.Number, e.ID, e.State)
		case b.Amount != strconv.FormatInt(e.Charge.TotalMinor, 10):
			t.Errorf("booking %s: %s, entry says %d", b.Number, b.Amount, e.Charge.TotalMinor)
		}
	}
	// Every posted entry is on the folio.
	for _, e := range es {
		if e.State == gateway.StatePosted && !seen[strconv.FormatUint(uint64(e.Posting), 10)] {
			t.Errorf("entry %d is posted but not booked", e.ID)
		}
	}
	if v := h.pms.Violations(); len(v) > 0 {
		t.Errorf("%d FIAS violations, first %v", len(v), v[0])
	}
	t.Logf("%d records, %d postable: %d posted, %d in doubt (%d of them booked); states %v", len(recs), wantPostable, posted, inDoubt, len(ledger)-posted, states(es))
}

// restartPMS brings the PMS back on the same address with the same guests.
func (h *hotel) restartPMS(rooms, occupied []string, faults sim.Faults) *sim.Sim {
	h.t.Helper()
	addr := h.pms.Addr()
	var s *sim.Sim
	var err error
	for i := 0; i < 50; i++ { // the port may take a moment to be free again
		if s, err = sim.New(sim.Options{Rooms: rooms, AnswerWindow: 30 * time.Second}); err != nil {
			h.t.Fatal(err)
		}
		s.SetFaults(faults)
		s.Occupy(occupied)
		if err = s.Listen(addr); err == nil {
			break
		}
		s.Close()
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { s.Close() })
	h.pms = s
	return s
}

// checkRoomOrder checks each room's bookings came in the journal's order
// (call start, then entry number).
func checkRoomOrder(t *testing.T, es []gateway.Entry, ledger []sim.Booking) {
	t.Helper()
	byPosting := map[string]gateway.Entry{}
	for _, e := range es {
		byPosting[strconv.FormatUint(uint64(e.Posting), 10)] = e
	}
	last := map[string]gateway.Entry{}
	for _, b := range ledger {
		e := byPosting[b.Number]
		if p, ok := last[b.Room]; ok && (e.Time.Before(p.Time) || (e.Time.Equal(p.Time) && e.ID < p.ID)) {
			t.Errorf("room %s: entry %d (call at %v) booked after entry %d (call at %v)", b.Room, e.ID, e.Time, p.ID, p.Time)
		}
		last[b.Room] = e
	}
}

// Scenario 3: the PMS is down while 2,000 calls arrive, then comes back:
// every posting goes through, each room's in call order, none twice.
func TestE2EPMSDown(t *testing.T) {
	rooms, occupied := sim.Range(101, 160), sim.Range(101, 149)
	h := newHotel(t, hotelOptions{rooms: rooms, occupied: occupied})
	g := h.start()
	cs := h.chunks(h.simulator(calls(2050, 550), 3, 0))
	// A first 50 calls with the PMS up: the link is alive and the gateway
	// has its guest data.
	n := h.writeChunks(cs[:50])
	g.waitMetric("callgate_records_read_total", float64(n), 60*time.Second)
	g.waitDrained(60 * time.Second)
	first := h.pms
	before := len(first.Ledger())
	if before == 0 {
		t.Fatal("nothing posted before the outage")
	}
	first.Close()
	g.waitMetric(`callgate_pms_link_state{state="down"}`, 1, 30*time.Second)

	n += h.writeChunks(cs[50:])
	g.waitMetric("callgate_records_read_total", float64(n), 120*time.Second)
	if v, _ := g.metric("callgate_queue_depth"); v < 100 {
		t.Fatalf("only %v postings queued during the outage", v)
	}
	second := h.restartPMS(rooms, occupied, sim.Faults{})
	want := h.expectedPosted()
	h.waitPMS(180*time.Second, "every posting booked after the outage", func() bool { return before+len(second.Ledger()) >= want })
	g.waitDrained(60 * time.Second)
	g.stop()

	es := h.entries()
	ledger := append(first.Ledger(), second.Ledger()...)
	posted := h.checkAll(es)
	booked := h.checkLedger(es, ledger)
	if len(booked) != posted || len(ledger) != posted {
		t.Errorf("%d bookings (%d distinct), want %d", len(ledger), len(booked), posted)
	}
	// The backlog was all queued when the PMS came back: each room's
	// postings must be booked in the journal's order (call start, then
	// arrival). Before the outage postings went out as calls arrived.
	checkRoomOrder(t, es, second.Ledger())
	if v := first.Violations(); len(v) > 0 {
		t.Errorf("FIAS violations before the outage: %v", v[0])
	}
	t.Logf("%d records: %d posted before the outage, %d after; %v", len(h.records()), before, len(second.Ledger()), states(es))
}

// received returns the answers the simulator gave to postings for room, in
// order, and their P#s.
func received(s *sim.Sim, room string) (answers, numbers []string) {
	for _, p := range s.Received() {
		if p.Room == room {
			answers = append(answers, p.Answer)
			numbers = append(numbers, p.Number)
		}
	}
	return answers, numbers
}

// Scenario 4: the PMS answers RY (busy), NA (night audit), NG (refused),
// holds a night audit (NS … NE), and drops the link after booking: busy and
// night audit are sent again and posted, NG is refused, the posting whose
// answer the cut lost is in doubt and never sent again, and the link comes
// back for the next one.
func TestE2EPMSAnswers(t *testing.T) {
	h := newHotel(t, hotelOptions{rooms: sim.Range(101, 110), occupied: sim.Range(101, 110)})
	g := h.start()
	within := 60 * time.Second
	call := func(id int, room string) {
		h.write([]byte(ipo(id, fmt.Sprintf("2026/11/25 10:%02d:00", id), 95, room, "96175550134", false)))
	}
	booked := func(room string, n int) {
		t.Helper()
		h.waitPMS(within, fmt.Sprintf("%d bookings to room %s", n, room), func() bool {
			k := 0
			for _, b := range h.pms.Ledger() {
				if b.Room == room {
					k++
				}
			}
			return k >= n
		})
	}
	// Warm-up: the link is alive and the gateway has its guest data.
	call(1, "110")
	booked("110", 1)

	h.pms.SetFaults(sim.Faults{Answers: []string{"RY"}})
	call(2, "101")
	booked("101", 1)

	h.pms.SetFaults(sim.Faults{Answers: []string{"NA"}})
	call(3, "102")
	booked("102", 1)

	h.pms.SetFaults(sim.Faults{})
	if err := h.pms.NightAudit(true); err != nil {
		t.Fatal(err)
	}
	// No waiting to see that nothing is sent: once the gateway knows of the
	// night audit and has queued the call, the posting waits. One sent
	// anyway, now or later in the audit, is answered NA by the simulator
	// and shows in room 103's answers below (want only OK).
	g.waitLog("PMS night audit running: postings wait", within)
	call(4, "103")
	g.waitMetric("callgate_queue_depth", 1, within)
	if a, _ := received(h.pms, "103"); len(a) != 0 {
		t.Errorf("postings sent during the night audit: %v", a)
	}
	if err := h.pms.NightAudit(false); err != nil {
		t.Fatal(err)
	}
	booked("103", 1)

	h.pms.SetFaults(sim.Faults{Answers: []string{"NG"}})
	call(5, "104")
	g.waitMetric(`callgate_postings_total{outcome="refused"}`, 1, within)

	h.pms.SetFaults(sim.Faults{CutAfterBooking: 1})
	call(6, "105")
	g.waitMetric(`callgate_postings_total{outcome="in-doubt"}`, 1, within)
	call(7, "106")
	booked("106", 1)
	g.waitDrained(within)
	g.stop()

	for room, want := range map[string][]string{"101": {"RY", "OK"}, "102": {"NA", "OK"}, "103": {"OK"}, "104": {"NG"}, "105": {"OK"}, "106": {"OK"}} {
		t.Run("room "+room, func(t *testing.T) {
			a, ns := received(h.pms, room)
			if fmt.Sprint(a) != fmt.Sprint(want) {
				t.Errorf("room %s: answers %v, want %v", room, a, want)
			}
			if len(ns) == 0 {
				return
			}
			for _, n := range ns[1:] {
				if n != ns[0] {
					t.Errorf("room %s: sent again under another number %s (first %s)", room, n, ns[0])
				}
			}
		})
	}
	wantState := map[string]gateway.State{"110": gateway.StatePosted, "101": gateway.StatePosted, "102": gateway.StatePosted,
		"103": gateway.StatePosted, "104": gateway.StateRefused, "105": gateway.StateInDoubt, "106": gateway.StatePosted}
	es := h.entries()
	if len(es) != len(wantState) {
		t.Errorf("%d entries, want %d", len(es), len(wantState))
	}
	for _, e := range es {
		if want := wantState[e.Room]; e.State != want {
			t.Errorf("room %s: entry %d is %s, want %s", e.Room, e.ID, e.State, want)
		}
		if e.State == gateway.StateRefused && (e.Answer == nil || e.Answer.Code != "NG") {
			t.Errorf("the refused entry keeps no NG answer: %+v", e.Answer)
		}
	}
	h.checkLedger(es, h.pms.Ledger())
	if len(h.pms.Ledger()) != 6 {
		t.Errorf("%d bookings, want 6", len(h.pms.Ledger()))
	}
	if a, _ := h.pms.Connections(); a < 2 {
		t.Errorf("the link did not come back after the cut (%d connections)", a)
	}
}

// Scenario 5: line noise (NUL and control bytes, lines of junk), cut lines,
// lines far too long and bytes of the wrong code page between valid records:
// every valid record is posted as in the normal flow, every piece of garbage
// is journaled as an exception (quarantined, never posted), and the gateway
// stays up and healthy.
func TestE2EGarbage(t *testing.T) {
	h := newHotel(t, hotelOptions{})
	g := h.start()
	cs := h.chunks(h.simulator(calls(600, 200), 5, 0.25))
	// The simulator's noise is in cs but was never noted as a record.
	junk := 0
	for i, c := range cs {
		if i%20 == 10 {
			junk++
			var b []byte
			switch junk % 5 {
			case 0: // NULs and XON/XOFF right before a record: dropped by the framer
				b = []byte("\x00\x00\x11\x00\x13")
			case 1: // a record cut short (the PBX restarted mid-line) after 8 of its 30 fields
				fields := strings.SplitAfterN(string(c), ",", 9)
				if len(fields) < 9 { // c is the simulator's noise
					fields = strings.SplitAfterN("2026/11/20 08:51:41,00:01:26,15,101,O,96175550134,96175550134,,0,", ",", 9)
				}
				b = []byte(fmt.Sprintf("%s%d\r\n", strings.Join(fields[:8], ""), junk))
			case 2: // a line end lost: far longer than any record
				b = []byte(strings.Repeat(fmt.Sprintf("garbage %d ", junk), 600) + "\r\n")
			case 3: // bytes of another code page, with digits
				b = []byte(fmt.Sprintf("\xff\xfe%d,\xe9\xe8,12:00:00\r\n", junk))
			case 4: // a blank run and a form feed: nothing
				b = []byte("\r\n\r\n\f\r\n")
			}
			if _, err := h.master.Write(b); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := h.master.Write(c); err != nil {
			t.Fatal(err)
		}
	}
	recs := h.records()
	want := h.expectedPosted()
	h.waitPMS(120*time.Second, "all postings booked", func() bool { return len(h.pms.Ledger()) >= want })
	g.waitDrained(60 * time.Second)
	resp, err := http.Get("http://" + g.addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz: %s", resp.Status)
	}
	g.stop()

	es := h.entries()
	posted := h.checkAll(es)
	if booked := h.checkLedger(es, h.pms.Ledger()); len(booked) != posted {
		t.Errorf("%d bookings, want %d", len(booked), posted)
	}
	known := map[string]bool{}
	for _, l := range recs {
		known[l] = true
	}
	garbage := 0
	for _, e := range es {
		if known[rawLine(e)] {
			continue
		}
		garbage++
		if e.State != gateway.StateException {
			t.Errorf("garbage entry %d is %s, want an exception: %q", e.ID, e.State, rawLine(e))
		}
	}
	// The simulator's noise (a quarter of 600 calls) and 4 of each 5 junk
	// writes are journaled; NUL runs and blank lines are not records.
	if garbage < junk/2 {
		t.Errorf("only %d garbage entries for %d junk writes and the noise", garbage, junk)
	}
	t.Logf("%d records, %d junk writes, %d garbage entries quarantined; %v", len(recs), junk, garbage, states(es))
}

// Scenario 6: after a reconnect the PBX prints its last 500 records again
// (an IP Office replays its SMDR buffer; here the gateway restarts, as on a
// link reset, and the buffer comes down the serial line again between new
// calls): every replayed record is dropped and counted, none is posted
// twice, and the new calls go through.
func TestE2EReplay(t *testing.T) {
	h := newHotel(t, hotelOptions{})
	g := h.start()
	cs := h.chunks(h.simulator(calls(800, 700), 6, 0))
	n := h.writeChunks(cs[:600])
	g.waitMetric("callgate_records_read_total", float64(n), 60*time.Second)
	g.waitDrained(60 * time.Second)
	g.stop()

	recs := h.records()
	buffer := recs[:n][n-500:]
	g = h.start()
	var b strings.Builder
	for _, l := range buffer {
		b.WriteString(l + "\r\n")
	}
	if _, err := h.master.Write([]byte(b.String())); err != nil {
		t.Fatal(err)
	}
	g.waitMetric("callgate_replays_dropped_total", 500, 60*time.Second)
	m := h.writeChunks(cs[600:])
	g.waitMetric("callgate_records_read_total", float64(m), 60*time.Second)
	want := h.expectedPosted()
	h.waitPMS(120*time.Second, "all postings booked", func() bool { return len(h.pms.Ledger()) >= want })
	g.waitDrained(60 * time.Second)
	if v, _ := g.metric("callgate_replays_dropped_total"); v != 500 {
		t.Errorf("%v replays dropped, want 500", v)
	}
	g.stop()

	es := h.entries()
	posted := h.checkAll(es) // each record once (byRaw), each in its right state
	booked := h.checkLedger(es, h.pms.Ledger())
	if len(booked) != posted || len(h.pms.Ledger()) != posted {
		t.Errorf("%d bookings (%d distinct), want %d", len(h.pms.Ledger()), len(booked), posted)
	}
	if len(es) != len(h.records()) {
		t.Errorf("%d entries for %d distinct records", len(es), len(h.records()))
	}
	replays := 0
	for _, e := range es {
		replays += e.Replays
	}
	if replays != 500 {
		t.Errorf("the journal counts %d replays, want 500", replays)
	}
}

// Scenario 7: guests move and leave while calls flow. The gateway starts
// with no guest data and resyncs (DR, DS … DE, paced so that calls arrive
// during it: they are held, not judged vacant); then, between stretches of
// calls, a guest moves (GC with RO), another checks out (GO), a third checks
// in (GI): each call is posted to the folio of the guest in its room when it
// was made, and calls from rooms left empty are exceptions.
func TestE2EGuestsMove(t *testing.T) {
	rooms := sim.Range(101, 110)
	h := newHotel(t, hotelOptions{rooms: rooms, occupied: sim.Range(101, 108)})
	h.pms.SetFaults(sim.Faults{ResyncDelay: 300 * time.Millisecond})
	small := pbxsim.DefaultHotel()
	small.Rooms = rooms
	cs := h.chunks(h.simulatorFor(small, calls(600, 300), 7, 0))
	per := len(cs) / 4

	type want struct {
		expectation
		reservation string
	}
	wants := map[string]want{}
	note := func(chunks [][]byte) {
		for _, c := range chunks {
			for _, l := range strings.Split(string(c), "\r\n") {
				if l == "" {
					continue
				}
				w := want{expectation: h.expect(l)}
				if gs := h.pms.Guests(w.room); w.state == gateway.StatePosted && len(gs) > 0 {
					w.reservation = gs[0].Reservation
				}
				wants[l] = w
			}
		}
	}
	g := h.start()
	read := 0
	stretch := func(chunks [][]byte) {
		t.Helper()
		note(chunks)
		read += h.writeChunks(chunks)
		g.waitMetric("callgate_records_read_total", float64(read), 60*time.Second)
		g.waitDrained(60 * time.Second)
	}
	stretch(cs[:per]) // during the resync

	moved := h.pms.Guests("101")[0].Reservation
	if err := h.pms.Move(moved, "109"); err != nil {
		t.Fatal(err)
	}
	delete(h.occupied, "101")
	h.occupied["109"] = true
	g.waitLog(`"event":"change","room":"109","old_room":"101"`, 30*time.Second)
	stretch(cs[per : 2*per])

	left := h.pms.Guests("102")[0].Reservation
	if err := h.pms.CheckOut(left); err != nil {
		t.Fatal(err)
	}
	delete(h.occupied, "102")
	g.waitLog(`"event":"check-out","room":"102"`, 30*time.Second)
	stretch(cs[2*per : 3*per])

	arrived, err := h.pms.CheckIn(gateway.Guest{Room: "110", LastName: "Novak", Language: "EA"})
	if err != nil {
		t.Fatal(err)
	}
	h.occupied["110"] = true
	g.waitLog(`"event":"check-in","room":"110"`, 30*time.Second)
	stretch(cs[3*per:])
	g.stop()

	es := h.entries()
	idx := byRaw(t, es)
	held, followed := 0, map[string]int{}
	for l, w := range wants {
		e, ok := idx[l]
		if !ok {
			t.Errorf("record lost: %q", l)
			continue
		}
		if e.State != w.state {
			t.Errorf("entry %d (room %s): %s, want %s (%s)", e.ID, e.Room, e.State, w.state, w.why)
			continue
		}
		if w.state == gateway.StatePosted && (e.Reservation != w.reservation || e.Room != w.room) {
			t.Errorf("entry %d: posted to room %s reservation %s, want room %s reservation %s", e.ID, e.Room, e.Reservation, w.room, w.reservation)
		}
		if w.state == gateway.StateException && w.room != "" {
			for _, hc := range e.History {
				if hc.To == gateway.StateQueued {
					held++ // queued before the resync ended, judged vacant after it
				}
			}
		}
		switch {
		case e.Reservation == moved && e.Room == "109":
			followed["moved guest in 109"]++
		case e.Reservation == moved:
			followed["moved guest in 101"]++
		case e.Reservation == arrived:
			followed["new guest in 110"]++
		}
	}
	booked := h.checkLedger(es, h.pms.Ledger())
	for _, b := range booked {
		e := idx[""]
		for _, x := range es {
			if strconv.FormatUint(uint64(x.Posting), 10) == b.Number {
				e = x
			}
		}
		if b.Reservation != e.Reservation {
			t.Errorf("posting %s: the PMS booked it to folio %s, the gateway meant %s", b.Number, b.Reservation, e.Reservation)
		}
	}
	for _, k := range []string{"moved guest in 101", "moved guest in 109", "new guest in 110"} {
		t.Run(k, func(t *testing.T) {
			if followed[k] == 0 {
				t.Errorf("no posting for the %s: the stretch proves nothing", k)
			}
		})
	}
	if held == 0 {
		t.Error("no call was held while the resync ran")
	}
	t.Logf("%d records; postings %v; %d held during the resync; %v", len(wants), followed, held, states(es))
}
