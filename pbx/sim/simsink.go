package sim

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"go.bug.st/serial"

	"callgate/gateway"
	"callgate/internal/backoff"
	"callgate/internal/serialport"
	"callgate/pbx"
)

// This file holds the simulated PBX's ends of the transports: what a PBX does
// on a serial port, as a TCP client of the gateway, as a TCP server the
// gateway connects to. Each is an io.Writer for Simulator.Run.

// SerialSink is a PBX's serial port: what the simulator writes goes out on
// the line, to the gateway at the other end of a null-modem cable.
type SerialSink struct {
	dev  string
	port serial.Port
}

// OpenSerialSink opens a serial port to print on, with the same settings as
// the gateway's side (SerialOptions; the read timeout and back-off are not
// used).
func OpenSerialSink(o pbx.SerialOptions) (*SerialSink, error) {
	st := o.Settings()
	st.ReadTimeout = 0
	// A PBX printer port raises its own modem lines; a pseudo-terminal has
	// none, and that is fine.
	p, err := serialport.Open(st, zerolog.Nop())
	if err != nil {
		kind := gateway.KindTransient
		if serialport.IsPermanent(err) {
			kind = gateway.KindInvalid
		}
		return nil, gateway.Wrap(kind, err, "")
	}
	return &SerialSink{dev: o.Device, port: p}, nil
}

// Write sends p, all of it.
func (s *SerialSink) Write(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := s.port.Write(p[n:])
		n += m
		if err != nil {
			return n, gateway.Errorf(gateway.KindTransient, "writing to serial port %s: %w", s.dev, err)
		}
		if m == 0 {
			return n, gateway.Errorf(gateway.KindTransient, "serial port %s takes no more data", s.dev)
		}
	}
	return n, nil
}

// Close closes the port.
func (s *SerialSink) Close() error { return s.port.Close() }

// DialSinkOptions configures a DialSink.
type DialSinkOptions struct {
	// Address is the gateway's tcp-listen address, host:port.
	Address string
	// MinBackoff and MaxBackoff bound the wait between connection
	// attempts; 0 means 1 s and 30 s.
	MinBackoff, MaxBackoff time.Duration
	// WriteTimeout bounds each write; 0 means 10 s.
	WriteTimeout time.Duration
	// Replay is how many of the last records written are sent again after
	// a reconnection, as an Avaya IP Office replays its SMDR buffer; 0 none.
	Replay int
	Logger zerolog.Logger
}

// DialSink is a PBX that connects to the gateway to print (Avaya CM's CDR
// link, IP Office with the collector's address, 3CX active socket, HiPath LAN
// output). A write waits for a connection, and a record that fails is sent
// again on the next one: like a PBX's SMDR buffer, nothing is dropped while
// the gateway is away.
type DialSink struct {
	o      DialSinkOptions
	ctx    context.Context
	log    zerolog.Logger
	mu     sync.Mutex
	conn   net.Conn
	bo     backoff.Backoff
	recent [][]byte // the last Replay writes, oldest first
	// Connections counts successful connections.
	connections int
}

// NewDialSink returns a sink that connects to o.Address when first written
// to. ctx ends every wait: a Write waiting for the gateway returns ctx's
// error.
func NewDialSink(ctx context.Context, o DialSinkOptions) (*DialSink, error) {
	if _, _, err := net.SplitHostPort(o.Address); err != nil || o.Address == "" {
		return nil, gateway.Errorf(gateway.KindInvalid, "%q is not a host:port address of the gateway's TCP port (e.g. 127.0.0.1:5100)", o.Address)
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.Replay < 0 {
		o.Replay = 0
	}
	return &DialSink{
		o: o, ctx: ctx, bo: backoff.New(o.MinBackoff, o.MaxBackoff),
		log: o.Logger.With().Str("component", "pbx-sim").Str("gateway", o.Address).Logger(),
	}, nil
}

// Write sends p on the connection, connecting (again) first if needed; on a
// failure it reconnects and sends p again, until it goes through or the
// context ends.
func (d *DialSink) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	lastErr := ""
	for {
		if err := d.ctx.Err(); err != nil {
			return 0, err
		}
		if d.conn == nil {
			if err := d.connect(); err != nil {
				if err.Error() != lastErr {
					lastErr = err.Error()
					d.log.Warn().Err(err).Msg("cannot connect to the gateway; retrying")
				}
				if !d.sleep(d.bo.Next()) {
					return 0, d.ctx.Err()
				}
				continue
			}
		}
		d.conn.SetWriteDeadline(time.Now().Add(d.o.WriteTimeout))
		if _, err := d.conn.Write(p); err != nil {
			d.log.Warn().Err(err).Msg("connection to the gateway lost; reconnecting")
			d.conn.Close()
			d.conn = nil
			continue
		}
		d.bo.Reset()
		d.remember(p)
		return len(p), nil
	}
}

// connect dials the gateway and replays the last records.
func (d *DialSink) connect() error {
	dl := net.Dialer{Timeout: 5 * time.Second}
	c, err := dl.DialContext(d.ctx, "tcp", d.o.Address)
	if err != nil {
		return err
	}
	d.connections++
	d.log.Info().Bool("reconnect", d.connections > 1).Msg("connected to the gateway")
	if d.connections > 1 && len(d.recent) > 0 {
		c.SetWriteDeadline(time.Now().Add(d.o.WriteTimeout))
		if _, err := c.Write(bytes.Join(d.recent, nil)); err != nil {
			c.Close()
			return err
		}
		d.log.Info().Int("records", len(d.recent)).Msg("replayed the last records, as a PBX replays its buffer")
	}
	d.conn = c
	return nil
}

func (d *DialSink) remember(p []byte) {
	if d.o.Replay == 0 {
		return
	}
	if len(d.recent) == d.o.Replay {
		copy(d.recent, d.recent[1:])
		d.recent = d.recent[:len(d.recent)-1]
	}
	d.recent = append(d.recent, bytes.Clone(p))
}

func (d *DialSink) sleep(t time.Duration) bool {
	tm := time.NewTimer(t)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-d.ctx.Done():
		return false
	}
}

// Close closes the connection.
func (d *DialSink) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conn != nil {
		d.conn.Close()
		d.conn = nil
	}
	return nil
}

// ListenSinkOptions configures a ListenSink.
type ListenSinkOptions struct {
	// Address to listen on, host:port (port 0 picks one: see Addr).
	Address string
	// Mitel5000Login makes every connection send the Mitel 5000 SMDR login
	// frame (length, 0x84, Password, NUL) before it gets records; a wrong or
	// missing frame closes it.
	Mitel5000Login bool
	Password       string
	// WriteTimeout bounds each write to a connection; 0 means 10 s.
	WriteTimeout time.Duration
	Logger       zerolog.Logger
}

// ListenSink is a PBX that waits for the gateway to connect (MiVoice Business
// on port 1752, a Mitel 5000 on its SMDR socket, NEC, Panasonic LAN, IP
// Office in "(Listen)" mode). Records go to every connection; a write waits
// until there is one, like a PBX buffering while no collector is connected.
type ListenSink struct {
	o   ListenSinkOptions
	ctx context.Context
	log zerolog.Logger
	ln  net.Listener

	mu      sync.Mutex
	all     map[net.Conn]bool // every open connection, logged in or not
	conns   map[net.Conn]bool // the logged-in ones, which get records
	closed  bool
	changed chan struct{} // closed and replaced when conns changes
	wg      sync.WaitGroup
}

// NewListenSink listens on o.Address. ctx ends every wait.
func NewListenSink(ctx context.Context, o ListenSinkOptions) (*ListenSink, error) {
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if len(o.Password) > 15 {
		return nil, gateway.Errorf(gateway.KindInvalid, "the Mitel 5000 SMDR password has %d characters; it has at most 15", len(o.Password))
	}
	ln, err := net.Listen("tcp", o.Address)
	if err != nil {
		return nil, gateway.Errorf(gateway.KindInvalid, "cannot listen on %s: %w", o.Address, err)
	}
	l := &ListenSink{
		o: o, ctx: ctx, ln: ln, all: map[net.Conn]bool{}, conns: map[net.Conn]bool{}, changed: make(chan struct{}),
		log: o.Logger.With().Str("component", "pbx-sim").Str("listen", ln.Addr().String()).Logger(),
	}
	l.wg.Add(1)
	go l.accept()
	return l, nil
}

// Addr returns the address listened on.
func (l *ListenSink) Addr() net.Addr { return l.ln.Addr() }

// Connected returns how many gateways are connected now.
func (l *ListenSink) Connected() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

func (l *ListenSink) accept() {
	defer l.wg.Done()
	for {
		c, err := l.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			l.log.Warn().Err(err).Msg("accept failed")
			time.Sleep(100 * time.Millisecond)
			continue
		}
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			c.Close()
			return
		}
		l.all[c] = true
		l.mu.Unlock()
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			if l.o.Mitel5000Login {
				if err := l.login(c); err != nil {
					l.log.Warn().Str("peer", c.RemoteAddr().String()).Err(err).Msg("SMDR login refused")
					l.drop(c)
					return
				}
			}
			l.log.Info().Str("peer", c.RemoteAddr().String()).Msg("gateway connected")
			l.mu.Lock()
			if !l.all[c] {
				l.mu.Unlock()
				return
			}
			l.conns[c] = true
			close(l.changed)
			l.changed = make(chan struct{})
			l.mu.Unlock()
			// Notice a gateway that leaves while no record is due.
			io.Copy(io.Discard, c)
			l.drop(c)
		}()
	}
}

// login reads and checks the Mitel 5000 SMDR login frame.
func (l *ListenSink) login(c net.Conn) error {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	var head [4]byte
	if _, err := io.ReadFull(c, head[:]); err != nil {
		return fmt.Errorf("no login frame: %w", err)
	}
	n := binary.LittleEndian.Uint32(head[:])
	if n < 2 || n > 64 {
		return fmt.Errorf("login frame length %d is not a login frame's", n)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(c, body); err != nil {
		return fmt.Errorf("cut login frame: %w", err)
	}
	if body[0] != 0x84 || body[n-1] != 0 {
		return fmt.Errorf("the frame is not an SMDR login (type %#x)", body[0])
	}
	if string(body[1:n-1]) != l.o.Password {
		return fmt.Errorf("wrong SMDR password")
	}
	return nil
}

func (l *ListenSink) drop(c net.Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.all[c] {
		delete(l.all, c)
		c.Close()
	}
	if l.conns[c] {
		delete(l.conns, c)
		l.log.Info().Str("peer", c.RemoteAddr().String()).Msg("gateway disconnected")
	}
}

// Write sends p to every connected gateway, waiting for one when none is.
// A connection that fails is dropped; p is sent again once another comes.
func (l *ListenSink) Write(p []byte) (int, error) {
	for {
		l.mu.Lock()
		conns := make([]net.Conn, 0, len(l.conns))
		for c := range l.conns {
			conns = append(conns, c)
		}
		changed := l.changed
		l.mu.Unlock()
		if len(conns) == 0 {
			select {
			case <-changed:
				continue
			case <-l.ctx.Done():
				return 0, l.ctx.Err()
			}
		}
		sent := 0
		for _, c := range conns {
			c.SetWriteDeadline(time.Now().Add(l.o.WriteTimeout))
			if _, err := c.Write(p); err != nil {
				l.log.Warn().Str("peer", c.RemoteAddr().String()).Err(err).Msg("write to the gateway failed")
				l.drop(c)
				continue
			}
			sent++
		}
		if sent > 0 {
			return len(p), nil
		}
	}
}

// Close stops listening and closes every connection.
func (l *ListenSink) Close() error {
	err := l.ln.Close()
	l.mu.Lock()
	l.closed = true
	for c := range l.all {
		c.Close()
	}
	l.mu.Unlock()
	l.wg.Wait()
	return err
}
