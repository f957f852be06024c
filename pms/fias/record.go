package fias

import (
	"fmt"
	"strings"
)

// Field is one field of a record: its two-character id ("RN", "P#") and its
// value, possibly empty ("SF").
type Field struct {
	ID    string
	Value string
}

// Record is one FIAS record: its two-character type ("PS", "GI") and its
// fields in the order they came. Order is kept, repeated ids are kept (a GC
// for a room move carries GS twice: the first for the new room, the second
// for the old one) and so are ids this package does not know.
type Record struct {
	Type   string
	Fields []Field
}

// NewRecord returns a record of type typ with fields given as id, value
// pairs: NewRecord("LS", "DA", "250301", "TI", "101500").
func NewRecord(typ string, idValues ...string) Record {
	r := Record{Type: typ}
	for i := 0; i+1 < len(idValues); i += 2 {
		r.Fields = append(r.Fields, Field{idValues[i], idValues[i+1]})
	}
	return r
}

// Add appends a field.
func (r *Record) Add(id, value string) { r.Fields = append(r.Fields, Field{id, value}) }

// Get returns the value of the first field with the id, and whether there
// is one.
func (r Record) Get(id string) (string, bool) {
	for _, f := range r.Fields {
		if f.ID == id {
			return f.Value, true
		}
	}
	return "", false
}

// Value returns the value of the first field with the id, "" if none.
func (r Record) Value(id string) string {
	v, _ := r.Get(id)
	return v
}

// Has reports whether the record carries the field (perhaps empty, as SF).
func (r Record) Has(id string) bool {
	_, ok := r.Get(id)
	return ok
}

// All returns the values of every field with the id, in order.
func (r Record) All(id string) []string {
	var out []string
	for _, f := range r.Fields {
		if f.ID == id {
			out = append(out, f.Value)
		}
	}
	return out
}

// IDs returns the field ids in order, each once.
func (r Record) IDs() []string {
	var out []string
	for _, f := range r.Fields {
		dup := false
		for _, o := range out {
			if o == f.ID {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, f.ID)
		}
	}
	return out
}

// String returns the record as it is written between STX and ETX, before
// the code page: "LS|DA250301|TI101500|". Values are written as they are;
// Codec.Encode cleans them first.
func (r Record) String() string {
	var b strings.Builder
	b.WriteString(r.Type)
	b.WriteByte('|')
	for _, f := range r.Fields {
		b.WriteString(f.ID)
		b.WriteString(f.Value)
		b.WriteByte('|')
	}
	return b.String()
}

// ParseRecord reads a record's text (what lies between STX and ETX, after
// the code page). It is lenient where the PMS may be: fields in any order,
// repeated, unknown or empty are kept; empty segments ("||") are skipped; a
// missing final "|" is accepted; a segment shorter than a field id is kept
// as a field with that id and no value. It fails only when the record type
// is not two printable characters, as then nothing can be made of it.
func ParseRecord(text string) (Record, error) {
	typ, rest, _ := strings.Cut(text, "|")
	if !validID(typ) {
		if len(typ) > 12 {
			typ = typ[:12] + "…"
		}
		return Record{}, fmt.Errorf("record type %q is not two letters or digits: the frame is not a FIAS record", typ)
	}
	r := Record{Type: typ}
	for rest != "" {
		var seg string
		seg, rest, _ = strings.Cut(rest, "|")
		switch {
		case seg == "":
		case len(seg) < 2:
			r.Fields = append(r.Fields, Field{ID: seg})
		default:
			// Field ids are ASCII (RN, P#, G+), so two bytes are two characters.
			r.Fields = append(r.Fields, Field{ID: seg[:2], Value: seg[2:]})
		}
	}
	return r, nil
}

// validID reports whether s can be a record type or field id: two printable
// ASCII characters other than "|".
func validID(s string) bool {
	if len(s) != 2 {
		return false
	}
	for i := 0; i < 2; i++ {
		if s[i] <= ' ' || s[i] >= 0x7f || s[i] == '|' {
			return false
		}
	}
	return true
}
