package yamlstrict

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadFileRefuses: devices, folders and files over the limit are
// refused before they are read, naming the path (issue #14, D9).
func TestReadFileRefuses(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, []byte(strings.Repeat("# x\n", 8)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path  string
		limit int64
		want  string
	}{
		{"/dev/zero", MaxYAML, "/dev/zero is a device, not a file"},
		{dir, MaxYAML, dir + " is a folder, not a file"},
		{big, 31, big + " is larger than 31 bytes"},
	} {
		if tc.path == "/dev/zero" {
			if _, err := os.Stat(tc.path); err != nil {
				continue
			}
		}
		_, err := ReadFile(tc.path, tc.limit)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ReadFile(%s): %v, want %q", tc.path, err, tc.want)
		}
	}
	if b, err := ReadFile(big, 32); err != nil || len(b) != 32 {
		t.Errorf("a file of exactly the limit: %d bytes, %v", len(b), err)
	}
	if !errors.Is(func() error { _, err := ReadFile(big, 31); return err }(), ErrTooLarge) {
		t.Error("not ErrTooLarge")
	}
}

// TestOpenGrowing: a file that grows past the limit after it was opened
// fails while it is read.
func TestOpenGrowing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "deck.csv")
	if err := os.WriteFile(path, []byte("prefix,name\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path, 16)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := os.WriteFile(path, []byte(strings.Repeat("1,x\n", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	total := 0
	for i := 0; i < 100; i++ {
		n, err := f.Read(buf)
		total += n
		if err != nil {
			if !errors.Is(err, ErrTooLarge) || total != 16 {
				t.Errorf("read %d bytes, then %v; want 16 and too large", total, err)
			}
			return
		}
	}
	t.Error("no error after 100 reads")
}

// TestDecodeNotOurs: a file that is not a section of keys (/etc/shadow, a
// password list) is refused without quoting any of its lines.
func TestDecodeNotOurs(t *testing.T) {
	var v struct {
		Version string `yaml:"version"`
	}
	for _, data := range []string{
		"root:$6$SECRETHASH$xyz:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n",
		"- SECRETHASH\n- other\n",
		"SECRETHASH\n",
		"a: *SECRETHASH\n",
	} {
		res := Decode([]byte(data), &v)
		if len(res.Problems) == 0 || !res.Partial {
			t.Errorf("%q: %+v, want a problem", data, res)
		}
		for _, p := range res.Problems {
			if strings.Contains(p.Msg, "SECRETHASH") || strings.Contains(p.Key, "SECRETHASH") {
				t.Errorf("the problem quotes the file: %+v", p)
			}
		}
	}
}
