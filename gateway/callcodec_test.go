package gateway

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// plainCallJSON is the normalized call as encoding/json writes it from a
// plain struct: the reference the table-driven encoding must match byte for
// byte, since the journal's events and `gateway parse` hold it.
type plainCallJSON struct {
	Format       string    `json:"format"`
	Extension    *string   `json:"extension"`
	Dialed       *string   `json:"dialed"`
	Start        string    `json:"start"`
	DurationS    int       `json:"duration_s"`
	Direction    Direction `json:"direction"`
	Trunk        *string   `json:"trunk"`
	AccountCode  *string   `json:"account_code"`
	Answered     *bool     `json:"answered"`
	CallerID     *string   `json:"caller_id"`
	RingS        *int      `json:"ring_s"`
	StartUTC     *string   `json:"start_utc"`
	TimeNote     *string   `json:"time_note"`
	CallID       *string   `json:"call_id"`
	Continuation bool      `json:"continuation"`
	Raw          string    `json:"raw"`
}

func plainJSON(t *testing.T, c *Call) []byte {
	t.Helper()
	w := plainCallJSON{Format: c.Format, Extension: optional(c.Extension), Dialed: optional(c.Dialed), DurationS: c.DurationS,
		Direction: c.Direction, Trunk: optional(c.Trunk), AccountCode: optional(c.AccountCode), Answered: c.Answered,
		CallerID: optional(c.CallerID), RingS: c.RingS, TimeNote: optional(c.TimeNote), CallID: optional(c.CallID),
		Continuation: c.Continuation, Raw: string(c.Raw)}
	if !c.Start.IsZero() {
		w.Start = c.Start.Format(WallClockLayout)
	}
	if !c.StartUTC.IsZero() {
		s := c.StartUTC.UTC().Format(time.RFC3339)
		w.StartUTC = &s
	}
	b, err := MarshalPlain(w)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// plainDecode reads a normalized call through plainCallJSON.
func plainDecode(t *testing.T, b []byte) Call {
	t.Helper()
	var w plainCallJSON
	if err := json.Unmarshal(b, &w); err != nil {
		t.Fatal(err)
	}
	deref := func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	}
	start, err := time.Parse(WallClockLayout, w.Start)
	if err != nil {
		t.Fatal(err)
	}
	c := Call{Format: w.Format, Extension: deref(w.Extension), Dialed: deref(w.Dialed), Start: start, DurationS: w.DurationS,
		Direction: w.Direction, Trunk: deref(w.Trunk), AccountCode: deref(w.AccountCode), Answered: w.Answered,
		CallerID: deref(w.CallerID), RingS: w.RingS, TimeNote: deref(w.TimeNote), CallID: deref(w.CallID),
		Continuation: w.Continuation, Raw: []byte(w.Raw)}
	if w.StartUTC != nil {
		u, err := time.Parse(time.RFC3339, *w.StartUTC)
		if err != nil {
			t.Fatal(err)
		}
		c.StartUTC = u.UTC()
	}
	return c
}

func codecCalls() map[string]*Call {
	ny, _ := time.LoadLocation("America/New_York")
	return map[string]*Call{
		"plain": {Format: "avaya-ipo", Extension: "415", Dialed: "6175550134", Start: time.Date(2026, 11, 27, 9, 1, 2, 0, time.UTC),
			StartUTC: time.Date(2026, 11, 27, 14, 1, 2, 0, time.UTC), DurationS: 95, Direction: Outgoing, Trunk: "9005",
			Answered: Bool(true), AccountCode: `a"b\c`, CallerID: "a<b&c\n", Raw: []byte(`a,"b"<&>`)},
		"bare": {Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Direction: Internal, RingS: Int(3)},
		"escapes": {Format: "\b\f\u2028\u2029\x01\x1f\t", Trunk: "\xff<>&", Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
			Direction: Incoming, Answered: Bool(false), Raw: []byte{0, 0xff, '\n'}},
		"everything": {Format: "mitel", Extension: "415", Dialed: "0044", Start: time.Date(2026, 11, 1, 1, 30, 5, 0, time.UTC),
			StartUTC: time.Date(2026, 11, 1, 5, 30, 5, 0, ny), TimeNote: TimeNoteDSTOverlap, DurationS: 61, Direction: Incoming,
			Trunk: "T1", AccountCode: "7", Answered: Bool(false), CallerID: "+1617", RingS: Int(0), CallID: "c-1", Continuation: true},
	}
}

// TestCallJSONIsPlain: the table-driven JSON of a call is what
// encoding/json writes from a plain struct, byte for byte, and reads back.
func TestCallJSONIsPlain(t *testing.T) {
	for name, c := range codecCalls() {
		t.Run(name, func(t *testing.T) {
			want := plainJSON(t, c)
			got, _ := c.MarshalJSON()
			if string(got) != string(want) {
				t.Errorf("got  %s\nwant %s", got, want)
			}
			var back Call
			if err := json.Unmarshal(got, &back); err != nil {
				t.Fatal(err)
			}
			if ref := plainDecode(t, got); !reflect.DeepEqual(back, ref) {
				t.Errorf("read back as\n%+v\nwant\n%+v", back, ref)
			}
			c2 := *c
			c2.Raw = nil
			if noRaw := AppendCallJSON(nil, c, false); string(noRaw) != string(plainJSON(t, &c2)) {
				t.Errorf("without raw: %s", noRaw)
			}
		})
	}
}

// TestCallCompact: the compact form reads back as the canonical call, and
// a form with unknown flags or a bad direction is refused.
func TestCallCompact(t *testing.T) {
	for name, c := range codecCalls() {
		t.Run(name, func(t *testing.T) {
			want := CanonicalCall(c)
			r := NewCompactReader(string(AppendCallCompact(nil, want)))
			var got Call
			DecodeCallCompact(&r, &got)
			if !r.Done() || !reflect.DeepEqual(&got, want) {
				t.Errorf("got %+v (read %v, all %v)\nwant %+v", got, r.OK(), r.Done(), want)
			}
		})
	}
	good := AppendCallCompact(nil, codecCalls()["plain"])
	for name, b := range map[string][]byte{
		"unknown flag":            append([]byte{good[0] | 1<<7}, good[1:]...),
		"answered without known":  append([]byte{1 << 2}, good[1:]...),
		"bad direction":           AppendCallCompact(nil, &Call{Direction: "sideways"}),
		"cut short":               good[:len(good)-2],
		"negative duration_s":     AppendCallCompact(nil, &Call{Direction: Outgoing, DurationS: -1}),
		"negative ring_s":         AppendCallCompact(nil, &Call{Direction: Outgoing, RingS: Int(-1)}),
		"empty":                   nil,
		"flags without the field": {1 << 4},
	} {
		t.Run(name, func(t *testing.T) {
			r := NewCompactReader(string(b))
			var c Call
			DecodeCallCompact(&r, &c)
			if r.OK() {
				t.Errorf("read as %+v", c)
			}
		})
	}
}

// TestCallFieldsCoverCall: every field of Call has its row in callFields,
// once: a new field left out of the table would be lost by the journal.
func TestCallFieldsCoverCall(t *testing.T) {
	var c Call
	v := reflect.ValueOf(&c).Elem()
	rows := map[uintptr]string{}
	slots := map[int]string{}
	for _, f := range callFields {
		p := reflect.ValueOf(f.at(&c)).Pointer()
		if other, ok := rows[p]; ok {
			t.Errorf("%s and %s are the same field", f.key, other)
		}
		rows[p] = f.key
		if f.slot >= 0 {
			if other, ok := slots[f.slot]; ok {
				t.Errorf("%s and %s share slot %d", f.key, other, f.slot)
			}
			slots[f.slot] = f.key
		}
	}
	for i := range v.NumField() {
		if _, ok := rows[v.Field(i).Addr().Pointer()]; !ok {
			t.Errorf("Call.%s has no row in callFields", v.Type().Field(i).Name)
		}
	}
	for s := range len(slots) {
		if _, ok := slots[s]; !ok {
			t.Errorf("no field in slot %d", s)
		}
	}
}

// TestCallJSONNullDuration: "duration_s": null (or no duration_s) is not a
// call of 0 s: it is refused with a sentence (issue #14, D14). 0 stays a
// duration.
func TestCallJSONNullDuration(t *testing.T) {
	for _, in := range []string{
		`{"start":"2026-11-27T14:03:05","direction":"out","dialed":"0044","duration_s":null}`,
		`{"start":"2026-11-27T14:03:05","direction":"out","dialed":"0044"}`,
	} {
		var c Call
		err := json.Unmarshal([]byte(in), &c)
		if err == nil || KindOf(err) != KindInvalid || err.Error() != "call: duration_s is null or missing: give it as a number (0 for none)" {
			t.Errorf("%s: %v, want a refusal", in, err)
		}
	}
	var c Call
	if err := json.Unmarshal([]byte(`{"start":"2026-11-27T14:03:05","direction":"out","duration_s":0}`), &c); err != nil || c.DurationS != 0 {
		t.Errorf("duration 0: %v", err)
	}
}
