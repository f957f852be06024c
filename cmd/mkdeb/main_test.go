package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestDebianVersion(t *testing.T) {
	for _, c := range []struct{ in, want, err string }{
		{"1.4.0", "1.4.0", ""},
		{"v1.4.0", "1.4.0", ""},
		{"v1.4.0-3-gabc1234", "1.4.0+3.gabc1234", ""},
		{"v1.4.0-3-gabc1234-dirty", "1.4.0+3.gabc1234.dirty", ""},
		{"553d967", "0.0.0~git553d967", ""},
		{"553d967-dirty", "0.0.0~git553d967+dirty", ""},
		{"abcdef1", "0.0.0~gitabcdef1", ""},
		{"0.0.0~dev", "0.0.0~dev", ""},
		{"", "", "empty"},
		{"1.0 beta", "", "Debian version cannot hold"},
		{"1.0_rc1", "", "Debian version cannot hold"},
	} {
		got, err := debianVersion(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: got %q, %v; want an error saying %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q: got %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestRunRefuses(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run([]string{"-arch", "sparc"}, &out, &errb); err == nil || !strings.Contains(err.Error(), "amd64, arm64") {
		t.Errorf("an unknown arch: %v", err)
	}
	if err := run([]string{"extra"}, &out, &errb); err == nil || !strings.Contains(err.Error(), "only flags") {
		t.Errorf("an argument: %v", err)
	}
	if err := run([]string{"-root", t.TempDir()}, &out, &errb); err == nil || !strings.Contains(err.Error(), "not callgate's repository") {
		t.Errorf("a folder that is not the repository: %v", err)
	}
}

// TestBuildDeb builds the package and reads it back with dpkg-deb: the
// files and their modes, the conffiles, the control fields, the maintainer
// scripts, the hardened units, and the binary's version.
func TestBuildDeb(t *testing.T) {
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("dpkg-deb is missing, and CI must build the package")
		}
		t.Skip("dpkg-deb is not installed")
	}
	if testing.Short() {
		t.Skip("builds the gateway binary")
	}
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	if err := run([]string{"-root", "../..", "-out", out, "-version", "v2.3.4"}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	deb := strings.TrimSpace(stdout.String())
	if filepath.Base(deb) != "callgate_2.3.4_"+debArch[defaultArch()]+".deb" {
		t.Fatalf("package named %s", deb)
	}
	list := dpkg(t, "-c", deb)
	for _, want := range []string{
		"-rwxr-xr-x root/root .* ./usr/bin/gateway",
		"-rw-r----- root/root .* ./etc/callgate/callgate.yaml",
		"-rw-r----- root/root .* ./etc/callgate/tariffs/usa.yaml",
		"-rw-r--r-- root/root .* ./lib/systemd/system/callgate.service",
		"-rw-r--r-- root/root .* ./lib/systemd/system/callgate-central.service",
		"./usr/share/doc/callgate/README.md",
		"./usr/share/doc/callgate/docs/package.md",
	} {
		if !matchLine(list, want) {
			t.Errorf("the package lacks %q:\n%s", want, list)
		}
	}
	if strings.Contains(list, "/var/lib/callgate") {
		t.Error("the package ships /var/lib/callgate: postinst makes it, owned by callgate")
	}
	if f := dpkg(t, "-f", deb, "Package", "Version", "Architecture"); f != "Package: callgate\nVersion: 2.3.4\nArchitecture: "+debArch[defaultArch()]+"\n" {
		t.Errorf("control fields:\n%s", f)
	}
	conf := dpkg(t, "-I", deb, "conffiles")
	for _, want := range []string{"/etc/callgate/callgate.yaml\n", "/etc/callgate/tariffs/usa.yaml\n"} {
		if !strings.Contains(conf, want) {
			t.Errorf("conffiles lack %s:\n%s", want, conf)
		}
	}
	if strings.Contains(conf, "/lib/") || strings.Contains(conf, "/usr/") {
		t.Errorf("only /etc is kept on upgrade:\n%s", conf)
	}
	post := dpkg(t, "-I", deb, "postinst")
	for _, want := range []string{"useradd --system", "usermod --append --groups dialout callgate", "install -d -o callgate -g callgate -m 0750 /var/lib/callgate"} {
		if !strings.Contains(post, want) {
			t.Errorf("postinst lacks %q", want)
		}
	}
	x := t.TempDir()
	dpkg(t, "-x", deb, x)
	for _, unit := range []string{"callgate.service", "callgate-central.service"} {
		data, err := os.ReadFile(filepath.Join(x, "lib/systemd/system", unit))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"ProtectSystem=strict", "ReadWritePaths=/var/lib/callgate", "NoNewPrivileges=true", "User=callgate", "ExecStart=/usr/bin/gateway "} {
			if !strings.Contains(string(data), want) {
				t.Errorf("%s lacks %s", unit, want)
			}
		}
	}
	unit, _ := os.ReadFile(filepath.Join(x, "lib/systemd/system/callgate.service"))
	if !strings.Contains(string(unit), "SupplementaryGroups=dialout") || !strings.Contains(string(unit), "DeviceAllow=char-ttyUSB rw") || !strings.Contains(string(unit), "gateway serve --config /etc/callgate/callgate.yaml") {
		t.Errorf("callgate.service does not run serve with serial access:\n%s", unit)
	}
	unit, _ = os.ReadFile(filepath.Join(x, "lib/systemd/system/callgate-central.service"))
	if !strings.Contains(string(unit), "gateway central serve --config /etc/callgate/central.yaml") {
		t.Errorf("callgate-central.service does not run central serve:\n%s", unit)
	}
	{ // built for this machine: it runs here
		v, err := exec.Command(filepath.Join(x, "usr/bin/gateway"), "version").Output()
		if err != nil || !strings.HasPrefix(string(v), "gateway v2.3.4 ") {
			t.Errorf("the packaged gateway says %q, %v", v, err)
		}
	}
}

func defaultArch() string { return options{}.archOrDefault() }

func dpkg(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("dpkg-deb", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("dpkg-deb %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// matchLine reports whether a line of list has every space-separated part of
// pattern in order (".*" skips).
func matchLine(list, pattern string) bool {
	parts := strings.Fields(pattern)
	for _, line := range strings.Split(list, "\n") {
		rest, ok := line, true
		for _, p := range parts {
			if p == ".*" {
				continue
			}
			i := strings.Index(rest, p)
			if i < 0 {
				ok = false
				break
			}
			rest = rest[i+len(p):]
		}
		if ok {
			return true
		}
	}
	return false
}
