package main

import (
	"context"
	"errors"
	"flag"
	"strings"

	pbxsim "callgate/pbx/sim"
)

// simPBXCommand is `gateway sim pbx`: a simulated PBX printing the calls of a
// hotel in any format the gateway reads, on a serial port, to the gateway's
// TCP port, as a TCP server the gateway connects to, into a file, or on
// stdout.
func simPBXCommand() *command {
	var c pbxsim.RunConfig
	return &command{
		name: "pbx",
		summary: "be a PBX: print the calls of a simulated hotel (guests calling out, calls to rooms and the front desk, " +
			"transfers, unanswered attempts, staff calls with account codes) as records of any format the gateway reads, " +
			"for testing a site's link before the real PBX is connected",
		flags: func(fs *flag.FlagSet, _ *app) {
			fs.StringVar(&c.Format, "format", "", "the PBX format to print (required): one of "+strings.Join(pbxsim.WritableFormats(), ", "))
			fs.StringVar(&c.Serial.Device, "serial", "", "print on this serial port (e.g. /dev/ttyUSB0, a null-modem cable to the gateway's port)")
			fs.StringVar(&c.TCP, "tcp", "", "connect to the gateway's tcp-listen port, host:port, and print there, reconnecting when the link drops (Avaya CM, IP Office, 3CX active socket, HiPath LAN)")
			fs.StringVar(&c.Listen, "listen", "", "wait on host:port for the gateway to connect (tcp-dial: MiVoice Business 1752, Mitel 5000, NEC, Panasonic LAN)")
			fs.StringVar(&c.File, "file", "", "append the records to this file, as a PBX writes its CDR file (Asterisk Master.csv, 3CX cdr.log, CUCM flat files)")
			fs.IntVar(&c.Serial.Baud, "baud", 9600, "serial: bits per second")
			fs.IntVar(&c.Serial.DataBits, "data-bits", 8, "serial: data bits, 7 or 8")
			fs.StringVar(&c.Serial.Parity, "parity", "none", "serial: none, odd, even, mark or space")
			fs.Float64Var(&c.Serial.StopBits, "stop-bits", 1, "serial: 1 or 2")
			fs.Float64Var(&c.Rate, "rate", 2, "calls per minute, each printed the moment it ends as a live PBX does; 0 prints --count calls at once, spread over the hours before now")
			fs.IntVar(&c.Count, "count", 0, "stop after this many calls (default: run until interrupted)")
			fs.Uint64Var(&c.Seed, "seed", 1, "the calls are a function of this number: the same seed gives the same calls")
			fs.StringVar(&c.Rooms, "rooms", "101-160", "guest room extensions: a list of extensions and ranges")
			fs.StringVar(&c.Admin, "admin", "201-212", "office and staff extensions (their outside calls carry account codes)")
			fs.StringVar(&c.FrontDesk, "front-desk", "200", "the front desk's extension: it answers the hotel's number and transfers callers to rooms")
			fs.IntVar(&c.Trunks, "trunks", 8, "outside lines")
			fs.StringVar(&c.Plan, "plan", "nanp", "dial plan: nanp (a hotel in New York) or uk (London); the flags below change parts of it")
			fs.StringVar(&c.Access, "access", "", "outside-line access code (plan default 9)")
			fs.StringVar(&c.Intl, "international", "", "international prefix (nanp 011, uk 00)")
			fs.StringVar(&c.National, "national", "", "national prefix (nanp 1, uk 0)")
			fs.StringVar(&c.Country, "country", "", "the hotel's country code (nanp 1, uk 44)")
			fs.StringVar(&c.Area, "area", "", "the hotel's area code (nanp 212, uk 20); local numbers are in it")
			fs.StringVar(&c.HotelNumber, "hotel-number", "", "the hotel's number as callers dial it without prefix, the DID of incoming calls (nanp 2125550100)")
			fs.StringVar(&c.TZ, "tz", "Local", "the time zone of the PBX's clock, an IANA name: set it to the gateway's site.timezone")
			fs.StringVar(&c.Start, "start", "", "with --rate 0: when the first call ends, 2026-01-01T09:00:00 in --tz (default: so that the last ends about now)")
			fs.Float64Var(&c.CallsPerHour, "calls-per-hour", 30, "with --rate 0: how close together the calls are")
			fs.IntVar(&c.PageLines, "page-lines", 0, "panasonic, nec-sv: lines per printed page, each with its title (default 66)")
			fs.StringVar(&c.Password, "password", "", "mitel-5000 with --listen: the SMDR socket password; the gateway's login frame must carry it")
			fs.IntVar(&c.Replay, "replay", 0, "with --tcp: after a reconnection, print the last N calls again, as IP Office replays its buffer")
			fs.BoolVar(&c.CROnly, "cr", false, "panasonic: end lines with CR alone, as the PBX does with NL code CR")
			fs.Float64Var(&c.Noise, "noise", 0, "the share of calls (0 to 1) preceded by line noise: control bytes and a junk line, which the gateway must skip or quarantine")
			fs.BoolVar(&c.Quiet, "quiet", false, "do not echo the records on stdout")
		},
		run: func(ctx context.Context, a *app, args []string) error {
			if len(args) > 0 {
				return usageError{"sim pbx takes no arguments"}
			}
			c.ParseStart, c.Stdout, c.Logger = parseReceived, a.stdout, a.log
			err := pbxsim.Run(ctx, c)
			if ue := (*pbxsim.UsageError)(nil); errors.As(err, &ue) {
				return usageError{ue.Msg}
			}
			return err
		},
	}
}
