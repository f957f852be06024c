package pbx

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// rec is a record as a test sees it.
type rec struct {
	data      string
	truncated bool
}

// frameAll feeds the chunks to fr, then flushes it if flush is set, and
// returns the records.
func frameAll(fr *Framer, flush bool, chunks ...[]byte) []rec {
	var out []rec
	emit := func(d []byte, tr bool) { out = append(out, rec{string(d), tr}) }
	for _, c := range chunks {
		fr.Feed(c, emit)
	}
	if flush {
		fr.Flush(emit)
	}
	return out
}

// lp is a Mitel 5000 length-prefixed frame.
func lp(payload string) string {
	b := make([]byte, 4, 4+len(payload))
	binary.LittleEndian.PutUint32(b, uint32(len(payload)))
	return string(append(b, payload...))
}

func (r rec) String() string {
	if r.truncated {
		return strconv.Quote(r.data) + "(truncated)"
	}
	return strconv.Quote(r.data)
}

func plain(lines ...string) []rec {
	var out []rec
	for _, l := range lines {
		out = append(out, rec{data: l})
	}
	return out
}

func TestFramer(t *testing.T) {
	long := strings.Repeat("0123456789", 500) // 5000 bytes
	tests := []struct {
		name     string
		in       []string // fed one after the other
		lp       bool     // LengthPrefixed
		flush    bool
		want     []rec
		control  int64 // control bytes dropped, when checked (-1: not checked)
		pending  bool  // a partial record is held after feeding (before any flush)
		truncNum int64
	}{
		{name: "CR", in: []string{"a 1\rb 2\r"}, want: plain("a 1", "b 2"), control: -1},
		{name: "LF", in: []string{"a 1\nb 2\n"}, want: plain("a 1", "b 2"), control: -1},
		{name: "CRLF", in: []string{"a 1\r\nb 2\r\n"}, want: plain("a 1", "b 2"), control: 0},
		{name: "CR LF LF (NEC header)", in: []string{"HEADER\r\n\nb 2\r\n\n"}, want: plain("HEADER", "b 2"), control: 0},
		{name: "FF page break", in: []string{"a 1\r\n\fPAGE 2\r\n\fb\f"}, want: plain("a 1", "PAGE 2", "b"), control: 0},
		{name: "NUL padding after CRLF (Avaya CM)", in: []string{"050 1432 0\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", "1432 0 9 12345\r\n\x00\x00"},
			want: plain("050 1432 0", "1432 0 9 12345"), control: 12},
		{name: "control bytes dropped and counted", in: []string{"a\x01b\x1bc\x7fd\te\r\n\x03"}, want: plain("abcd\te"), control: 4},
		{name: "bytes with bit 7 are text", in: []string{"Caf\xe9 \xff\r\n"}, want: plain("Caf\xe9 \xff"), control: 0},
		{name: "empty lines vanish", in: []string{"\r\n\r\n\n\r\r\f\f"}, want: nil, control: 0},
		{name: "whitespace-only line is a record", in: []string{"   \r\n"}, want: plain("   "), control: 0},
		{name: "5000-byte line cut once, rest discarded", in: []string{long + "\r\nnext\r\n"},
			want: []rec{{long[:DefaultMaxRecord], true}, {"next", false}}, control: 0, truncNum: 1},
		{name: "line of exactly MaxRecord is whole", in: []string{long[:DefaultMaxRecord] + "\r\n"},
			want: []rec{{long[:DefaultMaxRecord], false}}, control: 0},
		{name: "long line cut across Feed calls", in: []string{long[:3000], long[3000:] + "\n", "x\n"},
			want: []rec{{long[:DefaultMaxRecord], true}, {"x", false}}, control: 0, truncNum: 1},
		{name: "partial record across Feed calls", in: []string{"TLC 4", "15  92", "005\r", "\nIN 3", "00\r\n"},
			want: plain("TLC 415  92005", "IN 300"), control: 0},
		{name: "partial record held until flush", in: []string{"a 1\r\nb 2"}, pending: true,
			want: plain("a 1"), control: 0},
		{name: "partial record flushed", in: []string{"a 1\r\nb 2"}, flush: true, pending: true,
			want: plain("a 1", "b 2"), control: 0},
		{name: "flush of a line end only gives nothing", in: []string{"a 1\r\n\x00"}, flush: true, pending: false,
			want: plain("a 1"), control: 1},
		{name: "length-prefixed frames", lp: true,
			in:   []string{lp("TLC 415   92005 617-555-0134\r\n") + lp("IN  ***** 92007\r\n")},
			want: plain("TLC 415   92005 617-555-0134", "IN  ***** 92007"), control: 0},
		{name: "length-prefixed frame without line end", lp: true,
			in:   []string{lp("ABC") + lp("DEF\r\n")},
			want: plain("ABC", "DEF"), control: 0},
		{name: "plain lines in length-prefixed mode", lp: true,
			in: []string{"TLC 415\r\nIN  300\r\n\x00\x00"}, flush: true, pending: true, // the NULs may start a prefix
			want: plain("TLC 415", "IN  300"), control: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fr := &Framer{LengthPrefixed: tt.lp}
			var chunks [][]byte
			total := 0
			for _, s := range tt.in {
				chunks = append(chunks, []byte(s))
				total += len(s)
			}
			got := frameAll(fr, false, chunks...)
			if fr.Pending() != tt.pending {
				t.Errorf("Pending() = %v, want %v", fr.Pending(), tt.pending)
			}
			if tt.flush {
				fr.Flush(func(d []byte, tr bool) { got = append(got, rec{string(d), tr}) })
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("records\n got %v\nwant %v", got, tt.want)
			}
			st := fr.Stats()
			if st.Bytes != int64(total) {
				t.Errorf("Stats.Bytes = %d, want %d", st.Bytes, total)
			}
			if st.Records != int64(len(tt.want)) {
				t.Errorf("Stats.Records = %d, want %d", st.Records, len(tt.want))
			}
			if tt.control >= 0 && st.ControlBytes != tt.control {
				t.Errorf("Stats.ControlBytes = %d, want %d", st.ControlBytes, tt.control)
			}
			if st.Truncated != tt.truncNum {
				t.Errorf("Stats.Truncated = %d, want %d", st.Truncated, tt.truncNum)
			}
		})
	}
}

// TestFramerSplitEverywhere feeds a stream of length-prefixed frames mixed
// with plain lines, noise and NUL padding, cut in two at every byte boundary
// (and then byte by byte), and expects the same records each time.
func TestFramerSplitEverywhere(t *testing.T) {
	stream := lp("TLC 415   92005 617-555-0134                 18:40 00:01:35 $00.19              \r\n") +
		"IN  415   92007                              19:03 00:07:22                    *\r\n" +
		lp("O/I 512   92006 011441632960777              18:52 00:30:04 $27.06              \r\n") +
		"\x00\x00\x11" + // XON and padding between records
		lp("IN  ***** 92007\r\n") +
		"000 416   92005 911\r\n\f" +
		lp("DID 300") + // a frame without its line end
		lp("CNF 301\r\n")
	want := plain(
		"TLC 415   92005 617-555-0134                 18:40 00:01:35 $00.19              ",
		"IN  415   92007                              19:03 00:07:22                    *",
		"O/I 512   92006 011441632960777              18:52 00:30:04 $27.06              ",
		"IN  ***** 92007",
		"000 416   92005 911",
		"DID 300",
		"CNF 301",
	)
	whole := frameAll(&Framer{LengthPrefixed: true}, true, []byte(stream))
	if !slices.Equal(whole, want) {
		t.Fatalf("fed whole:\n got %v\nwant %v", whole, want)
	}
	for i := 0; i <= len(stream); i++ {
		got := frameAll(&Framer{LengthPrefixed: true}, true, []byte(stream[:i]), []byte(stream[i:]))
		if !slices.Equal(got, want) {
			t.Fatalf("split at %d:\n got %v\nwant %v", i, got, want)
		}
	}
	var bytewise [][]byte
	for i := range len(stream) {
		bytewise = append(bytewise, []byte{stream[i]})
	}
	if got := frameAll(&Framer{LengthPrefixed: true}, true, bytewise...); !slices.Equal(got, want) {
		t.Fatalf("byte by byte:\n got %v\nwant %v", got, want)
	}
}

// TestFramerFrameLengths checks that every frame length the framer promises
// to read, 1 to MaxRecord+2, is read as a frame: the frame's payload comes out
// whole even when it has no line end and the next frame follows at once.
func TestFramerFrameLengths(t *testing.T) {
	const max = 600
	for n := 1; n <= max; n++ {
		payload := strings.Repeat("x", n)
		if lineEndLength(n) {
			continue // documented exception, see TestFramerLineEndLengths
		}
		stream := lp(payload) + lp("NEXT")
		got := frameAll(&Framer{LengthPrefixed: true, MaxRecord: max}, true, []byte(stream))
		want := plain(payload, "NEXT")
		if !slices.Equal(got, want) {
			t.Fatalf("frame of %d bytes: got %d records %v…", n, len(got), trim(got))
		}
	}
}

// lineEndLength: a length whose two low bytes hold a CR, LF or FF is read
// as a line end, not as a prefix.
func lineEndLength(n int) bool {
	return isLineEnd(byte(n)) || isLineEnd(byte(n>>8))
}

// TestFramerLineEndLengths: a frame whose length's low byte is a line end
// is taken for a line end and NULs; its payload is then read as a plain line,
// which comes out right when it ends in CRLF, as a Mitel 5000's records do.
func TestFramerLineEndLengths(t *testing.T) {
	for _, n := range []int{10, 12, 13, 266, 269} {
		payload := strings.Repeat("y", n-2) + "\r\n"
		got := frameAll(&Framer{LengthPrefixed: true}, true, []byte(lp(payload)+lp("NEXT\r\n")))
		want := plain(strings.Repeat("y", n-2), "NEXT")
		if !slices.Equal(got, want) {
			t.Errorf("frame of %d bytes: got %v", n, trim(got))
		}
	}
}

// TestFramerLineEndThenNULs: a line end followed by NUL padding, the way
// Avaya CM pads its records, is not taken for a length prefix, even where
// length prefixes are expected.
func TestFramerLineEndThenNULs(t *testing.T) {
	stream := "\r\n\x00\x00\x00\x00REC ONE long enough to matter\r\n\n\x00\x00\x00\x00\x00REC TWO\r\n" + lp("REC THREE\r\n")
	got := frameAll(&Framer{LengthPrefixed: true}, true, []byte(stream))
	want := plain("REC ONE long enough to matter", "REC TWO", "REC THREE")
	if !slices.Equal(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
}

func trim(rs []rec) []rec {
	out := make([]rec, len(rs))
	for i, r := range rs {
		if len(r.data) > 20 {
			r.data = r.data[:20] + "…"
		}
		out[i] = r
	}
	return out
}

// checkRecords fails on a record the framer must never emit.
func checkRecords(t *testing.T, rs []rec, max int) {
	t.Helper()
	for i, r := range rs {
		if len(r.data) == 0 {
			t.Fatalf("record %d is empty", i)
		}
		if len(r.data) > max {
			t.Fatalf("record %d has %d bytes, more than MaxRecord %d", i, len(r.data), max)
		}
		if r.truncated && len(r.data) != max {
			t.Fatalf("truncated record %d has %d bytes, not MaxRecord %d", i, len(r.data), max)
		}
		for _, c := range []byte(r.data) {
			if (c < 0x20 && c != '\t') || c == 0x7f {
				t.Fatalf("record %d holds control byte %#02x: %v", i, c, r.data)
			}
		}
	}
}

// FuzzFramer feeds an arbitrary stream in random splits and checks what the
// framer promises: no panic, no hang, no empty record, none over MaxRecord,
// no control byte, and the same records whether the stream is fed whole, in
// random pieces or byte by byte.
func FuzzFramer(f *testing.F) {
	f.Add([]byte("a 1\r\nb 2\r\n"), uint64(1), false, uint16(0))
	f.Add([]byte("HEADER\r\n\n\fPAGE\r\n\x00\x00\x00x"), uint64(2), false, uint16(8))
	f.Add([]byte(lp("TLC 415   92005 617-555-0134\r\n")+"IN 300\r\n"+lp("ABC")), uint64(3), true, uint16(0))
	f.Add([]byte("\r\n\x00\x00\x00\x00"+lp("x")+"\x05\x01\x00\x00"), uint64(4), true, uint16(16))
	f.Add(bytes.Repeat([]byte("0123456789"), 50), uint64(5), false, uint16(64))
	f.Fuzz(func(t *testing.T, data []byte, seed uint64, lengthPrefixed bool, max uint16) {
		mr := int(max % 1024) // keep records short enough to hit the limit
		newFramer := func() *Framer { return &Framer{MaxRecord: mr, LengthPrefixed: lengthPrefixed} }
		limit := newFramer().max()

		whole := newFramer()
		want := frameAll(whole, true, data)
		checkRecords(t, want, limit)
		if st := whole.Stats(); st.Bytes != int64(len(data)) || st.Records != int64(len(want)) {
			t.Fatalf("stats %+v for %d bytes and %d records", st, len(data), len(want))
		}

		rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
		var pieces [][]byte
		for rest := data; len(rest) > 0; {
			n := 1 + rng.IntN(len(rest))
			if rng.IntN(2) == 0 {
				n = 1 + rng.IntN(min(len(rest), 8))
			}
			pieces = append(pieces, rest[:n])
			rest = rest[n:]
		}
		if got := frameAll(newFramer(), true, pieces...); !slices.Equal(got, want) {
			t.Fatalf("random splits give\n%v\nfed whole gives\n%v", got, want)
		}

		var bytewise [][]byte
		for i := range data {
			bytewise = append(bytewise, data[i:i+1])
		}
		if got := frameAll(newFramer(), true, bytewise...); !slices.Equal(got, want) {
			t.Fatalf("byte by byte gives\n%v\nfed whole gives\n%v", got, want)
		}
	})
}
