package pbx

import (
	"errors"
	"testing"
	"time"

	"callgate/gateway"
)

func FuzzPanasonic(f *testing.F) { fuzzFormat(f, "panasonic") }

// panasonicLine builds a Pattern A record from its fields, in their columns.
func panasonicLine(date, clock, ext, co, dial, ring, dur, acc, cd string) string {
	pad := func(s string, n int, right bool) string {
		for len(s) < n {
			if right {
				s = " " + s
			} else {
				s += " "
			}
		}
		return s
	}
	return pad(date, 8, false) + " " + pad(clock, 7, true) + " " + pad(ext, 5, true) + " " + pad(co, 2, false) + " " +
		pad(dial, 25, false) + " " + pad(ring, 4, true) + " " + pad(dur, 8, false) + " " + pad(acc, 10, false) + " " + pad(cd, 2, false) + " "
}

func testClock(t *testing.T, wall string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	c, err := time.ParseInLocation(gateway.WallClockLayout, wall, loc)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wall(t *testing.T, s string) time.Time {
	t.Helper()
	w, err := time.Parse(gateway.WallClockLayout, s)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestPanasonicLineColumns(t *testing.T) {
	// The helper must build exactly the sample's columns.
	got := panasonicLine("11/05/24", "07:01PM", "200", "07", "<D>0000<I>6175550199", "0'18", "00:00'00", "", "")
	want := "11/05/24 07:01PM   200 07 <D>0000<I>6175550199      0'18 00:00'00               "
	if got != want {
		t.Fatalf("panasonicLine\n got %q\nwant %q", got, want)
	}
}

func TestPanasonicClock(t *testing.T) {
	for _, tc := range []struct {
		in   string
		h, m int
		ok   bool
	}{
		{"12:00AM", 0, 0, true}, // midnight
		{"12:05AM", 0, 5, true},
		{"12:59AM", 0, 59, true},
		{"01:00AM", 1, 0, true},
		{"11:59AM", 11, 59, true},
		{"12:00PM", 12, 0, true}, // noon
		{"12:30PM", 12, 30, true},
		{"01:00PM", 13, 0, true},
		{"11:59PM", 23, 59, true},
		{"9:05AM", 9, 5, true},
		{"18:42", 18, 42, true}, // 24-hour clock option
		{"00:00", 0, 0, true},
		{"13:00PM", 0, 0, false},
		{"00:10PM", 0, 0, false},
		{"24:00", 0, 0, false},
		{"10:60AM", 0, 0, false},
		{"1000AM", 0, 0, false},
		{"", 0, 0, false},
	} {
		h, m, ok := panasonicClock(tc.in)
		if ok != tc.ok || (ok && (h != tc.h || m != tc.m)) {
			t.Errorf("panasonicClock(%q) = %d:%02d %v, want %d:%02d %v", tc.in, h, m, ok, tc.h, tc.m, tc.ok)
		}
	}
}

func TestPanasonicDialed(t *testing.T) {
	for _, tc := range []struct {
		in, want    string
		transferred bool
	}{
		{"6175550134", "6175550134", false},
		{"9=6175550134", "6175550134", false},       // host PBX access code
		{"9P6175550134", "96175550134", false},      // pause
		{"F0044163296077", "0044163296077", false},  // EFA signal
		{"0044163296....", "0044163296????", false}, // secret digits
		{"6175550XXX", "6175550???", false},         // privacy
		{"6175550134-", "6175550134", true},         // transferred
		{"6175550134-21", "6175550134", true},       // digits the transfer target entered
		{"ABC COMPANY12345678", "12345678", false},  // speed-dial name
		{"*67#6175550107", "*676175550107", false},
		{"F/0927654321", "0927654321", false},
		{"", "", false},
	} {
		got, tr := panasonicDialed(tc.in)
		if got != tc.want || tr != tc.transferred {
			t.Errorf("panasonicDialed(%q) = %q, %v; want %q, %v", tc.in, got, tr, tc.want, tc.transferred)
		}
	}
}

func TestPanasonicNumber(t *testing.T) {
	for in, want := range map[string]string{
		"6175550199":            "6175550199",
		"ACME6175550111":        "6175550111",
		" 1234567890 MARY WARD": "1234567890",
		"Q COMPANY":             "",
		"":                      "",
	} {
		if got := panasonicNumber(in); got != want {
			t.Errorf("panasonicNumber(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPanasonicRecords(t *testing.T) {
	p := mustParser(t, "panasonic", Options{Location: testClock(t, "2024-11-06T09:00:00").Location()})
	clock := testClock(t, "2024-11-06T09:00:00")
	parse := func(line string) gateway.Call {
		t.Helper()
		return mustParse(t, p, line, clock)
	}

	// End stamp 07:01PM, ring 18 s, not answered: start = end - ring.
	c := parse(panasonicLine("11/05/24", "07:01PM", "200", "07", "<D>0000<I>6175550199", "0'18", "00:00'00", "", ""))
	if c.Start != wall(t, "2024-11-05T19:00:42") || c.Direction != gateway.Incoming || c.Dialed != "0000" ||
		c.CallerID != "6175550199" || c.Extension != "200" || c.Trunk != "07" || c.DurationS != 0 ||
		c.Answered == nil || *c.Answered || c.RingS == nil || *c.RingS != 18 || c.Continuation {
		t.Errorf("unanswered DDI call: %+v", c)
	}
	// Answered incoming, transferred: start = end - duration - ring.
	c = parse(panasonicLine("11/05/24", "12:05AM", "410", "14", "<I>6175550108", "0'07", "00:02'00", "", "TR"))
	if c.Start != wall(t, "2024-11-05T00:02:53") || c.DurationS != 120 || !*c.Answered || !c.Continuation {
		t.Errorf("transferred incoming: %+v", c)
	}
	// Noon end stamp, 10 h call: starts the day before.
	c = parse(panasonicLine("11/05/24", "12:00PM", "401", "09", "9=0044207946000", "", "12:34'56", "1234567890", ""))
	if c.Start != wall(t, "2024-11-04T23:25:04") || c.DurationS != 45296 || c.Dialed != "0044207946000" ||
		c.AccountCode != "1234567890" || c.RingS != nil || c.Direction != gateway.Outgoing {
		t.Errorf("long call ending at noon: %+v", c)
	}
	// Intercom.
	c = parse(panasonicLine("11/05/24", "07:21PM", "415", "", "EXT512", "", "00:01'05", "", ""))
	if c.Direction != gateway.Internal || c.Dialed != "512" || c.Trunk != "" || c.Start != wall(t, "2024-11-05T19:19:55") {
		t.Errorf("intercom: %+v", c)
	}
	// Outgoing with an outside transfer mark.
	c = parse(panasonicLine("11/05/24", "09:45AM", "105", "04", "6175550134-21", "", "00:05'00", "", ""))
	if c.Dialed != "6175550134" || !c.Continuation {
		t.Errorf("transferred outgoing: %+v", c)
	}
	// Verified code in the extension column.
	c = parse(panasonicLine("11/05/24", "10:35AM", "*123", "07", "6175550188", "", "00:01'40", "", ""))
	if c.AccountCode != "123" || c.Extension != "*123" {
		t.Errorf("verified code: %+v", c)
	}

	for _, line := range []string{
		"",
		"  Date     Time    Ext CO        Dial Number        Ring Duration  Acc code  CD ",
		"--------------------------------------------------------------------------------",
		"Enter Password:",
		panasonicLine("11/05/24", "02:30PM", "1234", "", "LOG IN", "", "", "", ""),
		panasonicLine("11/05/24", "02:33PM", "1234", "", "Check out", "", "", "", ""),
		panasonicLine("11/05/24", "02:34PM", "1234", "", "Timed Reminder/Start", "", "", "", ""),
		panasonicLine("11/05/24", "03:00PM", "502", "15", "<I> 6175550110 MARY WARD", "0'20", "", "", "RC"),
		panasonicLine("11/05/24", "03:01PM", "502", "15", "<I> 6175550110 MARY WARD", "0'20", "", "", "AN"),
	} {
		if _, err := p.Parse(gateway.RawRecord{Data: []byte(line), Received: clock}); !errors.Is(err, ErrSkip) {
			t.Errorf("%q: err %v, want ErrSkip", line, err)
		}
	}
	for _, line := range []string{
		"11/05/24 03:10PM   503",
		panasonicLine("13/45/24", "03:15PM", "504", "16", "6175550112", "", "00:01'00", "", ""),
		panasonicLine("11/05/24", "13:15PM", "504", "16", "6175550112", "", "00:01'00", "", ""),
		panasonicLine("11/05/24", "03:20PM", "505", "16", "6175550113", "", "00:6x'00", "", ""),
		panasonicLine("11/05/24", "03:25PM", "506", "16", "6175550114", "", "", "", ""),
		panasonicLine("11/05/24", "03:25PM", "506", "16", "6175550114", "", "", "", "") + "                    00:01'00 0123",
	} {
		if _, err := p.Parse(gateway.RawRecord{Data: []byte(line), Received: clock}); err == nil || errors.Is(err, ErrSkip) {
			t.Errorf("%q: err %v, want a parse error", line, err)
		}
	}
}

func TestPanasonicDateOrder(t *testing.T) {
	type rec struct{ date, want string }
	for _, tc := range []struct {
		name     string
		received string
		recs     []rec
	}{
		{"mm/dd/yy by the reading clock", "2024-11-06T09:00:00", []rec{
			{"11/05/24", "2024-11-05"},
			{"11/06/24", "2024-11-06"},
			{"12/10/24", "2024-12-10"}, // no reading is recent: the factory order
		}},
		{"dd/mm/yy by the clock, then learned", "2024-11-06T09:00:00", []rec{
			{"05/11/24", "2024-11-05"}, // 11 May is months old, 5 November is yesterday
			{"02/10/24", "2024-02-10"}, // ambiguous and not recent: mm/dd/yy until the order is known
			{"25/10/24", "2024-10-25"}, // only dd/mm/yy reads it (2025-10-24 is in the future): learned
			{"01/10/24", "2024-10-01"},
			{"12/10/24", "2024-10-12"},
		}},
		{"yy/mm/dd learned", "2024-11-06T09:00:00", []rec{
			{"24/10/20", "2024-10-20"}, // 24 October 2020 is too old
			{"24/11/05", "2024-11-05"},
			{"24/01/02", "2024-01-02"},
		}},
		{"year rollover", "2025-01-01T00:10:00", []rec{
			{"12/31/24", "2024-12-31"},
			{"01/01/25", "2025-01-01"},
		}},
		{"old file: no recent reading", "2024-11-06T09:00:00", []rec{
			{"03/04/19", "2019-03-04"},
			{"13/04/19", "2019-04-13"}, // dd/mm/yy, or yy/mm/dd 2013-04-19: nothing learned
			{"03/04/19", "2019-03-04"},
			{"33/04/19", "2033-04-19"}, // only yy/mm/dd: learned
			{"19/04/03", "2019-04-03"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := testClock(t, tc.received)
			p := mustParser(t, "panasonic", Options{Location: clock.Location()})
			for _, r := range tc.recs {
				line := panasonicLine(r.date, "11:00AM", "101", "01", "6175550134", "", "00:00'00", "", "")
				c, err := p.Parse(gateway.RawRecord{Data: []byte(line), Received: clock})
				if err != nil {
					t.Fatalf("%s: %v", r.date, err)
				}
				if got := c.Start.Format("2006-01-02"); got != r.want {
					t.Errorf("%s read on %s: %s, want %s", r.date, tc.received, got, r.want)
				}
			}
		})
	}
}

func TestPanasonicPatternB(t *testing.T) {
	clock := testClock(t, "2024-11-06T09:00:00")
	p := mustParser(t, "panasonic", Options{Location: clock.Location()})
	line := "11/05/24 09:25AM   103 03 00441632960777123456 10:00'00 12345.67EU 9876543210 TR"
	c := mustParse(t, p, line, clock)
	if c.Dialed != "00441632960777123456" || c.DurationS != 36000 || c.AccountCode != "9876543210" ||
		!c.Continuation || c.RingS != nil || c.Start != wall(t, "2024-11-04T23:25:00") {
		t.Errorf("pattern B: %+v", c)
	}
	long := panasonicLine("11/05/24", "09:25AM", "103", "0003", "", "", "", "", "") + "                                      0'05 00:00'05 00560.00EUR 9876543210 TR"
	if _, err := p.Parse(gateway.RawRecord{Data: []byte(long), Received: clock}); err == nil {
		t.Errorf("a 120-column Pattern C line parsed")
	}
}
