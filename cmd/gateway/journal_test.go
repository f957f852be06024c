package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"callgate/gateway"
	"callgate/store"
)

func TestConfigStoreKeys(t *testing.T) {
	c, err := LoadConfig(writeConfig(t, goodConfig))
	if err != nil {
		t.Fatal(err)
	}
	if c.Store.ReplayWindowDays != 45 || c.Store.PostingNumberMax != 99_999_999 || c.Store.RetentionMonths != 0 {
		t.Errorf("store defaults: %+v", c.Store)
	}
	o := storeOptions(c)
	if o.ReplayWindow != 45*24*time.Hour || o.PostingMax != 99_999_999 || o.GuestRetention != 30*24*time.Hour || o.Location.String() != "America/New_York" {
		t.Errorf("store options: %+v", o)
	}
	for _, tc := range []struct{ set, want string }{
		{"replay_window_days: 0", `store.replay_window_days: line 2: 0 is not from 1 to 3650`},
		{"posting_number_max: 100000000", `store.posting_number_max: line 2: 100000000 is not from 9 to 99999999`},
		{"retention_months: -1", `store.retention_months: line 2: -1 is negative`},
		{"retention_months: soon", `store.retention_months: line 2: "soon" is not a whole number`},
		{"retension_months: 3", `store.retension_months: line 2: unknown key (did you mean retention_months?)`},
	} {
		body := strings.Replace(goodConfig, "store: {path: /var/lib/callgate/journal.db}", "store: {path: /var/lib/callgate/journal.db, "+tc.set+"}", 1)
		_, err := LoadConfig(writeConfig(t, body))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.set, err, tc.want)
		}
	}
	body := strings.Replace(goodConfig, "store: {path: /var/lib/callgate/journal.db}",
		"store: {path: j.db, guest_retention_days: 0, replay_window_days: 10, posting_number_max: 9999, retention_months: 24}", 1)
	c, err = LoadConfig(writeConfig(t, body))
	if err != nil {
		t.Fatal(err)
	}
	if o := storeOptions(c); o.ReplayWindow != 240*time.Hour || o.PostingMax != 9999 || o.GuestRetention >= 0 || o.RetentionMonths != 24 {
		t.Errorf("store options: %+v", o)
	}
}

// journalSite writes a config whose journal holds a few entries and returns
// the config's path and the journal's.
func journalSite(t *testing.T) (config, journal string) {
	t.Helper()
	config = writeConfig(t, strings.Replace(goodConfig, "store: {path: /var/lib/callgate/journal.db}", "store: {path: journal.db}", 1))
	journal = filepath.Join(filepath.Dir(config), "journal.db")
	loc, _ := time.LoadLocation("America/New_York")
	j, err := store.Open(journal, store.Options{Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	ctx := context.Background()
	for i, st := range []gateway.State{gateway.StatePosted, gateway.StateException, gateway.StateQueued} {
		start := time.Date(2026, 11, 25+i, 10, 0, 0, 0, time.UTC) // site time
		c, err := j.Capture(ctx, gateway.RawRecord{Data: fmt.Appendf(nil, "record %d", i), Received: start.Add(5 * time.Hour), Source: "file smdr.log"})
		if err != nil {
			t.Fatal(err)
		}
		if st == gateway.StateException {
			j.Move(ctx, c.ID, gateway.Change{To: st, Reason: "unparseable"})
			continue
		}
		call := &gateway.Call{Format: "avaya-ipo", Extension: "415", Dialed: "6175550134", Start: start, StartUTC: start.Add(5 * time.Hour),
			DurationS: 95, Direction: gateway.Outgoing}
		j.Move(ctx, c.ID, gateway.Change{To: gateway.StateRated, Call: call,
			Charge: &gateway.Charge{Class: "national", Chargeable: true, TotalMinor: 136, Currency: "USD"}})
		j.Move(ctx, c.ID, gateway.Change{To: gateway.StateQueued, Room: "415"})
		// Both are sent (and so numbered): the queued one was answered
		// "not now" and waits with its number.
		j.Move(ctx, c.ID, gateway.Change{To: gateway.StateSent})
		answer := gateway.Change{To: gateway.StatePosted, Answer: &gateway.Answer{Code: "OK"}}
		if st == gateway.StateQueued {
			answer = gateway.Change{To: gateway.StateQueued, Answer: &gateway.Answer{Code: "RY"}, Reason: "the PMS is busy"}
		}
		if _, err := j.Move(ctx, c.ID, answer); err != nil {
			t.Fatal(err)
		}
	}
	return config, journal
}

func TestJournalList(t *testing.T) {
	config, _ := journalSite(t)
	code, out, errOut := run(t, "", "journal", "--config", config)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("want 3 entries:\n%s", out)
	}
	var e map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &e); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "state", "raw", "call", "charge", "room", "posting", "answer", "history"} {
		if _, ok := e[k]; !ok {
			t.Errorf("entry has no %q: %s", k, lines[0])
		}
	}
	if e["state"] != "posted" || e["posting"] != 1.0 || len(e["history"].([]any)) != 5 || e["answer"].(map[string]any)["code"] != "OK" {
		t.Errorf("first entry: %s", lines[0])
	}
	for _, tc := range []struct {
		args []string
		want string // ids, in order
	}{
		{[]string{"--state", "exception,queued"}, "2 3"},
		{[]string{"--state", "posted"}, "1"},
		{[]string{"--from", "2026-11-27"}, "3"},
		{[]string{"--to", "2026-11-25"}, "1"},
		{[]string{"--from", "2026-11-25T10:00:01", "--to", "2026-11-27T10:00:00"}, "2"},
		{[]string{"--from", "2026-11-27T15:00:00Z"}, "3"},
		{[]string{"--room", "415", "--newest"}, "3 1"},
		{[]string{"--posting", "2"}, "3"},
		{[]string{"--limit", "2"}, "1 2"},
	} {
		code, out, errOut := run(t, "", append([]string{"journal", "--config", config}, tc.args...)...)
		var ids []string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			var e struct{ ID int }
			if json.Unmarshal([]byte(l), &e) == nil && e.ID > 0 {
				ids = append(ids, fmt.Sprint(e.ID))
			}
		}
		if code != 0 || strings.Join(ids, " ") != tc.want {
			t.Errorf("%v: exit %d, ids %v, want %s; %s", tc.args, code, ids, tc.want, errOut)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"journal"}, "journal needs --config FILE"},
		{[]string{"journal", "--config", config, "--state", "lost"}, `--state "lost" is not a journal state`},
		{[]string{"journal", "--config", config, "--from", "yesterday"}, `--from "yesterday" is not a date`},
		{[]string{"journal", "--config", config, "--from", "2026-11-27", "--to", "2026-11-26"}, "is not after --from"},
		{[]string{"journal", "--config", config, "shred"}, `journal has no journalSubcommand "shred"`},
		{[]string{"journal", "--journal", filepath.Join(t.TempDir(), "none.db")}, "there is no journal at"},
	} {
		code, _, errOut := run(t, "", tc.args...)
		if code == 0 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, %q, want %q", tc.args, code, errOut, tc.want)
		}
	}
}

// TestJournalInUse: on a running gateway's journal every journal command
// fails at once with a sentence that says so.
func TestJournalInUse(t *testing.T) {
	config, journal := journalSite(t)
	j, err := store.Open(journal, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	for _, args := range [][]string{{"journal", "--config", config}, {"journal", "events", "--config", config}, {"journal", "compact", "--config", config}} {
		code, _, errOut := run(t, "", args...)
		want := fmt.Sprintf("gateway: the journal %s is in use by a running gateway (pid %d): stop it first", journal, os.Getpid())
		if code != 1 || !strings.HasPrefix(errOut, want) {
			t.Errorf("%v: exit %d, %q\nwant %q", args, code, errOut, want)
		}
	}
}

func TestJournalEventsVerify(t *testing.T) {
	config, journal := journalSite(t)
	code, out, errOut := run(t, "", "journal", "events", "--config", config)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var epoch string
	for i, l := range lines {
		var ev struct {
			Seq   uint64
			Epoch string
			Hash  string
			Kind  string
		}
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Seq != uint64(i+1) || len(ev.Hash) != 64 || len(ev.Epoch) != 36 || (epoch != "" && ev.Epoch != epoch) {
			t.Errorf("event line %d: %s", i+1, l)
		}
		epoch = ev.Epoch
	}
	_, since, _ := run(t, "", "journal", "--config", config, "events", "--since", "10")
	if n := strings.Count(since, "\n"); n != len(lines)-10 {
		t.Errorf("--since 10 gave %d of %d events", n, len(lines))
	}
	code, out, _ = run(t, "", "journal", "verify", "--config", config)
	if code != 0 || !strings.HasPrefix(out, fmt.Sprintf("journal OK: %d events checked (0 removed by retention), 3 entries, epoch %s", len(lines), epoch)) {
		t.Errorf("verify: exit %d %q", code, out)
	}
	// A changed byte in an event: verify names it and fails.
	db, err := bolt.Open(journal, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("events"))
		k := []byte{0, 0, 0, 0, 0, 0, 0, 4}
		v := append([]byte(nil), b.Get(k)...)
		i := strings.Index(string(v), `"room":"415"`)
		v[i+10] = '6'
		return b.Put(k, v)
	})
	db.Close()
	code, out, errOut = run(t, "", "journal", "verify", "--config", config)
	if code != 1 || !strings.Contains(out, "event 4 does not match its hash") || !strings.Contains(errOut, "has problems: restore it from a backup") {
		t.Errorf("tampered: exit %d\n%s\n%s", code, out, errOut)
	}
}

func TestJournalOperations(t *testing.T) {
	config, journal := journalSite(t)
	backup := filepath.Join(t.TempDir(), "backup.db")
	code, out, errOut := run(t, "", "journal", "backup", "--config", config, backup)
	if code != 0 || !strings.Contains(out, "backed up") || !strings.Contains(out, "to "+backup) {
		t.Fatalf("backup: exit %d %q %q", code, out, errOut)
	}
	code, out, _ = run(t, "", "journal", "verify", "--journal", backup)
	if code != 0 || !strings.HasPrefix(out, "journal OK") {
		t.Errorf("verify the backup: exit %d %q", code, out)
	}
	code, _, errOut = run(t, "", "journal", "backup", "--config", config, backup)
	if code != 1 || !strings.Contains(errOut, "exists already") {
		t.Errorf("backup over a file: exit %d %q", code, errOut)
	}
	code, _, errOut = run(t, "", "journal", "backup", "--config", config)
	if code != 2 || !strings.Contains(errOut, "needs the FILE") {
		t.Errorf("backup without a file: exit %d %q", code, errOut)
	}
	code, out, _ = run(t, "", "journal", "prune", "--config", config, "--months", "1", "--dry-run")
	if code != 0 || !strings.Contains(out, "would remove 0 entries") {
		t.Errorf("prune --dry-run: exit %d %q", code, out)
	}
	code, _, errOut = run(t, "", "journal", "prune", "--config", config)
	if code != 2 || !strings.Contains(errOut, "needs --months N") {
		t.Errorf("prune without months: exit %d %q", code, errOut)
	}
	code, out, _ = run(t, "", "journal", "compact", "--config", config)
	if code != 0 || !strings.HasPrefix(out, "compacted "+journal) {
		t.Errorf("compact: exit %d %q", code, out)
	}
	code, out, _ = run(t, "", "journal", "rebuild", "--config", config)
	if code != 0 || !strings.HasPrefix(out, "rebuilt "+journal) {
		t.Errorf("rebuild: exit %d %q", code, out)
	}
	code, out, _ = run(t, "", "journal", "verify", "--config", config)
	if code != 0 {
		t.Errorf("verify after compact and rebuild: exit %d %q", code, out)
	}
	code, out, _ = run(t, "", "journal", "prune", "--help")
	if code != 0 || !strings.Contains(out, "Usage: gateway journal prune") || !strings.Contains(out, "-dry-run") {
		t.Errorf("prune --help: exit %d %q", code, out)
	}
}

// TestJournalDamaged: on a journal file cut short, or with its pages
// damaged, verify and serve end with a sentence naming the fix, never a
// Go panic (issue 14, D8). store's TestDamagedJournals damages files in
// more ways.
func TestJournalDamaged(t *testing.T) {
	config, journal := journalSite(t)
	good, err := os.ReadFile(journal)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		damage func([]byte) []byte
	}{
		{"cut short", func(b []byte) []byte { return b[:4*4096] }},
		{"every page past the meta pages scrambled", func(b []byte) []byte {
			for i := 2 * 4096; i < len(b); i += 7 {
				b[i] ^= 0xa5
			}
			return b
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(journal, tc.damage(append([]byte(nil), good...)), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{{"journal", "verify", "--config", config}, {"serve", "--config", config}} {
				code, out, errOut := run(t, "", args...)
				if code == 0 || !strings.Contains(errOut, "is damaged") || !strings.Contains(errOut, "restore the journal from its last backup") ||
					strings.Contains(out+errOut, "goroutine ") {
					t.Errorf("%s: exit %d\n%s\n%s", args[:2], code, out, errOut)
				}
			}
		})
	}
}
