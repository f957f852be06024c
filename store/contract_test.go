package store_test

import (
	"path/filepath"
	"testing"

	"callgate/gateway/gatewaytest"
	"callgate/store"
)

// TestJournalContract holds the bbolt journal to the contract the fake
// journal of gatewaytest keeps too, so that the fake cannot drift.
func TestJournalContract(t *testing.T) {
	gatewaytest.JournalContract(t, func(t *testing.T, o gatewaytest.JournalOptions) gatewaytest.JournalUnderTest {
		j, err := store.Open(filepath.Join(t.TempDir(), "journal.db"), store.Options{
			Location: o.Location, Now: o.Now, ReplayWindow: o.ReplayWindow, PostingMax: o.PostingMax})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { j.Close() })
		return j
	})
}
