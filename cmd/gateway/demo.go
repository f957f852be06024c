package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/creack/pty"
	"github.com/rs/zerolog"

	"callgate/gateway"
	"callgate/gateway/console"
	pbxsim "callgate/pbx/sim"
	"callgate/pms/fias/sim"
)

// demoTariff is configs/tariffs/usa.yaml, built into the binary so the demo
// runs anywhere (a test keeps the two equal).
//
//go:embed demo/tariff.yaml
var demoTariff []byte

func demoCommand() *command {
	var (
		rate           float64
		format, listen string
		dir            string
		seed           uint64
	)
	return &command{
		name: "demo",
		summary: "everything on this machine with no hardware: a simulated 60-room hotel's PBX printing SMDR into a " +
			"pseudo-terminal read through the serial code, the FIAS PMS simulator, a journal in a temporary folder; " +
			"calls flow until Ctrl-C",
		flags: func(fs *flag.FlagSet, _ *app) {
			fs.Float64Var(&rate, "rate", 12, "calls per minute the simulated PBX prints")
			fs.StringVar(&format, "format", "mitel-mivb", "the PBX format it prints: one of "+strings.Join(pbxsim.WritableFormats(), ", "))
			fs.StringVar(&listen, "listen", "127.0.0.1:8080", "the console's address (a free port is taken if it is busy)")
			fs.StringVar(&dir, "dir", "", "keep the demo's journal and config in this folder (default: a temporary folder, removed at the end)")
			fs.Uint64Var(&seed, "seed", 0, "the simulated calls are a function of this number (0: a new one each run)")
		},
		run: func(ctx context.Context, a *app, args []string) error {
			if len(args) > 0 {
				return usageError{"demo takes no arguments"}
			}
			if rate <= 0 {
				return usageError{"--rate must be above 0 calls per minute"}
			}
			if seed == 0 {
				seed = uint64(time.Now().UnixNano())
			}
			return runDemo(ctx, a, demoOptions{rate: rate, format: format, listen: listen, dir: dir, seed: seed})
		},
	}
}

type demoOptions struct {
	rate           float64
	format, listen string
	dir            string
	seed           uint64
}

func runDemo(ctx context.Context, a *app, o demoOptions) error {
	log := a.log
	keep := o.dir != ""
	if !keep {
		d, err := os.MkdirTemp("", "callgate-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		o.dir = d
	} else if err := os.MkdirAll(o.dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(o.dir, "tariff.yaml"), demoTariff, 0o644); err != nil {
		return err
	}

	// The PMS: an IFC8-like simulator with rooms 101-160, 150-160 vacant.
	hotel := pbxsim.DefaultHotel()
	rooms := hotel.Rooms
	pms, err := sim.Start("127.0.0.1:0", sim.Options{Rooms: rooms, Logger: log.Level(zerolog.WarnLevel)})
	if err != nil {
		return err
	}
	defer pms.Close()
	occupied := rooms[:len(rooms)*5/6]
	pms.Occupy(occupied)

	// The PBX's serial port: a pseudo-terminal pair. The simulated PBX
	// writes the master; the gateway reads the slave like a real port.
	master, slave, err := pty.Open()
	if err != nil {
		return fmt.Errorf("the demo needs a pseudo-terminal: %w", err)
	}
	defer master.Close()
	defer slave.Close()

	cfgPath := filepath.Join(o.dir, "callgate.yaml")
	listen := o.listen
	if ln, err := net.Listen("tcp", listen); err != nil {
		listen = "127.0.0.1:0"
	} else {
		ln.Close()
	}
	cfg := fmt.Sprintf(`# Written by gateway demo.
site: {name: Demo Hotel, timezone: America/New_York}
store: {path: journal.db}
pbx:
  format: %s
  transport: serial
  serial: {device: %s, baud: 9600, data_bits: 8, parity: none, stop_bits: 1}
pms:
  protocol: fias
  address: %q
rooms:
  default: same
  not_rooms: ["200-299"]
tariff: tariff.yaml
console: {listen: %q}
`, o.format, slave.Name(), pms.Addr(), listen)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return err
	}
	c, err := LoadConfig(cfgPath)
	if err != nil {
		return fmt.Errorf("the demo's config: %w", err)
	}
	g, err := startGateway(ctx, c, log)
	if err != nil {
		return err
	}
	// A one-time login for the console: a new password every run.
	password := console.RandomPassword()
	hash, err := console.HashPassword(password)
	if err == nil {
		now := time.Now()
		err = g.journal.PutUser(ctx, gateway.User{Name: "demo", Role: "admin", PasswordHash: hash, Created: now, Updated: now})
	}
	if err != nil {
		g.closeAll()
		return fmt.Errorf("the demo's console user: %w", err)
	}
	pbxSim, err := pbxsim.NewSimulator(pbxsim.SimulatorOptions{
		Format:    o.format,
		Writer:    pbxsim.WriterOptions{Location: c.Location},
		Generator: pbxsim.GeneratorOptions{Hotel: hotel, Plan: pbxsim.NANP(), Seed: o.seed},
		Rate:      o.rate,
		Logger:    log.Level(zerolog.WarnLevel),
	})
	if err != nil {
		g.closeAll()
		return err
	}
	fmt.Fprintf(a.stderr, `
callgate demo — a 60-room hotel (rooms %s-%s, %d of them vacant), %s SMDR at %g calls a minute
  PBX:      a simulated PBX printing into %s, read as a serial port
  PMS:      an IFC8-like FIAS simulator on %s
  journal:  %s
  config:   %s
  console:  http://%s/   log in as demo, password %s (this run only)
  metrics:  http://%s/metrics   health: http://%s/healthz
Each posting is logged as it is booked. Ctrl-C stops the demo.

`, rooms[0], rooms[len(rooms)-1], len(rooms)-len(occupied), o.format, o.rate, slave.Name(), pms.Addr(),
		filepath.Join(o.dir, "journal.db"), cfgPath, g.ln.Addr(), password, g.ln.Addr(), g.ln.Addr())

	simDone := make(chan error, 1)
	go func() { simDone <- pbxSim.Run(ctx, master) }()
	churn := time.NewTicker(45 * time.Second)
	defer churn.Stop()
	go pms.Churner(rooms, o.seed, log).Run(ctx, churn.C)
	err = g.run(ctx)
	if serr := <-simDone; serr != nil && !errors.Is(serr, context.Canceled) && ctx.Err() == nil {
		log.Warn().Err(serr).Msg("the simulated PBX stopped")
	}
	st := g.engine.Status()
	fmt.Fprintf(a.stderr, "\ndemo over: %d records read, %d postings booked, %d refused, %d in doubt\n",
		st.RecordsRead, st.Postings[gateway.PostPosted], st.Postings[gateway.PostRefused], st.Postings[gateway.PostInDoubt])
	if keep {
		fmt.Fprintf(a.stderr, "the journal stays in %s: gateway journal --config %s lists it\n", o.dir, cfgPath)
	}
	return err
}
