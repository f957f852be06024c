package test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"callgate/gateway"
	"callgate/gateway/gatewaytest"
	"callgate/pbx"
)

// TestFileSourceContract holds a PBX file read once (history imports,
// gateway parse) to the contract the fake call source of gatewaytest keeps
// too, so that the fake cannot drift.
func TestFileSourceContract(t *testing.T) {
	gatewaytest.CallSourceContract(t, func(t *testing.T, lines []string) gateway.CallSource {
		path := filepath.Join(t.TempDir(), "smdr.txt")
		if err := os.WriteFile(path, []byte(strings.Join(lines, "\r\n")+"\r\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		src, err := pbx.ReadFile(path, pbx.SourceOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { src.Close() })
		return src
	})
}
