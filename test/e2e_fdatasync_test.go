package test

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

var fdatasyncTest = flag.Bool("fdatasyncs", false, "run TestE2EFdatasyncs: count serve's fdatasyncs per record with strace")

// TestE2EFdatasyncs counts the fdatasyncs `gateway serve` makes for 100 IP
// Office records, one at a time (each once the last is journaled), 38 of
// them posted over FIAS: strace attached to the running serve,
//
//	strace -f -p <serve's pid> -e trace=fdatasync -c -o <file>
//
// from after the warm-up posting until the last answer is journaled. A
// bbolt commit is two fdatasyncs: the goal is one commit for a record not
// posted, two for one posted (its answer is the second). Opt-in
// (-fdatasyncs): it needs strace and ptrace, and its figure is a count,
// never a pass or fail.
func TestE2EFdatasyncs(t *testing.T) {
	if !*fdatasyncTest {
		t.Skip("opt-in: go test -run TestE2EFdatasyncs -fdatasyncs ./test/")
	}
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Skip("strace is not installed")
	}
	h := newHotel(t, hotelOptions{})
	g := h.start()
	h.warmUp(1)
	out := filepath.Join(t.TempDir(), "strace.txt")
	st := exec.Command(strace, "-f", "-p", strconv.Itoa(g.cmd.Process.Pid), "-e", "trace=fdatasync", "-c", "-o", out)
	var stderr strings.Builder
	st.Stderr = &stderr
	if err := st.Start(); err != nil {
		t.Fatal(err)
	}
	// strace says so once it is attached (bounded).
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(stderr.String(), "attached"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("strace did not attach: %s", stderr.String())
		}
	}
	posted := 0
	for i := range 100 {
		id := i + 2
		line := ""
		if i%8 < 3 && posted < 38 {
			line = chargeable(id, occupiedRoom(i))
			posted++
		} else {
			start := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC).Add(time.Duration(id) * 97 * time.Second)
			line = ipo(id, start.Format("2006/01/02 15:04:05"), 30, occupiedRoom(i), "205", true)
		}
		h.write([]byte(line))
		g.waitMetric("callgate_records_read_total", float64(i+2), 30*time.Second)
	}
	g.waitMetric(`callgate_postings_total{outcome="posted"}`, float64(posted+1), 60*time.Second)
	st.Process.Signal(syscall.SIGINT)
	st.Wait()
	g.stop()
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	calls := -1
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) >= 5 && f[len(f)-1] == "fdatasync" {
			calls, _ = strconv.Atoi(f[3])
		}
	}
	if calls < 0 {
		t.Fatalf("no fdatasync line in strace's summary:\n%s", b)
	}
	budget := 2*(100-posted) + 4*posted
	t.Logf("%d fdatasyncs for 100 records (%d posted): %.2f a record; the goal's budget %d (2 a record not posted, 4 a record posted)\n%s",
		calls, posted, float64(calls)/100, budget, b)
}
