package fias

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/rs/zerolog"
)

// Transcript records every record and control byte on the wire, both ways,
// with its time: to the logger at debug level and, when a writer is given,
// as one line each to it. Installers need it for the PMS vendor's
// certification. It carries dialed numbers and guest names: keep the file
// where guest data may be kept.
type Transcript struct {
	mu    sync.Mutex
	w     io.Writer
	codec *Codec
	log   zerolog.Logger
	out   string // the arrow for what we send
	in    string // the arrow for what we receive
}

// NewTranscript returns a transcript written to w (nil: the log only), with
// record bytes shown in codec's code page. outArrow and inArrow mark what
// was sent and received ("→", "←" when empty).
func NewTranscript(w io.Writer, codec *Codec, log zerolog.Logger, outArrow, inArrow string) *Transcript {
	if outArrow == "" {
		outArrow = "→"
	}
	if inArrow == "" {
		inArrow = "←"
	}
	if codec == nil {
		codec, _ = NewCodec("")
	}
	return &Transcript{w: w, codec: codec, log: log, out: outArrow, in: inArrow}
}

// Trace takes one event; it is a ConnOptions.Trace function.
func (t *Transcript) Trace(ev TraceEvent) {
	if t == nil {
		return
	}
	text := t.Format(ev)
	dir := "in"
	if ev.Out {
		dir = "out"
	}
	t.log.Debug().Str("dir", dir).Str("frame", text).Msg("fias wire")
	if t.w == nil {
		return
	}
	arrow := t.in
	if ev.Out {
		arrow = t.out
	}
	t.mu.Lock()
	fmt.Fprintf(t.w, "%s %s %s\n", ev.Time.Format("2006-01-02 15:04:05.000"), arrow, text)
	t.mu.Unlock()
}

// Format returns an event's text: the record as text, control bytes inside
// it as <XX>, or <ACK>, <NAK>, <ENQ> for a control byte.
func (t *Transcript) Format(ev TraceEvent) string {
	if ev.Body == nil {
		return controlName(ev.Control)
	}
	var b strings.Builder
	for _, r := range t.codec.Text(ev.Body) {
		if r < 0x20 || r == 0x7f {
			fmt.Fprintf(&b, "<%02X>", r)
			continue
		}
		b.WriteRune(r)
	}
	if ev.Bad {
		b.WriteString("  (damaged: bad LRC or too long)")
	}
	if ev.Retry > 0 {
		fmt.Fprintf(&b, "  (sent again, try %d)", ev.Retry+1)
	}
	return b.String()
}

func controlName(b byte) string {
	switch b {
	case ACK:
		return "<ACK>"
	case NAK:
		return "<NAK>"
	case ENQ:
		return "<ENQ>"
	}
	return fmt.Sprintf("<%02X>", b)
}
