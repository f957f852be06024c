package test

// The central's end-to-end test: two real `gateway central serve`
// processes on one PostgreSQL take one property's journal while one of
// them is SIGKILLed mid-stream and restarted and PostgreSQL is restarted;
// batches arrive twice and out of order. Then every event is held once and
// the chain verifies (docs/central.md).

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"callgate/gateway"
	"callgate/gateway/gatewaytest"
	"callgate/gateway/ship"
	"callgate/internal/pgtest"
	"callgate/internal/testutil"
)

// central is one `gateway central serve` child process.
type central struct {
	t    *testing.T
	cfg  string
	url  string
	cmd  *exec.Cmd
	out  *testutil.Buffer
	done chan struct{}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func writeCentral(t *testing.T, dsn string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "central.yaml")
	cfg := fmt.Sprintf("central:\n  listen: %s\n  postgres: %q\nconsole:\n  listen: 127.0.0.1:0\n", freeAddr(t), dsn)
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func startCentral(t *testing.T, cfg string) *central {
	t.Helper()
	c := &central{t: t, cfg: cfg, out: &testutil.Buffer{}, done: make(chan struct{})}
	c.cmd = exec.Command(gatewayBin, "central", "serve", "--config", cfg)
	c.cmd.Stdout, c.cmd.Stderr = c.out, c.out
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.cmd.Wait(); close(c.done) }()
	t.Cleanup(func() { c.kill(syscall.SIGTERM) })
	re := regexp.MustCompile(`central listening on (http://\S+)`)
	c.out.Wait(t, "the central to listen", re.MatchString)
	c.url = re.FindStringSubmatch(c.out.String())[1]
	return c
}

func (c *central) kill(sig syscall.Signal) {
	select {
	case <-c.done:
		return
	default:
	}
	c.cmd.Process.Signal(sig)
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		c.cmd.Process.Kill()
		c.t.Errorf("the central did not stop on %v:\n%s", sig, c.out.String())
	}
}

// shipTo posts one batch and returns the status and the cursor answered
// (0 and the error when no answer came).
func shipTo(ctx context.Context, url, token string, body []byte) (int, uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+ship.PathBatch, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var r ship.Refusal
	json.Unmarshal(b, &r)
	return resp.StatusCode, r.Cursor, nil
}

// TestCentralProcessesExactlyOnce is the central's chaos run.
func TestCentralProcessesExactlyOnce(t *testing.T) {
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	dsn := pgtest.DB(t)
	cfgA, cfgB := writeCentral(t, dsn), writeCentral(t, dsn)
	out, err := exec.Command(gatewayBin, "central", "property", "add", "grand", "--config", cfgA).Output()
	if err != nil {
		t.Fatalf("property add: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	token := lines[len(lines)-1]
	a, b := startCentral(t, cfgA), startCentral(t, cfgB)

	l := gatewaytest.NewShipLog("chaos", time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC), time.UTC)
	for i := 0; i < 3000; i++ {
		l.Tick(20 * time.Second)
		l.PostedCall(i, fmt.Sprint(100+i%80), int64(30+i%500))
	}
	n := uint64(len(l.Events())) // 15,000
	const size = 500
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// The shipper: batches from the cursor, to one central then the
	// other; each batch also sent a second time, and now and then one
	// ahead of the cursor (a gap).
	var cursor uint64
	centrals := []*central{a, b}
	transient := 0
	for step := 0; cursor < n; step++ {
		if ctx.Err() != nil {
			t.Fatalf("not caught up in time: cursor %d of %d", cursor, n)
		}
		switch step {
		case 6: // SIGKILL a central, maybe mid-batch; the other serves on
			go func(c *central) { time.Sleep(5 * time.Millisecond); c.kill(syscall.SIGKILL) }(a)
		case 12:
			centrals[0] = startCentral(t, cfgA)
		case 16:
			if err := pgtest.Shared(t).Restart(); err != nil {
				t.Fatal(err)
			}
		}
		c := centrals[step%2]
		from := cursor + 1
		if step%7 == 3 && from+size <= n {
			from += size // out of order: a gap, refused with the cursor
		}
		to := min(from+size-1, n)
		body, err := ship.EncodeBatch(l.Batch(from, to))
		if err != nil {
			t.Fatal(err)
		}
		for try := 0; try < 2; try++ { // every batch twice
			st, cur, err := shipTo(ctx, c.url, token, body)
			switch {
			case err != nil || st >= 500:
				transient++
			case st == http.StatusOK:
				if cur < cursor {
					t.Fatalf("the cursor went back from %d to %d", cursor, cur)
				}
				cursor = cur
			case st == http.StatusConflict:
				if from == cursor+1 {
					t.Fatalf("a batch from the cursor refused as a gap")
				}
				cursor = cur
			default:
				t.Fatalf("batch %d-%d: %d", from, to, st)
			}
		}
		if transient > 500 {
			t.Fatalf("%d failed sends: the centrals do not come back", transient)
		}
		if transient > 0 && step > 16 {
			time.Sleep(20 * time.Millisecond) // back off while PostgreSQL starts
		}
	}
	t.Logf("caught up %d events, %d sends failed on the way", n, transient)

	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var events, seqs, posted int
	var revenue int64
	if err := conn.QueryRow(ctx, "SELECT count(*), count(DISTINCT seq) FROM callgate.event WHERE property = 'grand'").Scan(&events, &seqs); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, "SELECT count(*), COALESCE(sum(total_minor), 0) FROM callgate.calls WHERE property = 'grand' AND state = 'posted'").Scan(&posted, &revenue); err != nil {
		t.Fatal(err)
	}
	var want int64
	for _, w := range l.Want {
		want += w.TotalMinor
	}
	if events != int(n) || seqs != int(n) || posted != 3000 || revenue != want {
		t.Errorf("%d events (%d distinct), %d posted calls, revenue %d; want %d events, 3000 calls, %d", events, seqs, posted, revenue, n, want)
	}
	// The chain verifies over what the central stored.
	rows, err := conn.Query(ctx, "SELECT seq, hash, body::text FROM callgate.event WHERE property = 'grand' AND epoch = 'chaos' ORDER BY seq")
	if err != nil {
		t.Fatal(err)
	}
	prev := gateway.JournalGenesis("chaos") // event 1 chains from the epoch's genesis
	var seq uint64
	for rows.Next() {
		var h []byte
		var body string
		if err := rows.Scan(&seq, &h, &body); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(append(prev[:], body...))
		if !bytes.Equal(sum[:], h) {
			t.Fatalf("the chain breaks at event %d", seq)
		}
		prev = sum
	}
	if err := rows.Err(); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if seq != n {
		t.Errorf("the chain ends at %d, want %d", seq, n)
	}
}
