package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"callgate/gateway"
	"callgate/gateway/gatewaytest"
	"callgate/gateway/report"
	"callgate/gateway/report/render"
	"callgate/gateway/ship"
	"callgate/internal/pgtest"
	"callgate/tariff"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// writeCentralConfig writes a central's config listening on listen, on a
// fresh database.
func writeCentralConfig(t *testing.T, dsn, listen, extra string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "central.yaml")
	cfg := fmt.Sprintf("central:\n  listen: %q\n  postgres: %q\n%sconsole:\n  listen: 127.0.0.1:0\n", listen, dsn, extra)
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// addProperty runs `gateway central property add` and returns the token,
// the last line of stdout.
func addProperty(t *testing.T, cfg, name string) string {
	t.Helper()
	code, out, errs := run(t, "", "central", "property", "add", name, "--config", cfg)
	if code != 0 {
		t.Fatalf("property add %s: %d %s", name, code, errs)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	tok := lines[len(lines)-1]
	if !regexp.MustCompile(`^cgp_[A-Za-z0-9_-]{43}$`).MatchString(tok) {
		t.Fatalf("the last line of property add is %q, not a token alone", tok)
	}
	if strings.Count(out, tok) != 1 {
		t.Fatalf("the token is printed more than once:\n%s", out)
	}
	return tok
}

// serveCentral runs `gateway central serve` until the test ends and returns
// its ingest's base URL (serveChain).
func serveCentral(t *testing.T, cfg string) string {
	t.Helper()
	ingest, _ := serveChain(t, cfg)
	return ingest
}

func postBatch(t *testing.T, base, token string, body []byte) (int, ship.Refusal) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+ship.PathBatch, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var r ship.Refusal // an Ack reads into its epoch and cursor too
	json.Unmarshal(b, &r)
	return resp.StatusCode, r
}

func encodeBatch(t *testing.T, b gateway.ShipBatch) []byte {
	t.Helper()
	body, err := ship.EncodeBatch(b)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func rows(t *testing.T, dsn, sql string, args ...any) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// TestCentralTwoServers: two `gateway central serve` on one database take
// one property's batches, sent to either, twice and out of order: every
// event is stored once and the calls are what the events say. Another
// property's token writes only its own stream; an unknown token, a disabled
// property, a malformed or oversized batch are refused and store nothing.
func TestCentralTwoServers(t *testing.T) {
	dsn := pgtest.DB(t)
	cfg := writeCentralConfig(t, dsn, "127.0.0.1:0", "")
	grand, beach := addProperty(t, cfg, "grand"), addProperty(t, cfg, "beach")
	a, b := serveCentral(t, cfg), serveCentral(t, cfg)

	l := gatewaytest.NewShipLog("e1", time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC), time.UTC)
	for i := 0; i < 200; i++ {
		l.PostedCall(i, fmt.Sprint(100+i%30), int64(50+i))
	}
	n := uint64(len(l.Events())) // 1,000
	// Out of order first: refused with the cursor.
	if st, r := postBatch(t, a, grand, encodeBatch(t, l.Batch(301, 600))); st != http.StatusConflict || r.Cursor != 0 {
		t.Fatalf("a batch after a gap: %d %+v", st, r)
	}
	servers := []string{a, b}
	for i, from := 0, uint64(1); from <= n; i, from = i+1, from+150 {
		to := min(from+149, n)
		body := encodeBatch(t, l.Batch(from, to))
		for _, srv := range []string{servers[i%2], servers[(i+1)%2]} { // each batch twice, once to each
			if st, r := postBatch(t, srv, grand, body); st != http.StatusOK || r.Cursor != to {
				t.Fatalf("batch %d-%d to %s: %d %+v", from, to, srv, st, r)
			}
		}
	}
	if got := rows(t, dsn, "SELECT count(*) FROM callgate.event WHERE property = 'grand'"); got != int(n) {
		t.Fatalf("%d events stored, want %d", got, n)
	}
	if got := rows(t, dsn, "SELECT count(*) FROM callgate.calls WHERE property = 'grand' AND state = 'posted'"); got != 200 {
		t.Fatalf("%d posted calls, want 200", got)
	}
	var want int64
	for _, w := range l.Want {
		want += w.TotalMinor
	}
	if got := rows(t, dsn, "SELECT sum(total_minor)::int FROM callgate.calls WHERE property = 'grand'"); int64(got) != want {
		t.Errorf("revenue %d, want %d", got, want)
	}

	before := rows(t, dsn, "SELECT count(*) FROM callgate.event")
	// beach sending grand's log writes beach's stream, never grand's.
	if st, _ := postBatch(t, a, beach, encodeBatch(t, l.Batch(1, 10))); st != http.StatusOK {
		t.Fatalf("beach's batch: %d", st)
	}
	if got := rows(t, dsn, "SELECT count(*) FROM callgate.event WHERE property = 'grand'"); got != int(n) {
		t.Errorf("another property's token changed grand's stream: %d events", got)
	}
	before += 10
	code, _, errs := run(t, "", "central", "property", "disable", "beach", "--config", cfg)
	if code != 0 {
		t.Fatal(errs)
	}
	for name, tc := range map[string]struct {
		token  string
		body   []byte
		status int
	}{
		"unknown token": {"cgp_" + strings.Repeat("x", 43), encodeBatch(t, l.Batch(1, 10)), 401},
		"disabled":      {beach, encodeBatch(t, l.Batch(11, 20)), 403},
		"malformed":     {grand, []byte(`{"v":1}`), 400},
		"oversized":     {grand, bytes.Repeat([]byte("x"), ship.MaxCompressedBytes+1), 413},
	} {
		if st, r := postBatch(t, b, tc.token, tc.body); st != tc.status || r.Error == "" {
			t.Errorf("%s: %d %+v, want %d with a sentence", name, st, r, tc.status)
		}
	}
	if got := rows(t, dsn, "SELECT count(*) FROM callgate.event"); got != before {
		t.Errorf("refused batches stored events: %d → %d", before, got)
	}
	code, out, errs := run(t, "", "central", "property", "list", "--config", cfg)
	if code != 0 || !regexp.MustCompile(`beach\s+disabled`).MatchString(out) || !regexp.MustCompile(`grand\s+enabled\s+Test Hotel\s+e1\s+1000\s`).MatchString(out) {
		t.Errorf("property list: %d\n%s%s", code, out, errs)
	}
}

// TestCentralConfig: a central's config is checked by gateway check; a
// listen address off loopback without TLS is refused with a sentence, by
// check and by serve; a missing connection string too.
func TestCentralConfig(t *testing.T) {
	ok := writeCentralConfig(t, "postgres://callgate@127.0.0.1:1/x", "127.0.0.1:8443", "")
	if code, out, errs := run(t, "", "check", "--config", ok); code != 0 || !strings.Contains(out, "central config OK") {
		t.Errorf("check of a good central config: %d %s %s", code, out, errs)
	}
	open := writeCentralConfig(t, "postgres://callgate@127.0.0.1:1/x", "0.0.0.0:8443", "")
	code, out, _ := run(t, "", "check", "--config", open)
	if code != 1 || !strings.Contains(out, "central.listen") || !strings.Contains(out, "tls_cert") {
		t.Errorf("check of a clear non-loopback listen: %d %s", code, out)
	}
	code, _, errs := run(t, "", "central", "serve", "--config", open)
	if code == 0 || !strings.Contains(errs, "not a loopback address") {
		t.Errorf("serve on a clear non-loopback listen: %d %s", code, errs)
	}
	p := filepath.Join(t.TempDir(), "central.yaml")
	os.WriteFile(p, []byte("central:\n  listen: 127.0.0.1:8443\n"), 0o600)
	t.Setenv(EnvPostgres, "")
	if code, out, _ := run(t, "", "check", "--config", p); code != 1 || !strings.Contains(out, EnvPostgres) {
		t.Errorf("check without a connection string: %d %s", code, out)
	}
	t.Setenv(EnvPostgres, "postgres://callgate@127.0.0.1:1/x")
	if code, out, _ := run(t, "", "check", "--config", p); code != 0 {
		t.Errorf("check with %s set: %d %s", EnvPostgres, code, out)
	}
}

// TestCentralUserAdd: a chain console user is stored with a bcrypt hash
// and the properties given; an unknown property is refused.
func TestCentralUserAdd(t *testing.T) {
	dsn := pgtest.DB(t)
	cfg := writeCentralConfig(t, dsn, "127.0.0.1:0", "")
	addProperty(t, cfg, "grand")
	code, out, errs := run(t, "correct horse battery\n", "central", "user", "add", "cfo", "--role", "auditor", "--properties", "grand", "--config", cfg)
	if code != 0 || !strings.Contains(out, "seeing grand") {
		t.Fatalf("user add: %d %s %s", code, out, errs)
	}
	if n := rows(t, dsn, "SELECT count(*) FROM callgate.app_user WHERE name = 'cfo' AND properties = '{grand}' AND convert_from(password_hash, 'UTF8') LIKE '$2a$%'"); n != 1 {
		t.Errorf("the user is not stored with its bcrypt hash and properties (%d rows)", n)
	}
	code, _, errs = run(t, "correct horse battery\n", "central", "user", "add", "x", "--role", "auditor", "--properties", "nowhere", "--config", cfg)
	if code == 0 || !strings.Contains(errs, "no property \"nowhere\"") {
		t.Errorf("a user for an unknown property: %d %s", code, errs)
	}
	if code, _, _ := run(t, "", "central", "user", "add", "y", "--config", cfg); code != 2 {
		t.Errorf("user add without a role: %d, want 2", code)
	}
}

// TestCentralReport: `gateway report NAME --central` over one property and
// over all prints what gateway/report computes over the properties' own
// entries, number for number.
func TestCentralReport(t *testing.T) {
	dsn := pgtest.DB(t)
	cfg := writeCentralConfig(t, dsn, "127.0.0.1:0", "")
	tokens := map[string]string{"grand": addProperty(t, cfg, "grand"), "beach": addProperty(t, cfg, "beach")}
	base := serveCentral(t, cfg)
	logs := map[string]*gatewaytest.ShipLog{}
	for name, n := range map[string]int{"grand": 120, "beach": 80} {
		l := gatewaytest.NewShipLog("e-"+name, time.Date(2026, 12, 5, 6, 0, 0, 0, time.UTC), time.UTC)
		for i := 0; i < n; i++ {
			l.Tick(7 * time.Minute)
			l.PostedCall(i, fmt.Sprint(100+i%25), int64(40+i))
		}
		if st, r := postBatch(t, base, tokens[name], encodeBatch(t, l.Batch(1, uint64(len(l.Events()))))); st != http.StatusOK {
			t.Fatalf("%s: %d %+v", name, st, r)
		}
		logs[name] = l
	}
	expect := func(name string, props ...string) string {
		o := report.Options{From: time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC), Location: time.UTC, MinorDigits: tariff.MinorDigits}
		in := report.InPeriod(o)
		var es []gateway.Entry
		for _, p := range props {
			for _, e := range logs[p].Entries {
				if in(e) {
					es = append(es, *e)
				}
			}
		}
		sort.Slice(es, func(i, j int) bool { return es[i].Time.Before(es[j].Time) })
		r, _ := report.Lookup(name)
		tb, err := r.Run(es, o)
		if err != nil {
			t.Fatal(err)
		}
		if len(props) > 1 {
			tb.Title = fmt.Sprintf("%s (%d properties)", tb.Title, len(props))
		}
		var b bytes.Buffer
		if err := render.WriteOutput(&b, "", tb, "csv"); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	for _, tc := range []struct {
		report string
		args   []string
		props  []string
	}{
		{"rooms", []string{"--property", "grand"}, []string{"grand"}},
		{"classes", []string{"--all"}, []string{"beach", "grand"}},
		{"busy-hour", []string{"--property", "grand,beach"}, []string{"beach", "grand"}},
		{"night-audit", []string{"--property", "beach"}, []string{"beach"}},
	} {
		args := append([]string{"report", tc.report, "--central", cfg, "--from", "2026-12-05", "--format", "csv"}, tc.args...)
		code, out, errs := run(t, "", args...)
		if code != 0 {
			t.Fatalf("%v: %d %s", args, code, errs)
		}
		if want := expect(tc.report, tc.props...); out != want {
			t.Errorf("%v:\n%s\nwant\n%s", args, out, want)
		}
		if strings.Count(out, "\n") < 2 {
			t.Errorf("%v: the report is nearly empty:\n%s", args, out)
		}
	}
	if code, _, _ := run(t, "", "report", "rooms", "--central", cfg, "--from", "2026-12-05"); code != 2 {
		t.Errorf("a central report without --property or --all: %d, want 2", code)
	}
	if code, _, errs := run(t, "", "report", "rooms", "--central", cfg, "--from", "2026-12-05", "--property", "nowhere"); code != 1 || !strings.Contains(errs, "nowhere") {
		t.Errorf("a central report of an unknown property: %d %s", code, errs)
	}
}
