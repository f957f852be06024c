package buildinfo

import "testing"

func TestVersion(t *testing.T) {
	if v, c := Version("1.2.0", "abc1234"); v != "1.2.0" || c != "abc1234" {
		t.Errorf("given: %s %s", v, c)
	}
	// A test binary records no module version: the version falls back.
	if v, c := Version("", ""); v == "" || c == "" {
		t.Errorf("fallback: %q %q", v, c)
	}
}
