package store_test

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/store"
)

var crashN = flag.Int("crash.n", 20, "how many times TestCrash kills the writing process")

const crashEnv = "CALLGATE_CRASH_JOURNAL"

// crashPath is the order of states the crash child takes its entries through.
var crashPath = []gateway.State{gateway.StateCaptured, gateway.StateRated, gateway.StateQueued, gateway.StateSent, gateway.StatePosted}

// TestCrashChild is the writer TestCrash kills: run alone it skips. It
// journals records and takes them to posted, and after each commit prints
// "entry ID N STATE POSTING": the entry, the record number, the state it
// committed and its posting number. Now and then it imports a batch.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("the writer of TestCrash; runs only under it")
	}
	j, err := store.Open(path, store.Options{Timeout: 5 * time.Second})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	in, _ := j.Info(ctx)
	say := func(id gateway.EntryID, n int, s gateway.State, posting uint32) {
		fmt.Printf("entry %d %d %s %d\n", id, n, s, posting)
	}
	fmt.Println("ready")
	for n := int(in.Entries) * 10; ; n++ {
		if n%7 == 0 {
			batch := make([]gateway.ImportRecord, 25)
			for i := range batch {
				m := 1_000_000 + n*100 + i
				batch[i] = gateway.ImportRecord{Raw: record(m), Call: call(m), Charge: charge(7), Room: "415"}
			}
			res, err := j.Import(ctx, batch)
			if err != nil {
				fmt.Println("error", err)
				os.Exit(1)
			}
			for i, id := range res.IDs {
				say(id, 1_000_000+n*100+i, gateway.StateImported, 0)
			}
		}
		c, err := j.Capture(ctx, record(n))
		if err != nil || c.Replay {
			fmt.Println("error", err, c.Replay)
			os.Exit(1)
		}
		say(c.ID, n, gateway.StateCaptured, 0)
		for _, ch := range []gateway.Change{
			{To: gateway.StateRated, Call: call(n), Charge: charge(int64(100 + n))},
			{To: gateway.StateQueued, Room: "415"},
			{To: gateway.StateSent},
			{To: gateway.StatePosted, Answer: &gateway.Answer{Code: "OK"}},
		} {
			en, err := j.Move(ctx, c.ID, ch)
			if err != nil {
				fmt.Println("error", err)
				os.Exit(1)
			}
			say(en.ID, n, en.State, en.Posting)
		}
	}
}

type reported struct {
	n       int
	state   gateway.State
	posting uint32
}

// TestCrash kills a writing process with SIGKILL after a random number of
// its commits (while it goes on writing), at least 20 times (more with
// -crash.n), and checks after each kill that the journal opens, that every entry the writer reported committed is there with its
// raw record intact and in the state reported or a later one, and that
// Verify finds nothing wrong.
func TestCrash(t *testing.T) {
	if os.Getenv(crashEnv) != "" {
		t.Skip("inside the child")
	}
	n := max(*crashN, 20)
	seed := uint64(time.Now().UnixNano())
	t.Logf("kills: %d, seed %d", n, seed)
	rng := rand.New(rand.NewPCG(seed, seed>>7))
	path := filepath.Join(t.TempDir(), "journal.db")
	seen := map[gateway.EntryID]reported{}
	kills := 0
	for round := range n {
		lines := runAndKill(t, path, rng.IntN(120))
		kills++
		for _, l := range lines {
			f := strings.Fields(l)
			if f[0] == "error" {
				t.Fatalf("round %d: the writer failed: %s", round, l)
			}
			if f[0] != "entry" || len(f) != 5 {
				continue
			}
			id, _ := strconv.ParseUint(f[1], 10, 64)
			num, _ := strconv.Atoi(f[2])
			p, _ := strconv.ParseUint(f[4], 10, 32)
			seen[gateway.EntryID(id)] = reported{num, gateway.State(f[3]), uint32(p)}
		}
		checkAfterCrash(t, path, seen)
	}
	if kills < 20 || len(seen) == 0 {
		t.Errorf("%d kills, %d entries reported", kills, len(seen))
	}
	t.Logf("%d kills, %d entries reported committed, all present", kills, len(seen))
}

// runAndKill starts the writer, lets it report k commits after it is
// ready, kills it with SIGKILL and returns what it printed. The writer goes
// on writing while the kill is on its way: it dies at some moment of a
// commit.
func runAndKill(t *testing.T, path string, k int) []string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	var lines []string
	reached := make(chan struct{}) // ready, and k commits reported
	done := make(chan struct{})
	go func() {
		defer close(done)
		ready, commits := false, 0
		for sc.Scan() {
			switch {
			case sc.Text() == "ready":
				ready = true
			case ready && strings.HasPrefix(sc.Text(), "entry "):
				commits++
			}
			if ready && commits == k {
				close(reached)
				ready = false // closed once
			}
			lines = append(lines, sc.Text())
		}
	}()
	select {
	case <-reached:
	case <-done:
		cmd.Wait()
		t.Fatalf("the writer ended before it reported %d commits: %q", k, lines)
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("the writer did not report %d commits", k)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-done
	cmd.Wait()
	return lines
}

func checkAfterCrash(t *testing.T, path string, seen map[gateway.EntryID]reported) {
	t.Helper()
	j, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatalf("the journal does not open after a kill: %v", err)
	}
	defer j.Close()
	for id, r := range seen {
		en, err := j.Entry(ctx, id)
		if err != nil {
			t.Fatalf("entry %d, reported committed as %s, is gone: %v", id, r.state, err)
		}
		raw := record(r.n).Data
		if string(en.Raw.Data) != string(raw) {
			t.Fatalf("entry %d: raw record %q, want %q", id, en.Raw.Data, raw)
		}
		if r.state == gateway.StateImported {
			if en.State != gateway.StateImported || en.Call == nil || en.Charge == nil {
				t.Fatalf("imported entry %d: %+v", id, en)
			}
			continue
		}
		got, want := slices.Index(crashPath, en.State), slices.Index(crashPath, r.state)
		if got < want {
			t.Fatalf("entry %d is %s, but %s was reported committed", id, en.State, r.state)
		}
		if got >= 1 && (en.Call == nil || en.Charge == nil || en.Charge.TotalMinor != int64(100+r.n)) {
			t.Fatalf("entry %d is %s without its call and charge: %+v", id, en.State, en)
		}
		if r.posting != 0 && en.Posting != r.posting {
			t.Fatalf("entry %d: posting %d, reported %d", id, en.Posting, r.posting)
		}
		if len(en.History) != got+1 {
			t.Fatalf("entry %d is %s with %d history lines", id, en.State, len(en.History))
		}
	}
	rep, err := j.Verify(ctx, filepath.Dir(path))
	if err != nil || !rep.OK() {
		t.Fatalf("verify after a kill: %v %v", rep.Problems, err)
	}
}
