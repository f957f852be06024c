package fias

import (
	"bytes"
	"reflect"
	"testing"
)

// FuzzDecode: any bytes between STX and ETX, in any code page, decode
// without panicking; a record that decodes writes back as text that decodes
// to the same record; its guest event never panics.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"LS|DA250301|TI101500|",
		"GC|RN310|GSN|G#40021|GNHartley-Lee|RO214|GSY|DA250302|TI090000|",
		"GI|RN214|G#40021|GSN|GNM\xfcller|GA250301|GD991399|SF|",
		"PA|RN214|ASOK|P#1001||X|",
		"GO|RN|", "", "|", "G#|", "XX\x00|\xff\xfe",
	} {
		f.Add([]byte(s), uint8(2))
	}
	f.Fuzz(func(t *testing.T, body []byte, cp uint8) {
		c, err := NewCodec(CodePages[int(cp)%len(CodePages)])
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.Decode(body)
		if err != nil {
			return
		}
		GuestEvent(r)
		Answer(r.Value("AS"))
		again, err := ParseRecord(r.String())
		if err != nil {
			t.Fatalf("%q: re-parse of %q failed: %v", body, r.String(), err)
		}
		// Empty segments vanish on the first parse, so the second one
		// must give exactly the first.
		if !reflect.DeepEqual(dropEmpty(again), dropEmpty(r)) {
			t.Fatalf("%q: %+v re-parsed as %+v", body, r, again)
		}
		if enc, err := c.Encode(r); err == nil {
			if _, err := c.Decode(enc); err != nil {
				t.Fatalf("encoded %q does not decode: %v", enc, err)
			}
			if bytes.IndexByte(enc, STX) >= 0 || bytes.IndexByte(enc, ETX) >= 0 {
				t.Fatalf("encoded record %q holds a framing byte", enc)
			}
		}
	})
}

// dropEmpty forgets fields whose id is shorter than two characters, which
// a re-parse may merge with their neighbours.
func dropEmpty(r Record) Record {
	out := Record{Type: r.Type}
	for _, f := range r.Fields {
		if len(f.ID) == 2 {
			out.Fields = append(out.Fields, f)
		}
	}
	return out
}

// FuzzDeframer: a TCP stream cut into pieces anywhere gives the same
// records as the whole stream, none longer than MaxRecord, none holding
// STX or ETX.
func FuzzDeframer(f *testing.F) {
	f.Add([]byte("\x02LS|DA250301|\x03noise\x02a\x02GI|RN1|\x03"), uint8(3))
	f.Add(bytes.Repeat([]byte("\x02x"), 50), uint8(1))
	f.Fuzz(func(t *testing.T, stream []byte, step uint8) {
		var whole, pieces [][]byte
		var d1, d2 Deframer
		d1.Feed(stream, func(b []byte) { whole = append(whole, b) })
		n := int(step)%17 + 1
		for i := 0; i < len(stream); i += n {
			d2.Feed(stream[i:min(i+n, len(stream))], func(b []byte) { pieces = append(pieces, b) })
		}
		if !reflect.DeepEqual(whole, pieces) {
			t.Fatalf("whole %q, in pieces of %d %q", whole, n, pieces)
		}
		for _, b := range whole {
			if len(b) > MaxRecord || bytes.IndexByte(b, STX) >= 0 || bytes.IndexByte(b, ETX) >= 0 {
				t.Fatalf("record %q", b)
			}
		}
	})
}

// FuzzSerialFramer: the FIPS framer gives the same items whatever the
// read sizes, and reports a record intact only when its LRC matches.
func FuzzSerialFramer(f *testing.F) {
	f.Add(AppendFrame([]byte{ENQ, 'x'}, []byte("LS|DA250301|TI101500|"), true), uint8(2))
	f.Add([]byte{STX, 'L', ACK, 'A', ETX, STX, STX, ETX, ETX, NAK}, uint8(1))
	f.Fuzz(func(t *testing.T, stream []byte, step uint8) {
		type item struct {
			k    fipsItem
			body string
			ok   bool
			b    byte
		}
		collect := func(dst *[]item) func(fipsItem, []byte, bool, byte) {
			return func(k fipsItem, body []byte, ok bool, b byte) {
				if ok && LRC(body) != b {
					t.Fatalf("record %q reported intact with LRC %#x", body, b)
				}
				if len(body) > MaxRecord {
					t.Fatalf("record of %d bytes", len(body))
				}
				*dst = append(*dst, item{k, string(body), ok, b})
			}
		}
		var whole, pieces []item
		var f1, f2 fipsFramer
		f1.Feed(stream, collect(&whole))
		n := int(step)%13 + 1
		for i := 0; i < len(stream); i += n {
			f2.Feed(stream[i:min(i+n, len(stream))], collect(&pieces))
		}
		if !reflect.DeepEqual(whole, pieces) {
			t.Fatalf("whole %+v, in pieces of %d %+v", whole, n, pieces)
		}
	})
}
