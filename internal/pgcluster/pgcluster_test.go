package pgcluster

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestStartCreateClose: a cluster starts, serves a new database, and Close
// stops it and removes its folder (what `gateway demo --sites` relies on at
// Ctrl-C).
func TestStartCreateClose(t *testing.T) {
	if _, err := Find(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skipf("SKIPPED, no PostgreSQL: %v", err)
	}
	c, err := Start("", Options{}) // the system temp folder: the postgres user must reach it
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dsn, err := c.CreateDB(ctx)
	if err != nil {
		c.Close()
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		c.Close()
		t.Fatal(err)
	}
	var one int
	err = conn.QueryRow(ctx, "SELECT 1").Scan(&one)
	conn.Close(ctx)
	if err != nil || one != 1 {
		c.Close()
		t.Fatalf("SELECT 1 gave %d, %v", one, err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(c.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the cluster's folder %s is still there: %v", c.Dir, err)
	}
}

// TestMissing: with no server programs, Find says how to install them.
func TestMissing(t *testing.T) {
	saved := BinDirs
	defer func() { BinDirs = saved }()
	BinDirs = nil
	t.Setenv("PATH", t.TempDir())
	_, err := Find()
	if !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), "apt-get install postgresql") {
		t.Fatalf("Find without PostgreSQL: %v", err)
	}
}
