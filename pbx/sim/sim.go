package sim

import (
	"context"
	"io"
	"math"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"callgate/gateway"
)

// SimulatorOptions configures a Simulator.
type SimulatorOptions struct {
	// Format is the PBX format written (any of WritableFormats).
	Format string
	// Writer configures the format's writer (zone, framing, page length,
	// dial plan; the dial plan defaults to Generator.Plan).
	Writer WriterOptions
	// Generator configures the hotel and its calls. Generator.Start is
	// where the timeline of an unpaced simulator begins; a paced one
	// stamps each call with the moment it is written, and needs no Start.
	Generator GeneratorOptions
	// Rate is calls per minute, written at the pace of a live PBX: each
	// call is stamped as ending the moment it is written, so that records
	// are as fresh as a real PBX's (formats without a year or a date are
	// read right). 0 writes as fast as the writer takes them, stamped on the
	// generator's own timeline.
	Rate float64
	// Count stops the simulator after this many calls; 0 runs until the
	// context is done.
	Count int
	// Noise is the share of calls, 0 to 1, preceded by a burst of line
	// noise: NUL and other control bytes and a line of junk without
	// digits, which no reader takes for a call (it is skipped or
	// quarantined). It is written as a Write of its own.
	Noise float64
	// Now is the clock of a paced simulator; nil means time.Now.
	Now func() time.Time
	// OnCall, if set, is called after each call is written, with the call,
	// its records and their bytes. It must not keep b.
	OnCall func(c SimCall, recs []Record, b []byte)
	// Logger gets one line per call written (numbers masked; the record at
	// debug level) and the simulator's start and end.
	Logger zerolog.Logger
}

// Simulator is a PBX printing the calls of a simulated hotel in one format,
// to an io.Writer: a pseudo-terminal's master (the gateway reads the slave as
// its serial port), a TCP connection, a file.
type Simulator struct {
	o     SimulatorOptions
	w     *Writer
	g     *Generator
	noise *rand.Rand
	calls atomic.Int64
	bytes atomic.Int64
}

// NewSimulator checks the options and returns a simulator.
func NewSimulator(o SimulatorOptions) (*Simulator, error) {
	if o.Rate < 0 || math.IsNaN(o.Rate) || math.IsInf(o.Rate, 0) {
		return nil, gateway.Errorf(gateway.KindInvalid, "the call rate must be a number of calls per minute, 0 for as fast as possible")
	}
	if o.Noise < 0 || o.Noise > 1 || math.IsNaN(o.Noise) {
		return nil, gateway.Errorf(gateway.KindInvalid, "the share of calls with line noise must be between 0 and 1")
	}
	if o.Count < 0 {
		return nil, gateway.Errorf(gateway.KindInvalid, "the call count cannot be negative")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Writer.Plan.Country == "" {
		o.Writer.Plan = o.Generator.Plan
	}
	if o.Writer.Location == nil {
		o.Writer.Location = time.UTC
	}
	w, err := NewWriter(o.Format, o.Writer)
	if err != nil {
		return nil, err
	}
	if o.Generator.Start.IsZero() {
		if o.Rate == 0 {
			return nil, gateway.Errorf(gateway.KindInvalid, "a simulator that writes as fast as possible needs the time its calls start from")
		}
		o.Generator.Start = o.Now()
	}
	g, err := NewGenerator(o.Generator)
	if err != nil {
		return nil, err
	}
	return &Simulator{o: o, w: w, g: g, noise: rand.New(rand.NewPCG(o.Generator.Seed, 0x6e6f697365))}, nil
}

// SimStats counts what a simulator wrote.
type SimStats struct {
	Calls int64 // calls written (a call may be several records, or none)
	Bytes int64
}

// Stats returns the counters so far; safe to call while Run runs.
func (s *Simulator) Stats() SimStats {
	return SimStats{Calls: s.calls.Load(), Bytes: s.bytes.Load()}
}

// Run writes calls to out, each call's records in one Write, until Count
// calls are written (it returns nil), ctx is done (nil) or a write fails (the
// error). A paced simulator writes its first call at once, then one every
// 60/Rate seconds.
func (s *Simulator) Run(ctx context.Context, out io.Writer) error {
	log := s.o.Logger.With().Str("component", "pbx-sim").Str("format", s.o.Format).Logger()
	log.Info().Float64("calls_per_minute", s.o.Rate).Int("count", s.o.Count).Msg("simulated PBX started")
	defer func() {
		st := s.Stats()
		log.Info().Int64("calls", st.Calls).Int64("bytes", st.Bytes).Msg("simulated PBX stopped")
	}()
	var interval time.Duration
	if s.o.Rate > 0 {
		interval = time.Duration(float64(time.Minute) / s.o.Rate)
	}
	var timer *time.Timer
	next := s.o.Now()
	var buf []byte
	for n := 0; s.o.Count == 0 || n < s.o.Count; n++ {
		if ctx.Err() != nil {
			return nil
		}
		var c SimCall
		if interval > 0 {
			if wait := next.Sub(s.o.Now()); wait > 0 {
				if timer == nil {
					timer = time.NewTimer(wait)
					defer timer.Stop()
				} else {
					timer.Reset(wait)
				}
				select {
				case <-ctx.Done():
					return nil
				case <-timer.C:
				}
			}
			next = next.Add(interval)
			c = s.g.EndingAt(s.o.Now().Truncate(time.Second))
		} else {
			c = s.g.Next()
		}
		if s.o.Noise > 0 && s.noise.Float64() < s.o.Noise {
			if _, err := out.Write(s.lineNoise()); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		}
		var recs []Record
		var err error
		buf, recs, err = s.w.AppendCall(buf[:0], c)
		if err != nil {
			// A generated call every writer can print: a bug, not the site.
			return gateway.Wrap(gateway.KindInternal, err, "simulator")
		}
		if len(buf) > 0 {
			if _, err := out.Write(buf); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		}
		s.calls.Add(1)
		s.bytes.Add(int64(len(buf)))
		e := log.Info().Uint64("call", c.ID).Str("direction", string(c.Direction)).Str("extension", c.FinalExtension()).
			Str("dialed", gateway.MaskNumber(c.Dialed)).Bool("answered", c.Answered).Int("talk_s", c.TalkS).Int("records", len(recs))
		if len(recs) == 0 {
			e.Msg("call not recorded by this PBX")
		} else {
			e.Msg("call written")
		}
		if d := log.Debug(); d.Enabled() {
			d.Uint64("call", c.ID).Bytes("data", buf).Msg("records written")
		}
		if s.o.OnCall != nil {
			s.o.OnCall(c, recs, buf)
		}
	}
	return nil
}

// lineNoise returns a burst of line noise: control bytes, then a line of
// letters and punctuation (never a digit, so never a date or a time), CR LF.
func (s *Simulator) lineNoise() []byte {
	const junk = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!\"#$%&'()*+,-./:;<=>?@[]^_{|}~ "
	controls := []byte{0x00, 0x00, 0x11, 0x13, 0x01, 0x1b, 0x7f, 0x00}
	var b []byte
	for range 1 + s.noise.IntN(6) {
		b = append(b, controls[s.noise.IntN(len(controls))])
	}
	b = append(b, '~') // never a record's first character
	for range 5 + s.noise.IntN(60) {
		b = append(b, junk[s.noise.IntN(len(junk))])
	}
	return append(b, '\r', '\n')
}
