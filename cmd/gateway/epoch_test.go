package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rs/zerolog"

	"callgate/gateway"
	"callgate/gateway/ship"
	"callgate/store"
	"callgate/store/postgres"
)

// epochCall journals call n (a distinct record) and takes it to state to
// along the gateway's path: rated, queued to room 415, sent, posted.
func epochCall(t *testing.T, j *store.Journal, n int, to gateway.State) gateway.EntryID {
	t.Helper()
	ctx := context.Background()
	start := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Minute)
	c, err := j.Capture(ctx, gateway.RawRecord{Received: time.Now().UTC(), Source: "test",
		Data: fmt.Appendf(nil, "2026/11/27 09:%02d:00,00:01:35,4,%d,O,6175550134,6175550134,,0,1004%06d,0,E415,Room 415,T9005,Line 5.1", n%60, 400+n%50, n)})
	if err != nil || c.Replay {
		t.Fatalf("capture %d: %+v %v", n, c, err)
	}
	steps := []gateway.Change{
		{To: gateway.StateRated, Call: &gateway.Call{Format: "avaya-ipo", Extension: fmt.Sprint(400 + n%50), Dialed: "6175550134",
			Start: start, StartUTC: start.Add(5 * time.Hour), DurationS: 95, Direction: gateway.Outgoing, Trunk: "9005", Answered: gateway.Bool(true)},
			Charge: &gateway.Charge{Class: "national", Destination: "USA", Prefix: "1", E164: "16175550134", Band: "day",
				BillableS: 96, Chargeable: true, CarrierMinor: 16, TotalMinor: int64(100 + n), Currency: "USD", TariffVersion: "base"}},
		{To: gateway.StateQueued, Room: "415"},
		{To: gateway.StateSent},
		{To: gateway.StatePosted, Answer: &gateway.Answer{Code: "OK"}},
	}
	for _, s := range steps {
		if _, err := j.Move(ctx, c.ID, s); err != nil {
			t.Fatalf("call %d to %s: %v", n, s.To, err)
		}
		if s.To == to {
			break
		}
	}
	return c.ID
}

// shipAll runs a shipper over j until the central acknowledged its last
// event, and fails on any refusal.
func shipAll(t *testing.T, j *store.Journal, sink *ship.Client) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &ship.Shipper{Sink: sink, Journal: j, Queries: j, BatchMax: 7, Poll: 10 * time.Millisecond, RetryMin: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	in, err := j.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		st := s.Status()
		if st.LastError != "" || st.Stopped {
			cancel()
			<-done
			t.Fatalf("shipping epoch %s: %s (stopped %v)", in.Epoch, st.LastError, st.Stopped)
		}
		if st.Cursor >= in.LastSeq {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatalf("the central did not acknowledge event %d of epoch %s in a minute: %+v", in.LastSeq, in.Epoch, st)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil && ctx.Err() == nil {
		t.Fatal(err)
	}
}

type centralCall struct {
	epoch   string
	entry   int64
	state   string
	total   *int64
	posting *int64
}

func centralCalls(t *testing.T, dsn, property string) map[[2]string]centralCall {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rs, err := conn.Query(ctx, "SELECT epoch, entry, state, total_minor, posting FROM callgate.calls WHERE property = $1", property)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	out := map[[2]string]centralCall{}
	for rs.Next() {
		var c centralCall
		if err := rs.Scan(&c.epoch, &c.entry, &c.state, &c.total, &c.posting); err != nil {
			t.Fatal(err)
		}
		k := [2]string{c.epoch, fmt.Sprint(c.entry)}
		if _, dup := out[k]; dup {
			t.Errorf("callgate.calls has epoch %s entry %d twice", c.epoch, c.entry)
		}
		out[k] = c
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkEntries compares the central's row of each of the journal's entries
// (from entry first on) with the journal's state, total and posting number.
func checkEntries(t *testing.T, got map[[2]string]centralCall, epoch string, ens []gateway.Entry, first gateway.EntryID) int {
	t.Helper()
	n := 0
	for _, en := range ens {
		if en.ID < first {
			continue
		}
		n++
		c, ok := got[[2]string{epoch, fmt.Sprint(en.ID)}]
		if !ok {
			t.Errorf("entry %d of epoch %s is not in callgate.calls", en.ID, epoch)
			continue
		}
		if c.state != string(en.State) || c.total == nil || en.Charge == nil || *c.total != en.Charge.TotalMinor ||
			(en.Posting == 0) != (c.posting == nil) || (c.posting != nil && *c.posting != int64(en.Posting)) {
			t.Errorf("entry %d of epoch %s: the central has %s total %v posting %v, the journal %s %+v posting %d",
				en.ID, epoch, c.state, c.total, c.posting, en.State, en.Charge, en.Posting)
		}
	}
	return n
}

// TestRestoredJournalNewEpochAtCentral is issue 16's "one property starts
// a new epoch": a property's journal is backed up, takes more calls, ships
// them to a real central (PostgreSQL), then the backup is copied back in
// place. It opens under a new epoch (an audit record says so), ships its
// whole log again, chained from the first epoch's genesis, without a 422;
// the central keeps both epochs, both chains verify, and callgate.calls has
// each call once: the calls of the backup in the new epoch's state, the
// calls lost with the restore from the old epoch, the new calls.
func TestRestoredJournalNewEpochAtCentral(t *testing.T) {
	client, dsn, dir := restoreCentral(t)
	ctx := context.Background()
	path := filepath.Join(dir, "journal.db")
	opt := store.Options{Location: time.UTC}
	j, err := store.Open(path, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { j.Close() }()
	for n := 1; n <= 8; n++ {
		epochCall(t, j, n, gateway.StatePosted)
	}
	pending := epochCall(t, j, 9, gateway.StateQueued) // still queued in the backup
	backup := filepath.Join(dir, "backup.db")
	if _, err := j.BackupFile(ctx, backup); err != nil {
		t.Fatal(err)
	}
	at, _ := j.Info(ctx)
	if _, err := j.Move(ctx, pending, gateway.Change{To: gateway.StateSent}); err != nil { // posted after the backup
		t.Fatal(err)
	}
	if _, err := j.Move(ctx, pending, gateway.Change{To: gateway.StatePosted, Answer: &gateway.Answer{Code: "OK"}}); err != nil {
		t.Fatal(err)
	}
	for n := 10; n <= 13; n++ { // lost with the restore
		epochCall(t, j, n, gateway.StatePosted)
	}
	shipAll(t, j, client)
	old, _ := j.Info(ctx)
	oldEntries, err := j.Entries(ctx, gateway.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	j.Close()

	// The backup copied back in place (cp keeps the file's inode).
	b, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if j, err = store.Open(path, opt); err != nil {
		t.Fatal(err)
	}
	in, _ := j.Info(ctx)
	if in.Epoch == old.Epoch || in.ChainEpoch != old.Epoch || in.Follows != old.Epoch || in.FollowsEntry != at.Entries {
		t.Fatalf("the restored journal: %+v; the old one %+v, the backup %+v", in, old, at)
	}
	if gateway.PostingReference("harbour", in.Epoch, 10, 10) == gateway.PostingReference("harbour", old.Epoch, 10, 10) {
		t.Error("the new epoch's posting references repeat the old epoch's")
	}
	epochCall(t, j, 9+100, gateway.StatePosted) // a new call: entry 10 of the new epoch
	for n := 111; n <= 115; n++ {
		epochCall(t, j, n, gateway.StatePosted)
	}
	shipAll(t, j, client) // no 422: a new epoch, from event 1
	now, _ := j.Info(ctx)
	newEntries, err := j.Entries(ctx, gateway.Filter{})
	if err != nil {
		t.Fatal(err)
	}

	st, err := postgres.Open(ctx, dsn, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, e := range []struct {
		epoch string
		last  uint64
	}{{old.Epoch, old.LastSeq}, {in.Epoch, now.LastSeq}} {
		n, err := st.VerifyChain(ctx, "harbour", e.epoch)
		if err != nil || n != e.last {
			t.Errorf("epoch %s at the central: %d events verified, want %d: %v", e.epoch, n, e.last, err)
		}
		if got := rows(t, dsn, "SELECT count(*) FROM callgate.event WHERE property = 'harbour' AND epoch = $1", e.epoch); got != int(e.last) {
			t.Errorf("epoch %s: the central holds %d events, the journal %d", e.epoch, got, e.last)
		}
	}
	got := centralCalls(t, dsn, "harbour")
	want := checkEntries(t, got, in.Epoch, newEntries, 1) + checkEntries(t, got, old.Epoch, oldEntries, gateway.EntryID(at.Entries+1))
	if len(got) != want || want != len(newEntries)+int(old.Entries-at.Entries) {
		t.Errorf("callgate.calls has %d rows, want %d: every call once", len(got), want)
	}
	// The queued call of the backup is in the new epoch's state only.
	if c := got[[2]string{in.Epoch, fmt.Sprint(pending)}]; c.state != string(gateway.StateQueued) {
		t.Errorf("the call queued in the backup: %+v", c)
	}
	if _, dup := got[[2]string{old.Epoch, fmt.Sprint(pending)}]; dup {
		t.Error("the backup's call shows in the old epoch too")
	}
	// The revenue the chain reports over equals the journals': the new
	// epoch's, and the old epoch's after the restore point.
	var sum int64
	for _, en := range newEntries {
		if en.State == gateway.StatePosted {
			sum += en.Charge.TotalMinor
		}
	}
	for _, en := range oldEntries {
		if uint64(en.ID) > at.Entries && en.State == gateway.StatePosted {
			sum += en.Charge.TotalMinor
		}
	}
	if n := rows(t, dsn, "SELECT COALESCE(sum(total_minor), 0)::int FROM callgate.calls WHERE property = 'harbour' AND state = 'posted'"); int64(n) != sum {
		t.Errorf("posted total at the central %d, in the journals %d", n, sum)
	}
}

// TestJournalRestore: `gateway journal restore BACKUP` refuses while a
// gateway holds the journal and a backup that does not verify, puts the
// backup in place keeping the replaced journal, leaves the epoch to the
// next writable open (read-only commands change nothing), which starts a
// new one after the backup's.
func TestJournalRestore(t *testing.T) {
	config, journal := journalSite(t)
	ctx := context.Background()
	backup := filepath.Join(t.TempDir(), "backup.db")
	if code, _, errOut := run(t, "", "journal", "backup", "--config", config, backup); code != 0 {
		t.Fatalf("backup: %d %s", code, errOut)
	}
	j, err := store.Open(journal, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	before, _ := j.Info(ctx)
	epochCall(t, j, 50, gateway.StatePosted) // made after the backup
	code, _, errOut := run(t, "", "journal", "restore", "--config", config, backup)
	want := fmt.Sprintf("gateway: the journal %s is in use by a running gateway (pid %d): stop it first", journal, os.Getpid())
	if code != 1 || !strings.HasPrefix(errOut, want) {
		t.Errorf("restore while the journal is in use: exit %d %q", code, errOut)
	}
	last, _ := j.Info(ctx)
	j.Close()
	if code, _, errOut := run(t, "", "journal", "restore", "--config", config); code != 2 || !strings.Contains(errOut, "needs the BACKUP") {
		t.Errorf("restore without a backup: exit %d %q", code, errOut)
	}
	if code, _, errOut := run(t, "", "journal", "restore", "--config", config, config); code != 1 || !strings.Contains(errOut, "not a readable journal") {
		t.Errorf("restore of a file that is no journal: exit %d %q", code, errOut)
	}
	code, out, errOut := run(t, "", "journal", "restore", "--config", config, backup)
	if code != 0 || !strings.Contains(out, "restored "+backup+" to "+journal+": epoch "+before.Epoch) || !strings.Contains(out, "kept as "+journal+".replaced-") {
		t.Fatalf("restore: exit %d %q %q", code, out, errOut)
	}
	kept, _ := filepath.Glob(journal + ".replaced-*")
	if len(kept) != 1 {
		t.Fatalf("the replaced journal: %v", kept)
	}
	old, err := store.Open(kept[0], store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if in, _ := old.Info(ctx); in.LastSeq != last.LastSeq || in.Epoch != last.Epoch {
		t.Errorf("the kept journal %+v, want %+v", in, last)
	}
	old.Close()
	// Reading the restored journal changes nothing.
	if code, out, _ := run(t, "", "journal", "verify", "--config", config); code != 0 || !strings.Contains(out, "epoch "+before.Epoch) {
		t.Errorf("verify after restore: exit %d %q", code, out)
	}
	// The gateway's next start: a new epoch after the backup's.
	j, err = store.Open(journal, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	in, _ := j.Info(ctx)
	if in.Epoch == before.Epoch || in.Follows != before.Epoch || in.FollowsSeq != before.LastSeq || in.ChainEpoch != before.Epoch {
		t.Errorf("after the restore the journal is %+v; the backup %+v", in, before)
	}
	j.Close()
	code, out, _ = run(t, "", "journal", "verify", "--config", config)
	if want := fmt.Sprintf("epoch %s follows epoch %s from event %d", in.Epoch, before.Epoch, before.LastSeq); code != 0 || !strings.Contains(out, want) {
		t.Errorf("verify of the new epoch: exit %d %q, want %q", code, out, want)
	}
}
