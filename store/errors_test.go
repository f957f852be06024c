package store_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"callgate/store"
)

// TestErrorTexts: the messages people read name the file and the fix, and
// carry their cause's text once.
func TestErrorTexts(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, store.Options{})
	exists := filepath.Join(dir, "exists.db")
	if err := os.WriteFile(exists, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		err  func() error
		want string // the whole text, or its start when cause is set
		// cause is the text of the cause, which must stand once at the end.
		cause string
	}{
		{"open under a file", func() error { _, err := store.Open(filepath.Join(file, "j.db"), store.Options{}); return err },
			"cannot read the journal " + filepath.Join(file, "j.db") + ": stat " + filepath.Join(file, "j.db") + ": ", "not a directory"},
		{"open in a missing folder", func() error { _, err := store.Open(filepath.Join(dir, "no", "j.db"), store.Options{}); return err },
			"the folder " + filepath.Join(dir, "no") + " for the journal does not exist: create it, or change store.path", ""},
		{"read a missing journal", func() error {
			_, err := store.Open(filepath.Join(dir, "j.db"), store.Options{ReadOnly: true})
			return err
		}, "there is no journal at " + filepath.Join(dir, "j.db") + ": check store.path in the config", ""},
		{"open a folder", func() error { _, err := store.Open(dir, store.Options{}); return err },
			"cannot open the journal " + dir + ": open " + dir + ": ", "is a directory"},
		{"backup over a file", func() error { _, err := e.j.BackupFile(ctx, exists); return err },
			exists + " exists already: give the backup a new name", ""},
		{"backup into a missing folder", func() error { _, err := e.j.BackupFile(ctx, filepath.Join(dir, "no", "b.db")); return err },
			"cannot write the backup beside " + filepath.Join(dir, "no", "b.db") + ": open " + filepath.Join(dir, "no", ".b.db."), "no such file or directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.err()
			if err == nil {
				t.Fatal("no error")
			}
			got := err.Error()
			if tc.cause == "" {
				if got != tc.want {
					t.Errorf("got  %q\nwant %q", got, tc.want)
				}
				return
			}
			if !strings.HasPrefix(got, tc.want) || !strings.HasSuffix(got, tc.cause) || strings.Count(got, tc.cause) != 1 {
				t.Errorf("got  %q\nwant %q…%q, the cause once", got, tc.want, tc.cause)
			}
		})
	}
}
