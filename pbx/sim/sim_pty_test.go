//go:build linux

package sim

import (
	"context"
	"io"
	"testing"
	"time"

	"callgate/internal/testutil"
	"callgate/pbx"
)

// TestSimulatorPTY is the demo's chain end to end: the simulated PBX writes
// into a pseudo-terminal's master, the real serial source (go.bug.st/serial)
// reads its slave as a PBX printer port, and every record parses back to the
// call the simulator wrote, for formats with and without a year and with page
// titles, date records and summaries between the records.
func TestSimulatorPTY(t *testing.T) {
	loc := simLoc(t)
	for _, format := range []string{"avaya-ipo", "mitel-mivb", "nec-sv", "panasonic", "siemens-hipath", "avaya-cm"} {
		t.Run(format, func(t *testing.T) {
			m, s := testutil.OpenPTY(t)
			// The calls run from 08:00 to mid-afternoon; they are read in
			// the evening of the same day.
			src, err := pbx.OpenSerial(pbx.SerialOptions{
				Device: s.Name(), Baud: 9600, DataBits: 8, Parity: "none", StopBits: 1,
				ReadTimeout: 50 * time.Millisecond, MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
			}, pbx.SourceOptions{
				Logger: testutil.Logger(t, nil), Silence: -1, Now: fixedClock(time.Date(2026, 9, 14, 20, 0, 0, 0, loc)),
				QueueSize: 4096, // the records wait while the simulator writes them all
			})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			testutil.WaitFor(t, 3*time.Second, "the port open", func() bool { return src.Stats().Connected == 1 })
			s.Close()

			var log recordLog
			sim, err := NewSimulator(SimulatorOptions{
				Format: format, Count: 150, OnCall: log.onCall,
				Writer:    WriterOptions{Location: loc, PageLines: 30},
				Generator: GeneratorOptions{Hotel: DefaultHotel(), Seed: 60, Start: time.Date(2026, 9, 14, 8, 0, 0, 0, loc), CallsPerHour: 30},
			})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			errc := make(chan error, 1)
			go func() { errc <- sim.Run(ctx, m) }()
			p, err := pbx.NewParser(format, pbx.Options{Location: loc})
			if err != nil {
				t.Fatal(err)
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			recs := log.records(0, -1)
			calls := readCalls(t, src, p, len(recs), 15*time.Second)
			sameRecords(t, calls, recs)
			// Nothing follows the last call: the next record is a line
			// written after the simulator stopped.
			if _, err := io.WriteString(m, "END OF TEST\r\n"); err != nil {
				t.Fatal(err)
			}
			ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel2()
			if r, err := src.Read(ctx2); err != nil || string(r.Data) != "END OF TEST" {
				t.Fatalf("after the last call: record %q (%v), want the end marker", r.Data, err)
			}
			if st := src.Stats(); st.Truncated != 0 || st.HighBitBytes != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}
