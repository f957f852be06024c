package tariff_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"callgate/tariff"
)

// sparse makes a file of size zero bytes without writing them.
func sparse(t *testing.T, path string, size int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// TestLoadRefusesNonTariffs (issue #14, D9): a device, a folder or a file
// over the limits is refused before it is read (4 MiB of YAML, 64 MiB of
// CSV deck), naming the path; a file that is not a tariff (/etc/shadow's
// shape) is refused without a line of it in the error.
func TestLoadRefusesNonTariffs(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	sparse(t, big, 4<<20+1)
	for path, want := range map[string]string{
		"/dev/zero": "cannot read tariff file: /dev/zero is a device, not a file: name the file itself",
		dir:         dir + " is a folder, not a file",
		big:         big + " is larger than 4 MiB",
	} {
		if _, err := os.Stat(path); err != nil {
			continue
		}
		if _, err := tariff.Load(path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load(%s): %v, want %q", path, err, want)
		}
	}

	shadow := filepath.Join(dir, "shadow")
	if err := os.WriteFile(shadow, []byte("root:$6$SECRETHASH$abc:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\nguest:SECRETHASH2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := tariff.Load(shadow)
	if err == nil || strings.Contains(err.Error(), "SECRETHASH") || strings.Contains(err.Error(), "daemon") {
		t.Errorf("Load(shadow): %v", err)
	}
	if err := os.WriteFile(shadow, []byte("root:$6$SECRETHASH$abc:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = tariff.Load(shadow)
	if err == nil || strings.Contains(err.Error(), "SECRETHASH") || strings.Contains(err.Error(), "daemon") {
		t.Errorf("Load(shadow): %v", err)
	}
}

func TestDeckFileLimits(t *testing.T) {
	path := csvDeck(t, 1)
	dir := filepath.Dir(path)
	sparse(t, filepath.Join(dir, "deck.csv"), 64<<20+1)
	if _, err := tariff.Load(path); err == nil || !strings.Contains(err.Error(), "deck.csv is larger than 64 MiB") {
		t.Errorf("a deck over 64 MiB: %v", err)
	}
	if _, err := os.Stat("/dev/zero"); err == nil {
		yml, _ := os.ReadFile(path)
		if err := os.WriteFile(path, []byte(strings.Replace(string(yml), "destinations: deck.csv", "destinations: /dev/zero", 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := tariff.Load(path); err == nil || !strings.Contains(err.Error(), "/dev/zero is a device, not a file") {
			t.Errorf("a deck on /dev/zero: %v", err)
		}
	}
}
