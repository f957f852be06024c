package store

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"callgate/gateway"
)

// oddCall is a call with everything a record can hold, and what the log's
// JSON loses: a zone on the wall clock, a fraction of a second, bytes that
// are not UTF-8.
func oddCall() *gateway.Call {
	ny, _ := time.LoadLocation("America/New_York")
	return &gateway.Call{Format: "mitel\xff", Extension: "415", Dialed: "0044\xfe20", Start: time.Date(2026, 11, 1, 1, 30, 5, 700, ny),
		StartUTC: time.Date(2026, 11, 1, 5, 30, 5, 900_000_000, time.UTC), TimeNote: gateway.TimeNoteDSTOverlap, DurationS: 61,
		Direction: gateway.Incoming, Trunk: "T1", AccountCode: "a\"b", Answered: gateway.Bool(false), CallerID: "+1617",
		RingS: gateway.Int(0), CallID: "c-1", Continuation: true, Raw: []byte("dropped")}
}

func oddCharge() *gateway.Charge {
	ex := "unknown-destination\xff"
	return &gateway.Charge{Class: "premium", Destination: "UK", Prefix: "44", E164: "4420", Band: "night", BillableS: -1,
		Chargeable: true, CarrierMinor: -5, MarkupMinor: 1 << 40, SurchargeMinor: 3, TaxMinor: 4, TotalMinor: 1<<63 - 1,
		Currency: "GBP", TariffVersion: "2026-11-01", Exception: &ex}
}

func testRecs() []*rec {
	return []*rec{
		{id: 1, state: gateway.StateCaptured, time: 1, raw: []byte("r"), received: 1},
		{id: 2, state: gateway.StateQueued, time: -5, ext: "415", room: "415", reservation: "R1", posting: 1<<32 - 1, sent: 7,
			answerCode: "RY", answerText: "busy", answerAt: 9, replays: 3, updated: 10, lastSeq: 1 << 62,
			raw: []byte{0, 0xff, '\n'}, received: -1, source: "tcp 10.0.0.1", truncated: true, cut: true,
			call: gateway.CanonicalCall(oddCall()), charge: canonCharge(oddCharge())},
		{id: 3, state: gateway.StateImported, raw: []byte("x"),
			call: &gateway.Call{Start: time.Unix(0, 0).UTC(), Direction: gateway.Outgoing}, charge: &gateway.Charge{}},
	}
}

func TestRecordRoundTrip(t *testing.T) {
	for _, r := range testRecs() {
		got, err := decodeRec(r.id, r.encode())
		if err != nil {
			t.Fatalf("entry %d: %v", r.id, err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Errorf("entry %d:\n got %+v\nwant %+v", r.id, got, r)
		}
	}
}

// TestRecordDamaged: a damaged record is an error, never a panic or a wrong
// entry.
func TestRecordDamaged(t *testing.T) {
	good := testRecs()[1].encode()
	for n := range len(good) {
		if _, err := decodeRec(2, good[:n]); err == nil {
			t.Errorf("record cut to %d of %d bytes decodes", n, len(good))
		}
	}
	for _, b := range [][]byte{
		nil,
		{1},             // schema 1
		{3},             // unknown
		append(good, 0), // a byte too many
		{2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, // varint overflow
	} {
		t.Run(fmt.Sprintf("%x", b), func(t *testing.T) {
			if _, err := decodeRec(2, b); err == nil {
				t.Errorf("%x decodes", b)
			}
		})
	}
}

// TestCanon: the compact call and charge are what a rebuild reads from the
// log's JSON.
func TestCanon(t *testing.T) {
	for i, c := range []*gateway.Call{oddCall(), {Start: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Direction: gateway.Internal}} {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			b, err := c.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			var want gateway.Call
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			want.Raw = nil
			if got := gateway.CanonicalCall(c); !reflect.DeepEqual(*got, want) {
				t.Errorf("call:\n got %+v\nwant %+v", *got, want)
			}
		})
	}
	b, err := oddCharge().MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var want gateway.Charge
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if got := canonCharge(oddCharge()); !reflect.DeepEqual(*got, want) {
		t.Errorf("charge:\n got %+v\nwant %+v", *got, want)
	}
}

// TestCanonJournal: an odd call written live is stored as a rebuild stores
// it, and read back as the log has it.
func TestCanonJournal(t *testing.T) {
	ctx := context.Background()
	j, err := Open(filepath.Join(t.TempDir(), "journal.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	c, err := j.Capture(ctx, gateway.RawRecord{Data: []byte{0xff, 1}, Source: "serial \xff", Truncated: true})
	if err != nil {
		t.Fatal(err)
	}
	e, err := j.Move(ctx, c.ID, gateway.Change{To: gateway.StateRated, Call: oddCall(), Charge: oddCharge()})
	if err != nil {
		t.Fatal(err)
	}
	if e.Call.Dialed != "0044\uFFFD20" || e.Call.Start.Location() != time.UTC || e.Call.Start.Hour() != 1 || e.Call.StartUTC.Nanosecond() != 0 ||
		string(e.Call.Raw) != "\xff\x01" || e.Raw.Source != "serial \uFFFD" || !e.Raw.Truncated {
		t.Errorf("entry as moved: %+v %+v", e.Raw, e.Call)
	}
	if _, err := j.Import(ctx, []gateway.ImportRecord{{Raw: gateway.RawRecord{Data: []byte("h")}, Call: oddCall(), Charge: oddCharge(), Room: "9"}}); err != nil {
		t.Fatal(err)
	}
	rep, err := j.Verify(ctx, t.TempDir())
	if err != nil || !rep.OK() {
		t.Errorf("verify: %v %v", rep.Problems, err)
	}
}

// FuzzDecodeRec: any bytes decode to a record or an error, never a panic;
// a record that decodes encodes to bytes that decode to it again.
func FuzzDecodeRec(f *testing.F) {
	for _, r := range testRecs() {
		f.Add(r.encode())
	}
	f.Add([]byte{2})
	f.Fuzz(func(t *testing.T, b []byte) {
		raw, rawOK := rawOf(b)
		r, err := decodeRec(7, b)
		if err != nil {
			return
		}
		if !rawOK || string(raw) != string(r.raw) {
			t.Fatalf("rawOf gives %q %v, the record %q", raw, rawOK, r.raw)
		}
		again, err := decodeRec(7, r.encode())
		if err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if !reflect.DeepEqual(again, r) {
			t.Fatalf("re-encoded record differs:\n%+v\n%+v", again, r)
		}
	})
}

// TestCallJSON: the hand-written JSON of calls and charges in events is
// gateway's MarshalJSON, byte for byte (but for wall-clock times with a
// zone or fractions, which the journal keeps as it canonicalises them), and
// reads back to the same values.
func TestCallJSON(t *testing.T) {
	plain := &gateway.Call{Format: "avaya-ipo", Extension: "415", Dialed: "6175550134", Start: time.Date(2026, 11, 27, 9, 1, 2, 0, time.UTC),
		StartUTC: time.Date(2026, 11, 27, 14, 1, 2, 0, time.UTC), DurationS: 95, Direction: gateway.Outgoing, Trunk: "9005",
		Answered: gateway.Bool(true), AccountCode: `a"b\c`, CallerID: "a<b&c\n"}
	bare := &gateway.Call{Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Direction: gateway.Internal, RingS: gateway.Int(3)}
	odd := oddCall()
	odd.Raw = nil
	odd.Trunk = "\b\f\u2028\x01"
	escaped := *plain // every escape encoding/json makes, byte for byte
	escaped.Trunk, escaped.CallerID = "\b\f\u2028\u2029\x01\x1f\t", "\xff<>&"
	for i, c := range []*gateway.Call{plain, bare, odd, &escaped} {
		t.Run(fmt.Sprint("call ", i), func(t *testing.T) {
			want, err := c.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			sameJSON[gateway.Call](t, gateway.AppendCallJSON(nil, c, false), want, c != odd)
		})
	}
	for i, c := range []*gateway.Charge{{}, oddCharge(), {Class: "local", Destination: "Boston", Prefix: "1617", E164: "16175550134", Band: "day",
		BillableS: 96, Chargeable: true, CarrierMinor: 16, TotalMinor: 136, Currency: "USD", TariffVersion: "base"}} {
		t.Run(fmt.Sprint("charge ", i), func(t *testing.T) {
			want, err := c.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			sameJSON[gateway.Charge](t, appendChargeJSON(nil, c), want, i != 1)
		})
	}
}

// sameJSON checks the hand-written JSON got against want, what MarshalJSON
// writes: the same bytes when exact, and the same value read back.
func sameJSON[T any](t *testing.T, got, want []byte, exact bool) {
	t.Helper()
	if exact && string(got) != string(want) {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	var a, b T
	if err := json.Unmarshal(got, &a); err != nil {
		t.Fatalf("%v: %s", err, got)
	}
	json.Unmarshal(want, &b)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("reads back as\n%+v\nwant\n%+v", a, b)
	}
}

func TestRawOf(t *testing.T) {
	for _, r := range testRecs() {
		b := r.encode()
		if raw, ok := rawOf(b); !ok || string(raw) != string(r.raw) {
			t.Errorf("entry %d: raw %q %v, want %q", r.id, raw, ok, r.raw)
		}
		// A cut record gives its raw bytes whole, or nothing.
		for n := range len(b) {
			if raw, ok := rawOf(b[:n]); ok && string(raw) != string(r.raw) {
				t.Errorf("entry %d cut to %d: raw %q", r.id, n, raw)
			}
		}
	}
	if _, ok := rawOf([]byte{1, 0}); ok {
		t.Error("a schema-1 record gives a raw record")
	}
}
