package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestParseCentralConfigFiles reads every testdata/central/*.yaml and
// checks the outcome its .want file names: OK, or a sentence (one a line)
// each problem list must hold.
func TestParseCentralConfigFiles(t *testing.T) {
	t.Setenv(EnvPostgres, "")
	files, _ := filepath.Glob("testdata/central/*.yaml")
	if len(files) < 8 {
		t.Fatalf("only %d central configs in testdata", len(files))
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		wantB, err := os.ReadFile(strings.TrimSuffix(f, ".yaml") + ".want")
		if err != nil {
			t.Fatal(err)
		}
		want := strings.TrimSpace(string(wantB))
		c, err := ParseCentralConfig(data, f)
		if want == "OK" {
			if err != nil || c == nil || c.Central.Listen == "" || c.DSN() == "" {
				t.Errorf("%s: %v, want OK", f, err)
			}
			if !isCentralConfig(data) {
				t.Errorf("%s is not recognised as a central's config", f)
			}
			continue
		}
		var ps Problems
		if !errors.As(err, &ps) {
			t.Errorf("%s: %v, want problems", f, err)
			continue
		}
		for _, w := range strings.Split(want, "\n") {
			if !strings.Contains(ps.Error(), w) {
				t.Errorf("%s: problems\n%v\nsay nothing of %q", f, ps, w)
			}
		}
	}
}

// TestIsCentralConfig: a property's config, even with a central section
// (the shipper's), is no central's config.
func TestIsCentralConfig(t *testing.T) {
	for cfg, want := range map[string]bool{
		"central:\n  listen: 127.0.0.1:1\n":                                true,
		"central:\n  postgres: x\n":                                        true,
		"site:\n  name: x\ncentral:\n  url: https://c\n  token_file: t\n":  false,
		"central:\n  url: https://c\n  property: grand\n  token_file: t\n": false,
		"site:\n  name: x\ncentral:\n  listen: 127.0.0.1:1\n":              false,
		"not yaml: [": false,
		"":            false,
	} {
		if got := isCentralConfig([]byte(cfg)); got != want {
			t.Errorf("%q: %v, want %v", cfg, got, want)
		}
	}
}

// FuzzParseCentralConfig: no input makes the parser panic, and a config it
// takes has a listen address and a connection string.
func FuzzParseCentralConfig(f *testing.F) {
	files, _ := filepath.Glob("testdata/central/*.yaml")
	for _, p := range files {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseCentralConfig(data, "central.yaml")
		if err == nil && (c == nil || c.Central.Listen == "" || c.DSN() == "") {
			t.Fatalf("taken without listen or postgres: %+v", c)
		}
		isCentralConfig(data)
	})
}
