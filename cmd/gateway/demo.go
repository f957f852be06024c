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
		sites          int
	)
	return &command{
		name: "demo",
		summary: "everything on this machine with no hardware: a simulated 60-room hotel's PBX printing SMDR into a " +
			"pseudo-terminal read through the serial code, the FIAS PMS simulator, a journal in a temporary folder; " +
			"calls flow until Ctrl-C; with --sites N, N such properties shipping to a central on a throwaway PostgreSQL",
		flags: func(fs *flag.FlagSet, _ *app) {
			fs.Float64Var(&rate, "rate", 12, "calls per minute the simulated PBX prints")
			fs.StringVar(&format, "format", "mitel-mivb", "the PBX format it prints: one of "+strings.Join(pbxsim.WritableFormats(), ", "))
			fs.StringVar(&listen, "listen", "127.0.0.1:8080", "the console's address (a free port is taken if it is busy)")
			fs.StringVar(&dir, "dir", "", "keep the demo's journal and config in this folder (default: a temporary folder, removed at the end)")
			fs.Uint64Var(&seed, "seed", 0, "the simulated calls are a function of this number (0: a new one each run)")
			fs.IntVar(&sites, "sites", 1, "simulated properties: above 1, a hotel chain, each property shipping its journal to a central "+
				"on a throwaway PostgreSQL (needs PostgreSQL's server programs: apt-get install postgresql)")
		},
		run: func(ctx context.Context, a *app, args []string) error {
			if len(args) > 0 {
				return usageError{"demo takes no arguments"}
			}
			if rate <= 0 {
				return usageError{"--rate must be above 0 calls per minute"}
			}
			if sites < 1 || sites > maxDemoSites {
				return usageError{fmt.Sprintf("--sites must be 1 to %d", maxDemoSites)}
			}
			if seed == 0 {
				seed = uint64(time.Now().UnixNano())
			}
			o := demoOptions{rate: rate, format: format, listen: listen, dir: dir, seed: seed}
			if sites > 1 {
				return runChainDemo(ctx, a, o, sites)
			}
			return runDemo(ctx, a, o)
		},
	}
}

type demoOptions struct {
	rate           float64
	format, listen string
	dir            string
	seed           uint64
}

// maxDemoSites bounds --sites: each property is a PBX simulator, a PMS
// simulator and a gateway in this one process.
const maxDemoSites = 20

// demoSite is one simulated property: its PMS simulator, the PBX's
// pseudo-terminal, its config and its started gateway.
type demoSite struct {
	name, dir, cfgPath string
	cfg                *Config
	pms                *sim.Sim
	master, slave      *os.File
	g                  *gatewayRun
	pbx                *pbxsim.Simulator
	password           string
	rooms, occupied    []string
	seed               uint64
}

// close closes what the site opened besides its gateway (which run or
// closeAll closes).
func (s *demoSite) close() {
	if s.pms != nil {
		s.pms.Close()
	}
	if s.master != nil {
		s.master.Close()
	}
	if s.slave != nil {
		s.slave.Close()
	}
}

// startDemoSite writes a site's config into dir and starts its PMS
// simulator, its pseudo-terminal and its gateway, with a one-time console
// user "demo". extra is appended to the config (the central section).
func startDemoSite(ctx context.Context, a *app, o demoOptions, name, dir, listen, extra string) (_ *demoSite, err error) {
	log := a.log
	s := &demoSite{name: name, dir: dir, seed: o.seed}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if err := os.WriteFile(filepath.Join(dir, "tariff.yaml"), demoTariff, 0o644); err != nil {
		return nil, err
	}
	// The PMS: an IFC8-like simulator with rooms 101-160, 150-160 vacant.
	hotel := pbxsim.DefaultHotel()
	s.rooms = hotel.Rooms
	if s.pms, err = sim.Start("127.0.0.1:0", sim.Options{Rooms: s.rooms, Logger: log.Level(zerolog.WarnLevel)}); err != nil {
		return nil, err
	}
	s.occupied = s.rooms[:len(s.rooms)*5/6]
	s.pms.Occupy(s.occupied)

	// The PBX's serial port: a pseudo-terminal pair. The simulated PBX
	// writes the master; the gateway reads the slave like a real port.
	if s.master, s.slave, err = pty.Open(); err != nil {
		return nil, fmt.Errorf("the demo needs a pseudo-terminal: %w", err)
	}
	s.cfgPath = filepath.Join(dir, "callgate.yaml")
	if ln, err := net.Listen("tcp", listen); err != nil {
		listen = "127.0.0.1:0"
	} else {
		ln.Close()
	}
	cfg := fmt.Sprintf(`# Written by gateway demo.
site: {name: %s, timezone: America/New_York}
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
%s`, name, o.format, s.slave.Name(), s.pms.Addr(), listen, extra)
	if err := os.WriteFile(s.cfgPath, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	if s.cfg, err = LoadConfig(s.cfgPath); err != nil {
		return nil, fmt.Errorf("the demo's config: %w", err)
	}
	if s.g, err = startGateway(ctx, s.cfg, log); err != nil {
		return nil, err
	}
	// A one-time login for the console: a new password every run.
	s.password = console.RandomPassword()
	hash, err := console.HashPassword(s.password)
	if err == nil {
		now := time.Now()
		err = s.g.journal.PutUser(ctx, gateway.User{Name: "demo", Role: "admin", PasswordHash: hash, Created: now, Updated: now})
	}
	if err != nil {
		s.g.closeAll()
		return nil, fmt.Errorf("the demo's console user: %w", err)
	}
	s.pbx, err = pbxsim.NewSimulator(pbxsim.SimulatorOptions{
		Format:    o.format,
		Writer:    pbxsim.WriterOptions{Location: s.cfg.Location},
		Generator: pbxsim.GeneratorOptions{Hotel: hotel, Plan: pbxsim.NANP(), Seed: o.seed},
		Rate:      o.rate,
		Logger:    log.Level(zerolog.WarnLevel),
	})
	if err != nil {
		s.g.closeAll()
		return nil, err
	}
	return s, nil
}

// run runs the site's PBX simulator, the PMS's guest churn and the
// gateway until ctx ends.
func (s *demoSite) run(ctx context.Context, a *app) error {
	simDone := make(chan error, 1)
	go func() { simDone <- s.pbx.Run(ctx, s.master) }()
	churn := time.NewTicker(45 * time.Second)
	defer churn.Stop()
	go s.pms.Churner(s.rooms, s.seed, a.log).Run(ctx, churn.C)
	err := s.g.run(ctx)
	if serr := <-simDone; serr != nil && !errors.Is(serr, context.Canceled) && ctx.Err() == nil {
		a.log.Warn().Err(serr).Str("site", s.name).Msg("the simulated PBX stopped")
	}
	return err
}

// summary says what the site's gateway did.
func (s *demoSite) summary() string {
	st := s.g.engine.Status()
	return fmt.Sprintf("%d records read, %d postings booked, %d refused, %d in doubt",
		st.RecordsRead, st.Postings[gateway.PostPosted], st.Postings[gateway.PostRefused], st.Postings[gateway.PostInDoubt])
}

// demoDir is the demo's folder: o.dir (kept) or a new temporary one
// (removed by the returned function).
func demoDir(o *demoOptions) (keep bool, cleanup func(), err error) {
	if o.dir != "" {
		return true, func() {}, os.MkdirAll(o.dir, 0o755)
	}
	d, err := os.MkdirTemp("", "callgate-demo-")
	if err != nil {
		return false, nil, err
	}
	o.dir = d
	return false, func() { os.RemoveAll(d) }, nil
}

func runDemo(ctx context.Context, a *app, o demoOptions) error {
	keep, cleanup, err := demoDir(&o)
	if err != nil {
		return err
	}
	defer cleanup()
	s, err := startDemoSite(ctx, a, o, "Demo Hotel", o.dir, o.listen, "")
	if err != nil {
		return err
	}
	defer s.close()
	addr := s.g.ln.Addr()
	fmt.Fprintf(a.stderr, `
callgate demo — a 60-room hotel (rooms %s-%s, %d of them vacant), %s SMDR at %g calls a minute
  PBX:      a simulated PBX printing into %s, read as a serial port
  PMS:      an IFC8-like FIAS simulator on %s
  journal:  %s
  config:   %s
  console:  http://%s/   log in as demo, password %s (this run only)
  metrics:  http://%s/metrics   health: http://%s/healthz
Each posting is logged as it is booked. Ctrl-C stops the demo.

`, s.rooms[0], s.rooms[len(s.rooms)-1], len(s.rooms)-len(s.occupied), o.format, o.rate, s.slave.Name(), s.pms.Addr(),
		filepath.Join(o.dir, "journal.db"), s.cfgPath, addr, s.password, addr, addr)
	err = s.run(ctx, a)
	fmt.Fprintf(a.stderr, "\ndemo over: %s\n", s.summary())
	if keep {
		fmt.Fprintf(a.stderr, "the journal stays in %s: gateway journal --config %s lists it\n", o.dir, s.cfgPath)
	}
	return err
}
