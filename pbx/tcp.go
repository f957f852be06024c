package pbx

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"callgate/gateway"
)

// DefaultKeepAlive is the idle time before TCP keepalive probes start.
const DefaultKeepAlive = 30 * time.Second

// keepAlive returns the keepalive settings for idle d: probes every 10 s,
// the connection declared dead after 3 unanswered.
func keepAlive(d time.Duration) net.KeepAliveConfig {
	if d < 0 {
		return net.KeepAliveConfig{Enable: false}
	}
	if d == 0 {
		d = DefaultKeepAlive
	}
	return net.KeepAliveConfig{Enable: true, Idle: d, Interval: 10 * time.Second, Count: 3}
}

// tcpConn reads a TCP connection for the pump: each read waits at most one
// poll interval, and a timeout is "nothing yet", not an error.
type tcpConn struct{ c net.Conn }

func (t tcpConn) Read(p []byte) (int, error) {
	if err := t.c.SetReadDeadline(time.Now().Add(DefaultPoll)); err != nil {
		return 0, err
	}
	n, err := t.c.Read(p)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		err = nil
	}
	return n, err
}

// connEnded describes how a connection ended, for the log.
func connEnded(err error) string {
	switch {
	case errors.Is(err, io.EOF):
		return "closed by the PBX"
	case err == nil:
		return "closed"
	default:
		return err.Error()
	}
}

// ListenOptions configures tcp-listen: the PBX connects to the gateway
// (Avaya Communication Manager, Avaya IP Office given the collector's
// address, 3CX active socket, HiPath LAN output).
type ListenOptions struct {
	// Address is where to listen, e.g. "0.0.0.0:5100"; port 0 picks one
	// (Addr tells which).
	Address string
	// Allow lists the addresses (10.0.0.5) or ranges (10.0.0.0/24) allowed to
	// connect; empty allows any. Anyone who can send SMDR can charge calls
	// to rooms: set it to the PBX's address.
	Allow []string
	// MaxConns bounds the connections open at once; 0 means 16.
	MaxConns int
	// KeepAlive is the idle time before TCP keepalive probes; 0 means 30 s,
	// negative turns keepalive off.
	KeepAlive time.Duration
}

// ListenSource accepts PBX connections and reads them all: each has its own
// framer, their records go to the one Read stream, and each record's Source
// names the peer ("tcp 10.0.0.5:40112"). A PBX that reconnects is simply
// accepted again (Avaya IP Office then replays its buffer; the gateway
// recognizes replayed records, not this package).
type ListenSource struct {
	*base
	ln       net.Listener
	allow    []netip.Prefix
	maxConns int

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	seen  map[netip.Addr]bool // peers that connected before: their next connection is a reconnect
}

var _ Source = (*ListenSource)(nil)

// ListenTCP binds the address at once (so "address in use" is returned here)
// and accepts PBX connections in the background.
func ListenTCP(o ListenOptions, so SourceOptions) (*ListenSource, error) {
	if o.Address == "" {
		return nil, gateway.Errorf(gateway.KindInvalid, "tcp-listen: no address given (e.g. 0.0.0.0:5100)")
	}
	var allow []netip.Prefix
	for _, a := range o.Allow {
		p, err := parseAllow(a)
		if err != nil {
			return nil, gateway.Errorf(gateway.KindInvalid, "tcp-listen: allowed peer %q is neither an IP address nor a range like 10.0.0.0/24", a)
		}
		allow = append(allow, p)
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 16
	}
	lc := net.ListenConfig{KeepAliveConfig: keepAlive(o.KeepAlive)}
	ln, err := lc.Listen(context.Background(), "tcp", o.Address)
	if err != nil {
		return nil, gateway.Errorf(gateway.KindInvalid, "cannot listen for PBX connections on %s: %w", o.Address, err)
	}
	l := &ListenSource{
		base:     newBase("tcp-listen", ln.Addr().String(), so, true),
		ln:       ln,
		allow:    allow,
		maxConns: o.MaxConns,
		conns:    make(map[net.Conn]struct{}),
		seen:     make(map[netip.Addr]bool),
	}
	l.log.Info().Str("address", ln.Addr().String()).Msg("listening for PBX connections")
	l.wg.Add(1)
	go l.accept()
	return l, nil
}

func parseAllow(a string) (netip.Prefix, error) {
	if strings.Contains(a, "/") {
		p, err := netip.ParsePrefix(a)
		return p.Masked(), err
	}
	ip, err := netip.ParseAddr(a)
	if err != nil {
		return netip.Prefix{}, err
	}
	ip = ip.Unmap()
	return netip.PrefixFrom(ip, ip.BitLen()), nil
}

// Addr returns the address the source listens on.
func (l *ListenSource) Addr() net.Addr { return l.ln.Addr() }

// Close stops listening and closes every PBX connection; a Read in progress
// returns.
func (l *ListenSource) Close() error {
	l.shutdown(func() {
		l.ln.Close()
		l.mu.Lock()
		for c := range l.conns {
			c.Close()
		}
		l.mu.Unlock()
	})
	return nil
}

func (l *ListenSource) allowed(ip netip.Addr) bool {
	if len(l.allow) == 0 {
		return true
	}
	ip = ip.Unmap()
	for _, p := range l.allow {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func (l *ListenSource) accept() {
	defer l.wg.Done()
	failing := false
	for {
		c, err := l.ln.Accept()
		if err != nil {
			if l.stopping() {
				return
			}
			// Out of descriptors and the like: wait and go on.
			if !failing {
				l.log.Warn().Err(err).Msg("cannot accept PBX connections; retrying")
			}
			failing = true
			if !l.retryAfter(100 * time.Millisecond) {
				return
			}
			continue
		}
		failing = false
		peer := c.RemoteAddr().String()
		ip := netip.Addr{}
		if ap, err := netip.ParseAddrPort(peer); err == nil {
			ip = ap.Addr().Unmap()
		}
		if !l.allowed(ip) {
			l.log.Warn().Str("peer", peer).Msg("refused a connection from an address not allowed to send SMDR")
			c.Close()
			continue
		}
		if !l.add(c) {
			c.Close()
			continue
		}
		l.wg.Add(1)
		go l.serve(c, peer, ip)
	}
}

// add registers c so that Close can close it; false if the source is closing
// or has too many connections.
func (l *ListenSource) add(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopping() {
		return false
	}
	if len(l.conns) >= l.maxConns {
		l.log.Warn().Str("peer", c.RemoteAddr().String()).Int("max_conns", l.maxConns).Msg("refused a PBX connection: too many open")
		return false
	}
	l.conns[c] = struct{}{}
	return true
}

func (l *ListenSource) serve(c net.Conn, peer string, ip netip.Addr) {
	defer l.wg.Done()
	l.mu.Lock()
	again := l.seen[ip]
	if len(l.seen) > 1024 {
		clear(l.seen)
	}
	l.seen[ip] = true
	l.mu.Unlock()

	l.opened(again)
	l.log.Info().Str("peer", peer).Bool("reconnect", again).Msg("PBX connected")
	_, err := l.pump(tcpConn{c}, "tcp "+peer, true)
	c.Close()
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
	l.closed()
	if !l.stopping() {
		l.log.Info().Str("peer", peer).Str("reason", connEnded(err)).Msg("PBX disconnected")
	}
}

// DialOptions configures tcp-dial: the gateway connects to the PBX's SMDR
// port (Mitel MiVoice Business 1752, Mitel 5000 4000, NEC, Panasonic).
type DialOptions struct {
	Address     string        // host:port of the PBX's SMDR output
	DialTimeout time.Duration // per attempt; 0 means 10 s
	// KeepAlive is the idle time before TCP keepalive probes; 0 means 30 s,
	// negative turns keepalive off.
	KeepAlive time.Duration
	// MinBackoff and MaxBackoff bound the wait between connection attempts;
	// 0 means 1 s and 30 s.
	MinBackoff, MaxBackoff time.Duration
	// Mitel5000Login sends the Mitel 5000 / MiVoice Office 250 SMDR login
	// frame right after connecting. Mitel5000Password is the SMDR socket
	// password programmed in the PBX (System\Sockets; up to 15 ASCII
	// characters); setting it implies Mitel5000Login. Use LengthPrefixed in
	// SourceOptions with it: that PBX frames every record.
	Mitel5000Login    bool
	Mitel5000Password string
}

// mitel5000Login returns the SMDR login frame of a Mitel 5000: a 4-byte
// little-endian count of the bytes that follow it, the socket type 0x84
// (SMDR), the password and a NUL. With no password it is 02 00 00 00 84 00;
// with 12345678 it is 0A 00 00 00 84 '1'…'8' 00.
func mitel5000Login(password string) []byte {
	b := make([]byte, 4, 4+1+len(password)+1)
	binary.LittleEndian.PutUint32(b, uint32(1+len(password)+1))
	b = append(b, 0x84)
	b = append(b, password...)
	return append(b, 0)
}

// DialSource connects to the PBX and reads it, reconnecting with capped
// exponential back-off whenever the connection fails or the PBX closes it. A
// record cut by a lost connection is delivered as it is.
type DialSource struct {
	*base
	opts   DialOptions
	ctx    context.Context // cancelled by Close: stops a dial in progress
	cancel context.CancelFunc

	mu   sync.Mutex
	conn net.Conn
}

var _ Source = (*DialSource)(nil)

// DialTCP checks the options and starts connecting in the background: a PBX
// that is down when the gateway starts is waited for.
func DialTCP(o DialOptions, so SourceOptions) (*DialSource, error) {
	if _, _, err := net.SplitHostPort(o.Address); err != nil || o.Address == "" {
		return nil, gateway.Errorf(gateway.KindInvalid, "tcp-dial: %q is not a host:port address (e.g. 10.0.0.5:1752)", o.Address)
	}
	if len(o.Mitel5000Password) > 15 {
		return nil, gateway.Errorf(gateway.KindInvalid, "tcp-dial: the Mitel 5000 SMDR password has %d characters; it has at most 15", len(o.Mitel5000Password))
	}
	for _, c := range []byte(o.Mitel5000Password) {
		if c < 0x20 || c > 0x7e {
			return nil, gateway.Errorf(gateway.KindInvalid, "tcp-dial: the Mitel 5000 SMDR password may hold only printable ASCII characters")
		}
	}
	if o.Mitel5000Password != "" {
		o.Mitel5000Login = true
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 10 * time.Second
	}
	d := &DialSource{base: newBase("tcp-dial", o.Address, so, true), opts: o}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	d.wg.Add(1)
	go d.run()
	return d, nil
}

// Close closes the connection, or stops a connection attempt; a Read in
// progress returns.
func (d *DialSource) Close() error {
	d.shutdown(func() {
		d.cancel()
		d.mu.Lock()
		if d.conn != nil {
			d.conn.Close()
		}
		d.mu.Unlock()
	})
	return nil
}

func (d *DialSource) setConn(c net.Conn) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c != nil && d.stopping() {
		return false
	}
	d.conn = c
	return true
}

// connect dials the PBX and logs in if asked.
func (d *DialSource) connect() (net.Conn, error) {
	dl := net.Dialer{Timeout: d.opts.DialTimeout, KeepAliveConfig: keepAlive(d.opts.KeepAlive)}
	c, err := dl.DialContext(d.ctx, "tcp", d.opts.Address)
	if err != nil {
		return nil, err
	}
	if d.opts.Mitel5000Login {
		c.SetWriteDeadline(time.Now().Add(d.opts.DialTimeout))
		if _, err := c.Write(mitel5000Login(d.opts.Mitel5000Password)); err != nil {
			c.Close()
			return nil, gateway.Errorf(gateway.KindTransient, "sending the Mitel 5000 SMDR login: %w", err)
		}
		c.SetWriteDeadline(time.Time{})
	}
	return c, nil
}

func (d *DialSource) run() {
	defer d.wg.Done()
	bo := newBackoff(d.opts.MinBackoff, d.opts.MaxBackoff)
	reconnect := false
	lastErr := ""
	for {
		c, err := d.connect()
		if err != nil {
			if d.stopping() {
				return
			}
			if err.Error() != lastErr {
				lastErr = err.Error()
				d.log.Warn().Err(err).Msg("cannot connect to the PBX; retrying")
			} else {
				d.log.Debug().Err(err).Msg("PBX still unreachable")
			}
			if !d.retryAfter(bo.Next()) {
				return
			}
			continue
		}
		if !d.setConn(c) {
			c.Close()
			return
		}
		lastErr = ""
		peer := c.RemoteAddr().String()
		d.opened(reconnect)
		d.log.Info().Str("peer", peer).Bool("reconnect", reconnect).Bool("mitel5000_login", d.opts.Mitel5000Login).Msg("connected to the PBX")
		start := time.Now()
		got, err := d.pump(tcpConn{c}, "tcp "+peer, true)
		d.setConn(nil)
		c.Close()
		d.closed()
		if d.stopping() {
			return
		}
		d.log.Warn().Str("peer", peer).Str("reason", connEnded(err)).Msg("connection to the PBX lost; reconnecting")
		reconnect = true
		if got || time.Since(start) >= stableAfter {
			bo.Reset()
		}
		if !d.retryAfter(bo.Next()) {
			return
		}
	}
}
