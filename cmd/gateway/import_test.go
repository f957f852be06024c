package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"callgate/gateway"
	pbxsim "callgate/pbx/sim"
)

// smdrFile writes n simulated avaya-ipo calls of the default hotel to a file
// and returns its path and the number of calls the PBX printed.
func smdrFile(t testing.TB, dir string, n int, seed uint64) string {
	t.Helper()
	loc, _ := time.LoadLocation("America/New_York")
	g, err := pbxsim.NewGenerator(pbxsim.GeneratorOptions{Hotel: pbxsim.DefaultHotel(), Plan: pbxsim.NANP(), Seed: seed,
		Start: time.Date(2026, 5, 1, 8, 0, 0, 0, loc), CallsPerHour: 600})
	if err != nil {
		t.Fatal(err)
	}
	w, err := pbxsim.NewWriter("avaya-ipo", pbxsim.WriterOptions{Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	var buf []byte
	for range n {
		if buf, _, err = w.AppendCall(buf, g.Next()); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "smdr.txt")
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func importConfig(t testing.TB, dir string) string {
	t.Helper()
	body := `site: {name: Grand Hotel, timezone: America/New_York}
store: {path: journal.db}
pbx: {format: avaya-ipo, transport: file, file: /dev/null}
tariff: ` + filepath.Join(mustAbs(t, "../../configs/tariffs/usa.yaml")) + "\n"
	path := filepath.Join(dir, "callgate.yaml")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustAbs(t testing.TB, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// summaryValue returns the number on the summary line starting with label.
func summaryValue(t *testing.T, out, label string) string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, label) {
			return strings.Fields(strings.TrimPrefix(l, label))[0]
		}
	}
	t.Fatalf("no %q in summary:\n%s", label, out)
	return ""
}

// TestImportTwice: a file imported twice is journaled once; the entries are
// imported, rated and carry the room of their extension.
func TestImportTwice(t *testing.T) {
	dir := t.TempDir()
	cfg := importConfig(t, dir)
	file := smdrFile(t, dir, 300, 7)
	code, out, errOut := run(t, "", "import", "--config", cfg, "--progress", "always", file)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	first := summaryValue(t, out, "calls imported:")
	if first == "0" || summaryValue(t, out, "already in journal:") != "0" || summaryValue(t, out, "unreadable records:") != "0" {
		t.Fatalf("first import:\n%s", out)
	}
	if !strings.Contains(errOut, "smdr.txt") || !strings.Contains(errOut, "100%") {
		t.Errorf("no progress bar on stderr: %q", errOut)
	}
	code, out2, errOut := run(t, "", "import", "--config", cfg, "--progress", "never", file)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out2, errOut)
	}
	if summaryValue(t, out2, "calls imported:") != "0" || summaryValue(t, out2, "already in journal:") != first {
		t.Fatalf("second import added calls:\n%s", out2)
	}
	es := journalEntries(t, dir)
	if got := len(es); got == 0 || first != strconv.Itoa(got) {
		t.Fatalf("%d entries, summary says %s", got, first)
	}
	rooms := 0
	for _, e := range es {
		if e.State != gateway.StateImported || e.Call == nil || e.Charge == nil || e.Posting != 0 {
			t.Fatalf("entry %d: %+v", e.ID, e)
		}
		if e.Room != "" {
			rooms++
			if e.Room != e.Call.Extension {
				t.Errorf("entry %d: room %s for extension %s", e.ID, e.Room, e.Call.Extension)
			}
		}
	}
	if rooms == 0 {
		t.Error("no imported call has a room")
	}
}

func TestImportErrors(t *testing.T) {
	dir := t.TempDir()
	cfg := importConfig(t, dir)
	if code, _, errOut := run(t, "", "import", "--config", cfg); code != 2 || !strings.Contains(errOut, "FILE") {
		t.Errorf("no file: exit %d %q", code, errOut)
	}
	if code, _, errOut := run(t, "", "import", "--config", cfg, filepath.Join(dir, "missing.txt")); code != 1 || !strings.Contains(errOut, "cannot read") {
		t.Errorf("missing file: exit %d %q", code, errOut)
	}
	if code, _, errOut := run(t, "", "import", "--config", cfg, "--progress", "sometimes", cfg); code != 2 || !strings.Contains(errOut, "--progress") {
		t.Errorf("bad --progress: exit %d %q", code, errOut)
	}
	// A file in another format: nothing imported, every record unreadable or skipped.
	junk := filepath.Join(dir, "junk.txt")
	os.WriteFile(junk, []byte("this is not SMDR\nnor is this\n"), 0o644)
	code, out, errOut := run(t, "", "import", "--config", cfg, junk)
	if code != 0 || summaryValue(t, out, "calls imported:") != "0" || summaryValue(t, out, "records read:") != "2" {
		t.Errorf("junk: exit %d\n%s\n%s", code, out, errOut)
	}
}

// BenchmarkImport measures the whole import: frame, parse, rate, resolve the
// room, journal in batches (with fsync). Reported as records/s.
func BenchmarkImport(b *testing.B) {
	dir := b.TempDir()
	const n = 100_000
	file := smdrFile(b, dir, n, 1)
	data, _ := os.ReadFile(file)
	records := strings.Count(string(data), "\n")
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		sub := filepath.Join(dir, "run"+strconv.Itoa(i))
		os.Mkdir(sub, 0o755)
		cfg := importConfig(b, sub)
		b.StartTimer()
		code := Run(context.Background(), []string{"import", "--config", cfg, "--progress", "never", file}, strings.NewReader(""), &strings.Builder{}, &strings.Builder{})
		if code != 0 {
			b.Fatalf("exit %d", code)
		}
	}
	b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
