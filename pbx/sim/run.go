package sim

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"callgate/gateway"
	"callgate/pbx"
)

// RunConfig is what `gateway sim pbx` is told on its command line, flag by
// flag (see its --help); Run checks it and runs the simulated PBX.
type RunConfig struct {
	Format string
	// Where the records go: at most one of Serial.Device, TCP (the
	// gateway's tcp-listen address), Listen (for the gateway to dial) and
	// File; none prints them on Stdout.
	Serial            pbx.SerialOptions
	TCP, Listen, File string
	Rate              float64 // calls per minute; 0 prints Count calls at once
	Count             int
	Seed              uint64
	Rooms, Admin      string // extensions and ranges, "101-160"
	FrontDesk         string
	Trunks            int
	Plan              string // nanp or uk; the fields below override parts of it
	Access, Intl      string
	National, Country string
	Area, HotelNumber string
	TZ                string // the PBX clock's zone, an IANA name
	Start             string // with Rate 0: when the first call ends, in TZ
	CallsPerHour      float64
	PageLines         int
	Password          string // the Mitel 5000 SMDR socket's, with Listen
	Replay            int    // with TCP: calls printed again after a reconnection
	CROnly, Quiet     bool
	Noise             float64
	// ParseStart reads Start in the zone, the CLI's way; nil reads
	// 2006-01-02T15:04:05 only.
	ParseStart func(s string, loc *time.Location) (time.Time, error)
	// Stdout gets the records when there is no transport, else (unless
	// Quiet) their echo, one record a line.
	Stdout io.Writer
	Logger zerolog.Logger
}

// UsageError is a setting of RunConfig that cannot be used (alone or with
// the others): the command line is wrong, not the run.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usage(format string, args ...any) error { return &UsageError{Msg: fmt.Sprintf(format, args...)} }

// Run checks c, opens its transport and prints calls until Count calls are
// printed or ctx ends. Errors in c are *UsageError.
func Run(ctx context.Context, c RunConfig) error {
	opts, err := c.options()
	if err != nil {
		return err
	}
	out, closer, err := c.sink(ctx, opts.Writer.Framed)
	if err != nil {
		return err
	}
	if closer != nil {
		defer closer.Close()
	}
	if !c.Quiet && closer != nil { // records on stdout are not echoed there
		echo := newRecordEcho(c.Stdout)
		opts.OnCall = func(_ SimCall, _ []Record, b []byte) { echo.write(b) }
	}
	sim, err := NewSimulator(opts)
	if err != nil {
		return err
	}
	if err := sim.Run(ctx, out); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("simulated PBX stopped: %w", err)
	}
	return nil
}

// options checks the settings and returns the simulator's options.
func (c RunConfig) options() (SimulatorOptions, error) {
	var o SimulatorOptions
	if c.Format == "" {
		return o, usage("sim pbx needs --format NAME: one of %s", strings.Join(WritableFormats(), ", "))
	}
	if _, err := pbx.LookupFormat(c.Format); err != nil {
		return o, &UsageError{Msg: err.Error()}
	}
	n := 0
	for _, t := range []string{c.Serial.Device, c.TCP, c.Listen, c.File} {
		if t != "" {
			n++
		}
	}
	if n > 1 {
		return o, usage("give one of --serial, --tcp, --listen and --file (none prints on stdout)")
	}
	if c.Rate == 0 && c.Count == 0 {
		return o, usage("--rate 0 prints calls as fast as it can: give --count too")
	}
	if c.Start != "" && c.Rate != 0 {
		return o, usage("--start is for --rate 0: a paced PBX prints each call as it ends, now")
	}
	if c.CROnly && c.Format != "panasonic" {
		return o, usage("--cr is for --format panasonic: other PBXs end their lines as they always do")
	}
	if c.Password != "" && (c.Format != "mitel-5000" || c.Listen == "") {
		return o, usage("--password is the Mitel 5000 SMDR socket's: use it with --format mitel-5000 --listen")
	}
	loc, err := time.LoadLocation(c.TZ)
	if err != nil {
		return o, usage("--tz %q is not a time zone name: use an IANA name such as America/New_York", c.TZ)
	}
	hotel := Hotel{FrontDesk: c.FrontDesk, Trunks: c.Trunks}
	if hotel.Rooms, err = ParseExtensions(c.Rooms); err != nil {
		return o, usage("--rooms: %v", err)
	}
	if hotel.Admin, err = ParseExtensions(c.Admin); err != nil {
		return o, usage("--admin: %v", err)
	}
	var plan DialPlan
	switch strings.ToLower(c.Plan) {
	case "nanp", "us", "usa":
		plan = NANP()
	case "uk", "gb":
		plan = UK()
	default:
		return o, usage("--plan %q is not nanp or uk", c.Plan)
	}
	for _, f := range []struct {
		v   string
		dst *string
	}{{c.Access, &plan.Access}, {c.Intl, &plan.International}, {c.National, &plan.National}, {c.Country, &plan.Country}, {c.Area, &plan.Area}, {c.HotelNumber, &plan.Hotel}} {
		if f.v != "" {
			*f.dst = f.v
		}
	}
	o = SimulatorOptions{
		Format: c.Format, Rate: c.Rate, Count: c.Count, Noise: c.Noise,
		Writer:    WriterOptions{Location: loc, Framed: c.mitelSocket(), PageLines: c.PageLines, Plan: plan, CROnly: c.CROnly},
		Generator: GeneratorOptions{Hotel: hotel, Plan: plan, Seed: c.Seed, CallsPerHour: c.CallsPerHour},
		Logger:    c.Logger,
	}
	if c.Rate == 0 {
		if c.CallsPerHour <= 0 {
			return o, usage("--calls-per-hour must be above 0")
		}
		if c.Start != "" {
			parse := c.ParseStart
			if parse == nil {
				parse = func(s string, loc *time.Location) (time.Time, error) {
					return time.ParseInLocation(gateway.WallClockLayout, s, loc)
				}
			}
			t, err := parse(c.Start, loc)
			if err != nil {
				return o, &UsageError{Msg: strings.Replace(err.Error(), "--received", "--start", 1)}
			}
			o.Generator.Start = t
		} else {
			span := time.Duration(float64(c.Count) * float64(time.Hour) / c.CallsPerHour)
			o.Generator.Start = time.Now().In(loc).Add(-span).Truncate(time.Second)
		}
	}
	return o, nil
}

// mitelSocket: a Mitel 5000 waited on by the gateway sends length-prefixed
// frames, as on its SMDR socket.
func (c RunConfig) mitelSocket() bool { return c.Format == "mitel-5000" && c.Listen != "" }

// sink opens where the records go; closer is nil for Stdout.
func (c RunConfig) sink(ctx context.Context, framed bool) (io.Writer, io.Closer, error) {
	switch {
	case c.Serial.Device != "":
		s, err := OpenSerialSink(c.Serial)
		if err != nil {
			return nil, nil, err
		}
		return s, s, nil
	case c.TCP != "":
		d, err := NewDialSink(ctx, DialSinkOptions{Address: c.TCP, Replay: c.Replay, Logger: c.Logger})
		if err != nil {
			return nil, nil, usage("--tcp: %v", err)
		}
		return d, d, nil
	case c.Listen != "":
		l, err := NewListenSink(ctx, ListenSinkOptions{Address: c.Listen, Mitel5000Login: framed && c.Password != "", Password: c.Password, Logger: c.Logger})
		if err != nil {
			return nil, nil, err
		}
		c.Logger.Info().Str("listen", l.Addr().String()).Msg("waiting for the gateway to connect")
		return l, l, nil
	case c.File != "":
		f, err := os.OpenFile(c.File, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			if pe, ok := err.(*os.PathError); ok {
				err = pe.Err
			}
			return nil, nil, fmt.Errorf("cannot write %s: %w", c.File, err)
		}
		return f, f, nil
	}
	return c.Stdout, nil, nil
}

// recordEcho prints what the simulated PBX sends, one record a line: line
// ends, NUL padding and length prefixes taken out as the gateway's framer
// does.
type recordEcho struct {
	mu sync.Mutex
	w  *bufio.Writer
	fr pbx.Framer
}

func newRecordEcho(w io.Writer) *recordEcho {
	return &recordEcho{w: bufio.NewWriter(w), fr: pbx.Framer{LengthPrefixed: true}}
}

func (e *recordEcho) write(b []byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.fr.Feed(b, func(data []byte, _ bool) {
		e.w.Write(data)
		e.w.WriteByte('\n')
	})
	e.w.Flush()
}
