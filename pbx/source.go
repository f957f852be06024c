package pbx

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"callgate/gateway"
	"callgate/internal/backoff"
)

// ErrClosed is what Read returns once the source has been closed and every
// record it had already framed has been read.
var ErrClosed = errors.New("PBX source closed")

// The defaults of SourceOptions.
const (
	DefaultIdleFlush = 2 * time.Second
	DefaultQueueSize = 1024
	// DefaultQueueBytes bounds the bytes of the records queued: a queue of
	// DefaultQueueSize records of up to DefaultMaxRecord bytes each fits it.
	DefaultQueueBytes = 4 << 20
	DefaultSilence    = 60 * time.Minute
	DefaultPoll       = 200 * time.Millisecond
)

// SourceOptions is what every transport shares: how the byte stream is framed
// and delivered, and how silence is watched.
type SourceOptions struct {
	// LengthPrefixed lets the framer read Mitel 5000 length-prefixed frames
	// (Format.LengthPrefixed of the configured format).
	LengthPrefixed bool
	// MaxRecord is the framer's longest record; 0 means DefaultMaxRecord.
	MaxRecord int
	// StripHighBit clears bit 7 of every byte before framing: for a PBX that
	// sends 7-bit data with parity on a port read as 8N1. Stats.HighBitBytes
	// counts such bytes either way (a high count means the parity is wrong).
	StripHighBit bool
	// IdleFlush is how long a partial record may wait for its line end before
	// it is delivered as it is (some PBXs send the line end only before the
	// next record). 0 means DefaultIdleFlush; negative never flushes on idle.
	IdleFlush time.Duration
	// QueueSize is how many framed records may wait for Read. When it is
	// full the source stops reading its connection (TCP and RTS/CTS push back
	// to the PBX) instead of dropping records. 0 means DefaultQueueSize: more
	// than the engine journals in one commit (gateway.BurstRecords), so that
	// a burst's next commit is framed while one is being written.
	QueueSize int
	// QueueBytes bounds the bytes of the queued records the same way (a
	// record larger than it still fits an empty queue); 0 means
	// DefaultQueueBytes.
	QueueBytes int
	// Silence is how long a live source may go without a byte before the
	// watchdog warns and calls OnSilence. 0 means DefaultSilence; negative
	// turns the watchdog off. A file read once has no watchdog.
	Silence time.Duration
	// OnSilence, if set, is called with true when the silence begins and with
	// false when data comes back. It is called from the watchdog's goroutine,
	// in order, and must not block for long.
	OnSilence func(silent bool)
	// Now stamps RawRecord.Received; nil means time.Now. Tests inject it.
	Now func() time.Time
	// Logger receives one line per state change (connected, lost, waiting,
	// silent). Record contents are logged at debug level only. The zero value
	// logs nothing, like zerolog.Nop().
	Logger zerolog.Logger
}

// Stats counts what a source has done since it was opened.
type Stats struct {
	Transport    string    `json:"transport"`      // serial, tcp-listen, tcp-dial, file
	Bytes        int64     `json:"bytes"`          // bytes read from the PBX
	Records      int64     `json:"records"`        // records framed (including truncated ones)
	ControlBytes int64     `json:"control_bytes"`  // NUL and other control bytes dropped
	Truncated    int64     `json:"truncated"`      // records longer than the maximum, cut and flagged
	Frames       int64     `json:"frames"`         // Mitel 5000 length-prefixed frames read
	HighBitBytes int64     `json:"high_bit_bytes"` // bytes with bit 7 set (wrong parity?)
	IdleFlushes  int64     `json:"idle_flushes"`   // partial records delivered after IdleFlush of quiet
	Connections  int64     `json:"connections"`    // successful opens, connects or accepts
	Reconnects   int64     `json:"reconnects"`     // connections that followed a lost one
	Connected    int       `json:"connected"`      // connections open now (more than 1 only for tcp-listen)
	LastData     time.Time `json:"last_data"`      // when the last byte arrived (UTC, zero if never)
	Queued       int       `json:"queued"`         // records framed and not yet Read
	Silent       bool      `json:"silent"`         // the watchdog says the PBX has gone quiet
	// tcp-listen only: connections refused, by reason (see RefusedNotAllowed),
	// and idle ones closed to make room for a new one.
	RefusedNotAllowed   int64 `json:"refused_not_allowed"`
	RefusedAddressLimit int64 `json:"refused_address_limit"`
	RefusedFull         int64 `json:"refused_full"`
	Evicted             int64 `json:"evicted"`
}

// Refused returns the refused connections by reason (the Refused*
// constants), for /metrics.
func (st Stats) Refused() map[string]int64 {
	return map[string]int64{RefusedNotAllowed: st.RefusedNotAllowed, RefusedAddressLimit: st.RefusedAddressLimit, RefusedFull: st.RefusedFull}
}

// Source is what every transport returns: a gateway.CallSource with counters.
type Source interface {
	gateway.CallSource
	Stats() Stats
}

// base is the record reader every transport shares: it frames the bytes of
// each connection, stamps the records and queues them for Read.
type base struct {
	transport string
	opts      SourceOptions
	log       zerolog.Logger
	q         *queue
	wd        *Watchdog // nil for a file read once

	stopped   context.Context // done once Close is called
	stop      context.CancelFunc
	retried   chan struct{} // gets a value at each retry wait a test is waiting for
	closeOnce sync.Once
	wg        sync.WaitGroup // the transport's goroutines

	bytes, records, control, truncated, frames atomic.Int64
	highBit, idleFlushes                       atomic.Int64
	connections, reconnects, connected         atomic.Int64
	lastData                                   atomic.Int64 // UnixNano, 0 if never
}

func newBase(transport, name string, so SourceOptions, live bool) *base {
	if so.IdleFlush == 0 {
		so.IdleFlush = DefaultIdleFlush
	}
	if so.QueueSize <= 0 {
		so.QueueSize = DefaultQueueSize
	}
	if so.QueueBytes <= 0 {
		so.QueueBytes = DefaultQueueBytes
	}
	if so.Silence == 0 {
		so.Silence = DefaultSilence
	}
	if so.Now == nil {
		so.Now = time.Now
	}
	b := &base{
		transport: transport,
		opts:      so,
		log:       so.Logger.With().Str("component", "pbx").Str("transport", transport).Str("pbx_source", name).Logger(),
		q:         newQueue(so.QueueSize, so.QueueBytes),
		retried:   make(chan struct{}),
	}
	b.stopped, b.stop = context.WithCancel(context.Background())
	if live && so.Silence > 0 {
		b.wd = NewWatchdog(so.Silence, b.log, so.OnSilence)
	}
	return b
}

// Read returns the next record, in the order the PBX sent it (records of
// several tcp-listen connections are interleaved as they complete). It returns
// ctx.Err() when ctx is done, io.EOF at the end of a file read once, and
// ErrClosed after Close once the records already framed have been read.
func (b *base) Read(ctx context.Context) (gateway.RawRecord, error) {
	return b.q.pop(ctx)
}

// TryRead returns a record already framed and waiting, without blocking;
// see gateway.WaitingSource.
func (b *base) TryRead() (gateway.RawRecord, bool) { return b.q.tryPop() }

// Stats returns the source's counters.
func (b *base) Stats() Stats {
	st := Stats{
		Transport:    b.transport,
		Bytes:        b.bytes.Load(),
		Records:      b.records.Load(),
		ControlBytes: b.control.Load(),
		Truncated:    b.truncated.Load(),
		Frames:       b.frames.Load(),
		HighBitBytes: b.highBit.Load(),
		IdleFlushes:  b.idleFlushes.Load(),
		Connections:  b.connections.Load(),
		Reconnects:   b.reconnects.Load(),
		Connected:    int(b.connected.Load()),
		Queued:       b.q.len(),
	}
	if ns := b.lastData.Load(); ns != 0 {
		st.LastData = time.Unix(0, ns).UTC()
	}
	if b.wd != nil {
		st.Silent = b.wd.Silent()
	}
	return st
}

func (b *base) maxRecord() int {
	if b.opts.MaxRecord > 0 {
		return b.opts.MaxRecord
	}
	return DefaultMaxRecord
}

// stopping reports whether Close has been called.
func (b *base) stopping() bool { return b.stopped.Err() != nil }

// shutdown stops the source: unblock interrupts the transport's blocked
// reads, then the goroutines are waited for and Read is told the source has
// ended. Records already framed stay readable.
func (b *base) shutdown(unblock func()) {
	b.closeOnce.Do(func() {
		b.stop()
		unblock()
		b.wg.Wait()
		b.q.end(ErrClosed)
		if b.wd != nil {
			b.wd.Stop()
		}
		b.log.Info().Msg("PBX source closed")
	})
}

// sleep waits d or until Close; it reports whether the source is still open.
func (b *base) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-b.stopped.Done():
		return false
	}
}

// retryAfter waits d before the transport tries again (to open, connect,
// accept or reread) and reports whether the source is still open. A test
// waiting on retried at that moment learns of the wait: proof that an attempt
// failed.
func (b *base) retryAfter(d time.Duration) bool {
	signal(b.retried)
	return b.sleep(d)
}

// opened counts a new connection; reconnect says it follows a lost one.
func (b *base) opened(reconnect bool) {
	b.connections.Add(1)
	b.connected.Add(1)
	if reconnect {
		b.reconnects.Add(1)
	}
}

func (b *base) closed() { b.connected.Add(-1) }

// conn is one connection as the pump reads it. Read returns 0, nil when
// nothing arrived within a poll interval (so the pump can flush an idle
// partial record), and an error when the connection has ended.
type conn interface {
	Read(p []byte) (int, error)
}

// pump reads c until it fails, framing its bytes into records for Read. A
// partial record is flushed when the line has been idle for IdleFlush and
// when the connection ends: a record cut by a lost connection is delivered as
// it is, flagged Cut when the connection is a link (lossCuts: serial, TCP) so
// the parser quarantines it; a file's last line without a line end is a
// whole record. It returns the connection's error and whether any byte
// arrived.
func (b *base) pump(c conn, source string, lossCuts bool) (gotData bool, err error) {
	fr := &Framer{MaxRecord: b.opts.MaxRecord, LengthPrefixed: b.opts.LengthPrefixed}
	idle := false // set while an idle flush runs
	cut := false  // set while the flush at the connection's end runs
	var prev FramerStats
	account := func() {
		st := fr.Stats()
		b.control.Add(st.ControlBytes - prev.ControlBytes)
		b.frames.Add(st.Frames - prev.Frames)
		prev = st
	}
	emit := func(data []byte, truncated bool) {
		// The counters are up to date with every record a reader can have
		// (a dropped NUL before it is counted by then).
		account()
		rec := gateway.RawRecord{
			Data:      bytes.Clone(data),
			Received:  b.opts.Now().UTC(),
			Source:    source,
			Truncated: truncated,
			Cut:       cut,
		}
		b.records.Add(1)
		if truncated {
			b.truncated.Add(1)
			b.log.Warn().Str("from", source).Int("bytes", len(data)).Msg("PBX record too long: cut and quarantined")
		}
		if idle {
			b.idleFlushes.Add(1)
		}
		if e := b.log.Debug(); e.Enabled() {
			e.Str("from", source).Bytes("data", data).Bool("truncated", truncated).Msg("PBX record")
		}
		b.q.push(rec, b.stopped.Done())
	}
	defer func() {
		cut = lossCuts && fr.Pending()
		if cut {
			b.log.Warn().Str("from", source).Msg("the connection ended in the middle of a record: it is kept, not charged")
		}
		fr.Flush(emit)
		account()
	}()

	buf := make([]byte, 4096)
	last := time.Now()
	for {
		n, err := c.Read(buf)
		if n > 0 {
			gotData = true
			last = time.Now()
			b.bytes.Add(int64(n))
			b.lastData.Store(b.opts.Now().UnixNano())
			if b.wd != nil {
				b.wd.Kick()
			}
			p := buf[:n]
			var high int64
			for i, c := range p {
				if c >= 0x80 {
					high++
					if b.opts.StripHighBit {
						p[i] = c & 0x7f
					}
				}
			}
			b.highBit.Add(high)
			fr.Feed(p, emit)
			account()
		} else if err == nil && b.opts.IdleFlush > 0 && fr.Pending() && time.Since(last) >= b.opts.IdleFlush {
			idle = true
			fr.Flush(emit)
			idle = false
			account()
		}
		if err != nil {
			return gotData, err
		}
		if b.stopping() {
			return gotData, ErrClosed
		}
	}
}

// Back-off defaults for reconnecting live sources.
const (
	DefaultMinBackoff = time.Second
	DefaultMaxBackoff = 30 * time.Second
	// stableAfter: a connection that lasted this long (or brought data)
	// resets the back-off.
	stableAfter = 10 * time.Second
)

// newBackoff returns the back-off of a live source, with the defaults for
// bounds left at 0.
func newBackoff(min, max time.Duration) backoff.Backoff {
	if min <= 0 {
		min = DefaultMinBackoff
	}
	if max <= 0 {
		max = DefaultMaxBackoff
	}
	return backoff.New(min, max)
}

// queue is the bounded FIFO between the framers and Read. push blocks while
// it is full (max records, or maxBytes of their data), so a connection is
// not read while its records cannot be delivered; after Close it no longer
// blocks (records framed while shutting down are kept, beyond the bound,
// rather than dropped).
type queue struct {
	mu       sync.Mutex
	recs     []gateway.RawRecord
	max      int
	maxBytes int
	bytes    int // of the queued records' data
	done     bool
	err      error         // what pop returns once done and empty
	avail    chan struct{} // a record was pushed or the queue ended
	space    chan struct{} // a record was popped
	// popWaits and pushWaits hold a value once a pop has waited for a
	// record, or a push for space: tests wait on them.
	popWaits, pushWaits chan struct{}
}

func newQueue(max, maxBytes int) *queue {
	return &queue{max: max, maxBytes: maxBytes, avail: make(chan struct{}, 1), space: make(chan struct{}, 1),
		popWaits: make(chan struct{}, 1), pushWaits: make(chan struct{}, 1)}
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.recs)
}

// full reports whether rec must wait for room.
func (q *queue) full(rec gateway.RawRecord) bool {
	return len(q.recs) >= q.max || len(q.recs) > 0 && q.bytes+len(rec.Data) > q.maxBytes
}

func (q *queue) push(rec gateway.RawRecord, stop <-chan struct{}) {
	q.mu.Lock()
	for q.full(rec) {
		stopped := false
		select {
		case <-stop:
			stopped = true
		default:
		}
		if stopped {
			break
		}
		q.mu.Unlock()
		signal(q.pushWaits)
		select {
		case <-q.space:
		case <-stop:
		}
		q.mu.Lock()
	}
	q.recs = append(q.recs, rec)
	q.bytes += len(rec.Data)
	if len(q.recs) < q.max && q.bytes < q.maxBytes {
		signal(q.space) // wake another waiting producer, if any
	}
	q.mu.Unlock()
	signal(q.avail)
}

// tryPop pops a record if one is queued.
func (q *queue) tryPop() (gateway.RawRecord, bool) {
	q.mu.Lock()
	if len(q.recs) == 0 {
		q.mu.Unlock()
		return gateway.RawRecord{}, false
	}
	rec := q.recs[0]
	q.recs[0] = gateway.RawRecord{}
	q.recs = q.recs[1:]
	q.bytes -= len(rec.Data)
	q.mu.Unlock()
	signal(q.space)
	return rec, true
}

func (q *queue) pop(ctx context.Context) (gateway.RawRecord, error) {
	for {
		if err := ctx.Err(); err != nil {
			return gateway.RawRecord{}, err
		}
		q.mu.Lock()
		if len(q.recs) > 0 {
			rec := q.recs[0]
			q.recs[0] = gateway.RawRecord{}
			q.recs = q.recs[1:]
			q.bytes -= len(rec.Data)
			more := len(q.recs) > 0
			q.mu.Unlock()
			signal(q.space)
			if more {
				signal(q.avail) // for another reader, if any
			}
			return rec, nil
		}
		if q.done {
			err := q.err
			q.mu.Unlock()
			signal(q.avail)
			return gateway.RawRecord{}, err
		}
		q.mu.Unlock()
		signal(q.popWaits)
		select {
		case <-q.avail:
		case <-ctx.Done():
			return gateway.RawRecord{}, ctx.Err()
		}
	}
}

// end tells Read that no more records will come: once the queue is empty,
// pop returns err.
func (q *queue) end(err error) {
	q.mu.Lock()
	if !q.done {
		q.done, q.err = true, err
	}
	q.mu.Unlock()
	signal(q.avail)
}
