package pbx

import (
	"errors"
	"testing"
	"time"

	"callgate/gateway"
)

func Fuzz3CX(f *testing.F) { fuzzFormat(f, "3cx") }

func Test3CXRecords(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	clock := time.Date(2024, 11, 6, 9, 0, 0, 0, ny)
	wall := func(s string) time.Time {
		tm, _ := time.Parse(gateway.WallClockLayout, s)
		return tm
	}
	tests := []struct {
		name string
		line string
		want gateway.Call
	}{
		{"V20 outgoing: UTC start, Ext. removed, trunk = the line's DN",
			"Call 51201,00000C2F1A2B3C01_201,00:01:35,2024/11/05 23:40:02,2024/11/05 23:40:06,2024/11/05 23:41:41,TerminatedBySrc,Ext.415,6175550134,415,10001,6175550134,,6175550134,10001,,,,,Chain: Ext.415;6175550134;,Extension,Line,Line,Room 415,6175550134,6175550134,",
			gateway.Call{Start: wall("2024-11-05T18:40:02"), StartUTC: time.Date(2024, 11, 5, 23, 40, 2, 0, time.UTC),
				DurationS: 95, Direction: gateway.Outgoing, Extension: "415", Dialed: "6175550134", Trunk: "10001",
				Answered: gateway.Bool(true), CallID: "00000C2F1A2B3C01_201"}},
		{"incoming through a queue: extension = final-dn, no DID",
			"Call 265500,89d3af2d8f010000_3456,00:08:10,2024/04/30 06:27:28,2024/04/30 06:27:36,2024/04/30 06:35:46,TerminatedByDst,0701234567,Ext.80002,10020,80002,80002,ReplacedDst,Ext.10013,10013,,,,,Chain: 0701234567;Ext.80002;Ext.10013;,Line,Queue,Extension,0701234567,Partnersupport,Agent Name,",
			gateway.Call{Start: wall("2024-04-30T02:27:28"), DurationS: 490, Direction: gateway.Incoming, Extension: "10013",
				Trunk: "10020", CallerID: "0701234567", Answered: gateway.Bool(true), CallID: "89d3af2d8f010000_3456"}},
		{"unanswered incoming: no time-answered, extension = to-dn",
			"Call 51203,00000C2F1A2B3C03_203,00:00:00,2024/11/06 00:00:42,,2024/11/06 00:01:00,TerminatedBySrc,6175550199,Ext.200,10001,200,200,,,,,,,,Chain: 6175550199;Ext.200;,Line,Extension,,6175550199,Reception,,",
			gateway.Call{Start: wall("2024-11-05T19:00:42"), Direction: gateway.Incoming, Extension: "200", Trunk: "10001",
				CallerID: "6175550199", Answered: gateway.Bool(false), CallID: "00000C2F1A2B3C03_203"}},
		{"V18 internal without prefix or trailing comma, bill code",
			"51204,00000C2F1A2B3C04_204,00:01:02,2024/11/05 14:13:58,2024/11/05 14:14:01,2024/11/05 14:15:03,TerminatedBySrc,Ext.415,Ext.201,415,201,201,,Ext.201,201,77,,,,Chain: Ext.415;Ext.201;,Extension,Extension,Extension,Room 415,Room 201,Room 201,",
			gateway.Call{Start: wall("2024-11-05T09:13:58"), DurationS: 62, Direction: gateway.Internal, Extension: "415",
				Dialed: "201", AccountCode: "77", Answered: gateway.Bool(true), CallID: "00000C2F1A2B3C04_204"}},
		{"outgoing: to-no (as sent) wins over dial-no (as keyed)",
			"Call 51205,00000C2F1A2B3C05_205,10:00:01,2024/11/05 14:17:20,2024/11/05 14:17:26,2024/11/06 00:17:27,TerminatedByDst,Ext.512,00441632960777,512,10002,900441632960777,,00441632960777,10002,,,,,,Extension,Line,Line,,,,",
			gateway.Call{Start: wall("2024-11-05T09:17:20"), DurationS: 36001, Direction: gateway.Outgoing, Extension: "512",
				Dialed: "00441632960777", Trunk: "10002", Answered: gateway.Bool(true), CallID: "00000C2F1A2B3C05_205"}},
		{"transferred out: only the final party is a line",
			"Call 51208,00000C2F1A2B3C08_208,00:03:20,2024/11/05 15:00:00,2024/11/05 15:00:05,2024/11/05 15:03:25,TerminatedBySrc,Ext.300,Ext.301,300,301,301,ReplacedDst,6175550140,10001,,,,,,Extension,Extension,Line,,,,",
			gateway.Call{Start: wall("2024-11-05T10:00:00"), DurationS: 200, Direction: gateway.Outgoing, Extension: "300",
				Dialed: "6175550140", Trunk: "10001", Answered: gateway.Bool(true), CallID: "00000C2F1A2B3C08_208"}},
		{"no type fields: external from-no means incoming; no callid: historyid",
			"Call 612504,,00:05:36,2023/09/19 13:33:54,2023/09/19 13:33:54,2023/09/19 13:39:31,TerminatedBySrc,+353861777149,Ext.960,10021,960,960,QFwdToDNA,Ext.504,504,,,,,Chain: +353861777149;Ext.960;Ext.504;",
			gateway.Call{Start: wall("2023-09-19T09:33:54"), DurationS: 336, Direction: gateway.Incoming, Extension: "504",
				Trunk: "10021", CallerID: "+353861777149", Answered: gateway.Bool(true), CallID: "612504"}},
		{"fractional seconds are rounded",
			"Call 51219,x,00:00:29.6,2024-11-05 17:00:00.250,2024-11-05 17:00:03.000,2024-11-05 17:00:32.600,TerminatedBySrc,Ext.415,6175550173,415,10001,6175550173,,6175550173,10001,,,,,,Extension,Line,Line,,,,",
			gateway.Call{Start: wall("2024-11-05T12:00:00"), DurationS: 30, Direction: gateway.Outgoing, Extension: "415",
				Dialed: "6175550173", Trunk: "10001", Answered: gateway.Bool(true), CallID: "x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mustParser(t, "3cx", Options{Location: ny})
			c := mustParse(t, p, tc.line, clock)
			checkCall(t, c, tc.want)
		})
	}
}

func Test3CXMalformed(t *testing.T) {
	p := mustParser(t, "3cx", Options{})
	clock := time.Date(2024, 11, 6, 9, 0, 0, 0, time.UTC)
	if _, err := p.Parse(gateway.RawRecord{Data: []byte("  "), Received: clock}); !errors.Is(err, ErrSkip) {
		t.Errorf("blank line: %v", err)
	}
	for _, bad := range []string{
		"Call 1,x,00:00:10",
		"Call 1,x,00:00:10,2024/02/30 10:00:00,,2024/02/30 10:00:10,TerminatedBySrc,Ext.1,2,1,10001,2,,2,10001",
		"Call 1,x,0:10,2024/02/03 10:00:00,,2024/02/03 10:00:10,TerminatedBySrc,Ext.1,2,1,10001,2,,2,10001",
		"Call 1,x,00:60:10,2024/02/03 10:00:00,,2024/02/03 10:00:10,TerminatedBySrc,Ext.1,2,1,10001,2,,2,10001",
		"Call 1,x,00:00:10,2024/02/03 10:00:00,soon,2024/02/03 10:00:10,TerminatedBySrc,Ext.1,2,1,10001,2,,2,10001",
		"x1,x,00:00:10,2024/02/03 10:00:00,,2024/02/03 10:00:10,TerminatedBySrc,Ext.1,2,1,10001,2,,2,10001",
	} {
		if _, err := p.Parse(gateway.RawRecord{Data: []byte(bad), Received: clock}); err == nil || errors.Is(err, ErrSkip) {
			t.Errorf("%q: %v, want an error", bad, err)
		}
	}
}
