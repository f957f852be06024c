package test

// The whole chain end to end (issue #16, docs/central.md "Testing"): three
// properties as real `gateway serve` processes, each with its PBX on a
// pseudo-terminal and its FIAS simulator, ship to a real `gateway central
// serve` on a real PostgreSQL through a TCP proxy each (the WAN), while the
// WAN is cut, the central is SIGKILLed mid-batch and restarted, PostgreSQL
// is restarted, a property is SIGKILLed and restarted, a batch is sent
// twice and out of order, and a property starts a new epoch. Then each
// property's journal, read with `gateway journal`, equals what the central
// holds: every event once, the chain verified from the genesis, every
// entry's state, charge and posting.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"callgate/gateway"
	"callgate/gateway/ship"
	"callgate/internal/pgtest"
	"callgate/store"
)

// wan is a TCP proxy between a property and the central: Cut drops every
// connection and refuses new ones until Mend.
type wan struct {
	ln     net.Listener
	target string
	cut    atomic.Bool
	mu     sync.Mutex
	conns  map[net.Conn]bool
}

func startWAN(t *testing.T, target string) *wan {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := &wan{ln: ln, target: target, conns: map[net.Conn]bool{}}
	t.Cleanup(func() { ln.Close(); w.Cut() })
	go w.serve()
	return w
}

func (w *wan) addr() string { return w.ln.Addr().String() }

func (w *wan) serve() {
	for {
		c, err := w.ln.Accept()
		if err != nil {
			return
		}
		if w.cut.Load() {
			c.Close()
			continue
		}
		go w.pipe(c)
	}
}

func (w *wan) pipe(c net.Conn) {
	up, err := net.DialTimeout("tcp", w.target, 5*time.Second)
	if err != nil {
		c.Close()
		return
	}
	if !w.track(c, up) {
		return
	}
	done := make(chan struct{}, 2)
	go func() { io.Copy(up, c); done <- struct{}{} }()
	go func() { io.Copy(c, up); done <- struct{}{} }()
	<-done
	c.Close()
	up.Close()
	w.mu.Lock()
	delete(w.conns, c)
	delete(w.conns, up)
	w.mu.Unlock()
}

func (w *wan) track(cs ...net.Conn) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cut.Load() {
		for _, c := range cs {
			c.Close()
		}
		return false
	}
	for _, c := range cs {
		w.conns[c] = true
	}
	return true
}

// Cut drops every connection and refuses new ones.
func (w *wan) Cut() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.cut.Store(true)
	for c := range w.conns {
		c.Close()
	}
	clear(w.conns)
}

// Mend lets connections through again.
func (w *wan) Mend() { w.cut.Store(false) }

// site is one property of the chain: its hotel, its WAN, its token and the
// running gateway.
type site struct {
	name, token string
	h           *hotel
	w           *wan
	g           *gw
	cs          [][]byte
	next, read  int
	journals    []string // the journal files of its epochs, oldest first
}

func (s *site) write(k int) {
	k = min(k, len(s.cs)-s.next)
	s.read += s.h.writeChunks(s.cs[s.next : s.next+k])
	s.next += k
	s.g.waitMetric("callgate_records_read_total", float64(s.read), 120*time.Second)
}

func (s *site) restart() {
	s.read = 0 // the counter starts again with each process
	s.g = s.h.start()
}

func propertyAdd(t *testing.T, cfg, name string) string {
	t.Helper()
	out, err := exec.Command(gatewayBin, "central", "property", "add", name, "--config", cfg).Output()
	if err != nil {
		t.Fatalf("property add %s: %v", name, err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return lines[len(lines)-1]
}

// TestChainEndToEnd is issue #16's test: 2,000 calls per property (300
// under -short).
func TestChainEndToEnd(t *testing.T) {
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	dsn := pgtest.DB(t)
	cfg := writeCentral(t, dsn)
	names := []string{"north", "south", "east"}
	tokens := map[string]string{}
	for _, n := range names {
		tokens[n] = propertyAdd(t, cfg, n)
	}
	ctrl := startCentral(t, cfg)
	centralAddr := strings.TrimPrefix(ctrl.url, "http://")
	n := calls(2000, 300)

	sites := make([]*site, len(names))
	for i, name := range names {
		s := &site{name: name, token: tokens[name], w: startWAN(t, centralAddr)}
		dir := t.TempDir()
		tok := filepath.Join(dir, "central.token")
		if err := os.WriteFile(tok, []byte(s.token+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		s.h = newHotel(t, hotelOptions{extraConfig: fmt.Sprintf("central: {url: %q, property: %s, token_file: %s, batch_max: 200}\n",
			"http://"+s.w.addr(), name, tok)})
		s.cs = s.h.chunks(s.h.simulator(n, uint64(16+i), 0))
		s.journals = []string{s.h.journal}
		s.g = s.h.start()
		sites[i] = s
	}
	all := func(f func(s *site)) {
		var wg sync.WaitGroup
		for _, s := range sites {
			wg.Add(1)
			go func() { defer wg.Done(); f(s) }()
		}
		wg.Wait()
	}
	quarter := n / 6

	// 1. Calls flow and ship.
	all(func(s *site) { s.write(quarter); s.g.waitShipping(60 * time.Second) })

	// 2. The WAN is cut: postings go on at each property, nothing ships.
	for _, s := range sites {
		s.w.Cut()
	}
	all(func(s *site) {
		s.write(quarter)
		s.g.waitDrained(120 * time.Second)
		s.g.waitMetric("callgate_ship_failing", 1, 60*time.Second)
	})
	var backlog float64
	backlogs, marks := make([]float64, len(sites)), make([]float64, len(sites))
	for i, s := range sites {
		lag, _ := s.g.metric("callgate_ship_lag_events")
		if lag == 0 {
			t.Fatalf("%s: nothing waits to be shipped while the WAN is cut", s.name)
		}
		backlogs[i] = lag
		backlog += lag
		marks[i], _ = s.g.metric("callgate_ship_batches_total")
	}
	mended := time.Now()
	for _, s := range sites {
		s.w.Mend()
	}
	// The time to zero lag, and from each shipper's first batch after its
	// back-off to its zero lag (the shipping rate).
	var mu sync.Mutex
	var caught, shipping time.Duration
	all(func(s *site) {
		i := indexOf(sites, s)
		var first time.Time
		deadline := mended.Add(120 * time.Second)
		for {
			now := time.Now()
			b, err1 := s.g.metric("callgate_ship_batches_total")
			lag, err2 := s.g.metric("callgate_ship_lag_events")
			if err1 == nil && first.IsZero() && b > marks[i] {
				first = now
			}
			if err2 == nil && lag == 0 && !first.IsZero() {
				mu.Lock()
				caught = max(caught, now.Sub(mended))
				shipping += now.Sub(first)
				mu.Unlock()
				return
			}
			if now.After(deadline) {
				t.Errorf("%s: lag %v two minutes after the WAN came back", s.name, lag)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	if t.Failed() {
		t.FailNow()
	}
	all(func(s *site) { s.g.waitShipped(120 * time.Second) })
	t.Logf("WAN back: %.0f events of 3 properties at lag 0 in %v (the shippers' back-off included); shipping from each one's first acknowledged batch to its lag 0, the three together: %.0f events/s (batch_max 200, 10 ms polls)",
		backlog, caught.Round(time.Millisecond), backlog/shipping.Seconds()*float64(len(sites)))

	// 3. The central is SIGKILLed mid-batch and restarted.
	for i, s := range sites {
		marks[i], _ = s.g.metric("callgate_ship_batches_total")
	}
	var wg sync.WaitGroup
	for _, s := range sites {
		wg.Add(1)
		go func() { defer wg.Done(); s.write(quarter) }()
	}
	written := make(chan struct{})
	go func() { wg.Wait(); close(written) }()
	// Kill while a property has shipped a batch of the new calls and has
	// more to ship; once every call is written, a batch shipped is enough.
	deadline := time.Now().Add(60 * time.Second)
	for i := 0; ; i = (i + 1) % len(sites) {
		v, _ := sites[i].g.metric("callgate_ship_batches_total")
		lag, _ := sites[i].g.metric("callgate_ship_lag_events")
		done := false
		select {
		case <-written:
			done = true
		default:
		}
		if v > marks[i] && (lag > 0 || done) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no property shipped a batch within 60 s of new calls")
		}
		time.Sleep(2 * time.Millisecond)
	}
	ctrl.kill(syscall.SIGKILL)
	<-written
	// Every shipper finds the central gone (a few more calls each, so
	// that an idle one has something to send) before it comes back.
	all(func(s *site) { s.write(5); s.g.waitMetric("callgate_ship_failing", 1, 60*time.Second) })
	ctrl = startCentral(t, cfg)

	// 4. PostgreSQL is restarted while batches flow.
	for _, s := range sites {
		wg.Add(1)
		go func() { defer wg.Done(); s.write(quarter / 2) }()
	}
	if err := pgtest.Shared(t).Restart(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()

	// 5. A property is SIGKILLed while it ships, and restarted.
	south := sites[1]
	mark, _ := south.g.metric("callgate_ship_batches_total")
	south.write(quarter / 2)
	south.g.waitMetric("callgate_ship_batches_total", mark+1, 60*time.Second) // shipping is under way
	south.g.kill()
	south.restart()

	// 6. Batches twice and out of order: north's WAN is cut while calls
	// post, north stops, and the test ships batches of its journal with
	// its token, ahead of the central's cursor, twice, late after early.
	// North then starts with its own cursor behind the central's.
	all(func(s *site) { s.g.waitDrained(120 * time.Second); s.g.waitShipped(120 * time.Second) })
	north := sites[0]
	north.w.Cut()
	north.write(quarter / 2)
	north.g.waitDrained(120 * time.Second)
	north.g.stop()
	replay(t, ctrl.url, north)
	north.w.Mend()
	north.restart()

	// 7. A new epoch: east stops, its journal is moved away, it starts on
	// a fresh one.
	east := sites[2]
	east.g.stop()
	old := east.h.journal + ".old"
	if err := os.Rename(east.h.journal, old); err != nil {
		t.Fatal(err)
	}
	east.journals = []string{old, east.h.journal}
	east.restart()

	// The rest of the calls, then everything drains and ships.
	all(func(s *site) { s.write(len(s.cs)) })
	all(func(s *site) { s.g.waitDrained(120 * time.Second); s.g.waitShipped(120 * time.Second) })
	all(func(s *site) { s.g.stop() })

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, s := range sites {
		var entries, revenue int64
		for _, jf := range s.journals {
			e, r := compareEpoch(t, ctx, conn, s, jf)
			entries += e
			revenue += r
		}
		var rows, sum int64
		if err := conn.QueryRow(ctx, `SELECT count(*), COALESCE(sum(total_minor) FILTER (WHERE state = 'posted'), 0)
			FROM callgate.calls WHERE property = $1`, s.name).Scan(&rows, &sum); err != nil {
			t.Fatal(err)
		}
		if rows != entries || sum != revenue {
			t.Errorf("%s: callgate.calls holds %d rows and %d posted minor units; the journals %d entries and %d", s.name, rows, sum, entries, revenue)
		}
		t.Logf("%s: %d entries over %d epoch(s), %d minor units posted, equal at the central", s.name, entries, len(s.journals), revenue)
	}
}

// replay sends north's journal batches that the central does not hold yet,
// as its shipper would but out of order and twice: a gap is refused with the
// cursor, a batch twice is taken once, an earlier batch after a later one
// and events held long ago change nothing (the final comparison proves it);
// an unknown token is refused.
func replay(t *testing.T, url string, s *site) {
	t.Helper()
	j, err := store.Open(s.h.journal, store.Options{ReadOnly: true, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	in, _ := j.Info(ctx)
	ack, err := j.ShipCursor(ctx)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := j.Events(ctx, gateway.EventFilter{})
	j.Close()
	if err != nil {
		t.Fatal(err)
	}
	last := uint64(len(evs))
	if last < 300 || in.LastSeq != last {
		t.Fatalf("north's journal holds %d events (last %d): too few to replay", len(evs), in.LastSeq)
	}
	batch := func(from, to uint64) []byte {
		var prev [32]byte // event 1 chains from the genesis, which a batch does not carry
		if from > 1 {
			prev = evs[from-2].Hash
		}
		b, err := ship.EncodeBatch(gateway.ShipBatch{Epoch: in.Epoch, Events: evs[from-1 : to], PrevHash: prev})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// The central holds up to cur (north shipped everything before the
	// cut); the journal k*3 and more beyond.
	cur := ack.Cursor
	k := (last - cur) / 3
	if k < 10 {
		t.Fatalf("north wrote %d events while its WAN was cut: too few to replay", last-cur)
	}
	for _, step := range []struct {
		what     string
		from, to uint64
		status   int
		cursor   uint64
	}{
		{"a batch ahead of the cursor (a gap)", cur + k + 1, cur + 2*k, http.StatusConflict, cur},
		{"the batch from the cursor", cur + 1, cur + k, http.StatusOK, cur + k},
		{"the same batch again", cur + 1, cur + k, http.StatusOK, cur + k},
		{"the later batch, now in order", cur + k + 1, cur + 2*k, http.StatusOK, cur + 2*k},
		{"the earlier batch after it", cur + 1, cur + k, http.StatusOK, cur + 2*k},
		{"events held long ago", 101, 200, http.StatusOK, cur + 2*k},
	} {
		st, got, err := shipTo(ctx, url, s.token, batch(step.from, step.to))
		if err != nil || st != step.status || got != step.cursor {
			t.Fatalf("%s, events %d-%d: status %d, cursor %d, %v; want %d and the cursor %d", step.what, step.from, step.to, st, got, err, step.status, step.cursor)
		}
	}
	// A token the central does not know writes nothing (the token names
	// the stream: no token writes another property's).
	st, _, err := shipTo(ctx, url, "cgp_not-a-token-of-ours", batch(1, 100))
	if err != nil || st != http.StatusUnauthorized {
		t.Fatalf("north's events with an unknown token: status %d, %v; want 401", st, err)
	}
}

// journalLines runs `gateway journal ARGS --journal FILE --config CFG` and
// returns its JSON lines.
func journalLines(t *testing.T, s *site, file string, args ...string) [][]byte {
	t.Helper()
	args = append(append([]string{"journal"}, args...), "--journal", file, "--config", s.h.cfg)
	out, err := exec.Command(gatewayBin, args...).Output()
	if err != nil {
		t.Fatalf("gateway %s: %v", strings.Join(args, " "), err)
	}
	var lines [][]byte
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, append([]byte(nil), sc.Bytes()...))
	}
	return lines
}

// compareEpoch compares one journal (one epoch) of a property with the
// central: events, chain, entries. It returns the entries and the posted
// minor units.
func compareEpoch(t *testing.T, ctx context.Context, conn *pgx.Conn, s *site, file string) (int64, int64) {
	t.Helper()
	type event struct {
		Seq   uint64 `json:"seq"`
		Epoch string `json:"epoch"`
		Hash  string `json:"hash"`
	}
	var evs []event
	for _, l := range journalLines(t, s, file, "events") {
		var e event
		if err := json.Unmarshal(l, &e); err != nil {
			t.Fatalf("%s: an event line: %v", s.name, err)
		}
		evs = append(evs, e)
	}
	if len(evs) == 0 {
		t.Fatalf("%s: %s holds no events", s.name, file)
	}
	epoch := evs[0].Epoch

	// Events: each once, the same hash, the chain from the genesis.
	rows, err := conn.Query(ctx, "SELECT seq, hash, body::text FROM callgate.event WHERE property = $1 AND epoch = $2 ORDER BY seq, time_utc", s.name, epoch)
	if err != nil {
		t.Fatal(err)
	}
	prev := gateway.JournalGenesis(epoch)
	var i int
	for rows.Next() {
		var seq uint64
		var h []byte
		var body string
		if err := rows.Scan(&seq, &h, &body); err != nil {
			t.Fatal(err)
		}
		if i >= len(evs) || seq != evs[i].Seq {
			rows.Close()
			t.Fatalf("%s epoch %s: the central's event %d (row %d) is not the journal's next (lost or duplicated)", s.name, epoch, seq, i+1)
		}
		if hex.EncodeToString(h) != evs[i].Hash {
			rows.Close()
			t.Fatalf("%s epoch %s: event %d's hash differs from the journal's", s.name, epoch, seq)
		}
		sum := sha256.Sum256(append(prev[:], body...))
		if !bytes.Equal(sum[:], h) {
			rows.Close()
			t.Fatalf("%s epoch %s: the stored chain breaks at event %d", s.name, epoch, seq)
		}
		prev = sum
		i++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if i != len(evs) {
		t.Fatalf("%s epoch %s: the central holds %d events of the journal's %d", s.name, epoch, i, len(evs))
	}

	// Entries: state, charge, posting, room, one row each.
	type entry struct {
		ID     uint64          `json:"id"`
		State  string          `json:"state"`
		Room   *string         `json:"room"`
		Post   *uint32         `json:"posting"`
		Charge *gateway.Charge `json:"charge"`
	}
	want, all := map[uint64]entry{}, map[uint64]entry{}
	var revenue int64
	for _, l := range journalLines(t, s, file) {
		var e entry
		if err := json.Unmarshal(l, &e); err != nil {
			t.Fatalf("%s: an entry line: %v", s.name, err)
		}
		want[e.ID], all[e.ID] = e, e
		if e.State == string(gateway.StatePosted) && e.Charge != nil {
			revenue += e.Charge.TotalMinor
		}
	}
	crow, err := conn.Query(ctx, "SELECT entry, state, room, posting, total_minor FROM callgate.call_state WHERE property = $1 AND epoch = $2", s.name, epoch)
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for crow.Next() {
		var id uint64
		var state string
		var room *string
		var posting, total *int64
		if err := crow.Scan(&id, &state, &room, &posting, &total); err != nil {
			t.Fatal(err)
		}
		got++
		e, ok := want[id]
		if !ok {
			t.Errorf("%s epoch %s: entry %d at the central is not in the journal", s.name, epoch, id)
			continue
		}
		delete(want, id)
		var wp, wt *int64
		if e.Post != nil {
			v := int64(*e.Post)
			wp = &v
		}
		if e.Charge != nil {
			wt = &e.Charge.TotalMinor
		}
		if state != e.State || !eqp(room, e.Room) || !eqp(posting, wp) || !eqp(total, wt) {
			t.Errorf("%s epoch %s entry %d: the central has %s room %v posting %v total %v; the journal %s room %v posting %v total %v",
				s.name, epoch, id, state, deref(room), deref(posting), deref(total), e.State, deref(e.Room), deref(wp), deref(wt))
		}
	}
	if err := crow.Err(); err != nil {
		t.Fatal(err)
	}
	if len(want) > 0 {
		t.Errorf("%s epoch %s: %d entries of the journal are not at the central", s.name, epoch, len(want))
	}

	// Postings: each entry's posting number at the central, with its
	// amount; none for an entry the journal has none for.
	prow, err := conn.Query(ctx, "SELECT entry, posting, total_minor FROM callgate.posting WHERE property = $1 AND epoch = $2", s.name, epoch)
	if err != nil {
		t.Fatal(err)
	}
	type key struct{ entry, posting uint64 }
	held := map[key]*int64{}
	for prow.Next() {
		var k key
		var total *int64
		if err := prow.Scan(&k.entry, &k.posting, &total); err != nil {
			t.Fatal(err)
		}
		if _, ok := all[k.entry]; !ok {
			t.Errorf("%s epoch %s: a posting %d of entry %d at the central, which is not in the journal", s.name, epoch, k.posting, k.entry)
		}
		held[k] = total
	}
	if err := prow.Err(); err != nil {
		t.Fatal(err)
	}
	posted := 0
	for id, e := range all {
		if e.Post == nil {
			continue
		}
		posted++
		total, ok := held[key{id, uint64(*e.Post)}]
		if !ok {
			t.Errorf("%s epoch %s: entry %d's posting %d is not at the central", s.name, epoch, id, *e.Post)
		} else if e.Charge != nil && (total == nil || *total != e.Charge.TotalMinor) {
			t.Errorf("%s epoch %s: posting %d of entry %d is %v at the central, %d in the journal", s.name, epoch, *e.Post, id, deref(total), e.Charge.TotalMinor)
		}
	}
	if posted == 0 {
		t.Errorf("%s epoch %s: no posting in the journal: the test posted nothing", s.name, epoch)
	}
	return int64(got), revenue
}

func eqp[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func indexOf(sites []*site, s *site) int {
	for i := range sites {
		if sites[i] == s {
			return i
		}
	}
	return -1
}
