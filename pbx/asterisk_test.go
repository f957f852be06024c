package pbx

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"callgate/gateway"
)

func FuzzAsterisk(f *testing.F)    { fuzzFormat(f, "asterisk") }
func FuzzAsteriskUTC(f *testing.F) { fuzzFormat(f, "asterisk-utc") }

// FuzzSplitCSV: the splitter never panics; a line without quotes splits
// as strings.Split does; a line it accepts gives at least one field.
func FuzzSplitCSV(f *testing.F) {
	for _, c := range splitCases {
		f.Add(c.line, byte(','))
	}
	f.Add(`a;"b;c";d`, byte(';'))
	f.Fuzz(func(t *testing.T, line string, sep byte) {
		if sep == '"' {
			return
		}
		got, ok := splitCSV(nil, line, sep)
		if !strings.Contains(line, `"`) && (!ok || !slices.Equal(got, strings.Split(line, string([]byte{sep})))) {
			t.Fatalf("%q: got %q %v, want strings.Split's", line, got, ok)
		}
		if ok && len(got) == 0 {
			t.Fatalf("%q: no field", line)
		}
	})
}

var splitCases = []struct {
	line string
	want []string
	ok   bool
}{
	{"", []string{""}, true},
	{",", []string{"", ""}, true},
	{"a", []string{"a"}, true},
	{"a,b", []string{"a", "b"}, true},
	{`"a"`, []string{"a"}, true},
	{`"a,b",c`, []string{"a,b", "c"}, true},
	{`"a""b",c`, []string{`a"b`, "c"}, true},
	{`""""`, []string{`"`}, true},
	{`"a"""`, []string{`a"`}, true},
	{`"a"x,b`, []string{"ax", "b"}, true},
	{`"a"x`, []string{"ax"}, true},
	{`"a`, nil, false},
	{`"a""`, nil, false},
	{`a,"b`, nil, false},
	{`"",,""`, []string{"", "", ""}, true},
	{`"Bob "Bobby" Smith",1`, []string{`Bob Bobby" Smith"`, "1"}, true},
	{`x"y",z`, []string{`x"y"`, "z"}, true},
	{`"a",`, []string{"a", ""}, true},
	{`,"a"`, []string{"", "a"}, true},
	{`"a"",""b"`, []string{`a","b`}, true},
}

func TestSplitCSV(t *testing.T) {
	for _, c := range splitCases {
		got, ok := splitCSV(nil, c.line, ',')
		if ok != c.ok || (ok && !slices.Equal(got, c.want)) {
			t.Errorf("%q: got %q %v, want %q %v", c.line, got, ok, c.want, c.ok)
		}
	}
}

func asteriskParse(t *testing.T, p *Parser, line string) gateway.Call {
	t.Helper()
	c, err := p.Parse(gateway.RawRecord{Data: []byte(line), Received: time.Date(2024, 11, 6, 9, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	return c
}

func TestAsteriskRecords(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		dir                              gateway.Direction
		ext, dialed, trunk, cid, account string
		start                            string
		dur                              int
		answered                         bool
		ring                             int // -1: nil
		callID                           string
	}
	cases := []struct {
		name, line string
		want       want
	}{
		{"outbound, ring from the answer stamp",
			`"","415","6175550134","from-internal","""Room 415"" <415>","PJSIP/415-0000a001","PJSIP/sip-provider-0000a002","Dial","PJSIP/6175550134@sip-provider,60","2024-11-05 18:40:02","2024-11-05 18:40:06","2024-11-05 18:41:41",99,95,"ANSWERED","DOCUMENTATION","1730832002.101",""`,
			want{gateway.Outgoing, "415", "6175550134", "sip-provider", "", "", "2024-11-05T18:40:02", 95, true, 4, "1730832002.101"}},
		{"unanswered inbound: rung extension, ring = duration, caller id",
			`"","6175550199","6175550000","from-pstn","""BOSTON MA"" <6175550199>","PJSIP/sip-provider-0000a003","PJSIP/200-0000a004","Dial","PJSIP/200,20","2024-11-05 19:01:10",,"2024-11-05 19:01:28",18,0,"NO ANSWER","DOCUMENTATION","1730833270.103",""`,
			want{gateway.Incoming, "200", "6175550000", "sip-provider", "6175550199", "", "2024-11-05T19:01:10", 0, false, 18, "1730833270.103"}},
		{"inbound told by the trunk channel, not the context; caller id from clid",
			`"","","200","ext-local","""X"" <+16175550177>","SIP/carrier1-00000010","SIP/200-00000011","Dial","SIP/200,,tr","2024-11-05 19:20:00","2024-11-05 19:20:10","2024-11-05 19:21:10",70,60,"ANSWERED","DOCUMENTATION"`,
			want{gateway.Incoming, "200", "200", "carrier1", "+16175550177", "", "2024-11-05T19:20:00", 60, true, 10, ""}},
		{"failed before a channel: trunk from Dial's argument, no ring",
			`"7","301","9-1-800-555-0100","from-internal","""FD"" <301>","SIP/301-00000012","","Dial","SIP/carrier1/918005550100,60","2024-11-05 20:15:00",,"2024-11-05 20:15:00",0,0,"FAILED","DOCUMENTATION"`,
			want{gateway.Outgoing, "301", "918005550100", "carrier1", "", "7", "2024-11-05T20:15:00", 0, false, -1, ""}},
		{"internal to a numbered DAHDI phone",
			`"","305","310","from-internal","""R"" <305>","PJSIP/305-0000b011","DAHDI/3-1","Dial","DAHDI/3,20","2024-11-05 20:35:00","2024-11-05 20:35:04","2024-11-05 20:36:04",64,60,"ANSWERED","DOCUMENTATION"`,
			want{gateway.Internal, "305", "310", "", "", "", "2024-11-05T20:35:00", 60, true, 4, ""}},
		{"out on a numbered DAHDI line: dst longer than 5 digits",
			`"","304","96175550135","from-internal","""R"" <304>","PJSIP/304-0000b010","DAHDI/2-1","Dial","DAHDI/g0/6175550135,60","2024-11-05 20:30:00","2024-11-05 20:30:08","2024-11-05 20:31:08",68,60,"ANSWERED","DOCUMENTATION"`,
			want{gateway.Outgoing, "304", "96175550135", "2", "", "", "2024-11-05T20:30:00", 60, true, 8, ""}},
		{"answer stamp after the end (clock change): ring = duration - billsec",
			`"","415","416","from-internal","""R"" <415>","PJSIP/415-1","PJSIP/416-2","Dial","PJSIP/416","2024-11-05 20:00:00","2024-11-05 21:00:05","2024-11-05 21:02:05",125,120,"ANSWERED","DOCUMENTATION"`,
			want{gateway.Internal, "415", "416", "", "", "", "2024-11-05T20:00:00", 120, true, 5, ""}},
		{"unknown disposition: answered by the answer stamp",
			`"","415","416","from-internal","""R"" <415>","PJSIP/415-1","PJSIP/416-2","Dial","PJSIP/416","2024-11-05 20:00:00","2024-11-05 20:00:05","2024-11-05 20:02:05",125,120,"UNKNOWN","DOCUMENTATION"`,
			want{gateway.Internal, "415", "416", "", "", "", "2024-11-05T20:00:00", 120, true, 5, ""}},
		{"17 fields: a userfield is not a call id",
			`"","415","416","from-internal","""R"" <415>","PJSIP/415-1","PJSIP/416-2","Dial","PJSIP/416","2024-11-05 20:00:00","2024-11-05 20:00:05","2024-11-05 20:02:05",125,120,"ANSWERED","DOCUMENTATION","vip.1"`,
			want{gateway.Internal, "415", "416", "", "", "", "2024-11-05T20:00:00", 120, true, 5, ""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := mustParser(t, "asterisk", Options{Location: ny})
			c := asteriskParse(t, p, tc.line)
			w := tc.want
			if c.Direction != w.dir || c.Extension != w.ext || c.Dialed != w.dialed || c.Trunk != w.trunk || c.CallerID != w.cid || c.AccountCode != w.account || c.CallID != w.callID {
				t.Errorf("got dir %s ext %q dialed %q trunk %q cid %q acct %q id %q, want %+v", c.Direction, c.Extension, c.Dialed, c.Trunk, c.CallerID, c.AccountCode, c.CallID, w)
			}
			if got := c.Start.Format(gateway.WallClockLayout); got != w.start || c.DurationS != w.dur || c.Answered == nil || *c.Answered != w.answered {
				t.Errorf("got start %s dur %d answered %v, want %s %d %v", got, c.DurationS, c.Answered, w.start, w.dur, w.answered)
			}
			if (c.RingS == nil) != (w.ring < 0) || (c.RingS != nil && *c.RingS != w.ring) {
				t.Errorf("ring %v, want %d", c.RingS, w.ring)
			}
		})
	}
}

// A transferred call: the records share the linkedid, which becomes the call
// id; every record after the first is a continuation.
func TestAsteriskContinuation(t *testing.T) {
	p := mustParser(t, "asterisk", Options{Location: time.UTC})
	lines := []string{
		`"","6175550166","6175550000","from-pstn","""X"" <6175550166>","PJSIP/sip-provider-0000c001","PJSIP/200-0000c002","Dial","PJSIP/200,20","2024-11-05 21:00:00","2024-11-05 21:00:05","2024-11-05 21:01:05",65,60,"ANSWERED","DOCUMENTATION","1730858400.301","","","1730858400.301",1`,
		`"","200","415","from-internal","""FD"" <200>","PJSIP/200-0000c002","PJSIP/415-0000c003","Dial","PJSIP/415,20","2024-11-05 21:00:50","2024-11-05 21:00:55","2024-11-05 21:01:05",15,10,"ANSWERED","DOCUMENTATION","1730858450.305","","","1730858400.301",2`,
		`"","6175550166","6175550000","from-pstn","""X"" <6175550166>","PJSIP/sip-provider-0000c001","PJSIP/415-0000c003","Dial","PJSIP/200,20","2024-11-05 21:01:05","2024-11-05 21:01:12","2024-11-05 21:06:12",307,300,"ANSWERED","DOCUMENTATION","1730858400.301","","","1730858400.301",3`,
		`"","416","6175550199","from-internal","""R"" <416>","PJSIP/416-0000c004","PJSIP/sip-provider-0000c005","Dial","PJSIP/6175550199@sip-provider,60","2024-11-05 21:10:00","2024-11-05 21:10:05","2024-11-05 21:11:05",65,60,"ANSWERED","DOCUMENTATION","1730859000.311","","","1730859000.311",5`,
	}
	wantCont := []bool{false, true, true, false}
	wantExt := []string{"200", "200", "415", "416"}
	for i, l := range lines {
		c := asteriskParse(t, p, l)
		if c.Continuation != wantCont[i] || c.Extension != wantExt[i] {
			t.Errorf("record %d: continuation %v ext %q, want %v %q", i+1, c.Continuation, c.Extension, wantCont[i], wantExt[i])
		}
		if want := []string{"1730858400.301", "1730858400.301", "1730858400.301", "1730859000.311"}[i]; c.CallID != want {
			t.Errorf("record %d: call id %q, want %q", i+1, c.CallID, want)
		}
	}
}

func TestAsteriskUTC(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	p := mustParser(t, "asterisk-utc", Options{Location: ny})
	// 05:30 and 06:30 UTC on 3 November 2024 are both 01:30 in New York.
	for _, tc := range []struct{ stamp, utc string }{
		{"2024-11-03 05:30:00", "2024-11-03T05:30:00Z"},
		{"2024-11-03 06:30:00", "2024-11-03T06:30:00Z"},
	} {
		c := asteriskParse(t, p, `"","415","416","from-internal","""R"" <415>","PJSIP/415-1","PJSIP/416-2","Dial","PJSIP/416","`+tc.stamp+`","`+tc.stamp+`","2024-11-03 07:00:00",1,1,"ANSWERED","DOCUMENTATION"`)
		if got := c.Start.Format(gateway.WallClockLayout); got != "2024-11-03T01:30:00" {
			t.Errorf("%s: local start %s, want 2024-11-03T01:30:00", tc.stamp, got)
		}
		if got := c.StartUTC.Format(time.RFC3339); got != tc.utc {
			t.Errorf("%s: UTC start %s, want %s", tc.stamp, got, tc.utc)
		}
	}
}

func TestAsteriskSkipAndErrors(t *testing.T) {
	p, _ := NewParser("asterisk", Options{})
	for _, l := range []string{"", "   ", `"accountcode","src","dst","dcontext","clid","channel","dstchannel","lastapp","lastdata","start","answer","end","duration","billsec","disposition","amaflags"`} {
		if _, err := p.Parse(gateway.RawRecord{Data: []byte(l)}); !errors.Is(err, ErrSkip) {
			t.Errorf("%q: %v, want ErrSkip", l, err)
		}
	}
	for _, l := range []string{
		`"","415","416"`,
		`"","415","416","from-internal","c","PJSIP/415-1","PJSIP/416-2","Dial","x","2024-11-05 25:00:00","","2024-11-05 20:02:05",1,1,"ANSWERED","DOCUMENTATION"`,
		`"","415","416","from-internal","c","PJSIP/415-1","PJSIP/416-2","Dial","x","2024-11-05 20:00:00","","2024-11-05 20:02:05",-1,1,"ANSWERED","DOCUMENTATION"`,
		`"","415","416","from-internal","c","PJSIP/415-1","PJSIP/416-2","Dial","x","2024-11-05 20:00:00","","2024-11-05 20:02:05",1,,"ANSWERED","DOCUMENTATION"`,
	} {
		_, err := p.Parse(gateway.RawRecord{Data: []byte(l)})
		if err == nil || errors.Is(err, ErrSkip) {
			t.Errorf("%q: %v, want an error", l, err)
		}
	}
}

func TestAsteriskEndpoint(t *testing.T) {
	for _, tc := range []struct {
		ch    string
		peer  string
		trunk bool
	}{
		{"PJSIP/415-0000a001", "415", false},
		{"PJSIP/sip-provider-0000a006", "sip-provider", true},
		{"SIP/carrier1-00000010", "carrier1", true},
		{"IAX2/provider-1234", "provider", true},
		{"DAHDI/i1/6175550134-1", "i1", true},
		{"DAHDI/3-1", "3", false},
		{"Local/415@from-internal-00000012;1", "415", false},
		{"Local/s@ivr-00000012;2", "", false},
		{"", "", false},
		{"garbage", "", false},
		{"PJSIP/-1", "", false},
	} {
		peer, trunk := asteriskEndpoint(tc.ch)
		if peer != tc.peer || trunk != tc.trunk {
			t.Errorf("%q: %q %v, want %q %v", tc.ch, peer, trunk, tc.peer, tc.trunk)
		}
	}
	for _, tc := range []struct{ data, trunk string }{
		{"PJSIP/6175550134@sip-provider,60", "sip-provider"},
		{"SIP/carrier1/918005550100,60", "carrier1"},
		{"PJSIP/416,20", ""},
		{"Local/600@from-internal/n,30", ""},
		{"PJSIP/416&PJSIP/417,20", ""},
		{"", ""},
	} {
		if got := asteriskDialTrunk(tc.data); got != tc.trunk {
			t.Errorf("Dial(%s): trunk %q, want %q", tc.data, got, tc.trunk)
		}
	}
}
