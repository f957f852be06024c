package fias

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// TestLRCVectors: serial frames worked out by hand from the LRC rule
// (docs/fias.md, "Transport and framing").
func TestLRCVectors(t *testing.T) {
	for _, tc := range []struct {
		body string
		lrc  byte
	}{
		{"12345", 0x32},
		{"LS|DA250301|TI101500|", 0x78},
		{"LA|DA250301|TI101503|", 0x69},
		{"LD|DA250301|TI101501|V#1.0|IFCA|", 0x39},
		{"PS|RN214|PTC|TA1250|DA250301|TI093012|DU000412|DD00442071234567|PCI|P#1001|SO1|CTLondon|", 0x43},
		{"PA|RN214|ASOK|P#1001|DA250301|TI093012|", 0x48},
	} {
		if got := LRC([]byte(tc.body)); got != tc.lrc {
			t.Errorf("LRC(%q) = %#02x, want %#02x", tc.body, got, tc.lrc)
		}
	}
	want := append([]byte{0x02}, "LS|DA250301|TI101500|"...)
	want = append(want, 0x03, 0x78)
	if got := AppendFrame(nil, []byte("LS|DA250301|TI101500|"), true); !bytes.Equal(got, want) {
		t.Errorf("serial frame = % x, want % x", got, want)
	}
	if got := AppendFrame(nil, []byte("LS|"), false); string(got) != "\x02LS|\x03" {
		t.Errorf("TCP frame = %q", got)
	}
}

// TestGoldenRecords: records parse into ordered fields, repeats and unknown
// fields kept, and write back byte for byte.
func TestGoldenRecords(t *testing.T) {
	for _, tc := range []struct {
		text string
		want Record
	}{
		{"LS|DA250301|TI101500|", NewRecord("LS", "DA", "250301", "TI", "101500")},
		{"GC|RN310|GSN|G#40021|GNHartley-Lee|RO214|GSY|DA250302|TI090000|",
			NewRecord("GC", "RN", "310", "GS", "N", "G#", "40021", "GN", "Hartley-Lee", "RO", "214", "GS", "Y", "DA", "250302", "TI", "090000")},
		{"GO|RN215|SF|", NewRecord("GO", "RN", "215", "SF", "")},
		{"PA|RN214|ASOK|P#1001|ZZunknown|", NewRecord("PA", "RN", "214", "AS", "OK", "P#", "1001", "ZZ", "unknown")},
		{"DE|", Record{Type: "DE"}},
	} {
		r, err := ParseRecord(tc.text)
		if err != nil {
			t.Fatalf("%q: %v", tc.text, err)
		}
		if !reflect.DeepEqual(r, tc.want) {
			t.Errorf("%q parsed as %+v, want %+v", tc.text, r, tc.want)
		}
		if r.String() != tc.text {
			t.Errorf("%q written back as %q", tc.text, r.String())
		}
	}
	r, _ := ParseRecord("GC|RN310|GSN|RO214|GSY|")
	if got := r.All("GS"); !reflect.DeepEqual(got, []string{"N", "Y"}) {
		t.Errorf("GS values %v", got)
	}
	// Lenient: no final bar, empty segments, a one-character segment.
	r, err := ParseRecord("GI|RN1||X|GNa")
	if err != nil || r.Value("RN") != "1" || r.Value("GN") != "a" || !r.Has("X") {
		t.Errorf("lenient parse: %+v %v", r, err)
	}
	for _, bad := range []string{"", "L|", "LSX|", "|RN1|", "L\x01|"} {
		if _, err := ParseRecord(bad); err == nil {
			t.Errorf("%q parsed without error", bad)
		}
	}
}

// TestCodePages: every configured code page reads and writes its own
// letters; characters it lacks become their base letter or "?"; "|" and
// control characters never reach the wire.
func TestCodePages(t *testing.T) {
	for _, cp := range CodePages {
		if _, err := NewCodec(cp); err != nil {
			t.Errorf("%s: %v", cp, err)
		}
	}
	if _, err := NewCodec("ebcdic"); err == nil || !strings.Contains(err.Error(), "windows-1252") {
		t.Errorf("unknown code page: %v", err)
	}
	for _, tc := range []struct {
		cp, value string
		wire      []byte
		back      string
	}{
		{"", "Müller", []byte("M\xfcller"), "Müller"},
		{"windows-1252", "Señor €5", []byte("Se\xf1or \x805"), "Señor €5"},
		{"windows-1252", "Dvořák", []byte("Dvor\xe1k"), "Dvorák"},
		{"windows-1252", "Иван", []byte("????"), "????"},
		{"windows-1251", "Иван", []byte("\xc8\xe2\xe0\xed"), "Иван"},
		{"windows-1250", "Dvořák", []byte("Dvo\xf8\xe1k"), "Dvořák"},
		{"iso-8859-15", "€", []byte("\xa4"), "€"},
		{"utf-8", "Дмитрий", []byte("Дмитрий"), "Дмитрий"},
		{"windows-1252", "a|b\x01c\x7fd", []byte("a/b c d"), "a/b c d"},
	} {
		c, err := NewCodec(tc.cp)
		if err != nil {
			t.Fatal(err)
		}
		body, err := c.Encode(NewRecord("GI", "GN", tc.value))
		if err != nil {
			t.Fatal(err)
		}
		want := append([]byte("GI|GN"), tc.wire...)
		want = append(want, '|')
		if !bytes.Equal(body, want) {
			t.Errorf("%s: %q written as %q, want %q", tc.cp, tc.value, body, want)
		}
		r, err := c.Decode(body)
		if err != nil || r.Value("GN") != tc.back {
			t.Errorf("%s: read back %q (%v), want %q", tc.cp, r.Value("GN"), err, tc.back)
		}
	}
	c, _ := NewCodec("")
	if _, err := c.Encode(Record{Type: "P|"}); err == nil {
		t.Error("a bad record type was written")
	}
	if _, err := c.Encode(NewRecord("XL", "MT", strings.Repeat("x", MaxRecord))); err == nil {
		t.Error("an oversize record was written")
	}
	// Bad UTF-8 and undefined bytes decode without failing.
	u, _ := NewCodec("utf-8")
	if r, err := u.Decode([]byte("GI|GN\xff\xfe|")); err != nil || !strings.Contains(r.Value("GN"), "\uFFFD") {
		t.Errorf("bad UTF-8: %+v %v", r, err)
	}
}

func TestCleanText(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"London", 20, "London"},
		{"  United   Kingdom | mobile\r\n", 20, "United Kingdom / mob"},
		{"Ωmega ünïcode long text here", 10, "Ωmega ünïc"},
		{"", 20, ""},
	} {
		if got := CleanText(tc.in, tc.max); got != tc.want {
			t.Errorf("CleanText(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
}

// TestDeframer: split, coalesced, noisy and oversize streams.
func TestDeframer(t *testing.T) {
	a, b := "LS|DA250301|TI101500|", "GI|RN214|G#1|GNHartley|"
	stream := "noise\r\n\x02" + a + "\x03\x03junk\x02torn\x02" + b + "\x03\x02" + strings.Repeat("x", MaxRecord+5) + "\x03\x02" + a + "\x03"
	for _, chunk := range []int{1, 2, 3, 7, 64, len(stream)} {
		var d Deframer
		var got []string
		for i := 0; i < len(stream); i += chunk {
			end := min(i+chunk, len(stream))
			d.Feed([]byte(stream[i:end]), func(body []byte) { got = append(got, string(body)) })
		}
		if !reflect.DeepEqual(got, []string{a, b, a}) {
			t.Errorf("chunk %d: got %q", chunk, got)
		}
		if d.Oversize != 1 || d.Noise == 0 {
			t.Errorf("chunk %d: oversize %d noise %d", chunk, d.Oversize, d.Noise)
		}
	}
}

// TestFIPSFramer: the byte after ETX is the LRC whatever its value; control
// bytes come out between and inside records; a bad LRC is reported.
func TestFIPSFramer(t *testing.T) {
	// Find a body whose LRC is STX, and one whose LRC is ETX.
	var stxBody, etxBody []byte
	for i := 0; stxBody == nil || etxBody == nil; i++ {
		b := []byte{'L', 'A', '|', 'T', 'I', byte(0x20 + i%90), byte(0x20 + i/90%90), '|'}
		switch LRC(b) {
		case STX:
			stxBody = b
		case ETX:
			etxBody = b
		}
		if i > 100000 {
			t.Fatal("no body with LRC STX/ETX found")
		}
	}
	var stream []byte
	stream = append(stream, ENQ, 'x')
	stream = AppendFrame(stream, stxBody, true)
	stream = append(stream, ACK)
	stream = AppendFrame(stream, etxBody, true)
	stream = append(stream, STX, 'L', 'S', '|', NAK, ETX, LRC([]byte("LS|"))^1)
	type item struct {
		kind fipsItem
		body string
		ok   bool
		b    byte
	}
	var got []item
	var f fipsFramer
	for _, c := range stream {
		f.Feed([]byte{c}, func(k fipsItem, body []byte, ok bool, b byte) {
			if k != fipsFrame {
				body = nil
			}
			got = append(got, item{k, string(body), ok, b})
		})
	}
	want := []item{
		{fipsControl, "", false, ENQ},
		{fipsNoise, "", false, 'x'},
		{fipsFrame, string(stxBody), true, STX},
		{fipsControl, "", false, ACK},
		{fipsFrame, string(etxBody), true, ETX},
		{fipsControl, "", false, NAK},
		{fipsFrame, "LS|", false, LRC([]byte("LS|")) ^ 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}
