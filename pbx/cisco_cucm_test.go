package pbx

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"callgate/gateway"
)

func FuzzCiscoCUCM(f *testing.F) { fuzzFormat(f, "cisco-cucm") }

// cucmRecord builds a CDR row in the order of cols from column values;
// columns not given are 0, or "" for the quoted ones named in str.
func cucmRecord(cols []string, v map[string]string) string {
	str := map[string]bool{"callingPartyNumber": true, "originalCalledPartyNumber": true, "finalCalledPartyNumber": true,
		"origDeviceName": true, "destDeviceName": true, "lastRedirectDn": true, "authCodeDescription": true,
		"clientMatterCode": true, "comment": true, "pkid": true}
	out := make([]string, len(cols))
	for i, c := range cols {
		val, ok := v[c]
		switch {
		case str[c]:
			out[i] = `"` + strings.ReplaceAll(val, `"`, `""`) + `"`
		case ok:
			out[i] = val
		default:
			out[i] = "0"
		}
	}
	return strings.Join(out, ",")
}

func quoteAll(cols []string) string {
	return `"` + strings.Join(cols, `","`) + `"`
}

func TestCiscoCUCMRecords(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	clock := time.Date(2024, 11, 6, 9, 0, 0, 0, ny)
	wall := func(s string) time.Time {
		tm, _ := time.Parse(gateway.WallClockLayout, s)
		return tm
	}
	base := func(extra map[string]string) map[string]string {
		v := map[string]string{"cdrRecordType": "1", "globalCallID_callManagerId": "1", "globalCallID_callId": "48211",
			"dateTimeOrigination": "1730850002", "dateTimeConnect": "1730850006", "dateTimeDisconnect": "1730850101",
			"duration": "95", "callingPartyNumber": "415", "originalCalledPartyNumber": "96175550134",
			"finalCalledPartyNumber": "96175550134", "origDeviceName": "SEP00AABB000415", "destDeviceName": "PSTN-SIP-TRUNK",
			"origCause_value": "16"}
		for k, x := range extra {
			v[k] = x
		}
		return v
	}
	tests := []struct {
		name string
		v    map[string]string
		want gateway.Call
	}{
		{"outgoing: epoch UTC start, phone to trunk, final called number",
			base(nil),
			gateway.Call{Start: wall("2024-11-05T18:40:02"), StartUTC: time.Date(2024, 11, 5, 23, 40, 2, 0, time.UTC),
				DurationS: 95, Direction: gateway.Outgoing, Extension: "415", Dialed: "96175550134", Trunk: "PSTN-SIP-TRUNK",
				Answered: gateway.Bool(true), CallID: "48211"}},
		{"incoming: extension = final called, dialed = original called, CMC over FAC",
			base(map[string]string{"callingPartyNumber": "6175550120", "originalCalledPartyNumber": "6175550000",
				"finalCalledPartyNumber": "201", "origDeviceName": "S0/SU1/DS1-0@vg.example.com", "destDeviceName": "SEP00AABB000201",
				"clientMatterCode": "4711", "authCodeDescription": "Sales"}),
			gateway.Call{Start: wall("2024-11-05T18:40:02"), DurationS: 95, Direction: gateway.Incoming, Extension: "201",
				Dialed: "6175550000", Trunk: "S0/SU1/DS1-0@vg.example.com", CallerID: "6175550120", AccountCode: "4711",
				Answered: gateway.Bool(true), CallID: "48211"}},
		{"never connected: unanswered, duration 0, FAC description as account",
			base(map[string]string{"dateTimeConnect": "0", "duration": "0", "authCodeDescription": "Sales"}),
			gateway.Call{Start: wall("2024-11-05T18:40:02"), Direction: gateway.Outgoing, Extension: "415",
				Dialed: "96175550134", Trunk: "PSTN-SIP-TRUNK", AccountCode: "Sales", Answered: gateway.Bool(false), CallID: "48211"}},
		{"analog room phone (MGCP AALN) to a Unity port: internal",
			base(map[string]string{"callingPartyNumber": "301", "originalCalledPartyNumber": "8000", "finalCalledPartyNumber": "8000",
				"origDeviceName": "AALN/S2/SU0/0@vg224.example.com", "destDeviceName": "CiscoUM1-VI3"}),
			gateway.Call{Start: wall("2024-11-05T18:40:02"), DurationS: 95, Direction: gateway.Internal, Extension: "301",
				Dialed: "8000", Answered: gateway.Bool(true), CallID: "48211"}},
		{"forwarded off the system: trunk to trunk, charged to lastRedirectDn",
			base(map[string]string{"callingPartyNumber": "6175550130", "originalCalledPartyNumber": "201",
				"finalCalledPartyNumber": "96175550199", "origDeviceName": "PSTN-SIP-TRUNK", "destDeviceName": "PSTN-SIP-TRUNK-2",
				"lastRedirectDn": "201"}),
			gateway.Call{Start: wall("2024-11-05T18:40:02"), DurationS: 95, Direction: gateway.Outgoing, Extension: "201",
				Dialed: "96175550199", Trunk: "PSTN-SIP-TRUNK-2", Answered: gateway.Bool(true), CallID: "48211"}},
		{"transfer leg: split cause marks a continuation",
			base(map[string]string{"origCause_value": "393216", "destCause_value": "393216", "origCallTerminationOnBehalfOf": "10"}),
			gateway.Call{Start: wall("2024-11-05T18:40:02"), DurationS: 95, Direction: gateway.Outgoing, Extension: "415",
				Dialed: "96175550134", Trunk: "PSTN-SIP-TRUNK", Answered: gateway.Bool(true), CallID: "48211", Continuation: true}},
		{"no device names: a long calling number is incoming",
			base(map[string]string{"callingPartyNumber": "+16175550140", "originalCalledPartyNumber": "415",
				"finalCalledPartyNumber": "415", "origDeviceName": "", "destDeviceName": ""}),
			gateway.Call{Start: wall("2024-11-05T18:40:02"), DurationS: 95, Direction: gateway.Incoming, Extension: "415",
				Dialed: "415", CallerID: "+16175550140", Answered: gateway.Bool(true), CallID: "48211"}},
		{"quoted comment with a comma and a quote does not shift columns",
			base(map[string]string{"comment": `VIP, "suite" guest`, "clientMatterCode": "12"}),
			gateway.Call{Start: wall("2024-11-05T18:40:02"), DurationS: 95, Direction: gateway.Outgoing, Extension: "415",
				Dialed: "96175550134", Trunk: "PSTN-SIP-TRUNK", AccountCode: "12", Answered: gateway.Bool(true), CallID: "48211"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mustParser(t, "cisco-cucm", Options{Location: ny})
			c := mustParse(t, p, cucmRecord(CUCMDefaultColumns, tc.v), clock)
			checkCall(t, c, tc.want)
		})
	}
}

func TestCiscoCUCMHeader(t *testing.T) {
	p := mustParser(t, "cisco-cucm", Options{})
	clock := time.Date(2024, 11, 6, 9, 0, 0, 0, time.UTC)
	parse := func(line string) (gateway.Call, error) {
		return p.Parse(gateway.RawRecord{Data: []byte(line), Received: clock})
	}
	// A header in another order: columns are found by name from then on.
	cols := []string{"globalCallID_callId", "dateTimeOrigination", "callingPartyNumber", "originalCalledPartyNumber",
		"finalCalledPartyNumber", "dateTimeConnect", "dateTimeDisconnect", "duration", "origDeviceName", "destDeviceName",
		"cdrRecordType", "clientMatterCode"}
	types := `"INTEGER","INTEGER","VARCHAR(50)","VARCHAR(50)","VARCHAR(50)","INTEGER","INTEGER","INTEGER","VARCHAR(129)","VARCHAR(129)","INTEGER","VARCHAR(32)"`
	for i, skip := range []string{quoteAll(cols), types} {
		t.Run(fmt.Sprint("header ", i), func(t *testing.T) {
			if _, err := parse(skip); !errors.Is(err, ErrSkip) {
				t.Fatalf("%.40q: %v, want ErrSkip", skip, err)
			}
		})
	}
	rec := cucmRecord(cols, map[string]string{"globalCallID_callId": "7", "dateTimeOrigination": "1730850002",
		"callingPartyNumber": "415", "originalCalledPartyNumber": "201", "finalCalledPartyNumber": "202",
		"dateTimeConnect": "1730850010", "dateTimeDisconnect": "1730850070", "duration": "60",
		"origDeviceName": "SEP00AABB000415", "destDeviceName": "SEP00AABB000202", "cdrRecordType": "1", "clientMatterCode": "9"})
	c, err := parse(rec)
	if err != nil {
		t.Fatal(err)
	}
	if c.CallID != "7" || c.Extension != "415" || c.Dialed != "202" || c.DurationS != 60 || c.AccountCode != "9" ||
		c.Direction != gateway.Internal || c.StartUTC != time.Unix(1730850002, 0).UTC() {
		t.Errorf("mapped by header: %+v", c)
	}
	// A CMR record and a start record produce nothing.
	for i, skip := range []string{
		cucmRecord(cols, map[string]string{"cdrRecordType": "2"}),
		cucmRecord(cols, map[string]string{"cdrRecordType": "0"}),
	} {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			if _, err := parse(skip); !errors.Is(err, ErrSkip) {
				t.Errorf("%q: %v, want ErrSkip", skip, err)
			}
		})
	}
	// Short rows and broken values are errors.
	for i, bad := range []string{
		"1,7,1730850002",
		strings.Replace(rec, "1730850002", "-1730850002", 1),
		strings.Replace(rec, `,"415",`, `,"415,`, 1),
		strings.Replace(rec, ",60,", ",1m,", 1),
	} {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			if _, err := parse(bad); err == nil || errors.Is(err, ErrSkip) {
				t.Errorf("%q: %v, want an error", bad, err)
			}
		})
	}
	// A header lacking a column the parser needs makes its records errors.
	if _, err := parse(quoteAll(cols[1:])); !errors.Is(err, ErrSkip) {
		t.Fatal(err)
	}
	if _, err := parse(cucmRecord(cols[1:], map[string]string{"cdrRecordType": "1"})); err == nil ||
		!strings.Contains(err.Error(), "globalCallID_callId") {
		t.Errorf("missing column: %v", err)
	}
}

func TestCiscoCUCMDefaultOrder(t *testing.T) {
	if len(CUCMDefaultColumns) != 129 {
		t.Fatalf("%d default columns, want 129 (CUCM 10.0-11.0)", len(CUCMDefaultColumns))
	}
	x := cucmDefaultIndex
	// 0-based positions of columns the CUCM 10/11 documentation numbers
	// from 1.
	for _, tc := range []struct {
		name    string
		got, at int
	}{
		{"cdrRecordType", x.recordType, 1}, {"globalCallID_callId", x.callID, 3}, {"dateTimeOrigination", x.origination, 5},
		{"callingPartyNumber", x.calling, 9}, {"origCause_value", x.origCause, 12}, {"originalCalledPartyNumber", x.originalCalled, 30},
		{"finalCalledPartyNumber", x.finalCalled, 31}, {"destCause_value", x.destCause, 34}, {"dateTimeConnect", x.connect, 48},
		{"dateTimeDisconnect", x.disconnect, 49}, {"lastRedirectDn", x.lastRedirectDn, 50}, {"duration", x.duration, 56},
		{"origDeviceName", x.origDevice, 57}, {"destDeviceName", x.destDevice, 58}, {"joinOnBehalfOf", x.join, 67},
		{"authCodeDescription", x.authDesc, 69}, {"clientMatterCode", x.clientMatter, 71},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.at-1 {
				t.Errorf("%s at column %d, want %d", tc.name, tc.got+1, tc.at)
			}
		})
	}
	if x.missing != "" {
		t.Errorf("default order misses %s", x.missing)
	}
}

func TestCiscoCUCMDevices(t *testing.T) {
	for name, trunk := range map[string]bool{
		"SEP00AABB000415": false, "sep00aabb000415": false, "CSFJSMITH": false, "BOTJSMITH": false, "TCTJSMITH": false,
		"TABJSMITH": false, "ATA00AABB112233": false, "AN00AABB112233000": false, "AALN/S2/SU0/0@vg224": false,
		"CFB_2": false, "MOH_2": false, "MTP_2": false, "ANN_2": false, "CiscoUM1-VI3": false, "": false,
		"PSTN-SIP-TRUNK": true, "S0/SU1/DS1-0@vg.example.com": true, "10.1.1.1": true, "SEPARATE-TRUNK": true,
		"ANNEX-GW": true, "CSF": true,
	} {
		t.Run(name, func(t *testing.T) {
			if got := CUCMIsTrunk(name); got != trunk {
				t.Errorf("CUCMIsTrunk(%q) = %v, want %v", name, got, trunk)
			}
		})
	}
}
