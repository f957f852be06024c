package sim

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"callgate/gateway"
	"callgate/internal/serialport"
)

// RunConfig is what `gateway sim pms` is told on its command line, flag by
// flag (see its --help); Run checks it and runs the simulated PMS.
type RunConfig struct {
	Listen         string // the TCP address, unless Serial is set
	Serial         string // serve FIPS on this serial port instead
	Baud           int    // the serial port's speed (8N1)
	Rooms, Vacant  string // room lists, "101-160,201": all rooms, those that start vacant
	Protel         bool   // act as Protel's socket server
	CodePage       string
	Transcript     bool   // print every frame on Out
	TranscriptFile string // also append the transcript to this file
	// In gets console commands (type help); Out the reports of every
	// posting and rule broken, and the transcript.
	In     io.Reader
	Out    io.Writer
	Logger zerolog.Logger
}

// UsageError is a setting of RunConfig that cannot be used: the command line
// is wrong, not the run.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Run starts a simulator as c says, reads console commands from c.In and
// reports on c.Out until ctx ends. Errors in c are *UsageError.
func Run(ctx context.Context, c RunConfig) error {
	all, err := ParseRooms(c.Rooms)
	if err != nil {
		return &UsageError{Msg: "--rooms: " + err.Error()}
	}
	empty, err := ParseRooms(c.Vacant)
	if err != nil {
		return &UsageError{Msg: "--vacant: " + err.Error()}
	}
	out := &lockedWriter{w: c.Out}
	var tw io.Writer
	if c.Transcript {
		tw = out
	}
	if c.TranscriptFile != "" {
		f, err := os.OpenFile(c.TranscriptFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
		if err != nil {
			if pe, ok := err.(*os.PathError); ok {
				err = pe.Err
			}
			return fmt.Errorf("cannot open the transcript file: %w", err)
		}
		defer f.Close()
		if tw != nil {
			tw = io.MultiWriter(tw, f)
		} else {
			tw = f
		}
	}
	s, err := New(Options{Rooms: all, Protel: c.Protel, CodePage: c.CodePage, Transcript: tw,
		AliveCheckMin: 5 * time.Minute, Logger: c.Logger})
	if err != nil {
		return &UsageError{Msg: "--code-page: " + err.Error()}
	}
	defer s.Close()
	var occupied []string
	for _, r := range all {
		if !slices.Contains(empty, r) {
			occupied = append(occupied, r)
		}
	}
	s.Occupy(occupied)
	if c.Serial != "" {
		p, err := serialport.Open(serialport.Settings{Device: c.Serial, Baud: c.Baud}, c.Logger)
		if err != nil {
			return err
		}
		s.ServeSerial(p)
		fmt.Fprintf(out, "PMS simulator on serial port %s, %d rooms (%d occupied)\n", c.Serial, len(all), len(occupied))
	} else {
		if err := s.Listen(c.Listen); err != nil {
			return err
		}
		fmt.Fprintf(out, "PMS simulator listening on %s, %d rooms (%d occupied)\n", s.Addr(), len(all), len(occupied))
	}
	go console(ctx, s, c.In, out)
	report(ctx, s, out)
	return nil
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

// ParseRooms reads "101-160,201,PH1": ranges of numbers (leading zeros
// kept at the width of the first) and single rooms.
func ParseRooms(s string) ([]string, error) {
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

// report prints each posting the simulator gets and each rule the
// client breaks, until ctx ends.
func report(ctx context.Context, s *Sim, out io.Writer) {
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

const consoleHelp = `commands:
  ci ROOM [LAST [FIRST]]   check a guest in (a sharer if the room is occupied)
  co ROOM                  check the room's first guest out
  mv ROOM TO               move the room's first guest to another room
  np ROOM on|off           set or clear No-Post on the room's first guest
  na on|off                start or end the night audit (NS/NE; postings answered NA)
  busy on|off              answer RY (busy) to the first try of every posting
  ls                       send LS (as IFC8 does after a restart)
  le                       end the link (LE)
  drop                     drop the connection
  guests                   list the guests
  ledger                   list the postings booked
`

// console reads commands from in and applies them to the simulator.
func console(ctx context.Context, s *Sim, in io.Reader, out io.Writer) {
	sc := bufio.NewScanner(in)
	for sc.Scan() && ctx.Err() == nil {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if err := do(s, f, out); err != nil {
			fmt.Fprintf(out, "%s: %v\n", f[0], err)
		}
	}
}

// do applies one console command to the simulator.
func do(s *Sim, f []string, out io.Writer) error {
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
	case "busy":
		on := arg(1) == "on"
		s.mu.Lock()
		s.faults.BusyFirst = on
		s.mu.Unlock()
		fmt.Fprintf(out, "RY to the first try of every posting: %v\n", on)
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
		fmt.Fprint(out, consoleHelp)
	default:
		return errors.New("unknown command: type help")
	}
	return nil
}
