package pbx

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"testing"
	"time"

	"callgate/gateway"
)

func FuzzMitel5000(f *testing.F) { fuzzFormat(f, "mitel-5000") }

// TestMitel5000Table checks explicit values: dating by the reading clock
// (and the day before for a start later than the clock), unanswered ring-in,
// digit decorations, the elapsed-time forms.
func TestMitel5000Table(t *testing.T) {
	// 1-3 TYP, 5-9 EXT#, 11-15 TRUNK, 17-44 DIALED DIGITS, 46-50 START,
	// 52-59 ELAPSED, 61-66 COST, 68-79 ACCOUNT, 80 '*'.
	lines := []h2Line{
		{"2024-11-06T20:00:00", "TLC 415   92005 617-555-0134                 18:40 00:01:35 $00.19              "},
		{"2024-11-06T09:00:00", "TLC 415   92005 617-555-0134                 18:40 00:01:35 $00.19              "},
		{"2024-11-06T00:10:00", "TLD 2001  92001 1-602-961-9000               23:55 00:14:00 $01.40              "},
		{"2024-11-06T00:10:00", "LOC 2003  92001 555-0101                     00:50 00:00:10                     "},
		{"2024-11-06T20:00:00", "IN  ***** 92007                              19:01 00:00:18                     "},
		{"2024-11-06T20:00:00", "IN  1010  92007 6175550120                   08:20 00:04:00                    *"},
		{"2024-11-06T20:00:00", "TLD 99999 99999 011441632960777123456789012> 08:06 10:00:01 $12345 123456789012*"},
		{"2024-11-06T20:00:00", "LOC 1007  92001 555-0101                     08:08 S=000125 $00.05              "},
		{"2024-11-06T20:00:00", "DID 1011  92008 Ring...5100                  08:21 00:00:06                     "},
		{"2024-11-06T20:00:00", "DID 1011  92008 5100                         08:21 00:02:30                     "},
		{"2024-11-06T20:00:00", "CNF 1013  92010 1014                         08:30 00:15:00                     "},
		{"2024-11-06T20:00:00", "TYP EXT# TRUNK DIALED DIGITS                START ELAPSED  COST   ACCOUNT CODE"},
		{"2024-11-06T20:00:00", "XYZ 2001  92001 555-0100                     08:00 00:01:00                     "},
	}
	want := []h2Want{
		{start: "2024-11-06T18:40:00", ext: "415", dialed: "6175550134", dir: gateway.Outgoing, trunk: "92005", dur: 95, answered: h2True},
		{start: "2024-11-05T18:40:00", ext: "415", dialed: "6175550134", dir: gateway.Outgoing, trunk: "92005", dur: 95, answered: h2True},
		{start: "2024-11-05T23:55:00", ext: "2001", dialed: "16029619000", dir: gateway.Outgoing, trunk: "92001", dur: 840, answered: h2True},
		{start: "2024-11-06T00:50:00", ext: "2003", dialed: "5550101", dir: gateway.Outgoing, trunk: "92001", dur: 10, answered: h2True},
		{start: "2024-11-06T19:01:00", ext: "-", dialed: "-", dir: gateway.Incoming, trunk: "92007", dur: 0, answered: h2False, ring: gateway.Int(18)},
		{start: "2024-11-06T08:20:00", ext: "1010", dialed: "-", dir: gateway.Incoming, trunk: "92007", dur: 240, answered: h2True, callerID: "6175550120"},
		{start: "2024-11-06T08:06:00", ext: "99999", dialed: "011441632960777123456789012", dir: gateway.Outgoing, trunk: "99999", dur: 36001, answered: h2True, account: "123456789012"},
		{start: "2024-11-06T08:08:00", ext: "1007", dialed: "5550101", dir: gateway.Outgoing, trunk: "92001", dur: 125, answered: h2True},
		{start: "2024-11-06T08:21:00", ext: "1011", dialed: "5100", dir: gateway.Incoming, trunk: "92008", dur: 0, answered: h2True, ring: gateway.Int(6), cont: true},
		{start: "2024-11-06T08:21:00", ext: "1011", dialed: "5100", dir: gateway.Incoming, trunk: "92008", dur: 150, answered: h2True},
		{start: "2024-11-06T08:30:00", ext: "1013", dialed: "-", dir: gateway.Outgoing, trunk: "92010", dur: 900, answered: h2True},
		{skip: true},
		{errSubstr: "mitel-5000: call type"},
	}
	calls, errs := h2Parse(t, "mitel-5000", 0, lines)
	for i := range lines {
		h2Check(t, i, calls[i], errs[i], want[i])
	}
}

// TestMitel5000Framed: the same records as plain lines and as the 5000's
// socket frames (4-byte little-endian length, then the record and CRLF) give
// the same calls, whether the frames arrive whole or byte by byte.
func TestMitel5000Framed(t *testing.T) {
	if f, _ := LookupFormat("mitel-5000"); !f.LengthPrefixed {
		t.Fatal("mitel-5000 is not length-prefixed")
	}
	plain, err := os.ReadFile("testdata/mitel-5000/samples.txt")
	if err != nil {
		t.Fatal(err)
	}
	framed, err := os.ReadFile("testdata/mitel-5000/framed.bin")
	if err != nil {
		t.Fatal(err)
	}
	// framed.bin must be exactly the sample lines, framed.
	var built bytes.Buffer
	for _, rec := range bytes.SplitAfter(plain, []byte("\r\n")) {
		if len(rec) == 0 {
			continue
		}
		_ = binary.Write(&built, binary.LittleEndian, uint32(len(rec)))
		built.Write(rec)
	}
	if !bytes.Equal(built.Bytes(), framed) {
		t.Fatal("framed.bin is not samples.txt length-prefixed")
	}
	parse := func(r interface{ Read([]byte) (int, error) }) string {
		loc, _ := time.LoadLocation("America/New_York")
		p := mustParser(t, "mitel-5000", Options{Location: loc})
		var out bytes.Buffer
		st, err := ParseStream(r, &out, p, time.Date(2024, 11, 6, 20, 0, 0, 0, loc))
		if err != nil {
			t.Fatal(err)
		}
		if st.Calls != 6 || st.Errors != 0 {
			t.Fatalf("%d calls, %d errors, want 6 and 0", st.Calls, st.Errors)
		}
		return out.String()
	}
	a := parse(bytes.NewReader(plain))
	b := parse(bytes.NewReader(framed))
	c := parse(&h2OneByte{framed})
	if a != b || a != c {
		t.Fatalf("plain and framed records differ:\n%s\n%s\n%s", a, b, c)
	}
}

// h2OneByte reads one byte at a time, like a slow socket.
type h2OneByte struct{ b []byte }

func (r *h2OneByte) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	p[0] = r.b[0]
	r.b = r.b[1:]
	return 1, nil
}
