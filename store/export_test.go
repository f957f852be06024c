package store

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// ChainHash is chainHash, for the tamper test.
var ChainHash = chainHash

// Grouped returns the transactions the committer ran and the writes they
// held.
func Grouped(j *Journal) (commits, writes int64) {
	return j.commits.commits.Load(), j.commits.writes.Load()
}

// GunzipJournal writes the gzipped journal file name (in testdata) to a
// temporary folder and returns its path: a fixture to open and change.
func GunzipJournal(t testing.TB, name string) string {
	t.Helper()
	gz, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	db, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "journal.db")
	if err := os.WriteFile(path, db, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// SetFullCheckMax sets the largest file Open walks whole at start, and
// returns a function that restores it.
func SetFullCheckMax(n int64) func() {
	old := fullCheckMax
	fullCheckMax = n
	return func() { fullCheckMax = old }
}

// FailCommits makes every commit of j's writes ask fail first: an error
// fails the commit, as a full disk does; nil lets it through.
func FailCommits(j *Journal, fail func() error) { j.commits.fail.Store(&fail) }

// PagesWritten returns the page writes of j's committed transactions so
// far (bbolt's TxStats.Write: one for each dirty page run, the free list
// and the meta page), for the benchmarks' pages a commit.
func PagesWritten(j *Journal) int64 {
	st := j.db.Stats()
	return st.TxStats.GetWrite()
}
