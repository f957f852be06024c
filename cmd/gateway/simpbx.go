package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"callgate/pbx"
	pbxsim "callgate/pbx/sim"
)

// simPBXCommand is `gateway sim pbx`: a simulated PBX printing the calls of a
// hotel in any format the gateway reads, on a serial port, to the gateway's
// TCP port, as a TCP server the gateway connects to, into a file, or on
// stdout.
func simPBXCommand() *command {
	var (
		format, serialDev, tcpAddr, listenAddr, file string
		parity, tz, start, rooms, admin, frontDesk   string
		planName, access, intl, national, country    string
		area, hotelNumber, password                  string
		baud, dataBits, count, trunks, pageLines     int
		replay                                       int
		stopBits, rate, perHour, noise               float64
		seed                                         uint64
		quiet, crOnly                                bool
	)
	return &command{
		name: "pbx",
		summary: "be a PBX: print the calls of a simulated hotel (guests calling out, calls to rooms and the front desk, " +
			"transfers, unanswered attempts, staff calls with account codes) as records of any format the gateway reads, " +
			"for testing a site's link before the real PBX is connected",
		flags: func(fs *flag.FlagSet, _ *app) {
			fs.StringVar(&format, "format", "", "the PBX format to print (required): one of "+strings.Join(pbxsim.WritableFormats(), ", "))
			fs.StringVar(&serialDev, "serial", "", "print on this serial port (e.g. /dev/ttyUSB0, a null-modem cable to the gateway's port)")
			fs.StringVar(&tcpAddr, "tcp", "", "connect to the gateway's tcp-listen port, host:port, and print there, reconnecting when the link drops (Avaya CM, IP Office, 3CX active socket, HiPath LAN)")
			fs.StringVar(&listenAddr, "listen", "", "wait on host:port for the gateway to connect (tcp-dial: MiVoice Business 1752, Mitel 5000, NEC, Panasonic LAN)")
			fs.StringVar(&file, "file", "", "append the records to this file, as a PBX writes its CDR file (Asterisk Master.csv, 3CX cdr.log, CUCM flat files)")
			fs.IntVar(&baud, "baud", 9600, "serial: bits per second")
			fs.IntVar(&dataBits, "data-bits", 8, "serial: data bits, 7 or 8")
			fs.StringVar(&parity, "parity", "none", "serial: none, odd, even, mark or space")
			fs.Float64Var(&stopBits, "stop-bits", 1, "serial: 1 or 2")
			fs.Float64Var(&rate, "rate", 2, "calls per minute, each printed the moment it ends as a live PBX does; 0 prints --count calls at once, spread over the hours before now")
			fs.IntVar(&count, "count", 0, "stop after this many calls (default: run until interrupted)")
			fs.Uint64Var(&seed, "seed", 1, "the calls are a function of this number: the same seed gives the same calls")
			fs.StringVar(&rooms, "rooms", "101-160", "guest room extensions: a list of extensions and ranges")
			fs.StringVar(&admin, "admin", "201-212", "office and staff extensions (their outside calls carry account codes)")
			fs.StringVar(&frontDesk, "front-desk", "200", "the front desk's extension: it answers the hotel's number and transfers callers to rooms")
			fs.IntVar(&trunks, "trunks", 8, "outside lines")
			fs.StringVar(&planName, "plan", "nanp", "dial plan: nanp (a hotel in New York) or uk (London); the flags below change parts of it")
			fs.StringVar(&access, "access", "", "outside-line access code (plan default 9)")
			fs.StringVar(&intl, "international", "", "international prefix (nanp 011, uk 00)")
			fs.StringVar(&national, "national", "", "national prefix (nanp 1, uk 0)")
			fs.StringVar(&country, "country", "", "the hotel's country code (nanp 1, uk 44)")
			fs.StringVar(&area, "area", "", "the hotel's area code (nanp 212, uk 20); local numbers are in it")
			fs.StringVar(&hotelNumber, "hotel-number", "", "the hotel's number as callers dial it without prefix, the DID of incoming calls (nanp 2125550100)")
			fs.StringVar(&tz, "tz", "Local", "the time zone of the PBX's clock, an IANA name: set it to the gateway's site.timezone")
			fs.StringVar(&start, "start", "", "with --rate 0: when the first call ends, 2026-01-01T09:00:00 in --tz (default: so that the last ends about now)")
			fs.Float64Var(&perHour, "calls-per-hour", 30, "with --rate 0: how close together the calls are")
			fs.IntVar(&pageLines, "page-lines", 0, "panasonic, nec-sv: lines per printed page, each with its title (default 66)")
			fs.StringVar(&password, "password", "", "mitel-5000 with --listen: the SMDR socket password; the gateway's login frame must carry it")
			fs.IntVar(&replay, "replay", 0, "with --tcp: after a reconnection, print the last N calls again, as IP Office replays its buffer")
			fs.BoolVar(&crOnly, "cr", false, "panasonic: end lines with CR alone, as the PBX does with NL code CR")
			fs.Float64Var(&noise, "noise", 0, "the share of calls (0 to 1) preceded by line noise: control bytes and a junk line, which the gateway must skip or quarantine")
			fs.BoolVar(&quiet, "quiet", false, "do not echo the records on stdout")
		},
		run: func(ctx context.Context, a *app, args []string) error {
			if len(args) > 0 {
				return usageError{"sim pbx takes no arguments"}
			}
			if format == "" {
				return usageError{"sim pbx needs --format NAME: one of " + strings.Join(pbxsim.WritableFormats(), ", ")}
			}
			if _, err := pbx.LookupFormat(format); err != nil {
				return usageError{err.Error()}
			}
			n := 0
			for _, t := range []string{serialDev, tcpAddr, listenAddr, file} {
				if t != "" {
					n++
				}
			}
			if n > 1 {
				return usageError{"give one of --serial, --tcp, --listen and --file (none prints on stdout)"}
			}
			if rate == 0 && count == 0 {
				return usageError{"--rate 0 prints calls as fast as it can: give --count too"}
			}
			if start != "" && rate != 0 {
				return usageError{"--start is for --rate 0: a paced PBX prints each call as it ends, now"}
			}
			if crOnly && format != "panasonic" {
				return usageError{"--cr is for --format panasonic: other PBXs end their lines as they always do"}
			}
			if password != "" && (format != "mitel-5000" || listenAddr == "") {
				return usageError{"--password is the Mitel 5000 SMDR socket's: use it with --format mitel-5000 --listen"}
			}
			loc, err := time.LoadLocation(tz)
			if err != nil {
				return usageError{fmt.Sprintf("--tz %q is not a time zone name: use an IANA name such as America/New_York", tz)}
			}
			hotel := pbxsim.Hotel{FrontDesk: frontDesk, Trunks: trunks}
			if hotel.Rooms, err = pbxsim.ParseExtensions(rooms); err != nil {
				return usageError{"--rooms: " + err.Error()}
			}
			if hotel.Admin, err = pbxsim.ParseExtensions(admin); err != nil {
				return usageError{"--admin: " + err.Error()}
			}
			var plan pbxsim.DialPlan
			switch strings.ToLower(planName) {
			case "nanp", "us", "usa":
				plan = pbxsim.NANP()
			case "uk", "gb":
				plan = pbxsim.UK()
			default:
				return usageError{fmt.Sprintf("--plan %q is not nanp or uk", planName)}
			}
			for _, o := range []struct {
				v   string
				dst *string
			}{{access, &plan.Access}, {intl, &plan.International}, {national, &plan.National}, {country, &plan.Country}, {area, &plan.Area}, {hotelNumber, &plan.Hotel}} {
				if o.v != "" {
					*o.dst = o.v
				}
			}
			mitelSocket := format == "mitel-5000" && listenAddr != ""
			opts := pbxsim.SimulatorOptions{
				Format: format, Rate: rate, Count: count, Noise: noise,
				Writer:    pbxsim.WriterOptions{Location: loc, Framed: mitelSocket, PageLines: pageLines, Plan: plan, CROnly: crOnly},
				Generator: pbxsim.GeneratorOptions{Hotel: hotel, Plan: plan, Seed: seed, CallsPerHour: perHour},
				Logger:    a.log,
			}
			if rate == 0 {
				if perHour <= 0 {
					return usageError{"--calls-per-hour must be above 0"}
				}
				if start != "" {
					t, err := parseReceived(start, loc)
					if err != nil {
						return usageError{strings.Replace(err.Error(), "--received", "--start", 1)}
					}
					opts.Generator.Start = t
				} else {
					span := time.Duration(float64(count) * float64(time.Hour) / perHour)
					opts.Generator.Start = time.Now().In(loc).Add(-span).Truncate(time.Second)
				}
			}

			// Where the records go.
			var out io.Writer
			var closer io.Closer
			switch {
			case serialDev != "":
				s, err := pbxsim.OpenSerialSink(pbx.SerialOptions{Device: serialDev, Baud: baud, DataBits: dataBits, Parity: parity, StopBits: stopBits})
				if err != nil {
					return err
				}
				out, closer = s, s
			case tcpAddr != "":
				d, err := pbxsim.NewDialSink(ctx, pbxsim.DialSinkOptions{Address: tcpAddr, Replay: replay, Logger: a.log})
				if err != nil {
					return usageError{"--tcp: " + err.Error()}
				}
				out, closer = d, d
			case listenAddr != "":
				l, err := pbxsim.NewListenSink(ctx, pbxsim.ListenSinkOptions{Address: listenAddr, Mitel5000Login: mitelSocket && password != "", Password: password, Logger: a.log})
				if err != nil {
					return err
				}
				a.log.Info().Str("listen", l.Addr().String()).Msg("waiting for the gateway to connect")
				out, closer = l, l
			case file != "":
				f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
				if err != nil {
					return fmt.Errorf("cannot write %s: %w", file, unwrapPathError(err))
				}
				out, closer = f, f
			default:
				out, quiet = a.stdout, true
			}
			if closer != nil {
				defer closer.Close()
			}

			if !quiet {
				echo := newRecordEcho(a.stdout)
				opts.OnCall = func(_ pbxsim.SimCall, _ []pbxsim.Record, b []byte) { echo.write(b) }
			}
			sim, err := pbxsim.NewSimulator(opts)
			if err != nil {
				return err
			}
			if err := sim.Run(ctx, out); err != nil && !errors.Is(err, context.Canceled) {
				return fmt.Errorf("simulated PBX stopped: %w", err)
			}
			return nil
		},
	}
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
