package pbx

import (
	"strings"
	"testing"

	"callgate/gateway"
)

func FuzzNECSV(f *testing.F) { fuzzFormat(f, "nec-sv") }

// TestNECSVTable checks explicit values: the year from the page header (and
// across New Year), records without a date, NO ANSWER, transfers, the lines
// that are not calls.
func TestNECSVTable(t *testing.T) {
	hdr := func(date string) string { return strings.Repeat(" ", 60) + date + " PAGE 001" }
	// 1-4 class, 6-10 time, 12-16 date, 18-21 line, 23-30 duration,
	// 32-41 station, 43-62 number, 64-79 account.
	lines := []h2Line{
		// before any header: the year from the reading clock
		{"", "POT  18:40 11/05  005 00:01:35 415        6175550134"},
		// a header from last year's page: its year wins over the clock
		{"", hdr("11/05/2023")},
		{"", "CLASS TIME DATE  LINE DURATION  STATION     DIALLED No./CLI    ACCOUNT"},
		{"", "POT  18:41 11/05  005 00:01:35 415        6175550134"},
		{"", hdr("12/31/2024")},
		{"2025-01-01T00:30:00", "PIN  23:50 12/31  007 00:00:00 200        6175550199           NO ANSWER"},
		{"2025-01-01T00:30:00", "PIN  00:01 01/01  007 00:00:30 200        6175550120"},
		{"2025-01-01T00:30:00", "NEXT JOHN SMITH"},
		{"2025-01-01T00:30:00", "PTRS 00:02 01/01  007 00:06:52 415        6175550120"},
		{"2025-01-01T00:30:00", "ICM  00:10            00:01:05 415        512"},
		{"2025-01-01T00:30:00", "POTP 00:12 01/01  005 10:00:00 300        0114420794600000#    1234567890123456"},
		{"2025-01-01T00:30:00", "PTRS 00:13 01/01  005 00:04:00 301        0114420794600000"},
		{"2025-01-01T00:30:00", "IVOTP00:14 01/01  009 00:00:10 302        5550100"},
		{"2025-01-01T00:30:00", "BFL  00:15"},
		{"2025-01-01T00:30:00", "ALB  00:16 01"},
		{"2025-01-01T00:30:00", "BRD  00:17 01/01  005 00:00:00 303        90114412345"},
		{"2025-01-01T00:30:00", "TOTAL NO. OF OUTGOING PSTN CALLS:     12"},
		{"2025-01-01T00:30:00", "FOR DAY OF 12/31/24"},
		{"2025-01-01T00:30:00", "QQQ  00:18 01/01  005 00:00:10 302        5550100"},
	}
	want := []h2Want{
		{start: "2024-11-05T18:40:00", ext: "415", dialed: "6175550134", dir: gateway.Outgoing, trunk: "005", dur: 95, answered: h2True},
		{skip: true},
		{skip: true},
		{start: "2023-11-05T18:41:00", ext: "415", dialed: "6175550134", dir: gateway.Outgoing, trunk: "005", dur: 95, answered: h2True},
		{skip: true},
		{start: "2024-12-31T23:50:00", ext: "200", dialed: "-", dir: gateway.Incoming, trunk: "007", dur: 0, answered: h2False, callerID: "6175550199"},
		{start: "2025-01-01T00:01:00", ext: "200", dialed: "-", dir: gateway.Incoming, trunk: "007", dur: 30, answered: h2True, callerID: "6175550120"},
		{skip: true},
		{start: "2025-01-01T00:02:00", ext: "415", dialed: "-", dir: gateway.Incoming, trunk: "007", dur: 412, answered: h2True, callerID: "6175550120", cont: true},
		{start: "2025-01-01T00:10:00", ext: "415", dialed: "512", dir: gateway.Internal, trunk: "-", dur: 65, answered: h2True},
		{start: "2025-01-01T00:12:00", ext: "300", dialed: "0114420794600000", dir: gateway.Outgoing, trunk: "005", dur: 36000, answered: h2True, account: "1234567890123456"},
		{start: "2025-01-01T00:13:00", ext: "301", dialed: "0114420794600000", dir: gateway.Outgoing, trunk: "005", dur: 240, answered: h2True, cont: true},
		{start: "2025-01-01T00:14:00", ext: "302", dialed: "5550100", dir: gateway.Outgoing, trunk: "009", dur: 10, answered: h2True},
		{skip: true},
		{skip: true},
		{skip: true},
		{skip: true},
		{skip: true},
		{errSubstr: "nec-sv: class"},
	}
	calls, errs := h2Parse(t, "nec-sv", 0, lines)
	for i := range lines {
		h2Check(t, i, calls[i], errs[i], want[i])
	}
}
