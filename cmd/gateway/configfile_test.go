package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadConfigRefusesNonConfigs (issue #14, D9): --config /dev/zero is
// refused before it is read, a file over 4 MiB too, and a file that is not
// a config (/etc/shadow's shape) is refused without a line of it.
func TestLoadConfigRefusesNonConfigs(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(4<<20 + 1)
	f.Close()
	for path, want := range map[string]string{
		"/dev/zero": "cannot read config file: /dev/zero is a device, not a file: name the file itself",
		big:         big + " is larger than 4 MiB",
	} {
		if _, err := os.Stat(path); err != nil {
			continue
		}
		if _, err := LoadConfig(path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("LoadConfig(%s): %v, want %q", path, err, want)
		}
	}
	shadow := filepath.Join(dir, "shadow")
	if err := os.WriteFile(shadow, []byte("root:$6$SECRETHASH$abc:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = LoadConfig(shadow)
	if err == nil || strings.Contains(err.Error(), "SECRETHASH") || strings.Contains(err.Error(), "daemon") {
		t.Errorf("LoadConfig(shadow): %v", err)
	}
}
