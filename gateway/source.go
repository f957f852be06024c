package gateway

import (
	"context"
	"time"
)

// RawRecord is one record framed from the PBX stream: a line without its line
// end, NUL and other control bytes removed.
type RawRecord struct {
	Data     []byte    // the record's bytes
	Received time.Time // when the record was complete (UTC instant)
	Source   string    // where it came from: "serial /dev/ttyUSB0", "tcp 10.0.0.5:40112", "file smdr.log"
	// Truncated is set when the record was longer than the framer allows and
	// was cut: such a record is quarantined, never parsed as a call.
	Truncated bool
	// Cut is set when a serial or TCP connection ended before the record's
	// line end: it may be cut short, so it is quarantined, never charged (a
	// PBX that re-sends it whole after reconnecting gets that copy charged;
	// charging both would bill the call twice).
	Cut bool
}

// CallSource delivers raw records from a PBX, in the order the PBX sent them.
//
// Read blocks until a record is complete, and returns:
//  1. a record and nil;
//  2. a zero record and ctx.Err() when ctx is done;
//  3. a zero record and io.EOF when the source has ended for good (a file read
//     once to its end); live sources (serial, TCP, a followed file) reconnect or
//     reopen by themselves and never end while ctx lives.
//
// Close releases the port, socket or file; a Read in progress returns.
type CallSource interface {
	Read(ctx context.Context) (RawRecord, error)
	Close() error
}

// WaitingSource is a CallSource that can also hand over a record already
// framed and waiting, without blocking, so that the engine journals a burst
// (a PBX replaying its buffer after a reconnect, a new CDR file) in one
// commit (docs/design.md "The path of one call"). TryRead returns the next
// record and true, or false when none waits, or when what comes next is an
// error or the end (Read returns those).
type WaitingSource interface {
	CallSource
	TryRead() (RawRecord, bool)
}

// Bounds of a burst journaled in one commit: a lone record still commits
// at once, and a burst's commit stays short.
const (
	BurstRecords = 1000
	BurstBytes   = 4 << 20
)
