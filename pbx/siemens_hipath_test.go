package pbx

import (
	"errors"
	"fmt"
	"testing"

	"callgate/gateway"
)

func FuzzSiemensHipath(f *testing.F) { fuzzFormat(f, "siemens-hipath") }

// hipathLine builds a compressed record from its fields, in their columns.
func hipathLine(date, clock, trunk, ext, ring, dur, number, info, acct, msn string) string {
	return fmt.Sprintf("%s%s%3s%6s%-5s%-8s%-25s%11s%2s%-11s%-11s%6s", date, clock, trunk, ext, ring, dur, number, "", info, acct, msn, "0")
}

func TestHipathLineColumns(t *testing.T) {
	got := hipathLine("05.11.24", "19:01:28", "7", "200", "00:18", "00:00:00", "0301234599", "1", "", "200")
	want := "05.11.2419:01:28  7   20000:1800:00:000301234599                           1           200             0"
	if got != want {
		t.Fatalf("hipathLine\n got %q\nwant %q", got, want)
	}
}

func TestHipathInformationElement(t *testing.T) {
	clock := testClock(t, "2024-11-06T09:00:00")
	p := mustParser(t, "siemens-hipath", Options{Location: clock.Location()})
	for _, tc := range []struct {
		info         string
		skip         bool
		dir          gateway.Direction
		continuation bool
	}{
		{"0", true, "", false},
		{"1", false, gateway.Incoming, false},
		{"2", false, gateway.Outgoing, false},
		{"3", false, gateway.Incoming, false},
		{"4", false, gateway.Outgoing, false},
		{"5", false, gateway.Incoming, true},
		{"6", false, gateway.Outgoing, true},
		{"7", false, gateway.Incoming, true},
		{"8", false, gateway.Outgoing, true},
		{"9", false, gateway.Outgoing, true},
		{"50", true, "", false},
		{"51", false, gateway.Incoming, false},
		{"52", false, gateway.Outgoing, false},
		{"59", false, gateway.Outgoing, true},
	} {
		line := hipathLine("05.11.24", "10:00:00", "3", "201", "00:12", "00:07:30", "0301234511", tc.info, "", "4416")
		c, err := p.Parse(gateway.RawRecord{Data: []byte(line), Received: clock})
		if tc.skip {
			if !errors.Is(err, ErrSkip) {
				t.Errorf("info %s: err %v, want ErrSkip", tc.info, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("info %s: %v", tc.info, err)
		}
		if c.Direction != tc.dir || c.Continuation != tc.continuation {
			t.Errorf("info %s: direction %s continuation %v, want %s %v", tc.info, c.Direction, c.Continuation, tc.dir, tc.continuation)
		}
		switch c.Direction {
		case gateway.Incoming:
			if c.CallerID != "0301234511" || c.Dialed != "4416" {
				t.Errorf("info %s: caller %q dialed %q, want the number as caller and the MSN as dialed", tc.info, c.CallerID, c.Dialed)
			}
		case gateway.Outgoing:
			if c.Dialed != "0301234511" || c.CallerID != "" {
				t.Errorf("info %s: dialed %q caller %q", tc.info, c.Dialed, c.CallerID)
			}
		}
	}
}

func TestHipathRecords(t *testing.T) {
	clock := testClock(t, "2024-11-06T09:00:00")
	p := mustParser(t, "siemens-hipath", Options{Location: clock.Location()})
	parse := func(line string) gateway.Call {
		t.Helper()
		return mustParse(t, p, line, clock)
	}
	// Unanswered incoming: duration blank, start = end - ring.
	c := parse(hipathLine("05.11.24", "09:35:00", "3", "202", "00:25", "", "0301234512", "1", "", "4416"))
	if c.Start != wall(t, "2024-11-05T09:34:35") || c.DurationS != 0 || c.Answered == nil || *c.Answered ||
		c.RingS == nil || *c.RingS != 25 || c.Extension != "202" || c.Trunk != "3" {
		t.Errorf("unanswered incoming: %+v", c)
	}
	// Widest values; the call started the day before it ended.
	c = parse("05.11.2423:59:5999999999959:5923:59:59004416329607771234567890199999999999 21234567890112345678901     0")
	if c.Start != wall(t, "2024-11-04T23:00:01") || c.DurationS != 86399 || *c.RingS != 3599 ||
		c.Trunk != "999" || c.Extension != "999999" || c.Dialed != "0044163296077712345678901" || c.AccountCode != "12345678901" {
		t.Errorf("widest: %+v", c)
	}
	// Suppressed digits are kept.
	c = parse(hipathLine("05.11.24", "09:40:00", "4", "203", "", "00:01:00", "0891234????", "2", "", ""))
	if c.Dialed != "0891234????" || c.Start != wall(t, "2024-11-05T09:39:00") || c.RingS != nil {
		t.Errorf("suppressed digits: %+v", c)
	}
	// The real line from quartx-analytics/calllogger: 76 characters.
	c = parse("11.04.1900:35:48  1   10400:0100:00:070876153281                           1")
	if c.Start != wall(t, "2019-04-11T00:35:40") || c.CallerID != "0876153281" || c.DurationS != 7 || *c.RingS != 1 {
		t.Errorf("real line: %+v", c)
	}
	// Long form.
	c = parse("05.11.24 23:59:59 999 999999 59:59 23:59:59 00441632960777123456 12345678.90  2")
	if c.Start != wall(t, "2024-11-04T23:00:01") || c.Dialed != "00441632960777123456" || c.Trunk != "999" ||
		c.Extension != "999999" || c.AccountCode != "" || c.Direction != gateway.Outgoing {
		t.Errorf("long form: %+v", c)
	}
	c = parse("05.11.24 09:30:00   3    201 00:12 00:07:30 0301234511                        7")
	if c.CallerID != "0301234511" || c.Dialed != "" || !c.Continuation || c.Start != wall(t, "2024-11-05T09:22:18") {
		t.Errorf("long form incoming: %+v", c)
	}

	for _, line := range []string{
		"",
		"Date     Time     Trk    Stn Call  Duration Ext number                Amount  I",
		hipathLine("05.11.24", "09:35:00", "3", "202", "", "", "0301234512", "0", "", "4416"),
	} {
		if _, err := p.Parse(gateway.RawRecord{Data: []byte(line), Received: clock}); !errors.Is(err, ErrSkip) {
			t.Errorf("%q: err %v, want ErrSkip", line, err)
		}
	}
	for _, line := range []string{
		"05.11.2410:45:00  1   101     00:01:00",
		hipathLine("31.02.24", "10:50:00", "1", "101", "", "00:01:00", "0891234511", "2", "", ""),
		hipathLine("05.11.24", "24:00:00", "1", "101", "", "00:01:00", "0891234511", "2", "", ""),
		hipathLine("05.11.24", "10:55:00", "1", "101", "", "00:61:00", "0891234511", "2", "", ""),
		hipathLine("05.11.24", "11:00:00", "1", "101", "1:5", "00:01:00", "0891234511", "1", "", ""),
		hipathLine("05.11.24", "11:05:00", "1", "101", "", "00:01:00", "0891234511", "x", "", ""),
		hipathLine("05.11.24", "11:10:00", "1", "101", "", "00:01:00", "0891234511", "12", "", ""),
		hipathLine("05/11/24", "11:15:00", "1", "101", "", "00:01:00", "0891234511", "2", "", ""),
		"05.11.24 10:30:00   9    213       bad      0891234506                        2",
	} {
		if _, err := p.Parse(gateway.RawRecord{Data: []byte(line), Received: clock}); err == nil || errors.Is(err, ErrSkip) {
			t.Errorf("%q: err %v, want a parse error", line, err)
		}
	}
}
