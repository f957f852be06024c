package store_test

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"callgate/gateway"
	"callgate/store"
)

// Damaged files (issue 14, D8): bbolt panics on a damaged branch page, a
// bad element count, a file cut short or flipped bits. The journal turns
// each into a sentence naming the fix: Open refuses the file, or the
// transaction that reaches the damage fails (and the journal takes no more
// writes); nothing panics. The copies are damaged here, from a journal
// made here.

// damagedJournal makes a closed journal of a few thousand entries with
// branch pages in its large buckets, and returns its path.
func damagedJournal(t *testing.T) string {
	t.Helper()
	e := newEnv(t, store.Options{})
	recs := make([]gateway.ImportRecord, 0, 3000)
	for n := range cap(recs) {
		recs = append(recs, importRecord(n))
	}
	if _, err := e.j.Import(ctx, recs); err != nil {
		t.Fatal(err)
	}
	for n := range 20 {
		e.to(n, gateway.StateQueued)
	}
	if err := e.j.Close(); err != nil {
		t.Fatal(err)
	}
	e.j = nil
	return e.path
}

// livePages returns the ids of the pages of each type ("branch", "leaf")
// that the file uses (not the freed ones), and the page size.
func livePages(t *testing.T, path string) (map[string][]int, int) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, PreLoadFreelist: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	pages := map[string][]int{}
	db.View(func(tx *bolt.Tx) error {
		for id := 2; ; id++ {
			p, err := tx.Page(id)
			if err != nil || p == nil {
				return nil
			}
			pages[p.Type] = append(pages[p.Type], id)
		}
	})
	return pages, db.Info().PageSize
}

// damages are the ways the copies are damaged.
func damages(t *testing.T, path string) map[string]func([]byte) []byte {
	pages, size := livePages(t, path)
	if len(pages["branch"]) == 0 || len(pages["leaf"]) < 10 {
		t.Fatalf("the journal has %d branch and %d leaf pages: too few to damage", len(pages["branch"]), len(pages["leaf"]))
	}
	d := map[string]func([]byte) []byte{
		// Every element of every live branch page points elsewhere.
		"damaged branch pages": func(b []byte) []byte {
			for _, id := range pages["branch"] {
				p := b[id*size : (id+1)*size]
				n := int(binary.LittleEndian.Uint16(p[10:]))
				for i := 16; i < 16+16*n && i < size; i++ {
					p[i] ^= 0x5a
				}
			}
			return b
		},
		// A leaf in the middle of the file claims 65,535 elements.
		"a bad leaf count": func(b []byte) []byte {
			id := pages["leaf"][len(pages["leaf"])/2]
			binary.LittleEndian.PutUint16(b[id*size+10:], 0xffff)
			return b
		},
		"cut to half": func(b []byte) []byte { return b[:len(b)/2] },
		// The keys of every live branch page point far past the file while
		// the child pages stay right: a cursor walk never reads branch keys,
		// but bbolt's tx.Check compares them in a goroutine of its own,
		// where the fault would end the process (seen once in CI).
		"branch keys outside the file": func(b []byte) []byte {
			for _, id := range pages["branch"] {
				p := b[id*size : (id+1)*size]
				n := int(binary.LittleEndian.Uint16(p[10:]))
				for i := 0; i < n && 16+16*i+4 <= size; i++ {
					binary.LittleEndian.PutUint32(p[16+16*i:], 0x7ffffff0)
				}
			}
			return b
		},
	}
	for seed := range uint64(8) {
		d[fmt.Sprintf("random flips, seed %d", seed)] = func(b []byte) []byte {
			r := rand.New(rand.NewPCG(seed, 14))
			for range 64 {
				i := 2*size + r.IntN(len(b)-2*size) // past the meta pages
				b[i] ^= byte(1 << r.IntN(8))
			}
			return b
		}
	}
	return d
}

// sentence checks that err names the damage and the fix.
func sentence(t *testing.T, what string, err error) {
	t.Helper()
	msg := err.Error()
	if !strings.Contains(msg, "restore") || strings.Contains(msg, "goroutine ") || strings.Contains(msg, ".go:") {
		t.Errorf("%s: %q is not a sentence naming the fix", what, msg)
	}
}

func TestDamagedJournals(t *testing.T) {
	orig := damagedJournal(t)
	good, err := os.ReadFile(orig)
	if err != nil {
		t.Fatal(err)
	}
	for name, damage := range damages(t, orig) {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "journal.db")
			if err := os.WriteFile(path, damage(append([]byte(nil), good...)), 0o600); err != nil {
				t.Fatal(err)
			}
			deterministic := !strings.HasPrefix(name, "random")
			// gateway journal verify: a sentence, from Open or from Verify.
			if j, err := store.Open(path, store.Options{ReadOnly: true}); err != nil {
				sentence(t, "verify's open", err)
			} else {
				rep, err := j.Verify(ctx, t.TempDir())
				j.Close()
				switch {
				case err != nil:
					sentence(t, "verify", err)
				case deterministic && rep.OK():
					t.Error("verify found nothing wrong")
				}
			}
			// Reading commands, and serve on a file too large to walk whole
			// at start: every use of the file is an answer, never a panic.
			if j, err := store.Open(path, store.Options{ReadOnly: true}); err == nil {
				use(t, j, true)
				j.Close()
			}
			restore := store.SetFullCheckMax(0)
			if j, err := store.Open(path, store.Options{}); err == nil {
				use(t, j, false)
				j.Close()
			}
			restore()
			// gateway serve: refuses the file at start, or every use of
			// it is an answer, never a panic.
			j, err := store.Open(path, store.Options{})
			if err != nil {
				if gateway.KindOf(err) != gateway.KindInternal {
					t.Errorf("open: kind %s", gateway.KindOf(err))
				}
				sentence(t, "open", err)
				return
			}
			defer j.Close()
			if deterministic && name != "a bad leaf count" {
				t.Error("a journal damaged at its edges was opened for writing")
			}
			use(t, j, false)
		})
	}
}

// use reads and writes a journal the way serve does: no call may panic;
// once one fails on the damage, writes fail with a sentence.
func use(t *testing.T, j *store.Journal, readOnly bool) {
	t.Helper()
	failed := false
	// A damaged record or event is an error of its own (decoding), a
	// damaged page is bbolt's: the journal is then damaged, says how to
	// fix it, and takes no more writes.
	check := func(what string, err error) {
		if err == nil {
			return
		}
		if msg := err.Error(); strings.Contains(msg, "goroutine ") || strings.Contains(msg, ".go:") {
			t.Errorf("%s: %q carries a stack trace", what, msg)
		}
		if strings.Contains(err.Error(), "verify names the damage") {
			failed = true
			sentence(t, what, err)
		}
	}
	for n := range 30 {
		if readOnly {
			break
		}
		c, err := j.Capture(ctx, record(10_000+n))
		check("capture", err)
		if err == nil {
			_, err = j.MoveAll(ctx, []gateway.Move{{ID: c.ID, Change: gateway.Change{To: gateway.StateRated, Call: call(n), Charge: charge(136)}},
				{ID: c.ID, Change: gateway.Change{To: gateway.StateQueued, Room: "415"}}})
			check("move", err)
		}
	}
	_, err := j.Counts(ctx)
	check("counts", err)
	for _, s := range gateway.States {
		_, err := j.Entries(ctx, gateway.Filter{States: []gateway.State{s}})
		check("entries", err)
	}
	check("each page", j.EachPage(ctx, gateway.Filter{Limit: 500}, func([]gateway.Entry) error { return nil }))
	_, err = j.Events(ctx, gateway.EventFilter{})
	check("events", err)
	_, err = j.Guests(ctx, "")
	check("guests", err)
	if failed && !readOnly {
		_, err := j.Capture(ctx, record(99_999))
		if err == nil {
			t.Error("a damaged journal took a write after it failed")
		}
	}
}
