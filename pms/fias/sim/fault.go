package sim

import (
	"io"
	"sync"
	"time"
)

// faultWriter sits between a connection and the simulator's framing and
// mangles what the simulator writes as Faults say: frames split in small
// pieces, several frames joined in one write, noise between frames. Every
// Write it gets is one frame or one control byte.
type faultWriter struct {
	s   *Sim
	rwc io.ReadWriteCloser

	mu    sync.Mutex // one write to rwc at a time
	hold  []byte     // frames held back to be joined
	timer *time.Timer
}

func (w *faultWriter) Read(p []byte) (int, error) { return w.rwc.Read(p) }

func (w *faultWriter) Close() error {
	w.mu.Lock()
	if w.timer != nil {
		w.timer.Stop()
	}
	w.mu.Unlock()
	return w.rwc.Close()
}

// noiseBytes is what garbage between frames is made of: anything but the
// link-control bytes (STX, ETX, ENQ, ACK, NAK).
var noiseBytes = []byte("\x00\x01\x04\r\n\x7f\xff ~zZ9|LS#\x1b\x10\x80")

func (w *faultWriter) Write(p []byte) (int, error) {
	s := w.s
	s.mu.Lock()
	split, coalesce, garbage := s.faults.Split, s.faults.Coalesce, s.faults.Garbage
	var noise []byte
	if garbage && len(p) > 1 { // between frames, not before an ACK
		n := 1 + s.rng.IntN(12)
		for i := 0; i < n; i++ {
			noise = append(noise, noiseBytes[s.rng.IntN(len(noiseBytes))])
		}
	}
	var cuts []int
	if split {
		for i := 0; i < len(noise)+len(p); {
			i += 1 + s.rng.IntN(6)
			cuts = append(cuts, i)
		}
	}
	s.mu.Unlock()
	data := append(noise, p...)
	w.mu.Lock()
	defer w.mu.Unlock()
	if coalesce && len(p) > 1 {
		w.hold = append(w.hold, data...)
		if len(w.hold) > 256 {
			return len(p), w.flushLocked()
		}
		if w.timer == nil {
			w.timer = time.AfterFunc(10*time.Millisecond, func() {
				w.mu.Lock()
				w.flushLocked()
				w.mu.Unlock()
			})
		}
		return len(p), nil
	}
	if err := w.flushLocked(); err != nil {
		return 0, err
	}
	if !split {
		if _, err := w.rwc.Write(data); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	prev := 0
	for _, c := range cuts {
		c = min(c, len(data))
		if _, err := w.rwc.Write(data[prev:c]); err != nil {
			return 0, err
		}
		prev = c
		time.Sleep(200 * time.Microsecond) // let the reader see the piece alone
	}
	return len(p), nil
}

func (w *faultWriter) flushLocked() error {
	if w.timer != nil {
		w.timer.Stop()
		w.timer = nil
	}
	if len(w.hold) == 0 {
		return nil
	}
	data := w.hold
	w.hold = nil
	_, err := w.rwc.Write(data)
	return err
}
