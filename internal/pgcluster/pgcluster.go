// Package pgcluster runs a throwaway PostgreSQL cluster: Debian's initdb and
// pg_ctl into a temporary folder, listening on 127.0.0.1 on a free port with
// its unix socket in that folder, as the postgres user when the program runs
// as root. The tests (internal/pgtest) and `gateway demo --sites` use it.
// See docs/central.md, "Testing".
package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// BinDirs are where the PostgreSQL server programs are looked for, newest
// first, before PATH.
var BinDirs = []string{"/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin"}

// ErrMissing says the server programs are not installed.
var ErrMissing = errors.New("PostgreSQL's initdb and pg_ctl are not installed (apt-get install postgresql)")

// Cluster is one running throwaway cluster.
type Cluster struct {
	Dir  string // the cluster's folder: data, socket, log
	Port int
	bin  string
	// asPostgres runs the programs as the postgres user (the test runs as
	// root, which PostgreSQL refuses).
	asPostgres bool
	fsync      bool
	dbs        atomic.Int64
}

// Options choose how the cluster runs.
type Options struct {
	// Fsync keeps PostgreSQL's fsync on (for a durability test); off by
	// default, which is faster and loses nothing unless the machine stops.
	Fsync bool
}

// Find returns the folder holding initdb and pg_ctl, or ErrMissing.
func Find() (string, error) {
	for _, d := range BinDirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		d := filepath.Dir(p)
		if isExec(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	return "", ErrMissing
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// Start makes a cluster in a new folder under parent ("" for the system's
// temporary folder) and starts it.
func Start(parent string, o Options) (*Cluster, error) {
	bin, err := Find()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(parent, "callgate-pg-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir, bin: bin, fsync: o.Fsync, asPostgres: os.Geteuid() == 0}
	if c.asPostgres {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("running as root, the cluster must run as the postgres user, and there is none: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	if out, err := c.run("initdb", "-D", c.data(), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb failed: %v: %s", err, out)
	}
	if err := c.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return c, nil
}

func (c *Cluster) data() string { return filepath.Join(c.Dir, "data") }

func (c *Cluster) run(prog string, args ...string) ([]byte, error) {
	name := filepath.Join(c.bin, prog)
	if c.asPostgres {
		args = append([]string{"-u", "postgres", "--", name}, args...)
		name = "runuser"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = c.Dir
	return cmd.CombinedOutput()
}

// Start starts the (stopped) cluster on a free loopback port (a new one
// each time: the old may be taken meanwhile).
func (c *Cluster) Start() error {
	port, err := freePort()
	if err != nil {
		return err
	}
	c.Port = port
	fsync := "off"
	if c.fsync {
		fsync = "on"
	}
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=%s -c synchronous_commit=%s -c full_page_writes=%s -c max_connections=200",
		port, c.Dir, fsync, fsync, fsync)
	out, err := c.run("pg_ctl", "-D", c.data(), "-l", filepath.Join(c.Dir, "log"), "-w", "-t", "60", "-o", opts, "start")
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(c.Dir, "log"))
		return fmt.Errorf("pg_ctl start failed: %v: %s\n%s", err, out, tail(log))
	}
	return nil
}

// Stop stops the cluster (fast shutdown: sessions are ended).
func (c *Cluster) Stop() error {
	if out, err := c.run("pg_ctl", "-D", c.data(), "-m", "fast", "-w", "stop"); err != nil {
		return fmt.Errorf("pg_ctl stop failed: %v: %s", err, out)
	}
	return nil
}

// Crash stops the cluster as a power cut would leave it: immediate
// shutdown, no checkpoint, recovery from the WAL at the next start.
func (c *Cluster) Crash() error {
	if out, err := c.run("pg_ctl", "-D", c.data(), "-m", "immediate", "-w", "stop"); err != nil {
		return fmt.Errorf("pg_ctl stop -m immediate failed: %v: %s", err, out)
	}
	return nil
}

// Restart stops the cluster and starts it again on the same port.
func (c *Cluster) Restart() error {
	if err := c.Stop(); err != nil {
		return err
	}
	return c.StartAgain()
}

// StartAgain starts the stopped cluster on the port it had.
func (c *Cluster) StartAgain() error {
	port := c.Port
	fsync := "off"
	if c.fsync {
		fsync = "on"
	}
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=%s -c synchronous_commit=%s -c full_page_writes=%s -c max_connections=200",
		port, c.Dir, fsync, fsync, fsync)
	var last error
	for i := 0; i < 50; i++ { // the port may linger a moment
		out, err := c.run("pg_ctl", "-D", c.data(), "-l", filepath.Join(c.Dir, "log"), "-w", "-t", "60", "-o", opts, "start")
		if err == nil {
			return nil
		}
		last = fmt.Errorf("pg_ctl start failed: %v: %s", err, out)
		time.Sleep(100 * time.Millisecond)
	}
	return last
}

// Close stops the cluster and removes its folder.
func (c *Cluster) Close() error {
	err := c.Stop()
	if rerr := os.RemoveAll(c.Dir); err == nil {
		err = rerr
	}
	return err
}

// DSN is the connection string of database db.
func (c *Cluster) DSN(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.Port, db)
}

// CreateDB makes a new empty database and returns its DSN.
func (c *Cluster) CreateDB(ctx context.Context) (string, error) {
	conn, err := pgx.Connect(ctx, c.DSN("postgres"))
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("t%d_%d", os.Getpid(), c.dbs.Add(1))
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", err
	}
	return c.DSN(name), nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(b []byte) string {
	s := string(b)
	if len(s) > 2000 {
		s = s[len(s)-2000:]
	}
	return strings.TrimSpace(s)
}
