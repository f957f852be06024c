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
	"sync/atomic"
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
// poll interval, and a timeout is "nothing yet", not an error. onData, if
// set, is told of every read that got bytes.
type tcpConn struct {
	c      net.Conn
	onData func()
}

func (t tcpConn) Read(p []byte) (int, error) {
	if err := t.c.SetReadDeadline(time.Now().Add(DefaultPoll)); err != nil {
		return 0, err
	}
	n, err := t.c.Read(p)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		err = nil
	}
	if n > 0 && t.onData != nil {
		t.onData()
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

// The defaults of ListenOptions.
const (
	DefaultMaxConns        = 16
	DefaultMaxConnsPerAddr = 4
	DefaultEvictIdle       = time.Minute
)

// Why a listening source refused a connection: the values of the reason
// label of callgate_pbx_connections_refused_total (docs/pbx-formats.md,
// "Who may connect").
const (
	RefusedNotAllowed   = "not-allowed"   // the peer is outside ListenOptions.Allow
	RefusedAddressLimit = "address-limit" // the peer's address holds MaxConnsPerAddress connections
	RefusedFull         = "full"          // every slot is taken and none has been idle for EvictIdle
)

// ListenOptions configures tcp-listen: the PBX connects to the gateway
// (Avaya Communication Manager, Avaya IP Office given the collector's
// address, 3CX active socket, HiPath LAN output).
type ListenOptions struct {
	// Address is where to listen, e.g. "0.0.0.0:5100"; port 0 picks one
	// (Addr tells which).
	Address string
	// Allow lists the addresses (10.0.0.5) or ranges (10.0.0.0/24) allowed to
	// connect; empty, or "any", allows any. Anyone who can send SMDR can
	// charge calls to rooms: set it to the PBX's address. A peer outside it
	// is closed at once and never holds a slot.
	Allow []string
	// MaxConns bounds the connections open at once; 0 means 16.
	MaxConns int
	// MaxConnsPerAddress bounds the connections open at once from one
	// remote address; 0 means 4 (a PBX uses one, and a few more while a
	// half-open one from before a reboot has not yet been found dead). The
	// last free slot is kept for an address that has no connection yet, so
	// that no one address can take every slot.
	MaxConnsPerAddress int
	// EvictIdle is how long a connection must have received nothing before
	// it may be closed to make room, and only when a new connection finds no
	// slot: a PBX may be silent for hours at night, so while a slot is free
	// nothing is closed for being idle, and a connection that has sent data
	// is closed only for a newer one from its own address. 0 means 1 minute.
	EvictIdle time.Duration
	// KeepAlive is the idle time before TCP keepalive probes; 0 means 30 s,
	// negative turns keepalive off.
	KeepAlive time.Duration
}

// ListenSource accepts PBX connections and reads them all: each has its own
// framer, their records go to the one Read stream, and each record's Source
// names the peer ("tcp 10.0.0.5:40112"). A PBX that reconnects is simply
// accepted again (Avaya IP Office then replays its buffer; the gateway
// recognizes replayed records, not this package).
//
// Connections are limited so that idle or hostile peers cannot lock the PBX
// out (docs/pbx-formats.md, "Who may connect"): peers outside Allow are
// closed unread; each address holds at most MaxConnsPerAddress connections;
// the last free slot goes only to an address with no connection; when every
// slot is taken, a newcomer from a new address takes the place of a
// connection that has never sent a byte and has been idle for EvictIdle
// (from the address holding the most, the longest idle), and is refused
// otherwise; an address at its limit may replace its own idle connection (a
// PBX reconnecting while its old connection is half-open). Nothing is closed
// for being idle while a slot is free, and a connection that has sent
// records is never closed for another address: a PBX quiet all night keeps
// its slot.
// Refusals are counted (Stats) and logged at most once a minute.
type ListenSource struct {
	*base
	ln         net.Listener
	allow      []netip.Prefix
	maxConns   int
	maxPerAddr int
	evictIdle  time.Duration

	refusedNotAllowed, refusedAddrLimit, refusedFull, evicted atomic.Int64

	mu      sync.Mutex
	conns   map[*listenConn]struct{}
	perAddr map[netip.Addr]int
	seen    map[netip.Addr]bool // peers that connected before: their next connection is a reconnect
	// The refusal log: the last line's time and the refusals since then.
	refuseLogged     time.Time
	refusedSinceLast int
}

// listenConn is one accepted connection.
type listenConn struct {
	c       net.Conn
	ip      netip.Addr
	peer    string
	last    atomic.Int64 // UnixNano of the last byte, or of the accept
	gotData atomic.Bool
	evicted atomic.Bool // closed to make room for another
}

var _ Source = (*ListenSource)(nil)

// ListenTCP binds the address at once (so "address in use" is returned here)
// and accepts PBX connections in the background.
func ListenTCP(o ListenOptions, so SourceOptions) (*ListenSource, error) {
	if o.Address == "" {
		return nil, gateway.Errorf(gateway.KindInvalid, "tcp-listen: no address given (e.g. 0.0.0.0:5100)")
	}
	var allow []netip.Prefix
	anyPeer := false
	for _, a := range o.Allow {
		if IsAllowAny(a) {
			anyPeer = true
			continue
		}
		p, err := parseAllow(a)
		if err != nil {
			return nil, gateway.Errorf(gateway.KindInvalid, "tcp-listen: allowed peer %q is neither an IP address nor a range like 10.0.0.0/24 (nor \"any\")", a)
		}
		allow = append(allow, p)
	}
	if anyPeer {
		allow = nil
	}
	if o.MaxConns <= 0 {
		o.MaxConns = DefaultMaxConns
	}
	if o.MaxConnsPerAddress <= 0 {
		o.MaxConnsPerAddress = DefaultMaxConnsPerAddr
	}
	if o.EvictIdle <= 0 {
		o.EvictIdle = DefaultEvictIdle
	}
	lc := net.ListenConfig{KeepAliveConfig: keepAlive(o.KeepAlive)}
	ln, err := lc.Listen(context.Background(), "tcp", o.Address)
	if err != nil {
		return nil, gateway.Errorf(gateway.KindInvalid, "cannot listen for PBX connections on %s: %w", o.Address, err)
	}
	l := &ListenSource{
		base:       newBase("tcp-listen", ln.Addr().String(), so, true),
		ln:         ln,
		allow:      allow,
		maxConns:   o.MaxConns,
		maxPerAddr: o.MaxConnsPerAddress,
		evictIdle:  o.EvictIdle,
		conns:      make(map[*listenConn]struct{}),
		perAddr:    make(map[netip.Addr]int),
		seen:       make(map[netip.Addr]bool),
	}
	l.log.Info().Str("address", ln.Addr().String()).Bool("allow_any", len(allow) == 0).
		Int("max_conns", l.maxConns).Int("max_conns_per_address", l.maxPerAddr).Msg("listening for PBX connections")
	l.wg.Add(1)
	go l.accept()
	return l, nil
}

// IsAllowAny reports whether an allow-list entry is "any": every address
// may connect, said on purpose.
func IsAllowAny(a string) bool { return strings.EqualFold(strings.TrimSpace(a), "any") }

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

// Stats returns the source's counters, with the refused connections.
func (l *ListenSource) Stats() Stats {
	st := l.base.Stats()
	st.RefusedNotAllowed = l.refusedNotAllowed.Load()
	st.RefusedAddressLimit = l.refusedAddrLimit.Load()
	st.RefusedFull = l.refusedFull.Load()
	st.Evicted = l.evicted.Load()
	return st
}

// Close stops listening and closes every PBX connection; a Read in progress
// returns.
func (l *ListenSource) Close() error {
	l.shutdown(func() {
		l.ln.Close()
		l.mu.Lock()
		for lc := range l.conns {
			lc.c.Close()
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
		lc := &listenConn{c: c, peer: c.RemoteAddr().String()}
		if ap, err := netip.ParseAddrPort(lc.peer); err == nil {
			lc.ip = ap.Addr().Unmap()
		}
		reason, ok := RefusedNotAllowed, false
		if l.allowed(lc.ip) {
			reason, ok = l.admit(lc)
		}
		if !ok {
			c.Close()
			if reason != "" {
				l.refused(lc, reason)
			}
			continue
		}
		l.wg.Add(1)
		go l.serve(lc)
	}
}

// admit registers lc, making room for it if it may; otherwise it returns
// why not ("" when the source is closing). An address that already has
// connections may only replace one of its own idle ones once it is at its
// limit or only the last slot is free; a new address may replace another's
// idle connection that never sent a byte when every slot is taken.
func (l *ListenSource) admit(lc *listenConn) (reason string, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopping() {
		return "", false
	}
	now := l.opts.Now()
	switch n := l.perAddr[lc.ip]; {
	case n >= l.maxPerAddr || n > 0 && !l.roomFor(lc.ip):
		v := l.victim(now, func(o *listenConn) bool { return o.ip == lc.ip })
		if v == nil && n >= l.maxPerAddr {
			return RefusedAddressLimit, false
		}
		if v == nil {
			return RefusedFull, false
		}
		l.evict(v, now) // the newcomer takes its place
	case !l.roomFor(lc.ip):
		// Only a connection that never sent a byte: a PBX quiet all night
		// has sent records before and keeps its slot.
		v := l.victim(now, func(o *listenConn) bool { return !o.gotData.Load() })
		if v == nil {
			return RefusedFull, false
		}
		l.evict(v, now)
	}
	lc.last.Store(now.UnixNano())
	l.conns[lc] = struct{}{}
	l.perAddr[lc.ip]++
	return "", true
}

// roomFor reports whether a free slot may go to ip: the last one only goes
// to an address with no connection yet. Called with mu held.
func (l *ListenSource) roomFor(ip netip.Addr) bool {
	free := l.maxConns - len(l.conns)
	if l.perAddr[ip] > 0 && l.maxConns > 1 {
		return free >= 2
	}
	return free >= 1
}

// victim returns the connection to close to make room among those that
// match and have been idle for evictIdle: from the address holding the most
// connections, one that never sent a byte first, then the longest idle; nil
// if none may be closed. Called with mu held.
func (l *ListenSource) victim(now time.Time, match func(*listenConn) bool) *listenConn {
	var best *listenConn
	better := func(a, b *listenConn) bool {
		if na, nb := l.perAddr[a.ip], l.perAddr[b.ip]; na != nb {
			return na > nb
		}
		if da, db := a.gotData.Load(), b.gotData.Load(); da != db {
			return !da
		}
		return a.last.Load() < b.last.Load()
	}
	limit := now.Add(-l.evictIdle).UnixNano()
	for o := range l.conns {
		if !match(o) || o.last.Load() > limit {
			continue
		}
		if best == nil || better(o, best) {
			best = o
		}
	}
	return best
}

// evict closes v to make room; its serve goroutine sees the connection end.
// Called with mu held.
func (l *ListenSource) evict(v *listenConn, now time.Time) {
	l.remove(v)
	v.evicted.Store(true)
	v.c.Close()
	l.evicted.Add(1)
	idle := now.Sub(time.Unix(0, v.last.Load())).Round(time.Second)
	l.log.Warn().Str("peer", v.peer).Dur("idle", idle).Int("max_conns", l.maxConns).
		Msg("closed an idle PBX connection to make room for a new one: every connection slot was taken")
}

// remove forgets lc; it may be called twice. Called with mu held.
func (l *ListenSource) remove(lc *listenConn) {
	if _, ok := l.conns[lc]; !ok {
		return
	}
	delete(l.conns, lc)
	if l.perAddr[lc.ip]--; l.perAddr[lc.ip] <= 0 {
		delete(l.perAddr, lc.ip)
	}
}

// refused counts a refused connection and logs it, at most once a minute
// (with the number refused since the last line).
func (l *ListenSource) refused(lc *listenConn, reason string) {
	switch reason {
	case RefusedNotAllowed:
		l.refusedNotAllowed.Add(1)
	case RefusedAddressLimit:
		l.refusedAddrLimit.Add(1)
	case RefusedFull:
		l.refusedFull.Add(1)
	}
	now := time.Now()
	l.mu.Lock()
	l.refusedSinceLast++
	n := l.refusedSinceLast
	logIt := l.refuseLogged.IsZero() || now.Sub(l.refuseLogged) >= time.Minute
	if logIt {
		l.refuseLogged, l.refusedSinceLast = now, 0
	}
	l.mu.Unlock()
	ev := l.log.Debug()
	if logIt {
		ev = l.log.Warn().Int("refused_since_last_line", n)
	}
	var msg string
	switch reason {
	case RefusedNotAllowed:
		msg = "refused a connection from an address not allowed to send SMDR (pbx.allow)"
	case RefusedAddressLimit:
		msg = "refused a PBX connection: this address already holds as many as it may (pbx.max_connections_per_address)"
	default:
		msg = "refused a PBX connection: every slot is taken and none is idle (pbx.max_connections)"
	}
	ev.Str("peer", lc.peer).Str("reason", reason).Msg(msg)
}

func (l *ListenSource) serve(lc *listenConn) {
	defer l.wg.Done()
	l.mu.Lock()
	again := l.seen[lc.ip]
	if len(l.seen) > 1024 {
		clear(l.seen)
	}
	l.seen[lc.ip] = true
	l.mu.Unlock()

	l.opened(again)
	l.log.Info().Str("peer", lc.peer).Bool("reconnect", again).Msg("PBX connected")
	touch := func() {
		lc.last.Store(l.opts.Now().UnixNano())
		lc.gotData.Store(true)
	}
	_, err := l.pump(tcpConn{c: lc.c, onData: touch}, "tcp "+lc.peer, true)
	lc.c.Close()
	l.mu.Lock()
	l.remove(lc)
	l.mu.Unlock()
	l.closed()
	if !l.stopping() {
		reason := connEnded(err)
		if lc.evicted.Load() {
			reason = "closed by the gateway: idle while every connection slot was taken"
		}
		l.log.Info().Str("peer", lc.peer).Str("reason", reason).Msg("PBX disconnected")
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
		got, err := d.pump(tcpConn{c: c}, "tcp "+peer, true)
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
