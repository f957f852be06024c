package console

import (
	"path/filepath"
	"strings"
	"testing"

	"callgate/gateway"
)

func TestConfigCheckAndTLS(t *testing.T) {
	same := func(s string) string { return s }
	k := &gateway.Checker{}
	DefaultConfig().Check(k, same)
	if len(k.Problems) != 0 {
		t.Fatalf("defaults: %v", k.Problems)
	}
	missing := filepath.Join(t.TempDir(), "cert.pem")
	Config{Listen: "nowhere", TLSCert: missing, MaskDigits: 21}.Check(k, same)
	for _, want := range []string{
		`console.listen: "nowhere" is not an address like 10.0.0.5:5100`,
		"console.tls_cert: give both console.tls_cert and console.tls_key, or neither",
		"console.tls_cert: cannot read " + missing + ": no such file or directory",
		"console.mask_digits: 21: give how many leading digits (0 to 20)",
	} {
		if !strings.Contains(k.Problems.Error(), want) {
			t.Errorf("problems %q lack %q", k.Problems.Error(), want)
		}
	}
	if c, err := DefaultConfig().TLSConfig(same); c != nil || err != nil {
		t.Errorf("plain HTTP: %v %v", c, err)
	}
	if _, err := (Config{TLSCert: missing, TLSKey: missing}).TLSConfig(same); err == nil || !strings.HasPrefix(err.Error(), "console.tls_cert, console.tls_key: ") {
		t.Errorf("missing files: %v", err)
	}
}
