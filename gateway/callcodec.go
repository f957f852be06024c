package gateway

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// A Call has two encodings, both driven by the one table callFields:
//
//   - JSON, the "normalized call" (MarshalJSON, UnmarshalJSON), which the
//     journal's events hold (AppendCallJSON);
//   - the journal's compact form, which its entry records hold so that
//     listing entries decodes no JSON (AppendCallCompact, DecodeCallCompact):
//     about fifty times faster to read than the JSON.
//
// A new field of Call is a new row of callFields; every encoding, and
// CanonicalCall, follows. Both forms are stored: a row's key, kind, slot and
// flags never change.

// fieldKind is how a field of Call is encoded.
type fieldKind uint8

const (
	kindText      fieldKind = iota // string; JSON string
	kindOptText                    // string; JSON null for ""
	kindWallClock                  // time.Time wall clock; JSON "2006-01-02T15:04:05", "" for zero; compact: Unix seconds
	kindInstant                    // time.Time instant; JSON RFC 3339 in UTC, null for zero; compact: Unix seconds when flagged
	kindCount                      // int ≥ 0; JSON number
	kindOptCount                   // *int ≥ 0; JSON number or null; compact: when flagged
	kindFlag                       // bool; JSON true or false; compact: a flag bit
	kindOptFlag                    // *bool; JSON true, false or null; compact: a presence and a value bit
	kindRaw                        // []byte; JSON string; not in the compact form
)

// callField is one field of Call as its encodings see it.
type callField struct {
	key  string // JSON key
	kind fieldKind
	// slot is the field's place in the compact form, which writes fields in
	// slot order after its flag byte; a new field takes the next slot. -1:
	// not in the compact form.
	slot int
	// present and value are the field's bits in the compact form's flag
	// byte: present for an optional field that is set, value for a bool.
	present, value byte
	// at returns a pointer to the field in c: *string, *time.Time, *int,
	// **int, *bool, **bool or *[]byte, as kind says.
	at func(c *Call) any
	// check, if set, says what is wrong with the field's value read from
	// either form (nil: nothing).
	check func(c *Call) error
}

var callFields = [...]callField{
	{key: "format", kind: kindText, slot: 0, at: func(c *Call) any { return &c.Format }},
	{key: "extension", kind: kindOptText, slot: 1, at: func(c *Call) any { return &c.Extension }},
	{key: "dialed", kind: kindOptText, slot: 2, at: func(c *Call) any { return &c.Dialed }},
	{key: "start", kind: kindWallClock, slot: 3, at: func(c *Call) any { return &c.Start }},
	{key: "duration_s", kind: kindCount, slot: 6, at: func(c *Call) any { return &c.DurationS }},
	{key: "direction", kind: kindText, slot: 7, at: func(c *Call) any { return (*string)(&c.Direction) }, check: func(c *Call) error {
		if !c.Direction.Valid() {
			return Errorf(KindInvalid, "call: direction %q is not one of out, in, internal", c.Direction)
		}
		return nil
	}},
	{key: "trunk", kind: kindOptText, slot: 8, at: func(c *Call) any { return &c.Trunk }},
	{key: "account_code", kind: kindOptText, slot: 9, at: func(c *Call) any { return &c.AccountCode }},
	{key: "answered", kind: kindOptFlag, slot: 13, present: 1 << 1, value: 1 << 2, at: func(c *Call) any { return &c.Answered }},
	{key: "caller_id", kind: kindOptText, slot: 10, at: func(c *Call) any { return &c.CallerID }},
	{key: "ring_s", kind: kindOptCount, slot: 11, present: 1 << 3, at: func(c *Call) any { return &c.RingS }},
	{key: "start_utc", kind: kindInstant, slot: 4, present: 1 << 4, at: func(c *Call) any { return &c.StartUTC }},
	{key: "time_note", kind: kindOptText, slot: 5, at: func(c *Call) any { return &c.TimeNote }},
	{key: "call_id", kind: kindOptText, slot: 12, at: func(c *Call) any { return &c.CallID }},
	{key: "continuation", kind: kindFlag, slot: 14, value: 1 << 0, at: func(c *Call) any { return &c.Continuation }},
	{key: "raw", kind: kindRaw, slot: -1, at: func(c *Call) any { return &c.Raw }},
}

var (
	// compactOrder is callFields in the compact form's order.
	compactOrder []*callField
	// compactFlags is every bit the compact form's flag byte may have.
	compactFlags byte
	// jsonPrefix is each field's `{"key":` or `,"key":`.
	jsonPrefix [len(callFields)]string
	// jsonType is the struct encoding/json reads a call into: one field per
	// row, a pointer where JSON may hold null.
	jsonType reflect.Type
)

func init() {
	var fields []reflect.StructField
	for i := range callFields {
		f := &callFields[i]
		if f.slot >= 0 {
			compactOrder = append(compactOrder, f)
		}
		compactFlags |= f.present | f.value
		jsonPrefix[i] = `,"` + f.key + `":`
		var t reflect.Type
		switch f.kind {
		case kindText, kindWallClock, kindRaw:
			t = reflect.TypeFor[string]()
		case kindOptText, kindInstant:
			t = reflect.TypeFor[*string]()
		case kindCount, kindOptCount: // kindCount too: null and absent are not 0
			t = reflect.TypeFor[*int]()
		case kindFlag:
			t = reflect.TypeFor[bool]()
		case kindOptFlag:
			t = reflect.TypeFor[*bool]()
		}
		fields = append(fields, reflect.StructField{Name: fmt.Sprintf("F%d", i), Type: t, Tag: reflect.StructTag(`json:"` + f.key + `"`)})
	}
	jsonPrefix[0] = "{" + jsonPrefix[0][1:]
	slices.SortFunc(compactOrder, func(a, b *callField) int { return a.slot - b.slot })
	jsonType = reflect.StructOf(fields)
}

// AppendCallJSON appends c's JSON form to b, as MarshalJSON writes it; with
// raw false its "raw" is "" (the journal keeps the raw record apart).
func AppendCallJSON(b []byte, c *Call, raw bool) []byte {
	for i := range callFields {
		f := &callFields[i]
		b = append(b, jsonPrefix[i]...)
		switch p := f.at(c).(type) {
		case *string:
			if *p == "" && f.kind == kindOptText {
				b = append(b, "null"...)
			} else {
				b = AppendJSONString(b, *p)
			}
		case *time.Time:
			switch {
			case f.kind == kindWallClock:
				b = append(b, '"')
				if !p.IsZero() {
					b = p.AppendFormat(b, WallClockLayout)
				}
				b = append(b, '"')
			case p.IsZero():
				b = append(b, "null"...)
			default:
				b = append(b, '"')
				b = p.UTC().AppendFormat(b, time.RFC3339)
				b = append(b, '"')
			}
		case *int:
			b = strconv.AppendInt(b, int64(*p), 10)
		case **int:
			if *p == nil {
				b = append(b, "null"...)
			} else {
				b = strconv.AppendInt(b, int64(**p), 10)
			}
		case *bool:
			b = strconv.AppendBool(b, *p)
		case **bool:
			if *p == nil {
				b = append(b, "null"...)
			} else {
				b = strconv.AppendBool(b, **p)
			}
		case *[]byte:
			if raw {
				b = AppendJSONString(b, string(*p))
			} else {
				b = append(b, `""`...)
			}
		}
	}
	return append(b, '}')
}

// decodeCallJSON reads a call's JSON form into c, checking what a rater
// relies on: a valid direction, a wall-clock start, counts that are given
// (duration_s null is not 0 s) and not negative.
func decodeCallJSON(data []byte, c *Call) error {
	v := reflect.New(jsonType)
	if err := json.Unmarshal(data, v.Interface()); err != nil {
		return err
	}
	s := v.Elem()
	var out Call
	for i := range callFields {
		f := &callFields[i]
		fv := s.Field(i)
		switch p := f.at(&out).(type) {
		case *string:
			if f.kind == kindOptText {
				if !fv.IsNil() {
					*p = fv.Elem().String()
				}
			} else {
				*p = fv.String()
			}
		case *time.Time:
			if f.kind == kindWallClock {
				t, err := time.Parse(WallClockLayout, fv.String())
				if err != nil {
					return Errorf(KindInvalid, "call: %s %q is not a wall-clock time like 2026-11-27T14:03:05", f.key, fv.String())
				}
				*p = t
			} else if !fv.IsNil() {
				t, err := time.Parse(time.RFC3339, fv.Elem().String())
				if err != nil {
					return Errorf(KindInvalid, "call: %s %q is not an RFC 3339 time", f.key, fv.Elem().String())
				}
				*p = t.UTC()
			}
		case *int:
			if fv.IsNil() {
				return Errorf(KindInvalid, "call: %s is null or missing: give it as a number (0 for none)", f.key)
			}
			if *p = int(fv.Elem().Int()); *p < 0 {
				return Errorf(KindInvalid, "call: %s %d is negative", f.key, *p)
			}
		case **int:
			if !fv.IsNil() {
				n := int(fv.Elem().Int())
				if n < 0 {
					return Errorf(KindInvalid, "call: %s %d is negative", f.key, n)
				}
				*p = &n
			}
		case *bool:
			*p = fv.Bool()
		case **bool:
			if !fv.IsNil() {
				v := fv.Elem().Bool()
				*p = &v
			}
		case *[]byte:
			*p = []byte(fv.String())
		}
		if f.check != nil {
			if err := f.check(&out); err != nil {
				return err
			}
		}
	}
	*c = out
	return nil
}

// AppendCallCompact appends c's compact form to b: a flag byte, then the
// fields in slot order, a string as its length (uvarint) and bytes, a number
// as a varint. Raw is not in it.
func AppendCallCompact(b []byte, c *Call) []byte {
	b = append(b, 0)
	at := len(b) - 1
	var flags byte
	for _, f := range compactOrder {
		switch p := f.at(c).(type) {
		case *string:
			b = binary.AppendUvarint(b, uint64(len(*p)))
			b = append(b, *p...)
		case *time.Time:
			if f.kind == kindWallClock || !p.IsZero() {
				flags |= f.present
				b = binary.AppendVarint(b, p.Unix())
			}
		case *int:
			b = binary.AppendVarint(b, int64(*p))
		case **int:
			if *p != nil {
				flags |= f.present
				b = binary.AppendVarint(b, int64(**p))
			}
		case *bool:
			if *p {
				flags |= f.value
			}
		case **bool:
			if *p != nil {
				flags |= f.present
				if **p {
					flags |= f.value
				}
			}
		}
	}
	b[at] = flags
	return b
}

// CompactReader reads the values of a compact form in order (the
// journal's entry records and the calls in them). After a value that cannot
// be read every read returns zero and OK reports false.
type CompactReader struct {
	s   string
	bad bool
}

// NewCompactReader reads s; strings it returns share s's memory.
func NewCompactReader(s string) CompactReader { return CompactReader{s: s} }

// OK reports whether every value so far was read; Done whether, besides,
// nothing is left.
func (d *CompactReader) OK() bool   { return !d.bad }
func (d *CompactReader) Done() bool { return !d.bad && len(d.s) == 0 }

// Fail makes the form one that cannot be read.
func (d *CompactReader) Fail() { d.bad, d.s = true, "" }

// Byte reads one byte.
func (d *CompactReader) Byte() byte {
	if len(d.s) == 0 {
		d.Fail()
		return 0
	}
	b := d.s[0]
	d.s = d.s[1:]
	return b
}

// Uvarint reads an unsigned varint.
func (d *CompactReader) Uvarint() uint64 {
	var v uint64
	for i := 0; i < len(d.s) && i < binary.MaxVarintLen64; i++ {
		c := d.s[i]
		if i == binary.MaxVarintLen64-1 && c > 1 {
			break // overflow
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			d.s = d.s[i+1:]
			return v
		}
	}
	d.Fail()
	return 0
}

// Varint reads a signed (zig-zag) varint.
func (d *CompactReader) Varint() int64 {
	u := d.Uvarint()
	v := int64(u >> 1)
	if u&1 != 0 {
		v = ^v
	}
	return v
}

// Count reads a varint that must fit an int and not be negative.
func (d *CompactReader) Count() int {
	v := d.Varint()
	if v < 0 || int64(int(v)) != v {
		d.Fail()
		return 0
	}
	return int(v)
}

// Str reads a string: its length (uvarint) and bytes.
func (d *CompactReader) Str() string {
	n := d.Uvarint()
	if n > uint64(len(d.s)) {
		d.Fail()
		return ""
	}
	s := d.s[:n]
	d.s = d.s[n:]
	return s
}

// DecodeCallCompact reads a call's compact form from r into c. A form that
// is not one (unknown flags, a bad direction) fails r.
func DecodeCallCompact(r *CompactReader, c *Call) {
	flags := r.Byte()
	if flags&^compactFlags != 0 {
		r.Fail()
	}
	*c = Call{}
	for _, f := range compactOrder {
		switch p := f.at(c).(type) {
		case *string:
			*p = r.Str()
		case *time.Time:
			if f.kind == kindWallClock || flags&f.present != 0 {
				*p = time.Unix(r.Varint(), 0).UTC()
			}
		case *int:
			*p = r.Count()
		case **int:
			if flags&f.present != 0 {
				n := r.Count()
				*p = &n
			}
		case *bool:
			*p = flags&f.value != 0
		case **bool:
			if flags&f.present != 0 {
				*p = Bool(flags&f.value != 0)
			} else if flags&f.value != 0 {
				r.Fail()
			}
		}
		if f.check != nil && f.check(c) != nil {
			r.Fail()
		}
	}
}

// CanonicalCall returns c as its JSON form reads back: the wall-clock start
// and the instant in whole seconds, the instant in UTC, text with each byte
// that is not UTF-8 replaced by U+FFFD, no raw bytes; nil for nil. The
// journal keeps calls so in its entry records, so that a live write and a
// rebuild from the events store the same bytes. The
// journal keeps a call in its entry records so, that a live write and a
// rebuild from the events store the same bytes.
func CanonicalCall(c *Call) *Call {
	if c == nil {
		return nil
	}
	out := &Call{}
	for i := range callFields {
		f := &callFields[i]
		switch dst := f.at(out).(type) {
		case *string:
			*dst = CanonicalText(*f.at(c).(*string))
		case *time.Time:
			t := *f.at(c).(*time.Time)
			if f.kind == kindWallClock {
				*dst = time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
			} else if !t.IsZero() {
				*dst = t.UTC().Truncate(time.Second)
			}
		case *int:
			*dst = *f.at(c).(*int)
		case **int:
			if n := *f.at(c).(**int); n != nil {
				v := *n
				*dst = &v
			}
		case *bool:
			*dst = *f.at(c).(*bool)
		case **bool:
			if v := *f.at(c).(**bool); v != nil {
				*dst = Bool(*v)
			}
		}
	}
	return out
}

// CanonicalText returns s as JSON writes it and reads it back: each byte
// that is not UTF-8 replaced by U+FFFD.
func CanonicalText(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	b := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = utf8.AppendRune(b, utf8.RuneError)
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return string(b)
}

// AppendJSONString appends s as a JSON string, as encoding/json writes it
// without HTML escaping (MarshalPlain). Bytes that are not UTF-8 become
// U+FFFD.
func AppendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\b':
				b = append(b, '\\', 'b')
			case c == '\f':
				b = append(b, '\\', 'f')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029': // as encoding/json writes them
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
