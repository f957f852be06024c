package ship

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"callgate/gateway"
)

// testEpoch is the epoch of the test batches: event 1 chains from its
// genesis.
const testEpoch = "5f0c2a4e-0000-4000-8000-000000000001"

// testEpoch2 is the epoch a replaced journal file of testEpoch started.
const testEpoch2 = "5f0c2a4e-0000-4000-8000-000000000002"

// testEpoch3 is the epoch a copy of testEpoch2's file started.
const testEpoch3 = "5f0c2a4e-0000-4000-8000-000000000003"

var update = flag.Bool("update", false, "rewrite testdata/*.json from the cases in wire_test.go")

// events makes n chained events from seq first on, each with a body in the
// journal's stored form, as Queries.Events returns them.
func events(first uint64, n int, prev [32]byte) []gateway.Event {
	if first == 1 {
		prev = gateway.JournalGenesis(testEpoch)
	}
	out := make([]gateway.Event, n)
	at := time.Date(2026, 12, 6, 2, 0, 0, 0, time.UTC)
	for i := range out {
		seq := first + uint64(i)
		body := fmt.Sprintf(`{"seq":%d,"entry":%d,"kind":"captured","time":"2026-12-05T21:00:%02d","time_utc":"%s","data":{"raw":"N,123,%d"}}`,
			seq, seq, i%60, at.Add(time.Duration(i)*time.Second).Format(time.RFC3339Nano), seq)
		h := chain(prev, []byte(body))
		out[i] = gateway.Event{Seq: seq, Entry: gateway.EntryID(seq), Kind: gateway.EventCaptured, Time: at.Add(time.Duration(i) * time.Second),
			Hash: h, Body: json.RawMessage(body)}
		prev = h
	}
	return out
}

// guestEvents makes events 1 to 3 of testEpoch: a captured record, an old
// guest event holding the guest's personal data (as the journal wrote them
// before schema 4) and another captured record.
func guestEvents() []gateway.Event {
	evs := events(1, 3, [32]byte{})
	body := `{"seq":2,"kind":"guest","time":"2026-12-05T21:00:01","time_utc":"2026-12-06T02:00:01Z","data":{"room":"101","reservation":"R1","event":"check-in","shared":true,"language":"Klingon","vip":"Platinum7","group":"Orion Syndicate","arrival":"2026-12-05","no_post":true,"class_of_service":"cos-9","fields":["RN","G#","GS","GL","GV","GG","GA","NP","CS"],"pms_time":"2026-12-05T21:00:00"}}`
	evs[1] = gateway.Event{Seq: 2, Kind: gateway.EventGuest, Time: time.Date(2026, 12, 6, 2, 0, 1, 0, time.UTC), Local: time.Date(2026, 12, 5, 21, 0, 1, 0, time.UTC),
		Data: json.RawMessage(body[strings.Index(body, `"data":`)+7 : len(body)-1]), Hash: chain(evs[0].Hash, []byte(body)), Body: json.RawMessage(body)}
	// Event 3 chains from the guest event's hash.
	evs[2].Hash = chain(evs[1].Hash, evs[2].Body)
	return evs
}

// TestSealedRoundTrip: an old guest event sealed (Seal) goes without its
// body and its personal data, keeps its hash, stay and envelope, and the
// batch still checks: the next event chains from the sealed one's hash.
func TestSealedRoundTrip(t *testing.T) {
	evs := guestEvents()
	sealed, ok := Seal(evs[1])
	if !ok || !sealed.Sealed || sealed.Body != nil || sealed.Hash != evs[1].Hash {
		t.Fatalf("Seal: %+v %v", sealed, ok)
	}
	if _, ok := Seal(evs[0]); ok {
		t.Error("a captured event was sealed")
	}
	stay := gateway.Event{Seq: 9, Kind: gateway.EventGuest, Data: json.RawMessage(`{"room":"101","event":"check-out"}`)}
	if _, ok := Seal(stay); ok {
		t.Error("a guest event without personal data was sealed")
	}
	evs[1] = sealed
	data, err := EncodeBatch(gateway.ShipBatch{Epoch: testEpoch, Events: evs, SealableUpto: 2, HasSealable: true})
	if err != nil {
		t.Fatal(err)
	}
	plain := gunzip(t, data)
	for _, v := range []string{"Klingon", "Platinum7", "Orion", "no_post", "cos-9"} {
		if bytes.Contains(plain, []byte(v)) {
			t.Errorf("the sealed batch holds %q: %s", v, plain)
		}
	}
	out, err := DecodeBatch(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if !out.HasSealable || out.SealableUpto != 2 {
		t.Errorf("sealable_upto came back as %d (%v), want 2", out.SealableUpto, out.HasSealable)
	}
	e := out.Events[1]
	if !e.Sealed || e.Body != nil || e.Hash != evs[1].Hash || e.Seq != 2 || e.Kind != gateway.EventGuest || !e.Time.Equal(evs[1].Time) || !e.Local.Equal(evs[1].Local) {
		t.Fatalf("the sealed event came back as %+v", e)
	}
	if want := `{"room":"101","reservation":"R1","event":"check-in","shared":true,"arrival":"2026-12-05","fields":["RN","G#","GS","GA"],"pms_time":"2026-12-05T21:00:00"}`; string(e.Data) != want {
		t.Errorf("sealed data\n%s\nwant\n%s", e.Data, want)
	}
	if out.Events[2].Sealed || !bytes.Equal(out.Events[2].Body, evs[2].Body) {
		t.Errorf("the event after the sealed one: %+v", out.Events[2])
	}
	// Unsealed, the same events ship whole and check too.
	if _, err := DecodeBatch(bytes.NewReader(mustEncode(t, gateway.ShipBatch{Epoch: testEpoch, Events: guestEvents()}))); err != nil {
		t.Errorf("the unsealed batch: %v", err)
	}
}

func mustEncode(t *testing.T, b gateway.ShipBatch) []byte {
	t.Helper()
	data, err := EncodeBatch(b)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func gunzip(t *testing.T, data []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestBatchRoundTrip(t *testing.T) {
	evs := events(1, 50, [32]byte{})
	in := gateway.ShipBatch{Epoch: testEpoch, Events: evs,
		Site:       gateway.SiteSnapshot{Name: "Grand Hotel", Timezone: "Europe/Vienna", At: time.Date(2026, 12, 6, 2, 0, 0, 0, time.UTC), Link: gateway.LinkAlive, Queued: 3, InDoubt: 1, Version: "v1", Head: 77},
		GuestNames: []gateway.ShipGuestName{{Room: "101", Reservation: "77", LastName: "Muster", Language: "D", VIP: "2", Group: "G", NoPost: true, ClassOfService: "3"}}}
	data, err := EncodeBatch(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := DecodeBatch(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if out.Epoch != in.Epoch || len(out.Events) != 50 || out.Site != in.Site || len(out.GuestNames) != 1 || out.GuestNames[0] != in.GuestNames[0] {
		t.Fatalf("round trip changed the batch: %+v", out)
	}
	for i, e := range out.Events {
		if e.Seq != evs[i].Seq || e.Hash != evs[i].Hash || !bytes.Equal(e.Body, evs[i].Body) || e.Kind != gateway.EventCaptured || !e.Time.Equal(evs[i].Time) {
			t.Fatalf("event %d changed: %+v", i, e)
		}
		if string(e.Data) != fmt.Sprintf(`{"raw":"N,123,%d"}`, e.Seq) {
			t.Fatalf("event %d data %s", i, e.Data)
		}
	}
	// A replaced journal file's epoch names its chain's epoch and the one
	// it follows, and chains from the first epoch's genesis.
	re := gateway.ShipBatch{Epoch: testEpoch2, ChainEpoch: testEpoch, Follows: testEpoch, FollowsEntry: 7, Events: evs[:3]}
	data, err = EncodeBatch(re)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := DecodeBatch(bytes.NewReader(data)); err != nil || out.ChainEpoch != testEpoch || out.Follows != testEpoch || out.FollowsEntry != 7 {
		t.Fatalf("a new epoch's batch: %+v %v", out, err)
	}
	// An epoch that descends from two names both, the followed one last.
	anc := []gateway.EpochAncestor{{Epoch: testEpoch, Entry: 9, Seq: 30}, {Epoch: testEpoch2, Entry: 7, Seq: 20}}
	data, err = EncodeBatch(gateway.ShipBatch{Epoch: testEpoch3, ChainEpoch: testEpoch, Follows: testEpoch2, FollowsEntry: 7, Ancestry: anc, Events: evs[:3]})
	if err != nil {
		t.Fatal(err)
	}
	if out, err := DecodeBatch(bytes.NewReader(data)); err != nil || len(out.Ancestry) != 2 || out.Ancestry[0] != anc[0] || out.Ancestry[1] != anc[1] {
		t.Fatalf("an epoch's ancestry: %+v %v", out.Ancestry, err)
	}
	// A batch going on after events 21 to 30, removed by retention.
	data, err = EncodeBatch(gateway.ShipBatch{Epoch: testEpoch2, ChainEpoch: testEpoch, Follows: testEpoch, FollowsEntry: 40, PrunedFrom: 21,
		PrevHash: evs[29].Hash, Events: evs[30:33]})
	if err != nil {
		t.Fatal(err)
	}
	if out, err := DecodeBatch(bytes.NewReader(data)); err != nil || out.PrunedFrom != 21 {
		t.Fatalf("a batch after a pruned run: %+v %v", out.PrunedFrom, err)
	}
	if plain, _ := EncodeBatch(in); bytes.Contains(plain, []byte("pruned_from")) || bytes.Contains(plain, []byte("chain_epoch")) || bytes.Contains(plain, []byte("follows")) || bytes.Contains(plain, []byte("ancestry")) {
		t.Errorf("a first epoch's batch names a chain epoch or one it follows")
	}
	// A batch in the middle of the log chains from the hash before it.
	mid := evs[20:30]
	data, err = EncodeBatch(gateway.ShipBatch{Epoch: in.Epoch, Events: mid, PrevHash: evs[19].Hash})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeBatch(bytes.NewReader(data)); err != nil {
		t.Fatalf("a batch from event 21: %v", err)
	}
	data, _ = EncodeBatch(gateway.ShipBatch{Epoch: in.Epoch, Events: mid, PrevHash: evs[18].Hash})
	if _, err := DecodeBatch(bytes.NewReader(data)); !errors.Is(err, ErrChain) {
		t.Fatalf("a batch naming the wrong previous hash: %v, want ErrChain", err)
	}
}

func TestEncodeBatchRefuses(t *testing.T) {
	if _, err := EncodeBatch(gateway.ShipBatch{Epoch: "e"}); !gateway.IsKind(err, gateway.KindInvalid) {
		t.Errorf("empty batch: %v", err)
	}
	evs := events(1, 2, [32]byte{})
	evs[1].Body = nil
	if _, err := EncodeBatch(gateway.ShipBatch{Epoch: "e", Events: evs}); err == nil {
		t.Error("an event without its body was encoded")
	}
	if _, err := EncodeBatch(gateway.ShipBatch{Epoch: "e", Events: make([]gateway.Event, MaxEvents+1)}); err == nil || !strings.Contains(err.Error(), "batch_max") {
		t.Errorf("too many events: %v", err)
	}
}

// wireCases are the batches in testdata/: name → (the batch as JSON, the
// error DecodeBatch must give: "" for none, else a part of its sentence).
func wireCases() map[string]struct {
	json []byte
	want string
} {
	ok := events(1, 3, [32]byte{})
	w := func(mod func(*wireBatch)) []byte {
		b := wireBatch{V: WireVersion, Epoch: testEpoch, PrevHash: hex.EncodeToString(make([]byte, 32)),
			Site: wireSite{Name: "Grand Hotel", Timezone: "UTC", Link: "alive"}}
		for _, e := range ok {
			b.Events = append(b.Events, wireEvent{Hash: hex.EncodeToString(e.Hash[:]), Event: e.Body})
		}
		mod(&b)
		var out bytes.Buffer
		enc := json.NewEncoder(&out)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(&b) // plain structs
		return out.Bytes()
	}
	type c = struct {
		json []byte
		want string
	}
	// Batches with the sealed guest event of guestEvents.
	sealed := func(mod func(s map[string]any)) []byte {
		evs := guestEvents()
		evs[1], _ = Seal(evs[1])
		return w(func(b *wireBatch) {
			upto := uint64(2) // the guest event was written before schema 4
			b.SealableUpto = &upto
			b.Events = nil
			for _, e := range evs {
				we := wireEvent{Hash: hex.EncodeToString(e.Hash[:]), Event: e.Body}
				if e.Sealed {
					s, _ := encodeSealed(e)
					if mod != nil {
						var m map[string]any
						_ = json.Unmarshal(s, &m)
						mod(m)
						s, _ = json.Marshal(m)
					}
					we = wireEvent{Hash: we.Hash, Sealed: s}
				}
				b.Events = append(b.Events, we)
			}
		})
	}
	return map[string]c{
		"sealed": {sealed(nil), ""},
		"sealed-personal": {sealed(func(m map[string]any) { m["data"].(map[string]any)["vip"] = "Platinum7" }),
			"keeps none of the guest's data"},
		"sealed-fields-personal": {sealed(func(m map[string]any) { m["data"].(map[string]any)["fields"] = []string{"RN", "G#", "GV"} }),
			"keeps none of the guest's data"},
		"sealed-kind":    {sealed(func(m map[string]any) { m["kind"] = "captured" }), "only guest events are sealed"},
		"sealed-state":   {sealed(func(m map[string]any) { m["to"] = "sent" }), "not a sealed event"},
		"sealed-no-data": {sealed(func(m map[string]any) { m["data"] = []int{1} }), "not a JSON object"},
		// Nothing a checked hash covers stands behind a sealed envelope:
		// it names no entry, actor or reason (a guest event has none).
		"sealed-entry":  {sealed(func(m map[string]any) { m["entry"] = 1 }), "names an entry, an actor or a reason"},
		"sealed-actor":  {sealed(func(m map[string]any) { m["actor"] = "mallory" }), "names an entry, an actor or a reason"},
		"sealed-reason": {sealed(func(m map[string]any) { m["reason"] = "hidden" }), "names an entry, an actor or a reason"},
		// Only events written before schema 4 are sealed.
		"sealed-above-sealable": {[]byte(strings.Replace(string(sealed(nil)), `"sealable_upto":2`, `"sealable_upto":1`, 1)), "only those are sealed"},
		"sealed-no-sealable":    {[]byte(strings.Replace(string(sealed(nil)), `,"sealable_upto":2`, ``, 1)), "only those are sealed"},
		"v1-sealable":           {[]byte(strings.Replace(string(sealed(nil)), `"v":2`, `"v":1`, 1)), "which version 2 added"},
		// A shipper of wire version 1 (before sealed events) is still read.
		"v1": {w(func(b *wireBatch) { b.V = 1 }), ""},
		// Version 1 had no epochs that follow others.
		"v1-follows": {w(func(b *wireBatch) { b.V, b.Follows, b.FollowsEntry = 1, "5f0c2a4e-0000-4000-8000-000000000002", 1 }), "which version 2 added"},
		"sealed-and-body": {w(func(b *wireBatch) { b.Events[1].Sealed = json.RawMessage(`{"seq":2}`) }),
			"both a body and a sealed event"},
		// The event after a sealed one still chains from its hash.
		"sealed-tampered-next": {[]byte(strings.Replace(string(sealed(nil)), "N,123,3", "N,999,3", 1)), "does not chain"},
		"ok":                   {w(func(*wireBatch) {}), ""},
		"version":              {w(func(b *wireBatch) { b.V = 3 }), "wire version 3 and this central reads versions 1 to 2: upgrade the central first"},
		"no-epoch":             {w(func(b *wireBatch) { b.Epoch = "" }), "epoch"},
		"no-events":            {w(func(b *wireBatch) { b.Events = nil }), "no events"},
		"gap":                  {w(func(b *wireBatch) { b.Events = append(b.Events[:1], b.Events[2]) }), "not consecutive"},
		"tampered": {w(func(b *wireBatch) {
			b.Events[1].Event = []byte(strings.Replace(string(b.Events[1].Event), "N,123", "N,999", 1))
		}), "does not chain"},
		"bad-hash": {w(func(b *wireBatch) { b.Events[0].Hash = "xyz" }), "64 hex digits"},
		"bad-time": {w(func(b *wireBatch) {
			b.Events[0].Event = []byte(`{"seq":1,"kind":"captured","time":"x","time_utc":"2026-12-06T02:00:00Z"}`)
		}), "wall-clock"},
		"not-an-event":     {w(func(b *wireBatch) { b.Events[0].Event = []byte(`[1]`) }), "not a stored event"},
		"prev-on-first":    {w(func(b *wireBatch) { b.PrevHash = strings.Repeat("ab", 32) }), "names a previous hash"},
		"unknown-key":      {[]byte(`{"v":1,"epoch":"e","prev_hash":"","events":[],"extra":1}`), "not the JSON"},
		"not-json":         {[]byte("hello"), "not the JSON"},
		"trailing":         {append(w(func(*wireBatch) {}), []byte(" {}")...), "after its JSON"},
		"empty":            {nil, "not the JSON"},
		"zero-seq":         {w(func(b *wireBatch) { b.Events[0].Event = []byte(`{"seq":0,"kind":"captured"}`) }), "no sequence number"},
		"site-at":          {w(func(b *wireBatch) { b.Site.At = "yesterday" }), "site.at"},
		"epoch-with-space": {w(func(b *wireBatch) { b.Epoch = "a b" }), "epoch"},
		// A replaced journal file's new epoch: its events chain from its
		// first epoch's genesis (docs/central.md, "Epochs").
		"new-epoch": {w(func(b *wireBatch) {
			b.Epoch, b.ChainEpoch, b.Follows, b.FollowsEntry = testEpoch2, testEpoch, testEpoch, 2
		}), ""},
		"new-epoch-own-genesis": {w(func(b *wireBatch) { b.Epoch, b.Follows, b.FollowsEntry = testEpoch2, testEpoch, 2 }), "does not chain"},
		"follows-entry-alone":   {w(func(b *wireBatch) { b.Epoch, b.ChainEpoch, b.FollowsEntry = testEpoch2, testEpoch, 2 }), "no epoch it follows"},
		"follows-itself":        {w(func(b *wireBatch) { b.Follows = testEpoch }), "follows itself"},
		"chain-epoch-space":     {w(func(b *wireBatch) { b.Epoch, b.ChainEpoch = testEpoch2, "a b" }), "chain_epoch"},
		// An epoch whose file descends from more than the epoch it
		// follows names its whole ancestry, the followed one last.
		"ancestry": {w(func(b *wireBatch) {
			b.Epoch, b.ChainEpoch, b.Follows, b.FollowsEntry = testEpoch3, testEpoch, testEpoch2, 2
			b.Ancestry = []wireAncestor{{Epoch: testEpoch, Entry: 2, Seq: 2}, {Epoch: testEpoch2, Entry: 2, Seq: 3}}
		}), ""},
		"ancestry-not-followed": {w(func(b *wireBatch) {
			b.Epoch, b.ChainEpoch, b.Follows, b.FollowsEntry = testEpoch3, testEpoch, testEpoch2, 2
			b.Ancestry = []wireAncestor{{Epoch: testEpoch2, Entry: 2, Seq: 3}, {Epoch: testEpoch, Entry: 2, Seq: 2}}
		}), "the last epoch of the ancestry is the one followed"},
		"ancestry-twice": {w(func(b *wireBatch) {
			b.Epoch, b.ChainEpoch, b.Follows, b.FollowsEntry = testEpoch3, testEpoch, testEpoch2, 2
			b.Ancestry = []wireAncestor{{Epoch: testEpoch3}, {Epoch: testEpoch2, Entry: 2, Seq: 3}}
		}), "twice"},
		// A restored epoch going on after events 1 to 3, which retention
		// removed: its first event is 4, chained from event 3's hash.
		"pruned-from": {w(func(b *wireBatch) {
			b.Epoch, b.ChainEpoch, b.Follows, b.FollowsEntry, b.PrunedFrom = testEpoch2, testEpoch, testEpoch, 3, 1
			afterPruned(b)
		}), ""},
		"pruned-from-no-follows": {w(func(b *wireBatch) { b.PrunedFrom = 1; afterPruned(b) }), "follows no epoch"},
		"pruned-from-after-first": {w(func(b *wireBatch) {
			b.Epoch, b.ChainEpoch, b.Follows, b.FollowsEntry, b.PrunedFrom = testEpoch2, testEpoch, testEpoch, 3, 4
			afterPruned(b)
		}), "not before its first event"},
		"ancestry-space": {w(func(b *wireBatch) {
			b.Epoch, b.ChainEpoch, b.Follows, b.FollowsEntry = testEpoch3, testEpoch, testEpoch2, 2
			b.Ancestry = []wireAncestor{{Epoch: "a b"}, {Epoch: testEpoch2, Entry: 2, Seq: 3}}
		}), "not a journal epoch"},
	}
}

// afterPruned makes b's events 4 to 6 of testEpoch, chained from event
// 3's hash (events 1 to 3 removed).
func afterPruned(b *wireBatch) {
	before := events(1, 3, [32]byte{})
	b.PrevHash = hex.EncodeToString(before[2].Hash[:])
	b.Events = nil
	for _, e := range events(4, 3, before[2].Hash) {
		b.Events = append(b.Events, wireEvent{Hash: hex.EncodeToString(e.Hash[:]), Event: e.Body})
	}
}

func TestDecodeBatchTestdata(t *testing.T) {
	cases := wireCases()
	if *update {
		for name, c := range cases {
			if err := os.WriteFile(filepath.Join("testdata", name+".json"), c.json, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) != len(cases) {
		t.Fatalf("testdata holds %d batches, the cases %d (run go test -run TestDecodeBatchTestdata -update): %v", len(files), len(cases), err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		c, ok := cases[name]
		if !ok {
			t.Errorf("%s: no case of that name", f)
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		_, err = DecodeBatch(bytes.NewReader(data))
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: got %v, want an error saying %q", name, err, c.want)
		case c.want != "" && !gateway.IsKind(err, gateway.KindInvalid):
			t.Errorf("%s: %v is not KindInvalid", name, err)
		}
	}
}

func TestDecodeBatchTooLarge(t *testing.T) {
	big := bytes.Repeat([]byte(" "), MaxBatchBytes+10)
	if _, err := DecodeBatch(bytes.NewReader(big)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("a body over the limit: %v", err)
	}
}

func TestAck(t *testing.T) {
	at := time.Date(2026, 12, 6, 2, 0, 0, 123, time.UTC)
	a := AckOf(gateway.ShipAck{Epoch: "e", Cursor: 42, At: at})
	back, err := a.ShipAck()
	if err != nil || back.Cursor != 42 || back.Epoch != "e" || !back.At.Equal(at) {
		t.Fatalf("%+v %v", back, err)
	}
	if _, err := (Ack{At: "x"}).ShipAck(); err == nil {
		t.Fatal("a bad time was read")
	}
}

func FuzzDecodeBatch(f *testing.F) {
	for _, c := range wireCases() {
		f.Add(c.json)
	}
	ok, _ := EncodeBatch(gateway.ShipBatch{Epoch: testEpoch, Events: events(1, 2, [32]byte{})})
	f.Add(ok)
	replaced, _ := EncodeBatch(gateway.ShipBatch{Epoch: testEpoch2, ChainEpoch: testEpoch, Follows: testEpoch, FollowsEntry: 1, Events: events(1, 2, [32]byte{})})
	f.Add(replaced)
	lineage, _ := EncodeBatch(gateway.ShipBatch{Epoch: testEpoch3, ChainEpoch: testEpoch, Follows: testEpoch2, FollowsEntry: 1,
		Ancestry: []gateway.EpochAncestor{{Epoch: testEpoch, Entry: 1, Seq: 1}, {Epoch: testEpoch2, Entry: 1, Seq: 2}}, Events: events(1, 2, [32]byte{})})
	f.Add(lineage)
	head := events(1, 3, [32]byte{})
	pruned, _ := EncodeBatch(gateway.ShipBatch{Epoch: testEpoch2, ChainEpoch: testEpoch, Follows: testEpoch, FollowsEntry: 3, PrunedFrom: 1,
		PrevHash: head[2].Hash, Events: events(4, 2, head[2].Hash)})
	f.Add(pruned)
	evs := guestEvents()
	evs[1], _ = Seal(evs[1])
	sealed, _ := EncodeBatch(gateway.ShipBatch{Epoch: testEpoch, Events: evs, SealableUpto: 2, HasSealable: true})
	f.Add(sealed)
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := DecodeBatch(bytes.NewReader(data))
		if err != nil {
			if !gateway.IsKind(err, gateway.KindInvalid) {
				t.Fatalf("error of kind %v: %v", gateway.KindOf(err), err)
			}
			return
		}
		// What was accepted chains and re-encodes to the same batch.
		prev := b.PrevHash
		if b.Events[0].Seq == 1 {
			prev = b.ChainGenesis()
		}
		for _, e := range b.Events {
			// A sealed event's hash is taken for its link; it keeps
			// only the stay.
			if e.Sealed {
				if e.Body != nil || e.Kind != gateway.EventGuest {
					t.Fatalf("accepted a sealed event with a body or of kind %s", e.Kind)
				}
				if _, personal, err := gateway.SealGuestData(e.Data); err != nil || personal {
					t.Fatalf("accepted a sealed event carrying more than the stay: %s", e.Data)
				}
			} else if chain(prev, e.Body) != e.Hash {
				t.Fatal("accepted a broken chain")
			}
			prev = e.Hash
		}
		again, err := EncodeBatch(b)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := DecodeBatch(bytes.NewReader(again)); err != nil {
			t.Fatalf("re-encoded batch refused: %v", err)
		}
	})
}

// FuzzFastHeader: wherever the fast envelope reader takes a body, it reads
// what encoding/json reads.
func FuzzFastHeader(f *testing.F) {
	for _, e := range events(1, 3, [32]byte{}) {
		f.Add([]byte(e.Body))
	}
	f.Add([]byte(`{"seq":7,"entry":3,"kind":"moved","time":"2026-12-05T21:00:00","time_utc":"2026-12-06T02:00:00Z","actor":"engine","reason":"sent","from":"queued","to":"sent","data":{"posting":4,"answer":{"code":"OK","text":"a \"quoted\" } text"}}}`))
	f.Add([]byte(`{"seq":7,"kind":"audit","time":"x","time_utc":"y","reason":"with \\ escape","data":{}}`))
	f.Add([]byte(`{"seq":7,"kind":"k","time":"x","time_utc":"y","data":{},"extra":1}`))
	f.Add([]byte(`{"seq":01,"kind":"k","time":"x","time_utc":"y"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if !json.Valid(body) {
			return // the batch's decoder refuses it before
		}
		fast, ok := fastHeader(body)
		if !ok {
			return
		}
		var slow eventHeader
		if err := json.Unmarshal(body, &slow); err != nil {
			t.Fatalf("the fast reader took %q, which json refuses: %v", body, err)
		}
		if fast.Seq != slow.Seq || fast.Entry != slow.Entry || fast.Kind != slow.Kind || fast.Time != slow.Time || fast.TimeUTC != slow.TimeUTC ||
			fast.Actor != slow.Actor || fast.Reason != slow.Reason || fast.From != slow.From || fast.To != slow.To || !bytes.Equal(fast.Data, slow.Data) {
			t.Fatalf("%q: fast %+v, json %+v", body, fast, slow)
		}
	})
}

func TestFastHeaderTakesTheJournalsShape(t *testing.T) {
	for _, e := range events(1, 3, [32]byte{}) {
		if _, ok := fastHeader(e.Body); !ok {
			t.Errorf("the fast reader refused a body as the journal writes it: %s", e.Body)
		}
	}
	for _, body := range []string{
		`{"seq":7,"kind":"k","time":"x","time_utc":"y","data":{},"extra":1}`, // a member after data
		`{"seq":7,"kind":"k\u0041","time":"x","time_utc":"y"}`,               // an escape
		`{"kind":"k","seq":7,"time":"x","time_utc":"y"}`,                     // another order
		`{"seq":1.5,"kind":"k","time":"x","time_utc":"y"}`,
	} {
		if _, ok := fastHeader([]byte(body)); ok {
			t.Errorf("the fast reader took %s", body)
		}
	}
}
