package gateway_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"callgate/gateway"
)

func TestCallJSON(t *testing.T) {
	c := gateway.Call{
		Format:    "avaya-ipo",
		Extension: "201",
		Dialed:    "0442079460000",
		Start:     time.Date(2026, 11, 27, 14, 3, 5, 0, time.UTC),
		StartUTC:  time.Date(2026, 11, 27, 19, 3, 5, 0, time.UTC),
		DurationS: 125,
		Direction: gateway.Outgoing,
		Trunk:     "9001",
		Answered:  gateway.Bool(true),
		RingS:     gateway.Int(4),
		Raw:       []byte(`a,"b"<&>`),
	}
	b, err := c.MarshalJSON() // json.Marshal would escape <&> again
	if err != nil {
		t.Fatal(err)
	}
	want := `{"format":"avaya-ipo","extension":"201","dialed":"0442079460000","start":"2026-11-27T14:03:05","duration_s":125,"direction":"out","trunk":"9001","account_code":null,"answered":true,"caller_id":null,"ring_s":4,"start_utc":"2026-11-27T19:03:05Z","time_note":null,"call_id":null,"continuation":false,"raw":"a,\"b\"<&>"}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	var back gateway.Call
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	b2, _ := back.MarshalJSON()
	if string(b2) != string(b) {
		t.Errorf("round trip changed the call:\n%s\n%s", b, b2)
	}
	// Null where the format cannot tell.
	c.Answered, c.RingS, c.Extension = nil, nil, ""
	b, _ = json.Marshal(c)
	for _, k := range []string{`"answered":null`, `"ring_s":null`, `"extension":null`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("%s missing in %s", k, b)
		}
	}
}

func TestCallJSONRefusesBadCalls(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"start":"2026-11-27 14:03","direction":"out"}`, "start"},
		{`{"start":"2026-11-27T14:03:05","direction":"sideways","duration_s":0}`, "direction"},
		{`{"start":"2026-11-27T14:03:05","direction":"out","duration_s":-1}`, "negative"},
		{`{"start":"2026-11-27T14:03:05","direction":"out","duration_s":0,"ring_s":-1}`, "negative"},
		{`{"start":"2026-11-27T14:03:05","direction":"out","duration_s":0,"start_utc":"yesterday"}`, "start_utc"},
		{`[1]`, "cannot unmarshal"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			var c gateway.Call
			err := json.Unmarshal([]byte(tc.in), &c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: err %v, want %q", tc.in, err, tc.want)
			}
		})
	}
}

func TestErrorKinds(t *testing.T) {
	base := io.ErrUnexpectedEOF
	err := gateway.Errorf(gateway.KindTransient, "pms link: %w", base)
	if !gateway.IsTransient(err) || gateway.KindOf(err) != gateway.KindTransient {
		t.Errorf("kind of %v = %v", err, gateway.KindOf(err))
	}
	if !errors.Is(err, base) {
		t.Error("Errorf with %w does not unwrap to its cause")
	}
	wrapped := fmt.Errorf("posting 12: %w", err)
	if !gateway.IsTransient(wrapped) {
		t.Error("kind lost through fmt.Errorf wrapping")
	}
	if gateway.KindOf(base) != gateway.KindInternal || gateway.IsTransient(nil) {
		t.Error("unclassified error must be internal, nil must be nothing")
	}
	if got := gateway.Message(base); got != "internal error: see the gateway log" {
		t.Errorf("Message(internal) = %q", got)
	}
	rej := gateway.Wrap(gateway.KindRejected, errors.New("NG room not checked in"), "PMS refused posting 7")
	if gateway.Message(rej) != "PMS refused posting 7: NG room not checked in" || !gateway.IsKind(rej, gateway.KindRejected) {
		t.Errorf("Message(rejected) = %q", gateway.Message(rej))
	}
	if gateway.Wrap(gateway.KindInvalid, nil, "x") != nil {
		t.Error("Wrap(nil) must be nil")
	}
	for k, name := range map[gateway.Kind]string{gateway.KindInternal: "internal", gateway.KindInvalid: "invalid",
		gateway.KindNotFound: "not found", gateway.KindRejected: "rejected", gateway.KindTransient: "transient", gateway.Kind(9): "kind(9)"} {
		t.Run(name, func(t *testing.T) {
			if k.String() != name {
				t.Errorf("Kind(%d).String() = %q", int(k), k.String())
			}
		})
	}
}

// TestErrorTexts: an error's text names the thing once and its cause once,
// however it was made.
func TestErrorTexts(t *testing.T) {
	disk := errors.New("disk gone")
	a, b := errors.New("first"), errors.New("second")
	for _, tc := range []struct {
		name   string
		err    error
		want   string
		causes []error
	}{
		{"Errorf without cause", gateway.Errorf(gateway.KindInvalid, "room %q is not known", "101"), `room "101" is not known`, nil},
		{"Errorf wrapping at the end", gateway.Errorf(gateway.KindInternal, "reading %s: %w", "x", disk), "reading x: disk gone", []error{disk}},
		{"Errorf wrapping in the middle", gateway.Errorf(gateway.KindInternal, "reading x (%w): restore it from a backup", disk),
			"reading x (disk gone): restore it from a backup", []error{disk}},
		{"Errorf wrapping two causes", gateway.Errorf(gateway.KindInternal, "%w, then %w", a, b), "first, then second", []error{a, b}},
		{"Errorf wrapping an Errorf", gateway.Errorf(gateway.KindTransient, "posting 7: %w", gateway.Errorf(gateway.KindInternal, "reading %s: %w", "x", disk)),
			"posting 7: reading x: disk gone", []error{disk}},
		{"Wrap", gateway.Wrap(gateway.KindRejected, disk, "PMS refused posting 7"), "PMS refused posting 7: disk gone", []error{disk}},
		{"Wrap of an Errorf", gateway.Wrap(gateway.KindTransient, gateway.Errorf(gateway.KindInternal, "reading %s: %w", "x", disk), "backup"),
			"backup: reading x: disk gone", []error{disk}},
		{"Error without message", &gateway.Error{Kind: gateway.KindInvalid, Err: disk}, "disk gone", []error{disk}},
		{"Error without cause", &gateway.Error{Kind: gateway.KindInvalid, Msg: "bad"}, "bad", nil},
		{"fmt.Errorf around an Errorf", fmt.Errorf("entry 4: %w", gateway.Errorf(gateway.KindInternal, "reading %s: %w", "x", disk)),
			"entry 4: reading x: disk gone", []error{disk}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			for _, c := range tc.causes {
				if !errors.Is(tc.err, c) {
					t.Errorf("does not unwrap to %v", c)
				}
			}
		})
	}
	if got := gateway.Message(gateway.Errorf(gateway.KindInvalid, "cannot read %s: %w", "t.yaml", disk)); got != "cannot read t.yaml: disk gone" {
		t.Errorf("Message = %q", got)
	}
}

func TestStates(t *testing.T) {
	if len(gateway.States) != 15 {
		t.Errorf("%d states, docs/journal.md lists 15", len(gateway.States))
	}
	for _, s := range gateway.States {
		if !s.Valid() {
			t.Errorf("%s not valid", s)
		}
	}
	if gateway.State("lost").Valid() {
		t.Error("unknown state valid")
	}
	for _, tc := range []struct {
		from, to gateway.State
		ok       bool
	}{
		{gateway.StateCaptured, gateway.StateRated, true},
		{gateway.StateRated, gateway.StateQueued, true},
		{gateway.StateQueued, gateway.StateSent, true},
		{gateway.StateSent, gateway.StatePosted, true},
		{gateway.StateSent, gateway.StateInDoubt, true},
		{gateway.StateInDoubt, gateway.StateReposted, true},
		{gateway.StateInDoubt, gateway.StateQueued, false}, // never re-sent automatically
		{gateway.StateSent, gateway.StateResolving, true},  // answer lost, the PMS can prove
		{gateway.StateResolving, gateway.StateResolving, true},
		{gateway.StateResolving, gateway.StateSent, true}, // resent with the same reference
		{gateway.StateResolving, gateway.StatePosted, true},
		{gateway.StateResolving, gateway.StateInDoubt, true},
		{gateway.StateResolving, gateway.StateQueued, false}, // the reference stays with its number
		{gateway.StateResolving, gateway.StateVoided, false},
		{gateway.StateSent, gateway.StateException, true}, // a cloud PMS found the room vacant
		{gateway.StatePosted, gateway.StateQueued, false}, // never charged twice
		{gateway.StateCaptured, gateway.StatePosted, false},
		{gateway.StateImported, gateway.StateQueued, false},
	} {
		t.Run(string(tc.from)+"→"+string(tc.to), func(t *testing.T) {
			if got := gateway.CanMove(tc.from, tc.to); got != tc.ok {
				t.Errorf("CanMove(%s, %s) = %v", tc.from, tc.to, got)
			}
		})
	}
	for _, s := range []gateway.State{gateway.StateException, gateway.StateRefused, gateway.StateInDoubt} {
		if !s.NeedsPerson() || !s.Final() {
			t.Errorf("%s must wait for a person", s)
		}
	}
	if gateway.StateQueued.Final() || gateway.StateSent.NeedsPerson() {
		t.Error("queued and sent move on by themselves")
	}
}

func TestChargePostable(t *testing.T) {
	exc := gateway.ExceptionUnknownDestination
	for i, tc := range []struct {
		c    gateway.Charge
		want bool
	}{
		{gateway.Charge{Chargeable: true, TotalMinor: 308}, true},
		{gateway.Charge{Chargeable: true, TotalMinor: 0}, false},
		{gateway.Charge{Chargeable: false, TotalMinor: 308}, false},
		{gateway.Charge{Chargeable: true, TotalMinor: 308, Exception: &exc}, false},
	} {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			if got := tc.c.Postable(); got != tc.want {
				t.Errorf("%+v: Postable = %v", tc.c, got)
			}
		})
	}
}

func TestMaskNumber(t *testing.T) {
	for in, want := range map[string]string{"": "", "415": "415", "0442079460000": "0442xxxxxxxxx"} {
		t.Run(in, func(t *testing.T) {
			if got := gateway.MaskNumber(in); got != want {
				t.Errorf("MaskNumber(%q) = %q", in, got)
			}
		})
	}
	c := gateway.Call{Direction: gateway.Outgoing, Extension: "415", Dialed: "6175550134", Start: time.Date(2024, 11, 5, 18, 40, 2, 0, time.UTC), DurationS: 95}
	if s := c.String(); strings.Contains(s, "6175550134") || !strings.Contains(s, "6175xxxxxx") {
		t.Errorf("String() shows the full number: %s", s)
	}
}

func TestFormatMinor(t *testing.T) {
	for _, tc := range []struct {
		minor  int64
		digits int
		want   string
	}{{1279, 2, "12.79"}, {5, 2, "0.05"}, {-5, 2, "-0.05"}, {100, 2, "1.00"}, {300, 0, "300"}, {1234, 3, "1.234"}, {0, 2, "0.00"}} {
		t.Run(fmt.Sprintf("%d/%d", tc.minor, tc.digits), func(t *testing.T) {
			if got := gateway.FormatMinor(tc.minor, tc.digits); got != tc.want {
				t.Errorf("FormatMinor(%d, %d) = %q, want %q", tc.minor, tc.digits, got, tc.want)
			}
		})
	}
}

func TestProblems(t *testing.T) {
	ps := gateway.Problems{{Key: "pbx.serial.parity", Line: 6, Msg: `"noen" is not one of none, odd, even, mark, space`}, {Key: "tariff", Msg: "missing"}}
	want := "pbx.serial.parity: line 6: \"noen\" is not one of none, odd, even, mark, space\ntariff: missing"
	var err error = ps
	if err.Error() != want {
		t.Errorf("got %q", err.Error())
	}
}

func TestIsDigits(t *testing.T) {
	for s, want := range map[string]bool{"0": true, "0044": true, "": false, "12a": false, " 1": false, "+1": false, "١": false} {
		t.Run(s, func(t *testing.T) {
			if gateway.IsDigits(s) != want {
				t.Errorf("IsDigits(%q) = %v", s, !want)
			}
		})
	}
}
