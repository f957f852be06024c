package store_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"callgate/store"
)

// TestCheckPath (issue 14, D14): gateway check looks at store.path the way
// serve would open it, without creating or locking the journal, and names
// the fix.
func TestCheckPath(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, store.Options{})
	if err := store.CheckPath(e.path); err != nil {
		t.Errorf("a journal in use: %v", err)
	}
	empty := filepath.Join(dir, "empty.db")
	os.WriteFile(empty, nil, 0o600)
	notJournal := filepath.Join(dir, "hosts")
	os.WriteFile(notJournal, []byte("127.0.0.1 localhost\n# more than twenty bytes\n"), 0o600)
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("x"), 0o600)
	for _, tc := range []struct {
		path, want string // want "" is OK
	}{
		{filepath.Join(dir, "new.db"), ""},
		{empty, ""},
		{filepath.Join(dir, "missing", "journal.db"), "the folder " + filepath.Join(dir, "missing") + " for the journal does not exist: create it (mkdir -p"},
		{dir, "is a folder, not the journal file: give a file in it, e.g. " + filepath.Join(dir, "journal.db")},
		{filepath.Join(file, "journal.db"), "not a directory): give a path whose folders exist"},
		{"/dev/null", "/dev/null is not a regular file"},
		{notJournal, "is not a journal (not a bbolt file): correct store.path, or restore"},
	} {
		err := store.CheckPath(tc.path)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.path, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want %q", tc.path, err, tc.want)
		}
	}
	// Nothing was created: not the journal, not the probe.
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 3 {
		t.Errorf("the check left files behind: %v", left)
	}
	if _, err := os.Stat(filepath.Join(dir, "new.db")); !os.IsNotExist(err) {
		t.Errorf("the journal was created: %v", err)
	}
}

// TestCheckPathNotWritable: a folder or journal the user cannot write is
// refused (root writes anywhere: skipped).
func TestCheckPathNotWritable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root can write a read-only folder")
	}
	dir := t.TempDir()
	j := filepath.Join(dir, "journal.db")
	os.WriteFile(j, nil, 0o400)
	os.Chmod(dir, 0o500)
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	if err := store.CheckPath(filepath.Join(dir, "new.db")); err == nil || !strings.Contains(err.Error(), "give the user that runs the gateway write access to the folder") {
		t.Errorf("read-only folder: %v", err)
	}
	if err := store.CheckPath(j); err == nil || !strings.Contains(err.Error(), "read and write access") {
		t.Errorf("read-only journal: %v", err)
	}
}
