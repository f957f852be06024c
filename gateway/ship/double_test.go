package ship

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"callgate/gateway"
)

// double is a test double of the central: it decodes batches with
// DecodeBatch and applies them into memory with the central's cursor and
// gap logic (docs/central.md), and injects faults. It is not the central
// (gateway/ship/server.go): it exists to test the property's side.
type double struct {
	t     testing.TB
	token string

	mu      sync.Mutex
	events  map[string][]gateway.Event // by epoch; events[e][i].Seq == i+1
	guests  []gateway.ShipGuestName
	sites   []gateway.SiteSnapshot
	batches int // batches applied
	posts   int // POSTs received
	applied int // events newly stored
	overlap int // events received again and skipped
	// fault, if set, is asked for each POST (n from 1) before it is
	// applied: "" applies it; "500", "cut" (the connection closed without
	// an answer), "slow" (answers after the client gave up), "413", "422",
	// "401" refuse it.
	fault      func(n int, b gateway.ShipBatch) string
	cursorGets int // GET /v1/cursor received
	// moved is when each epoch's cursor last moved: what the central's
	// cursor answer says as its time (callgate.cursor.updated_utc).
	moved map[string]time.Time
}

func newDouble(t testing.TB) *double {
	return &double{t: t, token: "s3cret-token-4711", events: map[string][]gateway.Event{}, moved: map[string]time.Time{}}
}

func (d *double) cursor(epoch string) uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return uint64(len(d.events[epoch]))
}

func (d *double) answer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (d *double) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	token := d.token
	d.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+token {
		d.answer(w, http.StatusUnauthorized, Refusal{Error: "unknown token"})
		return
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == PathCursor:
		epoch := r.URL.Query().Get("epoch")
		d.mu.Lock()
		d.cursorGets++
		at := d.moved[epoch]
		d.mu.Unlock()
		d.answer(w, http.StatusOK, AckOf(gateway.ShipAck{Epoch: epoch, Cursor: d.cursor(epoch), At: at}))
		return
	case r.Method == http.MethodPost && r.URL.Path == PathBatch:
	default:
		http.NotFound(w, r)
		return
	}
	if r.Header.Get("Content-Encoding") != "gzip" {
		d.answer(w, http.StatusBadRequest, Refusal{Error: "not gzip"})
		return
	}
	b, err := DecodeBatch(http.MaxBytesReader(w, r.Body, MaxCompressedBytes))
	switch {
	case errors.Is(err, ErrTooLarge):
		d.answer(w, http.StatusRequestEntityTooLarge, Refusal{Error: err.Error()})
		return
	case errors.Is(err, ErrChain):
		d.answer(w, http.StatusUnprocessableEntity, Refusal{Error: err.Error()})
		return
	case err != nil:
		d.answer(w, http.StatusBadRequest, Refusal{Error: err.Error()})
		return
	}
	d.mu.Lock()
	d.posts++
	n, fault := d.posts, d.fault
	d.mu.Unlock()
	if fault != nil {
		switch f := fault(n, b); f {
		case "":
		case "cut":
			hj, ok := w.(http.Hijacker)
			if !ok {
				d.t.Error("the test server cannot cut a connection")
				return
			}
			c, _, err := hj.Hijack()
			if err == nil {
				c.Close()
			}
			return
		case "slow":
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
			panic(http.ErrAbortHandler) // no answer at all, never an empty 200
		case "500":
			d.answer(w, http.StatusInternalServerError, Refusal{Error: "PostgreSQL is restarting"})
			return
		case "413":
			d.answer(w, http.StatusRequestEntityTooLarge, Refusal{Error: "over the limit"})
			return
		case "422":
			d.answer(w, http.StatusUnprocessableEntity, Refusal{Error: "event 3 does not chain"})
			return
		case "401":
			d.answer(w, http.StatusUnauthorized, Refusal{Error: "unknown token"})
			return
		default:
			d.t.Errorf("unknown fault %q", f)
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	held := d.events[b.Epoch]
	cur := uint64(len(held))
	first := b.Events[0].Seq
	if first > cur+1 {
		d.answer(w, http.StatusConflict, Refusal{Error: "gap", Epoch: b.Epoch, Cursor: cur})
		return
	}
	// The chain continues from what is held: the batch's previous hash is
	// the hash of the event before its first.
	if first > 1 && held[first-2].Hash != b.PrevHash {
		d.answer(w, http.StatusUnprocessableEntity, Refusal{Error: "the batch does not continue the stored chain"})
		return
	}
	for _, e := range b.Events {
		if e.Seq <= cur {
			if held[e.Seq-1].Hash != e.Hash {
				d.answer(w, http.StatusUnprocessableEntity, Refusal{Error: "an overlapping event differs"})
				return
			}
			d.overlap++
			continue
		}
		held = append(held, e)
		d.applied++
	}
	if uint64(len(held)) > cur {
		d.moved[b.Epoch] = time.Now()
	}
	d.events[b.Epoch] = held
	d.batches++
	d.guests = append(d.guests, b.GuestNames...)
	d.sites = append(d.sites, b.Site)
	d.answer(w, http.StatusOK, AckOf(gateway.ShipAck{Epoch: b.Epoch, Cursor: uint64(len(held)), At: d.moved[b.Epoch]}))
}

// holds checks that the double holds exactly the journal's events of
// epoch, each once, in order, byte for byte.
func (d *double) holds(t testing.TB, epoch string, want []gateway.Event) {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	got := d.events[epoch]
	if len(got) != len(want) {
		t.Fatalf("the central holds %d events of epoch %s, the journal %d", len(got), epoch, len(want))
	}
	for i := range want {
		if got[i].Seq != want[i].Seq || got[i].Hash != want[i].Hash || string(got[i].Body) != string(want[i].Body) {
			t.Fatalf("event %d at the central differs from the journal's", i+1)
		}
	}
	if d.applied != len(want) {
		t.Fatalf("the central stored %d events for %d in the journal: a duplicate or a loss", d.applied, len(want))
	}
}

func (d *double) noToken(t testing.TB, s string) {
	t.Helper()
	if strings.Contains(s, d.token) {
		t.Fatalf("the token shows in %q", s)
	}
}
