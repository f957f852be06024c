package fias

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/unicode/norm"
)

// Link-control bytes of FIPS, the framing and serial layer of FIAS.
const (
	STX = 0x02 // start of a record
	ETX = 0x03 // end of a record
	ENQ = 0x05 // serial: "what did you answer?"
	ACK = 0x06 // serial: record received intact
	NAK = 0x15 // serial: record damaged, send it again
)

// MaxRecord is the longest record FIAS allows, in bytes between STX and ETX.
const MaxRecord = 2000

// CodePages lists the code pages a Codec knows, in the names the config
// uses. FIAS does not name its code page: it is whatever the PMS's interface
// is set to, most often Windows-1252 on Western sites.
var CodePages = []string{"windows-1250", "windows-1251", "windows-1252", "windows-1253", "windows-1254",
	"windows-1257", "iso-8859-1", "iso-8859-2", "iso-8859-15", "utf-8"}

// DefaultCodePage is the code page used when none is configured.
const DefaultCodePage = "windows-1252"

var charmaps = map[string]*charmap.Charmap{
	"windows-1250": charmap.Windows1250,
	"windows-1251": charmap.Windows1251,
	"windows-1252": charmap.Windows1252,
	"windows-1253": charmap.Windows1253,
	"windows-1254": charmap.Windows1254,
	"windows-1257": charmap.Windows1257,
	"iso-8859-1":   charmap.ISO8859_1,
	"iso-8859-2":   charmap.ISO8859_2,
	"iso-8859-15":  charmap.ISO8859_15,
}

// Codec turns records into the bytes between STX and ETX and back, in one
// code page. It is safe for concurrent use.
type Codec struct {
	name string
	cm   *charmap.Charmap // nil for utf-8
}

// NewCodec returns the codec of a code page from CodePages ("" means
// DefaultCodePage; case does not matter).
func NewCodec(codePage string) (*Codec, error) {
	name := strings.ToLower(strings.TrimSpace(codePage))
	if name == "" {
		name = DefaultCodePage
	}
	if name == "utf-8" || name == "utf8" {
		return &Codec{name: "utf-8"}, nil
	}
	cm, ok := charmaps[name]
	if !ok {
		return nil, fmt.Errorf("code page %q is not one of %s: use the code page the PMS interface is set to", codePage, strings.Join(CodePages, ", "))
	}
	return &Codec{name: name, cm: cm}, nil
}

// Name returns the code page's name.
func (c *Codec) Name() string { return c.name }

// Text returns a record's bytes as text: decoded leniently (a byte the code
// page does not define, or bad UTF-8, becomes U+FFFD; nothing fails).
func (c *Codec) Text(body []byte) string {
	if c.cm == nil {
		return strings.ToValidUTF8(string(body), "\uFFFD")
	}
	var b strings.Builder
	b.Grow(len(body))
	for _, x := range body {
		if x < 0x80 {
			b.WriteByte(x)
			continue
		}
		b.WriteRune(c.cm.DecodeByte(x))
	}
	return b.String()
}

// Decode reads a record from the bytes between STX and ETX.
func (c *Codec) Decode(body []byte) (Record, error) {
	return ParseRecord(c.Text(body))
}

// Encode writes a record as the bytes between STX and ETX. Values are
// cleaned first (see Clean); a record type or field id that is not two
// printable characters, or a record longer than MaxRecord, is an error (a
// bug of the caller's: nothing is written).
func (c *Codec) Encode(r Record) ([]byte, error) {
	if !validID(r.Type) {
		return nil, fmt.Errorf("record type %q is not two printable characters", r.Type)
	}
	out := make([]byte, 0, 64)
	out = append(out, r.Type...)
	out = append(out, '|')
	for _, f := range r.Fields {
		if !validID(f.ID) {
			return nil, fmt.Errorf("%s record: field id %q is not two printable characters", r.Type, f.ID)
		}
		out = append(out, f.ID...)
		out = c.appendValue(out, Clean(f.Value))
		out = append(out, '|')
	}
	if len(out) > MaxRecord {
		return nil, fmt.Errorf("%s record is %d bytes, more than the %d FIAS allows", r.Type, len(out), MaxRecord)
	}
	return out, nil
}

// appendValue appends s in the code page. A character the code page lacks
// is written as its base letter where Unicode decomposes it (ő becomes o in
// Windows-1252) and as "?" otherwise (Cyrillic in Windows-1252).
func (c *Codec) appendValue(out []byte, s string) []byte {
	if c.cm == nil {
		return append(out, s...)
	}
	for _, r := range s {
		if r < 0x80 {
			out = append(out, byte(r))
			continue
		}
		if b, ok := c.cm.EncodeRune(r); ok {
			out = append(out, b)
			continue
		}
		d := norm.NFD.String(string(r))
		base, _ := utf8.DecodeRuneInString(d)
		if b, ok := c.cm.EncodeRune(base); ok && base != r && base >= 0x20 {
			out = append(out, b)
			continue
		}
		if base < 0x80 && base >= 0x20 && base != r {
			out = append(out, byte(base))
			continue
		}
		out = append(out, '?')
	}
	return out
}

// Clean makes a value safe to send: "|" (the field separator, which FIAS
// cannot escape) becomes "/", and control characters (C0, DEL, C1, which
// FIAS reserves for link control) become spaces.
func Clean(s string) string {
	clean := true
	for _, r := range s {
		if r == '|' || r < 0x20 || (r >= 0x7f && r < 0xa0) || r == utf8.RuneError {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '|':
			b.WriteByte('/')
		case r < 0x20 || (r >= 0x7f && r < 0xa0):
			b.WriteByte(' ')
		case r == utf8.RuneError:
			b.WriteByte('?')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// CleanText cleans a free-text value (CT) and cuts it to max characters,
// trimming spaces at its ends.
func CleanText(s string, max int) string {
	s = strings.TrimSpace(strings.Join(strings.Fields(Clean(s)), " "))
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	n := 0
	for i := range s {
		if n == max {
			return strings.TrimSpace(s[:i])
		}
		n++
	}
	return s
}

// LRC returns the longitudinal redundancy check of a serial frame: the XOR
// of every byte after STX up to and including ETX, so of body and ETX.
func LRC(body []byte) byte {
	var x byte
	for _, b := range body {
		x ^= b
	}
	return x ^ ETX
}

// AppendFrame appends STX body ETX to dst, and the LRC byte when lrc is set
// (serial links).
func AppendFrame(dst, body []byte, lrc bool) []byte {
	dst = append(dst, STX)
	dst = append(dst, body...)
	dst = append(dst, ETX)
	if lrc {
		dst = append(dst, LRC(body))
	}
	return dst
}
