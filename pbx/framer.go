package pbx

// DefaultMaxRecord is the longest record the framer passes on whole. No PBX
// format prints lines near this long (the widest, CUCM, stays under 2 KiB); a
// longer one is noise or a lost line end, and is cut and quarantined.
const DefaultMaxRecord = 4096

// FramerStats counts what the framer did with the bytes it was given.
type FramerStats struct {
	Bytes        int64 `json:"bytes"`         // bytes fed
	Records      int64 `json:"records"`       // records emitted (including truncated ones)
	ControlBytes int64 `json:"control_bytes"` // NUL and other control bytes dropped
	Truncated    int64 `json:"truncated"`     // records longer than the maximum, cut and flagged
	Frames       int64 `json:"frames"`        // length-prefixed frames read (Mitel 5000 socket)
}

// Framer cuts a PBX byte stream into records. Records end in CR, LF, CRLF or a
// form feed; empty lines vanish, so CRLF, CR LF LF and page breaks need no
// special case. NUL and other C0 control bytes (but TAB) and DEL are dropped
// and counted. A record longer than MaxRecord is cut there and emitted once,
// flagged truncated; the rest of it up to the next line end is discarded.
//
// With LengthPrefixed set, the framer also reads the Mitel 5000 socket
// framing, where each record is preceded by its length as a 4-byte
// little-endian integer. Plain lines and framed records may be mixed; they are
// told apart at each record start (a length prefix has NUL bytes in its third
// and fourth places, which no text record has).
//
// A Framer is not safe for concurrent use; each connection has its own.
type Framer struct {
	MaxRecord      int
	LengthPrefixed bool

	rec       []byte // the record being assembled
	discard   bool   // past MaxRecord: drop bytes until the line ends
	hold      []byte // bytes at a record start that may be a length prefix
	frameLeft int    // payload bytes left in the current length-prefixed frame
	stats     FramerStats
}

// Stats returns the counters so far.
func (f *Framer) Stats() FramerStats { return f.stats }

// Pending reports whether a partial record is buffered.
func (f *Framer) Pending() bool { return len(f.rec) > 0 || len(f.hold) > 0 }

func (f *Framer) max() int {
	if f.MaxRecord > 0 {
		return f.MaxRecord
	}
	return DefaultMaxRecord
}

// Feed takes the next bytes of the stream and calls emit for every record they
// complete. emit must not keep data: it is reused after emit returns.
func (f *Framer) Feed(p []byte, emit func(data []byte, truncated bool)) {
	f.stats.Bytes += int64(len(p))
	for _, c := range p {
		f.in(c, emit)
	}
}

func (f *Framer) in(c byte, emit func([]byte, bool)) {
	if f.LengthPrefixed && f.frameLeft == 0 && len(f.rec) == 0 && !f.discard {
		f.hold = append(f.hold, c)
		if f.holdIsPrefix() {
			if len(f.hold) == 4 {
				f.frameLeft = int(f.hold[0]) | int(f.hold[1])<<8
				f.hold = f.hold[:0]
				f.stats.Frames++
			}
			return
		}
		// Not a prefix: the held bytes are text. The first is a plain byte;
		// the rest may still start a prefix.
		held := append([]byte(nil), f.hold...)
		f.hold = f.hold[:0]
		f.text(held[0], emit)
		for _, b := range held[1:] {
			f.in(b, emit)
		}
		return
	}
	f.text(c, emit)
	if f.frameLeft > 0 {
		f.frameLeft--
		if f.frameLeft == 0 {
			f.end(emit)
		}
	}
}

// holdIsPrefix reports whether the held bytes can still be a length prefix: a
// length of 1 to MaxRecord+2 (a record and its CRLF), so the high bytes are 0.
// Neither low byte may be CR, LF or FF: a line end followed by NUL padding
// (Avaya CM pads its records so) must end a line, not start a frame. The few
// frame lengths this excludes (10, 12, 13, 266, …; 2560 and up) are read as
// plain text, which gives the same record when the payload ends in CRLF, as
// the Mitel 5000's 82-byte records do.
func (f *Framer) holdIsPrefix() bool {
	h := f.hold
	if isLineEnd(h[0]) || len(h) >= 2 && isLineEnd(h[1]) {
		return false
	}
	if len(h) >= 3 && h[2] != 0 || len(h) == 4 && h[3] != 0 {
		return false
	}
	if len(h) >= 2 {
		n := int(h[0]) | int(h[1])<<8
		return n > 0 && n <= f.max()+2
	}
	return true
}

func isLineEnd(c byte) bool { return c == '\r' || c == '\n' || c == '\f' }

// text handles one byte of record text.
func (f *Framer) text(c byte, emit func([]byte, bool)) {
	switch {
	case isLineEnd(c):
		f.end(emit)
	case c == '\t' || (c >= 0x20 && c != 0x7f):
		if f.discard {
			return
		}
		if len(f.rec) >= f.max() {
			f.stats.Truncated++
			f.emit(emit, true)
			f.discard = true
			return
		}
		f.rec = append(f.rec, c)
	default:
		f.stats.ControlBytes++
	}
}

func (f *Framer) end(emit func([]byte, bool)) {
	if f.discard {
		f.discard = false
		f.rec = f.rec[:0]
		return
	}
	if len(f.rec) > 0 {
		f.emit(emit, false)
	}
}

func (f *Framer) emit(emit func([]byte, bool), truncated bool) {
	f.stats.Records++
	emit(f.rec, truncated)
	f.rec = f.rec[:0]
}

// Flush emits the partial record, if any, as a complete one. Call it when the
// stream ends, or when the line has been idle long enough that the PBX is not
// going to finish it (some PBXs send the line end only before the next record).
func (f *Framer) Flush(emit func(data []byte, truncated bool)) {
	held := append([]byte(nil), f.hold...)
	f.hold = f.hold[:0]
	f.frameLeft = 0
	for _, b := range held {
		f.text(b, emit)
	}
	f.end(emit)
}
