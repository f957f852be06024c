package test

import (
	"testing"
	"time"

	"callgate/gateway"
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
	booked := h.checkLedger(es)
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
