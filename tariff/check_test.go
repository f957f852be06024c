package tariff

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"callgate/gateway"
)

func TestCheckFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("version: 1\ncurrency: USX\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "gone.yaml")
	k := &gateway.Checker{Line: func(string) int { return 7 }}
	CheckFile(k, "tariff", missing)
	CheckFile(k, "report.carriers[0]", bad)
	if len(k.Problems) < 2 {
		t.Fatalf("problems: %v", k.Problems)
	}
	if got := k.Problems[0].String(); got != "tariff: line 7: cannot read "+missing+": no such file or directory" {
		t.Errorf("missing: %s", got)
	}
	for _, p := range k.Problems[1:] {
		if p.Key != "report.carriers[0]" || !strings.HasPrefix(p.Msg, bad+": ") {
			t.Errorf("bad tariff: %s", p)
		}
	}
}
