package fias

// Deframer cuts records out of a FIAS byte stream on TCP, where there is no
// LRC and no ACK/NAK: every record is STX body ETX, and the stream may split
// a record over many reads, join many records in one, and carry noise
// between them. The zero value is ready to use; it is not safe for
// concurrent use.
//
// Bytes outside STX … ETX are noise and skipped. An STX inside a record
// starts the record over (what came before was a torn record, counted as
// noise). A record longer than MaxRecord is dropped up to its ETX and
// counted in Oversize.
type Deframer struct {
	recordBuf
	skipping bool // inside an oversize record, dropping to its ETX

	Oversize int64 // records dropped for being longer than MaxRecord
}

// recordBuf gathers the body of the record being received, for both
// framers.
type recordBuf struct {
	buf     []byte
	inFrame bool

	Noise int64 // bytes skipped outside records, and torn records
}

// begin starts a record at its STX; a record already begun was torn, and
// its bytes and STX count as noise.
func (r *recordBuf) begin() {
	if r.inFrame {
		r.Noise += int64(len(r.buf)) + 1
	}
	r.inFrame = true
	r.buf = r.buf[:0]
}

// take ends the record and returns a copy of its body.
func (r *recordBuf) take() []byte {
	r.inFrame = false
	body := make([]byte, len(r.buf))
	copy(body, r.buf)
	r.buf = r.buf[:0]
	return body
}

// Feed takes the next bytes of the stream and calls emit with the body of
// every record completed by them, in order. emit owns the slice it gets.
func (d *Deframer) Feed(p []byte, emit func(body []byte)) {
	for _, b := range p {
		switch {
		case b == STX:
			d.begin()
			d.skipping = false
		case !d.inFrame:
			d.Noise++
		case b == ETX:
			if d.skipping {
				d.inFrame, d.skipping = false, false
				d.Oversize++
				continue
			}
			emit(d.take())
		case d.skipping:
		case len(d.buf) >= MaxRecord:
			d.skipping = true
			d.buf = d.buf[:0]
		default:
			d.buf = append(d.buf, b)
		}
	}
}

// fipsItem is what the serial framer makes of the bytes it is fed.
type fipsItem int

const (
	fipsFrame   fipsItem = iota // a record: body, and whether its LRC matched
	fipsControl                 // ACK, NAK or ENQ
	fipsNoise                   // a byte outside any record
)

// fipsFramer reads the receive side of a FIPS serial line: records framed
// STX body ETX LRC, and single control bytes (ACK, NAK, ENQ) that may come
// at any time, even inside a record the peer is sending (FIPS forbids that,
// but a control byte is never record data, so it is taken as control). The
// byte after ETX is the LRC whatever its value: it may well be STX or ETX.
type fipsFramer struct {
	recordBuf
	wantLRC bool
	over    bool // the record is longer than MaxRecord

	Oversize int64
}

// Feed takes the next bytes from the line and calls on for every record,
// control byte and noise byte, in order. For a record, body is its bytes
// (owned by on) and ok says whether its LRC matched and it fits MaxRecord.
func (f *fipsFramer) Feed(p []byte, on func(item fipsItem, body []byte, ok bool, b byte)) {
	for _, b := range p {
		switch {
		case f.wantLRC:
			f.wantLRC = false
			ok := !f.over && LRC(f.buf) == b
			if f.over {
				f.Oversize++
			}
			f.over = false
			on(fipsFrame, f.take(), ok, b)
		case b == ACK || b == NAK || b == ENQ:
			on(fipsControl, nil, false, b)
		case b == STX:
			f.begin()
			f.over = false
		case !f.inFrame:
			f.Noise++
			on(fipsNoise, nil, false, b)
		case b == ETX:
			f.wantLRC = true
		case len(f.buf) >= MaxRecord:
			f.over = true
		default:
			f.buf = append(f.buf, b)
		}
	}
}
