package main

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// gitVersion is the version git describe gives (v1.4.0-3-gabc1234), else
// 0.0.0~dev.
func gitVersion(root string) string {
	out, err := exec.Command("git", "-C", root, "describe", "--tags", "--always", "--dirty").Output()
	if err != nil {
		return "0.0.0~dev"
	}
	return strings.TrimSpace(string(out))
}

// gitCommit is the commit the package is built from, "" outside git.
func gitCommit(root string) string {
	out, err := exec.Command("git", "-C", root, "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// debianVersion turns a version as people and git write it into a Debian
// one: a leading v goes, a bare commit (git describe without tags) becomes
// 0.0.0~git<commit>, and git describe's -N-gHASH becomes +N.gHASH so that a
// later commit sorts after its tag. Characters Debian refuses are an error.
func debianVersion(v string) (string, error) {
	v = strings.TrimPrefix(strings.TrimSpace(v), "v")
	if v == "" {
		return "", fmt.Errorf("-version is empty")
	}
	// A version is digits first with a dot in its first part (1.4.0); a
	// bare commit (git describe in a repository without tags) is not.
	head, _, _ := strings.Cut(v, "-")
	if v[0] < '0' || v[0] > '9' || !strings.Contains(head, ".") {
		v = "0.0.0~git" + v
	}
	// 1.4.0-3-gabc1234(-dirty) → 1.4.0+3.gabc1234(.dirty)
	v = strings.ReplaceAll(v, "-", "+")
	if i := strings.IndexByte(v, '+'); i >= 0 {
		v = v[:i+1] + strings.ReplaceAll(v[i+1:], "+", ".")
	}
	for _, r := range v {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || strings.ContainsRune(".+~", r)) {
			return "", fmt.Errorf("version %q has %q, which a Debian version cannot hold: use digits, letters and . + ~", v, r)
		}
	}
	return v, nil
}

// md5sums lists the md5 of every file under root except DEBIAN/, as
// DEBIAN/md5sums holds them, and their total size in bytes.
func md5sums(root string) ([]byte, int64, error) {
	var lines []string
	var size int64
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if rel == "DEBIAN" {
				return filepath.SkipDir
			}
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		size += int64(len(data))
		sum := md5.Sum(data)
		lines = append(lines, hex.EncodeToString(sum[:])+"  "+filepath.ToSlash(rel))
		return nil
	})
	sort.Strings(lines)
	return []byte(strings.Join(lines, "\n") + "\n"), size, err
}
