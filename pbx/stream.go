package pbx

import (
	"bufio"
	"errors"
	"io"
	"time"

	"callgate/gateway"
)

// StreamStats sums up a ParseStream run.
type StreamStats struct {
	Framer  FramerStats
	Calls   int // records parsed into calls
	Skipped int // header, summary and other non-call lines
	Errors  int // records that should be calls but could not be read
}

// ParseStream reads a whole SMDR stream from r, frames it as the format
// requires, parses every record and writes one JSON line per call to w (the
// normalized call of docs/design.md, "The normalized call"), or
// {"error":…,"raw":…} for a record that cannot be read; non-call lines produce
// nothing. clock is the reading clock for every record (the time the stream
// was received). It stops only at the end of r or on a write error.
func ParseStream(r io.Reader, w io.Writer, p *Parser, clock time.Time) (StreamStats, error) {
	var st StreamStats
	bw := bufio.NewWriterSize(w, 64<<10)
	fr := Framer{LengthPrefixed: p.Format().LengthPrefixed}
	var werr error
	emit := func(data []byte, truncated bool) {
		if werr != nil {
			return
		}
		var out Outcome
		out, werr = WriteParsed(bw, p, gateway.RawRecord{Data: data, Received: clock, Truncated: truncated})
		switch out {
		case Skipped:
			st.Skipped++
		case Failed:
			st.Errors++
		default:
			st.Calls++
		}
	}
	buf := make([]byte, 64<<10)
	for werr == nil {
		n, err := r.Read(buf)
		fr.Feed(buf[:n], emit)
		if err == io.EOF {
			break
		}
		if err != nil {
			return st, err
		}
	}
	fr.Flush(emit)
	st.Framer = fr.Stats()
	if werr != nil {
		return st, werr
	}
	return st, bw.Flush()
}

// Outcome is what became of one record.
type Outcome int

// The outcomes of WriteParsed.
const (
	Parsed  Outcome = iota // a call, written as its JSON line
	Skipped                // not a call record: nothing written
	Failed                 // should be a call but cannot be read: an error line written
)

// WriteParsed parses rec and writes the result as `gateway parse` does: the
// call's JSON line, {"error":…,"raw":…} for a record that cannot be read, or
// nothing for a line that is not a call. The error is a write error.
func WriteParsed(w io.Writer, p *Parser, rec gateway.RawRecord) (Outcome, error) {
	c, err := p.Parse(rec)
	switch {
	case errors.Is(err, ErrSkip):
		return Skipped, nil
	case err != nil:
		return Failed, writeJSONLine(w, parseError{Error: err.Error(), Raw: string(rec.Data)})
	}
	return Parsed, writeJSONLine(w, c)
}

type parseError struct {
	Error string `json:"error"`
	Raw   string `json:"raw"`
}

func writeJSONLine(w io.Writer, v any) error {
	b, err := gateway.MarshalPlain(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
