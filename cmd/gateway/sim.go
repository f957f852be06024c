package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.bug.st/serial"

	"callgate/gateway"
	"callgate/pms/fias"
	"callgate/pms/fias/sim"
)

// subcommand is one command under a command with sub-commands (gateway sim
// pms, gateway sim pbx, …).
type subcommand struct {
	name    string
	summary string
	flags   func(fs *flag.FlagSet)
	run     func(ctx context.Context, a *app, args []string) error
}

// simCommands lists the simulators; add one here to add `gateway sim X`.
func simCommands() []*subcommand {
	return []*subcommand{simPMSCommand(), asSubcommand(simPBXCommand())}
}

// asSubcommand makes a leaf command a sub-command.
func asSubcommand(c *command) *subcommand {
	return &subcommand{name: c.name, summary: c.summary, run: c.run, flags: func(fs *flag.FlagSet) {
		if c.flags != nil {
			c.flags(fs, &app{})
		}
	}}
}

func simCommand() *command {
	subs := simCommands()
	names := make([]string, len(subs))
	for i, s := range subs {
		names[i] = s.name
	}
	return &command{
		name: "sim",
		args: strings.Join(names, "|") + " [flags]",
		summary: "run a simulator for testing a site without the real thing: " + subSummaries(subs) +
			" (gateway sim NAME --help for its flags)",
		run: func(ctx context.Context, a *app, args []string) error {
			if len(args) == 0 {
				return usageError{"sim needs a simulator name: one of " + strings.Join(names, ", ")}
			}
			for _, s := range subs {
				if s.name == args[0] {
					return runSub(ctx, a, "sim", s, args[1:])
				}
			}
			return usageError{fmt.Sprintf("unknown simulator %q: use one of %s", args[0], strings.Join(names, ", "))}
		},
	}
}

func subSummaries(subs []*subcommand) string {
	parts := make([]string, len(subs))
	for i, s := range subs {
		parts[i] = s.name + ": " + s.summary
	}
	return strings.Join(parts, "; ")
}

// runSub parses a sub-command's flags (the log flags too) and runs it.
func runSub(ctx context.Context, a *app, parent string, s *subcommand, args []string) error {
	fs := flag.NewFlagSet("gateway "+parent+" "+s.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	a.logFlags(fs)
	s.flags(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(a.stdout, "Usage: gateway %s %s [flags]\n\n%s\n\nFlags:\n", parent, s.name, s.summary)
			fs.SetOutput(a.stdout)
			fs.PrintDefaults()
			return nil
		}
		return usageError{fmt.Sprintf("%s (see gateway %s %s --help)", err, parent, s.name)}
	}
	log, err := newLogger(a.stderr, a.logFormat, a.logLevel)
	if err != nil {
		return usageError{err.Error()}
	}
	a.log = log
	return s.run(ctx, a, fs.Args())
}

func simPMSCommand() *subcommand {
	var listen, rooms, vacant, codePage, device, transcriptFile string
	var protel, transcript bool
	var baud int
	return &subcommand{
		name: "pms",
		summary: "a FIAS PMS (OPERA's IFC8, or Protel) for the gateway to post to: it prints every posting it books or refuses " +
			"and every rule the gateway breaks; --transcript prints every frame. Commands on stdin change guests: type help",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&listen, "listen", "127.0.0.1:5010", "the TCP address to listen on, as IFC8 does")
			fs.StringVar(&rooms, "rooms", "101-160", "the hotel's rooms: numbers and ranges, comma-separated (101-160,201-230)")
			fs.StringVar(&vacant, "vacant", "", "rooms that start vacant; every other room starts with a guest")
			fs.BoolVar(&protel, "protel", false, "act as Protel's socket server: refuse a second client, push the in-house list after LA, resync without DS/DE")
			fs.BoolVar(&transcript, "transcript", false, "print every frame both ways, with its time (the wire transcript)")
			fs.StringVar(&transcriptFile, "transcript-file", "", "also write the wire transcript to this file")
			fs.StringVar(&codePage, "code-page", "windows-1252", "the code page of the wire: one of "+strings.Join(fias.CodePages, ", "))
			fs.StringVar(&device, "serial", "", "serve FIPS on this serial port instead of TCP (e.g. /dev/ttyUSB1, with a null-modem cable)")
			fs.IntVar(&baud, "baud", 9600, "the serial port's speed (8N1)")
		},
		run: func(ctx context.Context, a *app, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Sprintf("sim pms takes no arguments, got %q", args[0])}
			}
			all, err := parseRooms(rooms)
			if err != nil {
				return usageError{"--rooms: " + err.Error()}
			}
			empty, err := parseRooms(vacant)
			if err != nil {
				return usageError{"--vacant: " + err.Error()}
			}
			out := &lockedWriter{w: a.stdout}
			var tw io.Writer
			if transcript {
				tw = out
			}
			if transcriptFile != "" {
				f, err := os.OpenFile(transcriptFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
				if err != nil {
					return fmt.Errorf("cannot open the transcript file: %w", unwrapPathError(err))
				}
				defer f.Close()
				if tw != nil {
					tw = io.MultiWriter(tw, f)
				} else {
					tw = f
				}
			}
			s, err := sim.New(sim.Options{Rooms: all, Protel: protel, CodePage: codePage, Transcript: tw,
				AliveCheckMin: 5 * time.Minute, Logger: a.log})
			if err != nil {
				return usageError{"--code-page: " + err.Error()}
			}
			defer s.Close()
			var occupied []string
			for _, r := range all {
				if !slices.Contains(empty, r) {
					occupied = append(occupied, r)
				}
			}
			s.Occupy(occupied)
			if device != "" {
				p, err := serial.Open(device, &serial.Mode{BaudRate: baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit})
				if err != nil {
					return fmt.Errorf("cannot open serial port %s: %w", device, err)
				}
				s.ServeSerial(p)
				fmt.Fprintf(out, "PMS simulator on serial port %s, %d rooms (%d occupied)\n", device, len(all), len(occupied))
			} else {
				if err := s.Listen(listen); err != nil {
					return err
				}
				fmt.Fprintf(out, "PMS simulator listening on %s, %d rooms (%d occupied)\n", s.Addr(), len(all), len(occupied))
			}
			go simConsole(ctx, s, a.stdin, out)
			reportSim(ctx, s, out)
			return nil
		},
	}
}

// lockedWriter lets the transcript and the reports share stdout.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

// parseRooms reads "101-160,201,PH1": ranges of numbers (leading zeros
// kept at the width of the first) and single rooms.
func parseRooms(s string) ([]string, error) {
	var out []string
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		if !isRange {
			if strings.ContainsAny(part, "| \t") {
				return nil, fmt.Errorf("%q is not a room", part)
			}
			out = append(out, part)
			continue
		}
		a, err1 := strconv.Atoi(lo)
		b, err2 := strconv.Atoi(hi)
		if err1 != nil || err2 != nil || a > b || b-a > 10000 {
			return nil, fmt.Errorf("%q is not a range of room numbers like 101-160", part)
		}
		for r := a; r <= b; r++ {
			out = append(out, fmt.Sprintf("%0*d", len(lo), r))
		}
	}
	return out, nil
}

// reportSim prints each posting the simulator gets and each rule the
// client breaks, until ctx ends.
func reportSim(ctx context.Context, s *sim.Sim, out io.Writer) {
	var postings, violations int
	for {
		got, bad := s.Received(), s.Violations()
		for _, p := range got[postings:] {
			verdict := "refused " + p.Answer
			if p.Answer == "OK" {
				verdict = "booked"
			}
			fmt.Fprintf(out, "posting %s room %s: %s  (%s)\n", p.Number, p.Room, verdict, p.Record)
		}
		for _, v := range bad[violations:] {
			fmt.Fprintf(out, "VIOLATION: %s\n", v)
		}
		postings, violations = len(got), len(bad)
		if s.WaitFor(ctx, func() bool { return len(s.Received()) != postings || len(s.Violations()) != violations }) != nil {
			return
		}
	}
}

const simHelp = `commands:
  ci ROOM [LAST [FIRST]]   check a guest in (a sharer if the room is occupied)
  co ROOM                  check the room's first guest out
  mv ROOM TO               move the room's first guest to another room
  np ROOM on|off           set or clear No-Post on the room's first guest
  na on|off                start or end the night audit (NS/NE; postings answered NA)
  ls                       send LS (as IFC8 does after a restart)
  le                       end the link (LE)
  drop                     drop the connection
  guests                   list the guests
  ledger                   list the postings booked
`

// simConsole reads commands from in and applies them to the simulator.
func simConsole(ctx context.Context, s *sim.Sim, in io.Reader, out io.Writer) {
	sc := bufio.NewScanner(in)
	for sc.Scan() && ctx.Err() == nil {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if err := simDo(s, f, out); err != nil {
			fmt.Fprintf(out, "%s: %v\n", f[0], err)
		}
	}
}

func simDo(s *sim.Sim, f []string, out io.Writer) error {
	first := func(room string) (string, error) {
		gs := s.Guests(room)
		if len(gs) == 0 {
			return "", fmt.Errorf("room %s has no guest", room)
		}
		return gs[0].Reservation, nil
	}
	arg := func(i int) string {
		if i < len(f) {
			return f[i]
		}
		return ""
	}
	switch f[0] {
	case "ci":
		res, err := s.CheckIn(gateway.Guest{Room: arg(1), LastName: arg(2), FirstName: arg(3)})
		if err == nil {
			fmt.Fprintf(out, "checked in reservation %s to room %s\n", res, arg(1))
		}
		return err
	case "co", "mv", "np":
		res, err := first(arg(1))
		if err != nil {
			return err
		}
		switch f[0] {
		case "co":
			return s.CheckOut(res)
		case "mv":
			return s.Move(res, arg(2))
		}
		return s.SetNoPost(res, arg(2) == "on")
	case "na":
		return s.NightAudit(arg(1) == "on")
	case "ls":
		return s.SendLS()
	case "le":
		return s.SendLE()
	case "drop":
		s.Disconnect()
	case "guests":
		for _, g := range s.Guests("") {
			fmt.Fprintf(out, "room %s reservation %s %s %s no-post %v\n", g.Room, g.Reservation, g.LastName, g.FirstName, g.NoPost)
		}
	case "ledger":
		for _, b := range s.Ledger() {
			dup := ""
			if b.Duplicate {
				dup = "  DUPLICATE"
			}
			fmt.Fprintf(out, "P#%s room %s folio %s amount %s %s%s\n", b.Number, b.Room, b.Reservation, b.Amount, b.Text, dup)
		}
	case "help":
		fmt.Fprint(out, simHelp)
	default:
		return errors.New("unknown command: type help")
	}
	return nil
}
