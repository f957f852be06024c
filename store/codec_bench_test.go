package store

import (
	"encoding/json"
	"testing"
	"time"

	"callgate/gateway"
)

func benchCall() *gateway.Call {
	return &gateway.Call{Format: "avaya-ipo", Extension: "415", Dialed: "6175550134",
		Start: time.Date(2026, 11, 27, 14, 0, 10, 0, time.UTC), StartUTC: time.Date(2026, 11, 27, 19, 0, 10, 0, time.UTC),
		DurationS: 95, Direction: gateway.Outgoing, Trunk: "T9005", Answered: gateway.Bool(true), RingS: gateway.Int(4), CallID: "1004200010"}
}

// BenchmarkCallCodecs compares the two forms the journal keeps a call in:
// the compact one of entry records (read for every entry listed) and the
// JSON of events (read by rebuild and verify).
func BenchmarkCallCodecs(b *testing.B) {
	c := benchCall()
	b.Run("compact-encode", func(b *testing.B) {
		var buf []byte
		for range b.N {
			buf = appendCall(buf[:0], c)
		}
	})
	b.Run("compact-decode", func(b *testing.B) {
		s := string(appendCall(nil, c)[1:])
		var out gateway.Call
		for range b.N {
			d := gateway.NewCompactReader(s)
			gateway.DecodeCallCompact(&d, &out)
			if !d.OK() {
				b.Fatal("bad")
			}
		}
	})
	b.Run("json-encode", func(b *testing.B) {
		var buf []byte
		for range b.N {
			buf = gateway.AppendCallJSON(buf[:0], c, false)
		}
	})
	b.Run("json-decode", func(b *testing.B) {
		j := gateway.AppendCallJSON(nil, c, false)
		for range b.N {
			var out gateway.Call
			if err := json.Unmarshal(j, &out); err != nil {
				b.Fatal(err)
			}
		}
	})
}
