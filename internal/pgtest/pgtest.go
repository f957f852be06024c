// Package pgtest runs a throwaway PostgreSQL cluster for tests (the cluster
// itself is internal/pgcluster's): one cluster serves a whole test binary
// (Main); each test takes a fresh database of it (DB). See docs/central.md,
// "Testing".
package pgtest

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"callgate/internal/pgcluster"
)

// Cluster is one running throwaway cluster; Options choose how it runs.
type (
	Cluster = pgcluster.Cluster
	Options = pgcluster.Options
)

// Find returns the folder holding initdb and pg_ctl, or ErrMissing.
func Find() (string, error) { return pgcluster.Find() }

// Start makes a cluster in a new folder under parent ("" for the system's
// temporary folder) and starts it.
func Start(parent string, o Options) (*Cluster, error) { return pgcluster.Start(parent, o) }

// shared is the test binary's cluster (Main), or the reason there is none.
var (
	shared     *Cluster
	sharedErr  error
	sharedOnce sync.Once
	mainRan    bool
)

// Main runs a test binary's tests with one cluster for all of them, started
// when a test first asks for it (Shared, DB) and stopped at the end: call it
// from TestMain as os.Exit(pgtest.Main(m)). When PostgreSQL is missing the
// tests that ask for a database skip, loudly, or fail when CI=true.
func Main(m *testing.M) int {
	mainRan = true
	code := m.Run()
	if shared != nil {
		if err := shared.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
	}
	return code
}

// Shared is the cluster Main started: skips the test (fails under CI=true)
// when there is none.
func Shared(t testing.TB) *Cluster {
	t.Helper()
	if !mainRan {
		t.Fatal("pgtest.Main did not run: call it from TestMain")
	}
	sharedOnce.Do(func() { shared, sharedErr = Start("", Options{}) })
	if shared == nil {
		Unavailable(t, sharedErr)
	}
	return shared
}

// Unavailable skips a test that needs PostgreSQL, saying why, or fails it
// when CI=true (CI installs PostgreSQL: its absence there is a fault).
func Unavailable(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("this test needs PostgreSQL and CI=true: %v", err)
	}
	t.Skipf("SKIPPED, no PostgreSQL: %v", err)
}

// DB returns the DSN of a fresh database on the shared cluster.
func DB(t testing.TB) string {
	t.Helper()
	c := Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dsn, err := c.CreateDB(ctx)
	if err != nil {
		t.Fatalf("a test database: %v", err)
	}
	return dsn
}
