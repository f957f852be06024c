package postgres_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/gateway/gatewaytest"
	"callgate/store/postgres"
)

// restoredBatch is the log's events from..to as the epoch a backup of the
// log (taken at entry upto) starts when put back in place: the same
// events, chained from the log's genesis, under epoch.
func restoredBatch(l *gatewaytest.ShipLog, epoch, follows string, upto, from, to uint64) gateway.ShipBatch {
	b := l.Batch(from, to)
	b.ChainEpoch, b.Follows, b.FollowsEntry = b.Epoch, follows, upto
	b.Epoch = epoch
	return b
}

// entriesAt is the number of entries the log's events 1..seq create.
func entriesAt(l *gatewaytest.ShipLog, seq uint64) (n uint64) {
	for _, e := range l.Events()[:seq] {
		if e.Kind == gateway.EventCaptured || e.Kind == gateway.EventImported {
			n++
		}
	}
	return n
}

func callsOf(t *testing.T, s *postgres.Store, epoch string) int {
	t.Helper()
	return count(t, s, "SELECT count(*) FROM callgate.calls WHERE property = 'grand' AND epoch = $1", epoch)
}

// TestApplyRestoredEpochs: a backup of epoch A put back twice (epochs B
// and C, each following A up to the backup's entry N), and epochs shipped
// in any order: every call shows once in callgate.calls — the newest
// epoch's row of the calls up to N, A's calls after N — and each epoch's
// chain verifies from A's genesis.
func TestApplyRestoredEpochs(t *testing.T) {
	const a, b, c = "epoch-a", "epoch-b", "epoch-c"
	l := mixedLog(a, 40)
	all := uint64(len(l.Events()))
	cut := all / 2
	n := entriesAt(l, cut)
	total := int(entriesAt(l, all))
	t.Run("in order", func(t *testing.T) {
		s, _ := open(t)
		applyAll(t, s, "grand", l, 17)
		if _, err := s.Apply(testCtx(t), "grand", restoredBatch(l, b, a, n, 1, cut)); err != nil {
			t.Fatal(err)
		}
		if got, old := callsOf(t, s, b), callsOf(t, s, a); got != int(n) || old != total-int(n) {
			t.Errorf("after B: %d calls of B, %d of A; want %d and %d", got, old, n, total-int(n))
		}
		// The same backup restored again: C, B's sibling, holds the
		// calls up to N now.
		for from := uint64(1); from <= cut; from += 5 {
			if _, err := s.Apply(testCtx(t), "grand", restoredBatch(l, c, a, n, from, min(from+4, cut))); err != nil {
				t.Fatal(err)
			}
		}
		if got := callsOf(t, s, c); got != int(n) || callsOf(t, s, b) != 0 || callsOf(t, s, a) != total-int(n) {
			t.Errorf("after C: %d calls of C, %d of B, %d of A", got, callsOf(t, s, b), callsOf(t, s, a))
		}
		if got := count(t, s, "SELECT count(*) FROM callgate.calls WHERE property = 'grand'"); got != total {
			t.Errorf("callgate.calls has %d rows, the property %d calls", got, total)
		}
		for _, e := range []string{a, b, c} {
			want := cut
			if e == a {
				want = all
			}
			if got, err := s.VerifyChain(testCtx(t), "grand", e); err != nil || got != want {
				t.Errorf("epoch %s: %d events verified, want %d: %v", e, got, want, err)
			}
		}
	})
	t.Run("new epoch first", func(t *testing.T) {
		// A's events reach the central after B's (the old file shipped
		// late): B still holds the calls up to N.
		s, _ := open(t)
		if _, err := s.Apply(testCtx(t), "grand", restoredBatch(l, b, a, n, 1, cut)); err != nil {
			t.Fatal(err)
		}
		applyAll(t, s, "grand", l, 17)
		if got, old := callsOf(t, s, b), callsOf(t, s, a); got != int(n) || old != total-int(n) {
			t.Errorf("%d calls of B, %d of A; want %d and %d", got, old, n, total-int(n))
		}
	})
	t.Run("own genesis refused", func(t *testing.T) {
		// A new epoch's event 1 chains from its chain epoch's genesis,
		// not its own.
		s, _ := open(t)
		bad := restoredBatch(l, b, a, n, 1, cut)
		bad.ChainEpoch = ""
		if _, err := s.Apply(testCtx(t), "grand", bad); !errors.Is(err, postgres.ErrChain) {
			t.Errorf("a new epoch chained from its own genesis: %v", err)
		}
	})
}

// TestApplyAfterPrunedEvents: an epoch that follows another may begin (and
// go on) after events retention removed from its file: its batch names the
// hash of the last event removed, and the central takes it when it holds
// that event, with that hash, in the lineage. The calls both epochs hold
// are counted once. A batch naming a hash the lineage does not hold, or of
// an epoch that follows none, gets the central's cursor (a gap).
func TestApplyAfterPrunedEvents(t *testing.T) {
	const a, c, d = "epoch-a", "epoch-c", "epoch-d"
	l := mixedLog(a, 40)
	all := uint64(len(l.Events()))
	cut := all / 2
	// Retention removes whole entries: the runs pruned in the backup
	// are events 1..k and hole1..hole2, between clean boundaries.
	cuts := cleanCuts(l, cut)
	if len(cuts) < 6 {
		t.Fatalf("the log has %d clean boundaries", len(cuts))
	}
	k, hole1, hole2 := cuts[1], cuts[len(cuts)-4]+1, cuts[len(cuts)-2]
	n := entriesAt(l, cut)
	total := int(entriesAt(l, all))
	s, _ := open(t)
	applyAll(t, s, "grand", l, 17)

	wrong := restoredBatch(l, c, a, n, k+1, cut)
	wrong.PrunedFrom = 1
	wrong.PrevHash[0] ^= 1
	var gap *gateway.ShipGapError
	if _, err := s.Apply(testCtx(t), "grand", wrong); !errors.As(err, &gap) || gap.Cursor != 0 {
		t.Errorf("a batch after a hash the lineage does not hold: %v, want a gap at 0", err)
	}
	// Without pruned_from the batch is one whose events before it the
	// central lacks (a central restored from an older database): the gap.
	unsaid := restoredBatch(l, c, a, n, k+1, cut)
	if _, err := s.Apply(testCtx(t), "grand", unsaid); !errors.As(err, &gap) || gap.Cursor != 0 {
		t.Errorf("a batch after events the central lacks, not said pruned: %v, want a gap at 0", err)
	}
	first := l.Batch(k+1, cut)
	first.Epoch, first.PrunedFrom = d, 1 // follows none
	if _, err := s.Apply(testCtx(t), "grand", first); !errors.As(err, &gap) || gap.Cursor != 0 {
		t.Errorf("a first epoch's batch from event %d: %v, want a gap at 0", k+1, err)
	}

	// Epoch C begins at event k+1, and skips a second run later.
	mid := (k + hole1) / 2
	for _, r := range [][3]uint64{{k + 1, mid, 1}, {mid + 1, hole1 - 1, 0}, {hole2 + 1, cut, hole1}} {
		bt := restoredBatch(l, c, a, n, r[0], r[1])
		bt.PrunedFrom = r[2]
		ack, err := s.Apply(testCtx(t), "grand", bt)
		if err != nil {
			t.Fatalf("epoch C's events %d to %d: %v", r[0], r[1], err)
		}
		if ack.Cursor != r[1] {
			t.Errorf("epoch C's events %d to %d: cursor %d", r[0], r[1], ack.Cursor)
		}
	}
	if got := count(t, s, "SELECT count(*) FROM callgate.calls WHERE property = 'grand'"); got != total {
		t.Errorf("callgate.calls has %d rows, the property %d calls", got, total)
	}
	held := cut - k - (hole2 - hole1 + 1)
	if got := count(t, s, "SELECT count(*) FROM callgate.event WHERE property = 'grand' AND epoch = $1", c); got != int(held) {
		t.Errorf("the central holds %d events of epoch C", got)
	}
	// Its chain verifies across both runs, from the hashes epoch A holds.
	if got, err := s.VerifyChain(testCtx(t), "grand", c); err != nil || got != held {
		t.Errorf("verifying epoch C: %d events, %v; want %d", got, err, held)
	}
	if got, err := s.VerifyChain(testCtx(t), "grand", a); err != nil || got != all {
		t.Errorf("verifying epoch A: %d events, %v; want %d", got, err, all)
	}
}

// cleanCuts are the events b up to last after which no entry has events
// before and after b: where a run retention removed may begin or end.
func cleanCuts(l *gatewaytest.ShipLog, last uint64) []uint64 {
	lo, hi := map[gateway.EntryID]uint64{}, map[gateway.EntryID]uint64{}
	for _, e := range l.Events() {
		if e.Entry == 0 {
			continue
		}
		if _, ok := lo[e.Entry]; !ok {
			lo[e.Entry] = e.Seq
		}
		hi[e.Entry] = e.Seq
	}
	var out []uint64
	for b := uint64(1); b < last; b++ {
		clean := true
		for id, f := range lo {
			if f <= b && hi[id] > b {
				clean = false
				break
			}
		}
		if clean {
			out = append(out, b)
		}
	}
	return out
}

// TestApplyAncestry: epoch C descends from A through B, an epoch that never
// shipped (a backup compacted, or restored and copied again, before it
// ran): the central registers B from C's ancestry, the lineage walks C → B
// → A, and every call shows once.
func TestApplyAncestry(t *testing.T) {
	const a, b, c = "epoch-a", "epoch-b", "epoch-c"
	l := mixedLog(a, 40)
	all := uint64(len(l.Events()))
	cut := all / 2
	n := entriesAt(l, cut)
	total := int(entriesAt(l, all))
	s, _ := open(t)
	applyAll(t, s, "grand", l, 17)
	for from := uint64(1); from <= cut; from += 9 {
		bt := restoredBatch(l, c, b, n, from, min(from+8, cut))
		bt.Ancestry = []gateway.EpochAncestor{{Epoch: a, Entry: n, Seq: cut}, {Epoch: b, Entry: n, Seq: cut}}
		if _, err := s.Apply(testCtx(t), "grand", bt); err != nil {
			t.Fatal(err)
		}
	}
	if got, old := callsOf(t, s, c), callsOf(t, s, a); got != int(n) || old != total-int(n) {
		t.Errorf("%d calls of C, %d of A; want %d and %d", got, old, n, total-int(n))
	}
	if got := count(t, s, "SELECT count(*) FROM callgate.epoch WHERE property = 'grand' AND epoch = $1 AND follows = $2", b, a); got != 1 {
		t.Errorf("epoch B is not registered as following A")
	}
}

// TestApplyEpochsConcurrently: batches of two epochs of one property (the
// old file shipping late while the restored one ships) applied at the same
// time, many rounds: every call once. Without the property's lock each
// transaction missed the other's uncommitted rows and both left theirs
// unmarked.
func TestApplyEpochsConcurrently(t *testing.T) {
	const a, b = "epoch-a", "epoch-b"
	l := mixedLog(a, 30)
	all := uint64(len(l.Events()))
	n := entriesAt(l, all)
	s, _ := open(t)
	const rounds = 12
	for r := range rounds {
		p := fmt.Sprintf("p%d", r)
		if _, err := s.AddProperty(testCtx(t), p); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 2)
		for _, restored := range []bool{false, true} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for from := uint64(1); from <= all; from += 2 {
					bt := l.Batch(from, min(from+1, all))
					if restored {
						bt = restoredBatch(l, b, a, n, from, min(from+1, all))
					}
					if _, err := s.Apply(testCtx(t), p, bt); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if got := count(t, s, "SELECT count(*) FROM callgate.calls WHERE property = $1", p); got != int(n) {
			t.Fatalf("round %d: callgate.calls has %d rows, the property %d calls", r, got, n)
		}
	}
}

// TestFollowedEpochKeepsNoSite: the old file's batches arriving after the
// restored epoch's (newer snapshots by their time) leave the property's
// site snapshot the restored epoch's.
func TestFollowedEpochKeepsNoSite(t *testing.T) {
	const a, b = "epoch-a", "epoch-b"
	l := mixedLog(a, 20)
	all := uint64(len(l.Events()))
	cut := all / 2
	s, _ := open(t)
	if _, err := s.Apply(testCtx(t), "grand", l.Batch(1, cut)); err != nil {
		t.Fatal(err)
	}
	rb := restoredBatch(l, b, a, entriesAt(l, cut), 1, cut)
	rb.Site.Name = "restored"
	if _, err := s.Apply(testCtx(t), "grand", rb); err != nil {
		t.Fatal(err)
	}
	late := l.Batch(cut+1, all)
	late.Site.At = late.Site.At.Add(time.Hour)
	late.Site.Name = "old file"
	if _, err := s.Apply(testCtx(t), "grand", late); err != nil {
		t.Fatal(err)
	}
	var epoch, name string
	if err := s.Pool().QueryRow(testCtx(t), "SELECT epoch, name FROM callgate.site WHERE property = 'grand'").Scan(&epoch, &name); err != nil {
		t.Fatal(err)
	}
	if epoch != b || name != "restored" {
		t.Errorf("the site snapshot is epoch %s's (%q), want the restored epoch %s's", epoch, name, b)
	}
}

// TestApplyNewEpochKeepsItsLineagesChain: a new epoch that follows one the
// central holds must name that epoch's chain epoch. Its event 1 may be a
// sealed guest event, whose genesis link the central cannot check, so the
// chain epoch is checked where the epoch is first registered: a batch
// naming another is refused, and nothing of it is registered.
func TestApplyNewEpochKeepsItsLineagesChain(t *testing.T) {
	const a, b = "epoch-a", "epoch-b"
	l := mixedLog(a, 10)
	s, _ := open(t)
	applyAll(t, s, "grand", l, 17)
	bad := restoredBatch(l, b, a, entriesAt(l, 5), 1, 5)
	bad.ChainEpoch = "epoch-x"
	_, err := s.Apply(testCtx(t), "grand", bad)
	if !errors.Is(err, postgres.ErrChain) || !strings.Contains(err.Error(), "names chain epoch epoch-x") {
		t.Fatalf("a new epoch naming another chain epoch than its lineage's: %v", err)
	}
	if n := count(t, s, "SELECT count(*) FROM callgate.epoch WHERE property = 'grand' AND epoch = $1", b); n != 0 {
		t.Errorf("the refused epoch was registered (%d rows)", n)
	}
	if _, err := s.Apply(testCtx(t), "grand", restoredBatch(l, b, a, entriesAt(l, 5), 1, 5)); err != nil {
		t.Errorf("the same epoch with its lineage's chain epoch: %v", err)
	}
}

// TestPropertiesNameTheCurrentEpoch: the replaced file of a restored
// journal may ship its last events after the restored epoch began;
// callgate.properties still names the restored epoch (the one no other
// follows), not the one last received.
func TestPropertiesNameTheCurrentEpoch(t *testing.T) {
	const a, b = "epoch-a", "epoch-b"
	l := mixedLog(a, 20)
	all := uint64(len(l.Events()))
	half := all / 2
	s, _ := open(t)
	if _, err := s.Apply(testCtx(t), "grand", l.Batch(1, half)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Apply(testCtx(t), "grand", restoredBatch(l, b, a, entriesAt(l, half), 1, half)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Apply(testCtx(t), "grand", l.Batch(half+1, all)); err != nil { // the old file's tail, late
		t.Fatal(err)
	}
	var epoch string
	if err := s.Pool().QueryRow(testCtx(t), "SELECT epoch FROM callgate.properties WHERE property = 'grand'").Scan(&epoch); err != nil {
		t.Fatal(err)
	}
	if epoch != b {
		t.Errorf("callgate.properties names epoch %s, want the restored %s", epoch, b)
	}
}
