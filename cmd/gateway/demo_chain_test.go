package main

import (
	"context"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"callgate/internal/pgcluster"
	"callgate/internal/pgtest"
)

// TestDemoSites runs `gateway demo --sites 3`: the three properties' calls
// reach the central's PostgreSQL (callgate.calls), and Ctrl-C (the
// context) stops everything and removes the throwaway cluster.
func TestDemoSites(t *testing.T) {
	if _, err := pgcluster.Find(); err != nil {
		pgtest.Unavailable(t, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"--log-format", "json", "demo", "--sites", "3", "--rate", "600", "--listen", "127.0.0.1:0", "--seed", "5"},
			strings.NewReader(""), &out, &errOut)
	}()
	sqlLine := regexp.MustCompile(`SQL:\s+(postgres://\S+)`)
	dirLine := regexp.MustCompile(`a throwaway cluster in (\S+)`)
	started := make(chan bool, 1)
	go func() {
		started <- errOut.wait(60*time.Second, func(s string) bool { return sqlLine.MatchString(s) && dirLine.MatchString(s) })
	}()
	select {
	case code := <-done:
		t.Fatalf("the demo ended at its start, exit %d:\n%s", code, errOut.String())
	case ok := <-started:
		if !ok {
			cancel()
			<-done
			t.Fatalf("the demo printed no SQL address within 60 s:\n%s", errOut.String())
		}
	}
	banner := errOut.String()
	dsn := sqlLine.FindStringSubmatch(banner)[1]
	clusterDir := dirLine.FindStringSubmatch(banner)[1]
	for _, want := range []string{"a chain of 3 hotels", "hotel-1:", "hotel-2:", "hotel-3:", "log in as demo, password ", "central:   ingest http://127.0.0.1:", "chain console http://127.0.0.1:"} {
		if !strings.Contains(banner, want) {
			t.Errorf("the banner lacks %q:\n%s", want, banner)
		}
	}

	// Every property's calls reach PostgreSQL.
	qctx, qcancel := context.WithTimeout(ctx, 90*time.Second)
	defer qcancel()
	conn, err := pgx.Connect(qctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for {
		rows, err := conn.Query(qctx, "SELECT property, count(*) FROM callgate.calls GROUP BY property")
		if err == nil {
			clear(got)
			for rows.Next() {
				var p string
				var n int
				if rows.Scan(&p, &n) == nil {
					got[p] = n
				}
			}
			rows.Close()
		}
		if got["hotel-1"] >= 3 && got["hotel-2"] >= 3 && got["hotel-3"] >= 3 {
			break
		}
		select {
		case <-qctx.Done():
			t.Fatalf("the calls at the central after 90 s: %v\n%s", got, errOut.String())
		case <-time.After(200 * time.Millisecond):
		}
	}
	conn.Close(context.Background())

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d:\n%s", code, errOut.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the demo did not stop within 60 s of Ctrl-C")
	}
	log := errOut.String()
	for _, want := range []string{"demo over:", "hotel-3: ", "the central holds hotel-2's events up to "} {
		if !strings.Contains(log, want) {
			t.Errorf("the demo's output lacks %q", want)
		}
	}
	if strings.Contains(log, `"level":"error"`) {
		t.Errorf("errors logged:\n%s", log)
	}
	if _, err := os.Stat(clusterDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the throwaway cluster's folder %s is still there after Ctrl-C: %v", clusterDir, err)
	}
}

// TestDemoSitesWithoutPostgreSQL: with no PostgreSQL server programs the
// chain demo says how to install them, and --sites out of range is a usage
// error.
func TestDemoSitesWithoutPostgreSQL(t *testing.T) {
	saved := pgcluster.BinDirs
	defer func() { pgcluster.BinDirs = saved }()
	pgcluster.BinDirs = nil
	t.Setenv("PATH", t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, errOut syncBuffer
	code := Run(ctx, []string{"demo", "--sites", "3", "--listen", "127.0.0.1:0"}, strings.NewReader(""), &out, &errOut)
	if code == 0 || !strings.Contains(errOut.String(), "apt-get install postgresql") || !strings.Contains(errOut.String(), "--sites 3") {
		t.Errorf("exit %d:\n%s", code, errOut.String())
	}
	for _, n := range []string{"0", "21", "-1"} {
		var out, errOut syncBuffer
		if code := Run(ctx, []string{"demo", "--sites", n}, strings.NewReader(""), &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "--sites must be 1 to 20") {
			t.Errorf("--sites %s: exit %d:\n%s", n, code, errOut.String())
		}
	}
}
