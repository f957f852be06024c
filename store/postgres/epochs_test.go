package postgres_test

import (
	"errors"
	"testing"

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
