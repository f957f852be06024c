// Command mkdeb builds callgate's Debian package from this repository:
//
//	go run ./cmd/mkdeb [-version 1.4.0] [-arch amd64] [-out dist]
//
// It builds /usr/bin/gateway, stages it with the example configs, the
// systemd units and the maintainer scripts from configs/, and packs the
// tree with dpkg-deb. The package's layout and what its scripts do are in
// docs/package.md.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "mkdeb:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mkdeb", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := options{}
	fs.StringVar(&o.version, "version", "", "the package version (default: from git describe, else 0.0.0~dev)")
	fs.StringVar(&o.arch, "arch", runtime.GOARCH, "the Go architecture to build for: amd64, arm64, arm (armhf) or 386")
	fs.StringVar(&o.out, "out", "dist", "the folder the .deb is written to")
	fs.StringVar(&o.root, "root", ".", "the repository's root")
	fs.StringVar(&o.maintainer, "maintainer", "callgate maintainers <callgate@localhost>", "the package's Maintainer field")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: mkdeb takes only flags", fs.Arg(0))
	}
	path, err := build(o)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, path)
	return nil
}

type options struct {
	version, arch, out, root, maintainer string
}

// archOrDefault is the Go architecture to build for: -arch, else this
// machine's.
func (o options) archOrDefault() string {
	if o.arch == "" {
		return runtime.GOARCH
	}
	return o.arch
}

// debArch maps Go's architecture names to Debian's.
var debArch = map[string]string{"amd64": "amd64", "arm64": "arm64", "arm": "armhf", "386": "i386"}

// file is one file of the package: where it comes from in the repository
// (src) or its bytes (data), where it goes, its mode, and whether dpkg keeps
// a person's edits to it on upgrade (conffile).
type file struct {
	src, dst string
	mode     os.FileMode
	conffile bool
	optional bool // left out when src does not exist
}

func layout(root string) ([]file, error) {
	files := []file{
		{src: "configs/avaya-ipo-opera.yaml", dst: "etc/callgate/callgate.yaml", mode: 0o640, conffile: true},
		{src: "configs/central.yaml", dst: "etc/callgate/central.yaml", mode: 0o640, conffile: true, optional: true},
		{src: "configs/callgate.service", dst: "lib/systemd/system/callgate.service", mode: 0o644},
		{src: "configs/callgate-central.service", dst: "lib/systemd/system/callgate-central.service", mode: 0o644},
		{src: "README.md", dst: "usr/share/doc/callgate/README.md", mode: 0o644},
	}
	tariffs, err := filepath.Glob(filepath.Join(root, "configs", "tariffs", "*.yaml"))
	if err != nil || len(tariffs) == 0 {
		return nil, fmt.Errorf("no example tariffs in %s: run mkdeb from the repository's root or give -root", filepath.Join(root, "configs", "tariffs"))
	}
	for _, t := range tariffs {
		files = append(files, file{src: filepath.Join("configs", "tariffs", filepath.Base(t)), dst: "etc/callgate/tariffs/" + filepath.Base(t), mode: 0o640, conffile: true})
	}
	docs, _ := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	for _, d := range docs {
		files = append(files, file{src: filepath.Join("docs", filepath.Base(d)), dst: "usr/share/doc/callgate/docs/" + filepath.Base(d), mode: 0o644})
	}
	return files, nil
}

// scripts are the maintainer scripts, from configs/package.
var scripts = []string{"postinst", "prerm", "postrm"}

func build(o options) (string, error) {
	o.arch = o.archOrDefault()
	arch, ok := debArch[o.arch]
	if !ok {
		return "", fmt.Errorf("-arch %q is not one of amd64, arm64, arm, 386", o.arch)
	}
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		return "", errors.New("dpkg-deb is not installed: on Debian or Ubuntu it comes with dpkg (apt-get install dpkg)")
	}
	root, err := filepath.Abs(o.root)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(root, "cmd", "gateway")); err != nil {
		return "", fmt.Errorf("%s is not callgate's repository (no cmd/gateway): run mkdeb from its root or give -root", root)
	}
	version, commit := o.version, gitCommit(root)
	if version == "" {
		version = gitVersion(root)
	}
	debVersion, err := debianVersion(version)
	if err != nil {
		return "", err
	}
	files, err := layout(root)
	if err != nil {
		return "", err
	}
	stage, err := os.MkdirTemp("", "callgate-deb-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(stage)
	pkg := filepath.Join(stage, "pkg")

	// The binary: static, no cgo, the version and commit stamped in.
	bin := filepath.Join(pkg, "usr", "bin", "gateway")
	ldflags := fmt.Sprintf("-s -w -X main.version=%s -X main.commit=%s", version, commit)
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", ldflags, "-o", bin, "./cmd/gateway")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+o.arch)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/gateway failed: %v\n%s", err, out)
	}
	if err := os.Chmod(bin, 0o755); err != nil {
		return "", err
	}
	var conffiles []string
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(root, f.src))
		if errors.Is(err, os.ErrNotExist) && f.optional {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("the package needs %s: %w", f.src, err)
		}
		dst := filepath.Join(pkg, filepath.FromSlash(f.dst))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(dst, data, f.mode); err != nil {
			return "", err
		}
		if err := os.Chmod(dst, f.mode); err != nil { // past the umask
			return "", err
		}
		if f.conffile {
			conffiles = append(conffiles, "/"+f.dst)
		}
	}
	control := filepath.Join(pkg, "DEBIAN")
	if err := os.MkdirAll(control, 0o755); err != nil {
		return "", err
	}
	for _, s := range scripts {
		data, err := os.ReadFile(filepath.Join(root, "configs", "package", s))
		if err != nil {
			return "", fmt.Errorf("the package needs its %s script: %w", s, err)
		}
		if err := os.WriteFile(filepath.Join(control, s), data, 0o755); err != nil {
			return "", err
		}
		if err := os.Chmod(filepath.Join(control, s), 0o755); err != nil {
			return "", err
		}
	}
	if err := os.WriteFile(filepath.Join(control, "conffiles"), []byte(strings.Join(conffiles, "\n")+"\n"), 0o644); err != nil {
		return "", err
	}
	sums, size, err := md5sums(pkg)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(control, "md5sums"), sums, 0o644); err != nil {
		return "", err
	}
	fields := fmt.Sprintf(`Package: callgate
Version: %s
Architecture: %s
Maintainer: %s
Installed-Size: %d
Depends: passwd
Section: net
Priority: optional
Description: hotel call accounting gateway between a PBX and a PMS
 callgate reads every call record the hotel's phone system prints (SMDR over
 RS-232, TCP or files), prices it against the hotel's tariff, posts the
 charge to the guest's folio (FIAS or a cloud PMS) and keeps a crash-safe
 journal so that no call is lost or charged twice. It brings the night
 auditor's web console, finance exports and the call-accounting reports, and
 a central server consolidating a chain's properties in PostgreSQL.
`, debVersion, arch, o.maintainer, (size+1023)/1024)
	if err := os.WriteFile(filepath.Join(control, "control"), []byte(fields), 0o644); err != nil {
		return "", err
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return "", fmt.Errorf("cannot create the output folder: %w", err)
	}
	deb := filepath.Join(o.out, fmt.Sprintf("callgate_%s_%s.deb", debVersion, arch))
	cmd = exec.Command("dpkg-deb", "--root-owner-group", "-Zxz", "--build", pkg, deb)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("dpkg-deb --build failed: %v\n%s", err, out)
	}
	return deb, nil
}
