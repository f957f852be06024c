package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestErrorsNameTheirCauseOnce (issue #14, D14): reading a folder as an
// SMDR file, a call file or an import names the folder once ("reading X:
// is a directory"), not as "importing X: reading X: read X: is a
// directory"; a destination file that is a device is named once too.
func TestErrorsNameTheirCauseOnce(t *testing.T) {
	cfg := writeConfig(t, goodConfig)
	dir := t.TempDir()
	icfg := importConfig(t, t.TempDir())
	for _, args := range [][]string{
		{"parse", "--format", "avaya-ipo", dir},
		{"rate", "--tariff", filepath.Join(filepath.Dir(cfg), "tariff.yaml"), dir},
		{"import", "--config", icfg, dir},
	} {
		code, _, errOut := run(t, "", args...)
		if code == 0 || strings.Count(errOut, dir) != 1 || !strings.Contains(errOut, "is a directory") {
			t.Errorf("%s: exit %d, %q: want the folder named once", args[0], code, errOut)
		}
	}
	if _, err := os.Stat("/dev/zero"); err == nil {
		tf := filepath.Join(dir, "deck.yaml")
		if err := os.WriteFile(tf, []byte("version: 1\ndestinations: /dev/zero\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, out, _ := run(t, "", "rate", "--check", "--tariff", tf)
		if errOut := out; strings.Count(errOut, "/dev/zero") != 1 {
			t.Errorf("deck on /dev/zero: %q: want it named once", errOut)
		}
	}
	// gateway check on a config whose tariff is a folder.
	fcfg := writeConfig(t, strings.Replace(goodConfig, "tariff: tariff.yaml", "tariff: "+dir, 1))
	if _, out, _ := run(t, "", "check", "--config", fcfg); strings.Count(out, dir) != 1 || !strings.Contains(out, "is a folder") {
		t.Errorf("check, tariff a folder: %q: want it named once", out)
	}
}
