package fias

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// FrameConn carries FIAS records over one connection: a TCP stream (STX/ETX
// framing only) or a FIPS serial line (LRC, ACK/NAK, ENQ). The link and the
// simulator both speak through it. ReadFrame is called from one goroutine;
// WriteFrame and Close may be called from any.
type FrameConn interface {
	// ReadFrame returns the next record's bytes, those between STX and ETX.
	ReadFrame() ([]byte, error)
	// WriteFrame sends one record. On a serial line it returns when the
	// peer acknowledged it. An error wrapping ErrNotDelivered means the peer
	// certainly did not take the record; any other error leaves it unknown.
	WriteFrame(body []byte) error
	// Close closes the connection; a ReadFrame in progress returns.
	Close() error
}

// ErrNotDelivered is wrapped by WriteFrame's error when the record certainly
// did not reach the peer: nothing was written, or a serial peer refused
// every try with NAK.
var ErrNotDelivered = errors.New("record not delivered")

// TraceEvent is one thing seen on the wire, for the transcript.
type TraceEvent struct {
	Time time.Time
	Out  bool   // sent by us
	Body []byte // a record's bytes between STX and ETX; nil for a control byte
	// Control is ACK, NAK or ENQ on a serial line, 0 for a record.
	Control byte
	// Bad is set on a received serial record whose LRC did not match, or
	// that was longer than MaxRecord.
	Bad bool
	// Retry counts the times a serial record was sent before (0 the first).
	Retry int
}

// ConnOptions configures a FrameConn.
type ConnOptions struct {
	// Trace, if set, is called with every record and control byte, both
	// ways. It must not block.
	Trace func(TraceEvent)
	// Now is the clock for trace times; nil means time.Now.
	Now func() time.Time
	// Oversize, if set, is told how many received records were dropped
	// for being longer than MaxRecord, as they are dropped.
	Oversize func(n int64)
	// WriteTimeout bounds a write on a connection that has deadlines; 0
	// means 10 s.
	WriteTimeout time.Duration

	// Serial link-level settings (FIPS full duplex). AckTimeout is how
	// long to wait for ACK/NAK and for the answer to an ENQ, 0 means 3 s;
	// Retries is how many times a NAKed record is sent again, 0 means 3;
	// ENQs is how many ENQs are sent when no answer comes, 0 means 3.
	AckTimeout time.Duration
	Retries    int
	ENQs       int

	// For simulators testing a peer's serial layer: CorruptLRC is asked
	// before every record sent and, when it says true, the record goes out
	// with a wrong LRC; WithholdAck is asked for every intact record
	// received and, when it says true, the record is taken but its ACK is
	// not sent (the peer must ENQ for it).
	CorruptLRC  func() bool
	WithholdAck func() bool
}

func (o ConnOptions) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o ConnOptions) trace(ev TraceEvent) {
	if o.Trace != nil {
		ev.Time = o.now()
		o.Trace(ev)
	}
}

// NewStreamConn returns a FrameConn over a byte stream, a TCP connection:
// STX/ETX framing, no LRC, no acknowledgements.
func NewStreamConn(rwc io.ReadWriteCloser, o ConnOptions) FrameConn {
	if o.WriteTimeout == 0 {
		o.WriteTimeout = 10 * time.Second
	}
	return &streamConn{rwc: rwc, o: o}
}

type streamConn struct {
	rwc     io.ReadWriteCloser
	o       ConnOptions
	d       Deframer
	pending [][]byte
	rbuf    [4096]byte
	wmu     sync.Mutex
}

func (c *streamConn) ReadFrame() ([]byte, error) {
	for len(c.pending) == 0 {
		n, err := c.rwc.Read(c.rbuf[:])
		over := c.d.Oversize
		c.d.Feed(c.rbuf[:n], func(body []byte) { c.pending = append(c.pending, body) })
		if d := c.d.Oversize - over; d > 0 && c.o.Oversize != nil {
			c.o.Oversize(d)
		}
		if len(c.pending) > 0 {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	body := c.pending[0]
	c.pending = c.pending[1:]
	c.o.trace(TraceEvent{Body: body})
	return body, nil
}

func (c *streamConn) WriteFrame(body []byte) error {
	frame := AppendFrame(nil, body, false)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if nc, ok := c.rwc.(net.Conn); ok {
		nc.SetWriteDeadline(time.Now().Add(c.o.WriteTimeout))
	}
	c.o.trace(TraceEvent{Out: true, Body: body})
	n, err := c.rwc.Write(frame)
	if err != nil && n == 0 {
		return fmt.Errorf("%w: %w", ErrNotDelivered, err)
	}
	return err
}

func (c *streamConn) Close() error { return c.rwc.Close() }

// NewSerialConn returns a FrameConn over a serial line speaking FIPS full
// duplex: every record is STX body ETX LRC and is answered ACK (intact) or
// NAK (damaged) within AckTimeout; a NAKed record is sent again up to
// Retries times; when no answer comes, ENQ asks for it up to ENQs times.
// An ENQ received is answered with the last ACK/NAK sent, or NAK when none
// was (an ENQ at start-up means the peer wants to send: NAK makes it send
// again). It starts a goroutine that reads rwc until Close.
func NewSerialConn(rwc io.ReadWriteCloser, o ConnOptions) FrameConn {
	if o.AckTimeout == 0 {
		o.AckTimeout = 3 * time.Second
	}
	if o.Retries == 0 {
		o.Retries = 3
	}
	if o.ENQs == 0 {
		o.ENQs = 3
	}
	c := &serialConn{rwc: rwc, o: o, resp: make(chan byte, 8), noise: make(chan struct{}, 1),
		ready: make(chan struct{}, 1), done: make(chan struct{}), lastResp: NAK}
	go c.readLoop()
	return c
}

type serialConn struct {
	rwc io.ReadWriteCloser
	o   ConnOptions

	wmu    sync.Mutex // one write of bytes at a time: a frame is never cut by an ACK
	sendMu sync.Mutex // one record in flight at a time
	resp   chan byte  // ACK/NAK for our record
	noise  chan struct{}

	mu       sync.Mutex
	frames   [][]byte
	ready    chan struct{}
	err      error
	lastResp byte // the last ACK/NAK we sent, repeated on ENQ
	done     chan struct{}
	once     sync.Once
}

func (c *serialConn) writeBytes(p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.rwc.Write(p)
	return err
}

func (c *serialConn) respond(b byte, send bool) {
	c.mu.Lock()
	c.lastResp = b
	c.mu.Unlock()
	if send {
		c.o.trace(TraceEvent{Out: true, Control: b})
		c.writeBytes([]byte{b})
	}
}

func (c *serialConn) readLoop() {
	var f fipsFramer
	buf := make([]byte, 1024)
	empty := 0
	for {
		n, err := c.rwc.Read(buf)
		over := f.Oversize
		f.Feed(buf[:n], c.onItem)
		if d := f.Oversize - over; d > 0 && c.o.Oversize != nil {
			c.o.Oversize(d)
		}
		if err != nil {
			c.fail(err)
			return
		}
		if n == 0 {
			// go.bug.st/serial returns 0, nil on a read timeout; a port
			// opened without one should not, but never spin.
			if empty++; empty > 100 {
				time.Sleep(10 * time.Millisecond)
			}
			continue
		}
		empty = 0
	}
}

func (c *serialConn) onItem(item fipsItem, body []byte, ok bool, b byte) {
	switch item {
	case fipsFrame:
		c.o.trace(TraceEvent{Body: body, Bad: !ok})
		if !ok {
			c.respond(NAK, true)
			return
		}
		c.respond(ACK, c.o.WithholdAck == nil || !c.o.WithholdAck())
		c.mu.Lock()
		c.frames = append(c.frames, body)
		c.mu.Unlock()
		select {
		case c.ready <- struct{}{}:
		default:
		}
	case fipsControl:
		c.o.trace(TraceEvent{Control: b})
		if b == ENQ {
			c.mu.Lock()
			last := c.lastResp
			c.mu.Unlock()
			c.o.trace(TraceEvent{Out: true, Control: last})
			c.writeBytes([]byte{last})
			return
		}
		select {
		case c.resp <- b:
		default:
		}
	case fipsNoise:
		c.mu.Lock()
		c.lastResp = NAK
		c.mu.Unlock()
		select {
		case c.noise <- struct{}{}:
		default:
		}
	}
}

func (c *serialConn) fail(err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.mu.Unlock()
	c.once.Do(func() { close(c.done) })
}

func (c *serialConn) ReadFrame() ([]byte, error) {
	for {
		c.mu.Lock()
		if len(c.frames) > 0 {
			body := c.frames[0]
			c.frames = c.frames[1:]
			c.mu.Unlock()
			return body, nil
		}
		err := c.err
		c.mu.Unlock()
		if err != nil {
			return nil, err
		}
		select {
		case <-c.ready:
		case <-c.done:
		}
	}
}

func (c *serialConn) WriteFrame(body []byte) error {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	for drained := false; !drained; {
		select {
		case <-c.resp: // a stale answer
		case <-c.noise: // noise from before this record
		default:
			drained = true
		}
	}
	naks := 0
	for attempt := 0; ; attempt++ {
		lrc := LRC(body)
		if c.o.CorruptLRC != nil && c.o.CorruptLRC() {
			lrc ^= 0xff
		}
		frame := append(AppendFrame(nil, body, false), lrc)
		c.o.trace(TraceEvent{Out: true, Body: body, Retry: attempt})
		if err := c.writeBytes(frame); err != nil {
			if attempt == 0 {
				return fmt.Errorf("%w: %w", ErrNotDelivered, err)
			}
			return err
		}
		b, err := c.awaitResponse()
		if err != nil {
			return err
		}
		if b == ACK {
			return nil
		}
		if naks++; naks > c.o.Retries {
			return fmt.Errorf("%w: the PMS refused the record %d times (NAK): check the serial settings (baud, parity, data bits)", ErrNotDelivered, naks)
		}
	}
}

// awaitResponse waits for the ACK or NAK of the record just sent, asking
// with ENQ when none comes in time or garbage comes instead.
func (c *serialConn) awaitResponse() (byte, error) {
	timer := time.NewTimer(c.o.AckTimeout)
	defer timer.Stop()
	for enqs := 0; ; enqs++ {
		select {
		case b := <-c.resp:
			return b, nil
		case <-c.noise:
			// Garbage instead of an answer: ask with ENQ, unless the
			// answer came right behind it.
			select {
			case b := <-c.resp:
				return b, nil
			case <-time.After(c.o.AckTimeout / 10):
			}
		case <-timer.C:
		case <-c.done:
			c.mu.Lock()
			err := c.err
			c.mu.Unlock()
			return 0, err
		}
		if enqs == c.o.ENQs {
			return 0, fmt.Errorf("no ACK or NAK within %v after %d ENQs: is the serial cable connected?", c.o.AckTimeout, enqs)
		}
		c.o.trace(TraceEvent{Out: true, Control: ENQ})
		if err := c.writeBytes([]byte{ENQ}); err != nil {
			return 0, err
		}
		timer.Reset(c.o.AckTimeout)
	}
}

func (c *serialConn) Close() error {
	err := c.rwc.Close()
	c.fail(io.ErrClosedPipe)
	return err
}
