// Package test holds callgate's end-to-end tests and the checks that keep the
// code's shape: which package may import which.
package test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "callgate"

// adapters are the top-level packages that wrap one outside thing each. They
// import gateway and never each other.
var adapters = []string{"pbx", "pms", "store", "tariff", "mail", "metrics"}

// topOf returns the first path element of a package inside the module.
func topOf(pkg string) string {
	top, _, _ := strings.Cut(pkg, "/")
	return top
}

// allowed reports whether package from (a path inside the module, "" for the
// root) may import package to of this module, and if not, why.
func allowed(from, to string) (bool, string) {
	fromTop, toTop := topOf(from), topOf(to)
	switch {
	case to == from:
		return true, "" // an external test package importing its own package
	case toTop == "cmd" || toTop == "test":
		return false, "nothing imports cmd or test"
	case fromTop == "cmd" || fromTop == "test":
		return true, ""
	case from == "gateway":
		return false, "gateway imports no package of ours"
	case fromTop == "gateway":
		// gateway/console, gateway/report: the vocabulary and each other.
		if toTop == "gateway" {
			return true, ""
		}
		return false, from + " talks to the rest only through package gateway's interfaces"
	}
	for _, a := range adapters {
		if fromTop != a {
			continue
		}
		if to == "gateway" || toTop == a {
			return true, ""
		}
		return false, "adapters import gateway and never each other or gateway's sub-packages"
	}
	return true, ""
}

// TestImportShape fails on any import edge that breaks the package layout of
// DESIGN.md: gateway at the centre importing nothing of ours, adapters (pbx,
// pms, store, tariff) importing gateway and never a sibling, cmd and test
// wiring everything. Test files are held to the same rule.
func TestImportShape(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found at %s", root)
	}
	fset := token.NewFileSet()
	files := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		from := filepath.ToSlash(rel)
		if from == "." {
			from = ""
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		files++
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if p != module && !strings.HasPrefix(p, module+"/") {
				continue
			}
			to := strings.TrimPrefix(strings.TrimPrefix(p, module), "/")
			if ok, why := allowed(from, to); !ok {
				t.Errorf("%s imports %s: %s", filepath.Join(from, filepath.Base(path)), p, why)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 10 {
		t.Fatalf("read only %d Go files: is the walk looking at the module?", files)
	}
}

// TestImportRules checks the rule itself on edges that must pass and fail, so
// that a broken rule cannot pass every real import silently.
func TestImportRules(t *testing.T) {
	for _, tc := range []struct {
		from, to string
		ok       bool
	}{
		{"pbx", "gateway", true},
		{"pms/fias", "gateway", true},
		{"pms/fias", "pms/fias/sim", true},
		{"cmd/gateway", "store", true},
		{"test", "pbx", true},
		{"gateway/console", "gateway", true},
		{"gateway", "gateway", true},
		{"gateway", "pbx", false},
		{"gateway", "store", false},
		{"pbx", "store", false},
		{"pms/fias", "tariff", false},
		{"store", "pms", false},
		{"tariff", "pbx", false},
		{"gateway/console", "store", false},
		{"pbx", "cmd/gateway", false},
		{"pbx", "gateway/console", false},
	} {
		if ok, _ := allowed(tc.from, tc.to); ok != tc.ok {
			t.Errorf("allowed(%q, %q) = %v, want %v", tc.from, tc.to, ok, tc.ok)
		}
	}
}
