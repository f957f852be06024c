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
var adapters = []string{"pbx", "pms", "store", "tariff"}

// topOf returns the first path element of a package inside the module.
func topOf(pkg string) string {
	top, _, _ := strings.Cut(pkg, "/")
	return top
}

// isSim reports whether pkg is a simulator (pbx/sim, pms/fias/sim).
func isSim(pkg string) bool { return pkg == "sim" || strings.HasSuffix(pkg, "/sim") }

// allowed reports whether package from (a path inside the module, "" for the
// root) may import package to of this module, and if not, why. test is true
// for an import in a _test.go file.
func allowed(from, to string, test bool) (bool, string) {
	fromTop, toTop := topOf(from), topOf(to)
	switch {
	case to == from:
		return true, "" // an external test package importing its own package
	case fromTop == "internal":
		// Plumbing on plumbing (internal/pgtest on internal/pgcluster),
		// never the rest of ours.
		if toTop == "internal" {
			return true, ""
		}
		return false, "internal packages import only internal packages"
	case toTop == "internal":
		return true, "" // shared plumbing: anyone may use it
	case to == "gateway/gatewaytest":
		// The in-memory fakes and contract suites are for tests only.
		if test || fromTop == "cmd" || fromTop == "test" {
			return true, ""
		}
		return false, "only tests use the fakes of gateway/gatewaytest"
	case isSim(to) && !test && fromTop != "cmd":
		return false, "only cmd wires a simulator into production code; tests may use one"
	case toTop == "cmd" || toTop == "test":
		return false, "nothing imports cmd or test"
	case fromTop == "cmd" || fromTop == "test":
		return true, ""
	case from == "gateway":
		return false, "gateway imports no package of ours"
	case from == "pbx/sim" && to == "pbx":
		return true, "" // the PBX simulator prints the formats pbx reads
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
// docs/design.md "Packages": gateway at the centre importing nothing of ours, adapters (pbx,
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
			if ok, why := allowed(from, to, strings.HasSuffix(path, "_test.go")); !ok {
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
		test     bool // the import is in a _test.go file
		ok       bool
	}{
		{"pbx", "gateway", false, true},
		{"pms/fias", "gateway", false, true},
		{"pms/fias", "pms/fias/sim", true, true},
		// internal/*: anyone may import it; it imports only internal/*.
		{"pbx", "internal/serialport", false, true},
		{"pms/fias", "internal/backoff", false, true},
		{"gateway", "internal/backoff", false, true},
		{"cmd/gateway", "internal/serialport", false, true},
		{"pbx/sim", "internal/testutil", true, true},
		{"internal/serialport", "gateway", false, false},
		{"internal/pgtest", "internal/pgcluster", false, true},
		{"internal/pgtest", "store/postgres", true, false},
		{"internal/pgcluster", "gateway", false, false},
		{"internal/backoff", "pbx", true, false},
		{"internal/serialport", "internal/serialport", true, true},
		// pbx/sim may import pbx; pbx's external tests may import pbx/sim.
		{"pbx/sim", "pbx", false, true},
		{"pbx/sim", "gateway", false, true},
		{"pbx", "pbx/sim", true, true},
		{"pbx/sim", "pms/fias", false, false},
		{"pbx/sim", "pms/fias/sim", true, false},
		// No production code but cmd imports a simulator.
		{"cmd/gateway", "pbx/sim", false, true},
		{"cmd/gateway", "pms/fias/sim", false, true},
		{"test", "pbx/sim", true, true},
		{"pbx", "pbx/sim", false, false},
		{"pms/fias", "pms/fias/sim", false, false},
		{"gateway", "pbx/sim", true, false},
		{"gateway/console", "pms/fias/sim", false, false},
		{"store", "pms/fias/sim", true, false},
		{"cmd/gateway", "store", false, true},
		{"test", "pbx", false, true},
		{"gateway/console", "gateway", false, true},
		{"gateway", "gateway", false, true},
		{"gateway", "pbx", false, false},
		{"gateway", "store", false, false},
		{"pbx", "store", false, false},
		{"pms/fias", "tariff", false, false},
		{"store", "pms", false, false},
		{"tariff", "pbx", false, false},
		{"gateway/console", "store", false, false},
		{"pbx", "cmd/gateway", false, false},
		{"pbx", "gateway/console", false, false},
		// gateway/gatewaytest: the fakes and contract suites, in tests only.
		{"store", "gateway/gatewaytest", true, true},
		{"gateway", "gateway/gatewaytest", true, true},
		{"pms/fias", "gateway/gatewaytest", true, true},
		{"store", "gateway/gatewaytest", false, false},
		{"gateway/console", "gateway/gatewaytest", false, false},
	} {
		name := tc.from + " imports " + tc.to
		if tc.test {
			name += " in a test"
		}
		t.Run(name, func(t *testing.T) {
			if ok, why := allowed(tc.from, tc.to, tc.test); ok != tc.ok {
				t.Errorf("allowed(%q, %q, test %v) = %v (%s), want %v", tc.from, tc.to, tc.test, ok, why, tc.ok)
			}
		})
	}
}
