package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/gateway/ship"
	"callgate/internal/pgtest"
	"callgate/store"
)

// restoreCentral starts a central with property harbour and returns a
// client shipping for it, the database and a folder for the journal.
func restoreCentral(t *testing.T) (*ship.Client, string, string) {
	t.Helper()
	dsn := pgtest.DB(t)
	cfg := writeCentralConfig(t, dsn, "127.0.0.1:0", "")
	tok := addProperty(t, cfg, "harbour")
	base := serveCentral(t, cfg)
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokFile, []byte(tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	client, err := ship.NewClient(ship.ClientConfig{URL: base, TokenFile: tokFile, Property: "harbour"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return client, dsn, dir
}

// onceEach checks that callgate.calls shows each of the property's calls
// once: for each entry up to upto, one row among the epochs (the restored
// epoch's or, for a call it no longer holds, an older one's), and the
// number of rows is calls.
func onceEach(t *testing.T, dsn string, upto uint64, calls int) {
	t.Helper()
	got := centralCalls(t, dsn, "harbour")
	perEntry := map[string]int{}
	for k := range got {
		perEntry[k[1]]++
	}
	for id := uint64(1); id <= upto; id++ {
		if n := perEntry[itoa(id)]; n != 1 {
			t.Errorf("entry %d of the copied journal shows %d times in callgate.calls", id, n)
		}
	}
	if len(got) != calls {
		t.Errorf("callgate.calls has %d rows, the property made %d calls: %v", len(got), calls, got)
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

// TestRestoredPrunedJournalShips: a journal whose retention removed old
// calls (the events before the central's cursor) is backed up, restored
// and started: its new epoch ships from the first event it holds, chained
// from the hash the journal recorded for the last event removed, skips the
// later runs removed the same way, never stops; every call shows once at
// the central; and retention prunes the new epoch again once it shipped.
func TestRestoredPrunedJournalShips(t *testing.T) {
	client, dsn, dir := restoreCentral(t)
	ctx := context.Background()
	path := filepath.Join(dir, "journal.db")
	opt := store.Options{Location: time.UTC, CentralGuard: true}
	j, err := store.Open(path, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { j.Close() }()
	for n := 1; n <= 3; n++ {
		epochCall(t, j, n, gateway.StatePosted)
	}
	epochCall(t, j, 4, gateway.StateQueued) // open: retention keeps it
	for n := 5; n <= 8; n++ {
		epochCall(t, j, n, gateway.StatePosted)
	}
	shipAll(t, j, client)
	p, err := j.Prune(ctx, time.Now().Add(time.Hour), false)
	if err != nil || p.Entries != 6 { // 1-3 and 5-7; 8 holds the cursor's event
		t.Fatalf("prune: %+v %v", p, err)
	}
	shipAll(t, j, client) // the pruned event
	backup := filepath.Join(dir, "backup.db")
	if _, err := j.BackupFile(ctx, backup); err != nil {
		t.Fatal(err)
	}
	at, _ := j.Info(ctx)
	for n := 9; n <= 10; n++ { // lost with the restore
		epochCall(t, j, n, gateway.StatePosted)
	}
	shipAll(t, j, client)
	j.Close()
	if _, err := store.Restore(ctx, path, backup, opt); err != nil {
		t.Fatal(err)
	}
	if j, err = store.Open(path, opt); err != nil {
		t.Fatal(err)
	}
	in, _ := j.Info(ctx)
	if in.Follows == "" {
		t.Fatalf("the restored journal follows no epoch: %+v", in)
	}
	for n := 111; n <= 112; n++ {
		epochCall(t, j, n, gateway.StatePosted)
	}
	shipAll(t, j, client) // fails on a stop or an error
	onceEach(t, dsn, at.Entries, 12)
	if got := rows(t, dsn, "SELECT count(*) FROM callgate.calls WHERE property = 'harbour' AND epoch = $1", in.Epoch); got != 4 {
		// 4 and 8 (held in the backup) and its own entries 9 and 10 (the
		// new calls); the pruned calls show in the old epoch.
		t.Errorf("the restored epoch shows %d calls", got)
	}
	// Retention goes on in the new epoch.
	p, err = j.Prune(ctx, time.Now().Add(time.Hour), false)
	if err != nil || p.Entries == 0 {
		t.Errorf("prune in the restored epoch: %+v %v", p, err)
	}
}

// TestRestoredCompactedBackupShips: a backup compacted before it is put
// back starts an epoch inside the backup (its copy mark) that never ships;
// the journal restored from it ships its whole ancestry, and the central
// counts every call once.
func TestRestoredCompactedBackupShips(t *testing.T) {
	client, dsn, dir := restoreCentral(t)
	ctx := context.Background()
	path := filepath.Join(dir, "journal.db")
	opt := store.Options{Location: time.UTC}
	j, err := store.Open(path, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { j.Close() }()
	for n := 1; n <= 6; n++ {
		epochCall(t, j, n, gateway.StatePosted)
	}
	backup := filepath.Join(dir, "backup.db")
	if _, err := j.BackupFile(ctx, backup); err != nil {
		t.Fatal(err)
	}
	at, _ := j.Info(ctx)
	for n := 7; n <= 8; n++ { // lost with the restore
		epochCall(t, j, n, gateway.StatePosted)
	}
	shipAll(t, j, client)
	j.Close()
	if _, _, err := store.Compact(backup, opt); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Restore(ctx, path, backup, opt); err != nil {
		t.Fatal(err)
	}
	if j, err = store.Open(path, opt); err != nil {
		t.Fatal(err)
	}
	in, _ := j.Info(ctx)
	if len(in.Ancestry) != 2 || in.Ancestry[0].Epoch != at.Epoch {
		t.Fatalf("the restored journal's ancestry: %+v", in.Ancestry)
	}
	epochCall(t, j, 109, gateway.StatePosted)
	shipAll(t, j, client)
	onceEach(t, dsn, at.Entries, 9)
}
