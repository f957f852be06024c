package pbx

import (
	"bytes"
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"callgate/gateway"
	"callgate/gateway/gatewaytest"
)

// fuzzRater prices every call 1.00 USD, or holds it as a tariff exception
// when its number is empty: enough to take records on to every decision.
type fuzzRater struct{}

func (fuzzRater) Rate(c gateway.Call) (gateway.Charge, error) {
	if c.Dialed == "" {
		why := "no number"
		return gateway.Charge{Exception: &why}, nil
	}
	return gateway.Charge{Class: "national", Chargeable: true, TotalMinor: 100, Currency: "USD"}, nil
}

// fuzzEngine is an engine over the fake journal with one format's parser,
// kept for a whole fuzzing run.
type fuzzEngine struct {
	e   *gateway.Engine
	src *gatewaytest.CallSource
	j   *gatewaytest.Journal
}

var (
	fuzzEnginesMu sync.Mutex
	fuzzEngines   = map[string]*fuzzEngine{}
)

func engineFor(t *testing.T, format string) *fuzzEngine {
	fuzzEnginesMu.Lock()
	defer fuzzEnginesMu.Unlock()
	if fe := fuzzEngines[format]; fe != nil {
		return fe
	}
	loc, _ := time.LoadLocation("America/New_York")
	p, err := NewParser(format, Options{Location: loc, Template: fuzzTemplate(format)})
	if err != nil {
		t.Fatal(err)
	}
	j := gatewaytest.NewJournal(gatewaytest.JournalOptions{})
	fe := &fuzzEngine{src: gatewaytest.NewCallSource(nil), j: j}
	fe.e = &gateway.Engine{Source: fe.src, Parser: p, Rater: fuzzRater{}, Journal: j, Queries: j,
		PMS: gatewaytest.NewPMSLink(nil), Rooms: gateway.RoomMap{Same: true}, Poll: time.Hour,
		RetryMin: time.Millisecond, RetryMax: time.Millisecond, Logger: zerolog.Nop()}
	go fe.e.Run(context.Background()) //nolint:errcheck // runs for the fuzzing process's life
	fuzzEngines[format] = fe
	return fe
}

// fuzzEngineFormat feeds records through the engine's whole path — parse,
// rate, decide, the combined commit (docs/design.md "The path of one
// call") — into the fake journal: nothing panics, every record is
// journaled with its raw bytes, and none is left undecided.
func fuzzEngineFormat(f *testing.F, format string) {
	for _, in := range inputs(f, format) {
		b, err := os.ReadFile(in)
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range bytes.FieldsFunc(b, func(r rune) bool { return r == '\n' || r == '\r' }) {
			f.Add(line)
		}
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		if len(line) == 0 || bytes.ContainsFunc(line, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return // the framer never makes an empty record, and drops NULs and control bytes
		}
		fe := engineFor(t, format)
		ctx := context.Background()
		count := func() gateway.Counts {
			c, err := fe.j.Counts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		before := count()
		fe.src.Send(gateway.RawRecord{Data: line, Received: time.Now(), Source: "fuzz"})
		// Look until the record is journaled and decided, bounded so that
		// a broken engine fails instead of hanging.
		bound := time.Now().Add(10 * time.Second)
		wait := func(what string) {
			if time.Now().After(bound) {
				t.Fatalf("%s: %q", what, line)
			}
			time.Sleep(100 * time.Microsecond)
		}
		c := count()
		for ; c.Entries+c.Replays == before.Entries+before.Replays; c = count() {
			wait("the record was not journaled")
		}
		if c.Replays > before.Replays {
			return // a line the fuzzer gave before: a replay
		}
		id := gateway.EntryID(c.Entries)
		for {
			en, err := fe.j.Entry(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(en.Raw.Data, line) {
				t.Fatalf("entry %d holds %q, want %q", en.ID, en.Raw.Data, line)
			}
			if en.State != gateway.StateCaptured && en.State != gateway.StateRated {
				return
			}
			wait("the record was left " + string(en.State))
		}
	})
}

func FuzzEngineAvayaIPO(f *testing.F)  { fuzzEngineFormat(f, "avaya-ipo") }
func FuzzEngineCiscoCUCM(f *testing.F) { fuzzEngineFormat(f, "cisco-cucm") }
func FuzzEngineMitel5000(f *testing.F) { fuzzEngineFormat(f, "mitel-5000") }
func FuzzEngineAsterisk(f *testing.F)  { fuzzEngineFormat(f, "asterisk") }
func FuzzEnginePanasonic(f *testing.F) { fuzzEngineFormat(f, "panasonic") }
func FuzzEngineMitelMiVB(f *testing.F) { fuzzEngineFormat(f, "mitel-mivb") }
func FuzzEngineTemplate(f *testing.F)  { fuzzEngineFormat(f, "template") }
