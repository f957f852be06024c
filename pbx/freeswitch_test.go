package pbx

import (
	"errors"
	"testing"
	"time"

	"callgate/gateway"
)

func FuzzFreeswitch(f *testing.F) { fuzzFormat(f, "freeswitch") }

func TestFreeswitchRecords(t *testing.T) {
	rec := func(name, cid, dest, ctx, start, answer, dur, bill string) string {
		return `"` + name + `","` + cid + `","` + dest + `","` + ctx + `","` + start + `","` + answer + `","2024-11-05 21:00:00","` + dur + `","` + bill + `","NORMAL_CLEARING","u-1","u-2","","PCMU","PCMU"`
	}
	const s = "2024-11-05 20:00:00"
	cases := []struct {
		name, line       string
		dir              gateway.Direction
		ext, dialed, cid string
		dur              int
		answered         bool
		ring             int // -1: nil
	}{
		{"public context, DID", rec("BOSTON", "6175550199", "6175550000", "public", s, "2024-11-05 20:00:07", "187", "180"),
			gateway.Incoming, "", "6175550000", "6175550199", 180, true, 7},
		{"public context, short destination is the extension", rec("BOSTON", "6175550199", "200", "public", s, "", "25", "0"),
			gateway.Incoming, "200", "", "6175550199", 0, false, -1},
		{"transferred to default: outside caller, short destination", rec("X", "+16175550177", "1000", "default", s, "2024-11-05 20:00:04", "34", "30"),
			gateway.Incoming, "1000", "", "+16175550177", 30, true, 4},
		{"out: destination longer than 5 digits", rec("Room", "1003", "9-617-555-0188", "default", s, "2024-11-05 20:00:02", "62", "60"),
			gateway.Outgoing, "1003", "96175550188", "", 60, true, 2},
		{"out: + destination", rec("Room", "1004", "+4420", "default", s, "2024-11-05 20:00:02", "62", "60"),
			gateway.Outgoing, "1004", "+4420", "", 60, true, 2},
		{"internal: 5 digits both", rec("Room", "10001", "10002", "default", s, "2024-11-05 20:00:02", "62", "60"),
			gateway.Internal, "10001", "10002", "", 60, true, 2},
		{"epoch answer stamp of an old release: unanswered", rec("Room", "1000", "1001", "default", s, "1969-12-31 19:00:00", "10", "0"),
			gateway.Internal, "1000", "1001", "", 0, false, -1},
		{"answer after the end (clock change): ring = duration - billsec", rec("Room", "1000", "1001", "default", s, "2024-11-05 21:00:05", "125", "120"),
			gateway.Internal, "1000", "1001", "", 120, true, 5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := mustParser(t, "freeswitch", Options{Location: time.UTC})
			c := mustParse(t, p, tc.line, time.Now())
			if c.Direction != tc.dir || c.Extension != tc.ext || c.Dialed != tc.dialed || c.CallerID != tc.cid || c.DurationS != tc.dur || *c.Answered != tc.answered {
				t.Errorf("got %s ext %q dialed %q cid %q dur %d answered %v", c.Direction, c.Extension, c.Dialed, c.CallerID, c.DurationS, *c.Answered)
			}
			if (c.RingS == nil) != (tc.ring < 0) || (c.RingS != nil && *c.RingS != tc.ring) {
				t.Errorf("ring %v, want %d", c.RingS, tc.ring)
			}
			if c.Start.Format(gateway.WallClockLayout) != "2024-11-05T20:00:00" || c.CallID != "u-1" || c.Trunk != "" {
				t.Errorf("start %s id %q trunk %q", c.Start, c.CallID, c.Trunk)
			}
		})
	}
}

func TestFreeswitchQuotesAndErrors(t *testing.T) {
	p, _ := NewParser("freeswitch", Options{})
	// mod_cdr_csv does not escape quotes: a quoted word in the name must not
	// shift the fields.
	c, err := p.Parse(gateway.RawRecord{Data: []byte(`"Bob "Bobby" Smith","6175550111","6175550000","public","2024-11-05 20:20:00","2024-11-05 20:20:03","2024-11-05 20:21:03","63","60","NORMAL_CLEARING","u-9","","7","PCMU","PCMU"`)})
	if err != nil || c.CallerID != "6175550111" || c.DurationS != 60 || c.AccountCode != "7" || c.CallID != "u-9" {
		t.Errorf("quoted name: %+v %v", c, err)
	}
	for _, l := range []string{"", `"caller_id_name","caller_id_number","destination_number","context","start_stamp"`} {
		if _, err := p.Parse(gateway.RawRecord{Data: []byte(l)}); !errors.Is(err, ErrSkip) {
			t.Errorf("%q: %v, want ErrSkip", l, err)
		}
	}
	for _, l := range []string{
		`"a","1","2","default","2024-11-05 20:20:00","","2024-11-05 20:21:03","63","0","X","u","","","PCMU"`,
		`"a","1","2","default","2024/11/05 20:20:00","","2024-11-05 20:21:03","63","0","X","u","","","PCMU","PCMU"`,
		`"a","1","2","default","2024-11-05 20:20:00","yesterday","2024-11-05 20:21:03","63","0","X","u","","","PCMU","PCMU"`,
		`"a","1","2","default","2024-11-05 20:20:00","","2024-11-05 20:21:03","","0","X","u","","","PCMU","PCMU"`,
	} {
		if _, err := p.Parse(gateway.RawRecord{Data: []byte(l)}); err == nil || errors.Is(err, ErrSkip) {
			t.Errorf("%q: %v, want an error", l, err)
		}
	}
}

// TestFreeswitch911 is a guest's emergency call: outgoing, so the tariff
// classes it as emergency, although it is as short as an extension.
func TestFreeswitch911(t *testing.T) {
	p := mustParser(t, "freeswitch", Options{})
	line := `"Room 415","415","911","default","2024-11-05 18:40:02","2024-11-05 18:40:04","2024-11-05 18:42:04","122","120","NORMAL_CLEARING","4b1f2c3d-0001-4e5f-8a9b-0c1d2e3f4a09","","","PCMU","PCMU"`
	c, err := p.Parse(gateway.RawRecord{Data: []byte(line)})
	if err != nil || c.Direction != gateway.Outgoing || c.Dialed != "911" || c.Extension != "415" {
		t.Errorf("%+v %v", c, err)
	}
}
