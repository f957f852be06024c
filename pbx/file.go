package pbx

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"callgate/gateway"
)

// DefaultFilePoll is how often a followed file is checked for new data
// when no change notice comes (see FollowFile).
const DefaultFilePoll = 250 * time.Millisecond

// FileOptions configures the file transport: a PBX or call server that
// writes its records to a file (Asterisk Master.csv, 3CX cdr.log, a capture
// made by another collector).
type FileOptions struct {
	Path string
	// FromStart makes FollowFile read what the file already holds before
	// following it; by default it starts at the end (at the start of the
	// last, unfinished line, if any). A file that does not exist yet is read
	// from its beginning once it appears.
	FromStart bool
	// Poll is how often the file is checked for growth, truncation and
	// replacement when no change notice comes; 0 means 250 ms.
	Poll time.Duration
	// NoNotify turns the change notices off: the file is only polled (a
	// test of the fallback).
	NoNotify bool
}

// FileSource reads records from a file: followed like tail -F (FollowFile)
// or read once to its end (ReadFile).
type FileSource struct {
	*base
	opts FileOptions

	mu sync.Mutex
	f  *os.File // the open file, nil while there is none

	// changed gets a value when the system reports a change to the file's
	// name in its folder (written, truncated, created, renamed over,
	// removed); the poll is the fallback (see FollowFile).
	changed chan struct{}
	watcher *fsnotify.Watcher // nil when polling only
}

var _ Source = (*FileSource)(nil)

var (
	errRotated   = errors.New("file replaced")
	errTruncated = errors.New("file truncated")
)

// FollowFile follows a file like tail -F: it reads what is appended; when
// the file shrinks (truncated in place, as logrotate's copytruncate does) it
// reads it again from the start; when another file takes its name (renamed
// away and created anew) it finishes the old file and reads the new one from
// the start; a missing file is waited for. A truncation followed, before the
// next look, by writes past the old size cannot be told from growth. A
// partial last line of a replaced file is delivered as it is.
//
// Changes are noticed at once where the system reports them (inotify on
// Linux, through fsnotify: the file's folder is watched, so that a file
// created or renamed over the name is seen too), and by polling every
// Poll in any case: notices do not come for a file changed over a network
// share by another machine, or when the system's watch limit is reached.
// See docs/pbx-formats.md "Transports".
func FollowFile(o FileOptions, so SourceOptions) (*FileSource, error) {
	if o.Path == "" {
		return nil, gateway.Errorf(gateway.KindInvalid, "file: no path given")
	}
	if o.Poll <= 0 {
		o.Poll = DefaultFilePoll
	}
	s := &FileSource{base: newBase("file", o.Path, so, true), opts: o, changed: make(chan struct{}, 1)}
	if !o.NoNotify {
		s.watch()
	}
	s.wg.Add(1)
	go s.follow()
	return s, nil
}

// watch asks the system for notices of changes in the file's folder; where
// it cannot, the file is polled only.
func (s *FileSource) watch() {
	w, err := fsnotify.NewWatcher()
	if err == nil {
		if err = w.Add(filepath.Dir(s.opts.Path)); err != nil {
			w.Close()
		}
	}
	if err != nil {
		s.log.Info().Err(err).Dur("poll", s.opts.Poll).Msg("no change notices for the PBX file's folder: polling it")
		return
	}
	s.watcher = w
	name := filepath.Clean(s.opts.Path)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			select {
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if filepath.Clean(ev.Name) == name {
					signal(s.changed)
				}
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				// A lost notice (the system's queue overflowed) is made
				// up for by a look now; the poll stays.
				s.log.Debug().Err(err).Msg("change notices for the PBX file")
				signal(s.changed)
			}
		}
	}()
}

// wait waits d, or less when the file's name changes, and reports whether
// the source is still open.
func (s *FileSource) wait(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.changed:
		return true
	case <-s.stopped.Done():
		return false
	}
}

// ReadFile reads a whole file once (a history import, `gateway parse`):
// Read returns its records and then io.EOF. A partial last line is
// delivered as a record.
func ReadFile(path string, so SourceOptions) (*FileSource, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, gateway.Errorf(gateway.KindNotFound, "cannot read %s: no such file", path)
		}
		return nil, gateway.Errorf(gateway.KindInvalid, "cannot read %s: %w", path, pathCause(err))
	}
	s := &FileSource{base: newBase("file", path, so, false), opts: FileOptions{Path: path}, f: f}
	s.wg.Add(1)
	go s.readOnce(f)
	return s, nil
}

// Close closes the file; a Read in progress returns.
func (s *FileSource) Close() error {
	s.shutdown(func() {
		s.mu.Lock()
		if s.f != nil {
			s.f.Close()
		}
		s.mu.Unlock()
		if s.watcher != nil {
			s.watcher.Close()
		}
	})
	return nil
}

func (s *FileSource) setFile(f *os.File) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f != nil && s.stopping() {
		return false
	}
	s.f = f
	return true
}

// onceConn reads a file to its end.
type onceConn struct{ f *os.File }

func (c onceConn) Read(p []byte) (int, error) {
	n, err := c.f.Read(p)
	if n > 0 {
		return n, nil
	}
	if err == nil {
		err = io.EOF
	}
	return 0, err
}

func (s *FileSource) readOnce(f *os.File) {
	defer s.wg.Done()
	s.opened(false)
	s.log.Debug().Msg("reading PBX file")
	_, err := s.pump(onceConn{f}, "file "+s.opts.Path, false)
	s.setFile(nil)
	f.Close()
	s.closed()
	switch {
	case s.stopping():
		// Close ends the queue with ErrClosed.
	case errors.Is(err, io.EOF):
		s.q.end(io.EOF)
	default:
		s.log.Warn().Err(err).Msg("reading the PBX file failed")
		s.q.end(gateway.Errorf(gateway.KindInternal, "reading %s: %w", s.opts.Path, pathCause(err)))
	}
}

// followConn reads a followed file: at its end it checks whether the file
// was truncated or replaced, else waits one poll interval.
type followConn struct {
	s    *FileSource
	f    *os.File
	pos  int64 // offset of the next byte to read
	poll time.Duration
}

func (c *followConn) Read(p []byte) (int, error) {
	n, err := c.f.Read(p)
	if n > 0 {
		c.pos += int64(n)
		return n, nil
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, err
	}
	cur, err := c.f.Stat()
	if err != nil {
		return 0, err
	}
	if cur.Size() < c.pos {
		return 0, errTruncated
	}
	if named, err := os.Stat(c.s.opts.Path); err == nil && !os.SameFile(named, cur) {
		// Another file has the name now. Finish this one first: its writer
		// may have added to it since the read above.
		n, _ := c.f.Read(p)
		if n > 0 {
			c.pos += int64(n)
			return n, nil
		}
		return 0, errRotated
	}
	// A missing name (renamed away, not yet recreated) keeps us on the old
	// file until the new one appears.
	if !c.s.wait(c.poll) {
		return 0, ErrClosed
	}
	return 0, nil
}

func (s *FileSource) follow() {
	defer s.wg.Done()
	source := "file " + s.opts.Path
	atStart := !s.opts.FromStart // the first open starts at the end
	reconnect := false
	waiting := ""
	for {
		f, err := os.Open(s.opts.Path)
		if err != nil {
			if err.Error() != waiting {
				waiting = err.Error()
				s.log.Warn().Err(err).Msg("waiting for the PBX file to appear")
			}
			atStart = false // when it appears, everything in it is new
			signal(s.retried)
			if !s.wait(s.opts.Poll) {
				return
			}
			continue
		}
		waiting = ""
		var off int64
		if atStart {
			off = lastLineStart(f, s.maxRecord())
		}
		atStart = false
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			f.Close()
			s.log.Warn().Err(err).Msg("cannot seek in the PBX file")
			if !s.retryAfter(s.opts.Poll) {
				return
			}
			continue
		}
		if !s.setFile(f) {
			f.Close()
			return
		}
		s.opened(reconnect)
		s.log.Info().Int64("offset", off).Bool("reopened", reconnect).Msg("following the PBX file")
		_, err = s.pump(&followConn{s: s, f: f, pos: off, poll: s.opts.Poll}, source, false)
		s.setFile(nil)
		f.Close()
		s.closed()
		if s.stopping() {
			return
		}
		reconnect = true
		switch {
		case errors.Is(err, errRotated):
			s.log.Info().Msg("PBX file replaced (rotated): reading the new one from the start")
		case errors.Is(err, errTruncated):
			s.log.Info().Msg("PBX file truncated: reading it again from the start")
		default:
			s.log.Warn().Err(err).Msg("reading the PBX file failed; reopening")
			if !s.retryAfter(s.opts.Poll) {
				return
			}
		}
	}
}

// lastLineStart returns where following f should start: its end, or, if its
// last line is unfinished (being written now), the start of that line.
func lastLineStart(f *os.File, max int) int64 {
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return 0
	}
	size := fi.Size()
	n := int64(max)
	if n > size {
		n = size
	}
	tail := make([]byte, n)
	if _, err := f.ReadAt(tail, size-n); err != nil {
		return size
	}
	if i := bytes.LastIndexAny(tail, "\r\n\f"); i >= 0 {
		return size - n + int64(i) + 1
	}
	if n == size {
		return 0 // one unfinished line: the whole file
	}
	return size
}

// pathCause is err without the operation and path an *os.PathError
// repeats, for a message that names the path itself ("reading X: is a
// directory", not "reading X: read X: is a directory").
func pathCause(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
