package store

import (
	"strings"
	"testing"
	"time"

	"callgate/gateway"
)

func TestConfigOptions(t *testing.T) {
	loc := time.FixedZone("site", -5*3600)
	o := DefaultConfig().Options(loc)
	if o.ReplayWindow != 45*24*time.Hour || o.PostingMax != 99_999_999 || o.GuestRetention != 30*24*time.Hour || o.Location != loc {
		t.Errorf("default options: %+v", o)
	}
	c := Config{Path: "j.db", GuestRetentionDays: 0, ReplayWindowDays: 10, PostingNumberMax: 9999, RetentionMonths: 24}
	if o := c.Options(loc); o.ReplayWindow != 240*time.Hour || o.PostingMax != 9999 || o.GuestRetention >= 0 || o.RetentionMonths != 24 {
		t.Errorf("options: %+v", o)
	}
}

func TestConfigCheck(t *testing.T) {
	k := &gateway.Checker{}
	c := DefaultConfig()
	c.Check(k)
	if len(k.Problems) != 0 {
		t.Fatalf("defaults have problems: %v", k.Problems)
	}
	c = Config{ReplayWindowDays: 0, PostingNumberMax: 100_000_000, RetentionMonths: -1, GuestRetentionDays: -1}
	c.Check(k)
	for _, want := range []string{
		"store.path: missing: the journal file's path",
		"store.guest_retention_days: -1 is negative",
		"store.replay_window_days: 0 is not from 1 to 3650",
		"store.posting_number_max: 100000000 is not from 9 to 99999999",
		"store.retention_months: -1 is negative",
	} {
		if !strings.Contains(k.Problems.Error(), want) {
			t.Errorf("problems %q lack %q", k.Problems.Error(), want)
		}
	}
}

func TestListQueryFilter(t *testing.T) {
	loc := time.FixedZone("site", -5*3600)
	f, err := ListQuery{States: "exception, in-doubt", From: "2026-11-27", To: "2026-11-27", Room: "101", Posting: 42, Newest: true}.Filter(loc)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.States) != 2 || f.Room != "101" || f.Posting != 42 || !f.Newest || !f.History ||
		!f.From.Equal(time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC)) || !f.To.Equal(time.Date(2026, 11, 28, 5, 0, 0, 0, time.UTC)) {
		t.Errorf("filter: %+v", f)
	}
	if f, err := (ListQuery{From: "2026-11-27T14:00:00", To: "2026-11-27T20:00:00Z"}).Filter(loc); err != nil ||
		!f.From.Equal(time.Date(2026, 11, 27, 19, 0, 0, 0, time.UTC)) || !f.To.Equal(time.Date(2026, 11, 27, 20, 0, 0, 0, time.UTC)) {
		t.Errorf("site time and RFC 3339: %+v, %v", f, err)
	}
	for _, tc := range []struct {
		q    ListQuery
		want string
	}{
		{ListQuery{Posting: 100_000_000}, "--posting 100000000 is not a posting number"},
		{ListQuery{Limit: -1}, "--limit -1 is negative"},
		{ListQuery{States: "lost"}, `--state "lost" is not a journal state: use `},
		{ListQuery{From: "yesterday"}, `--from "yesterday" is not a date`},
		{ListQuery{From: "2026-11-28", To: "2026-11-27"}, "--to 2026-11-27 is not after --from 2026-11-28"},
	} {
		if _, err := tc.q.Filter(loc); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.q, err, tc.want)
		}
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{512: "512 bytes", 2048: "2.0 KiB", 3 << 20: "3.0 MiB", 5 << 30: "5.0 GiB"} {
		if got := FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
	}
}
