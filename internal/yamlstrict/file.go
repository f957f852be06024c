package yamlstrict

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// The most the gateway reads of its files (docs/tariff.md, "Limits"): a
// config or tariff file of YAML is a few kilobytes to a few megabytes; a
// carrier's CSV destination deck of 100,000 prefixes is about 5 MB.
const (
	MaxYAML = 4 << 20  // a config or tariff file
	MaxDeck = 64 << 20 // a CSV destination list
)

// ReadFile reads the file at path whole, if it is a regular file of at most
// limit bytes. A device (/dev/zero), folder, pipe or socket is refused
// before it is read, and so is a larger file: the error names the path and
// what to do, never the file's content.
func ReadFile(path string, limit int64) ([]byte, error) {
	f, err := Open(path, limit)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// Open opens the file at path for reading at most limit bytes: a regular
// file, else an error naming the path and the fix. Reading past limit
// fails with an error that says so.
func Open(path string, limit int64) (io.ReadCloser, error) {
	// Stat before opening: opening a named pipe would wait for a writer.
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := regular(path, st, limit); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	// The file may have been replaced since: check what was opened.
	if st, err = f.Stat(); err == nil {
		err = regular(path, st, limit)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return &capped{f: f, path: path, limit: limit, left: limit}, nil
}

// ErrTooLarge is what a file larger than its limit fails with (errors.Is).
var ErrTooLarge = errors.New("file too large")

type tooLarge struct {
	path  string
	limit int64
}

func (e tooLarge) Error() string {
	return fmt.Sprintf("%s is larger than %s, the most the gateway reads: name the right file, or split it (a long destination list goes in a CSV file)", e.path, size(e.limit))
}

func (e tooLarge) Is(target error) bool { return target == ErrTooLarge }

func regular(path string, st fs.FileInfo, limit int64) error {
	m := st.Mode()
	if !m.IsRegular() {
		what := "not a regular file"
		switch {
		case m.IsDir():
			what = "a folder"
		case m&fs.ModeDevice != 0:
			what = "a device"
		case m&fs.ModeNamedPipe != 0:
			what = "a named pipe"
		case m&fs.ModeSocket != 0:
			what = "a socket"
		}
		return fmt.Errorf("%s is %s, not a file: name the file itself", path, what)
	}
	if st.Size() > limit {
		return tooLarge{path, limit}
	}
	return nil
}

func size(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// capped reads a file and fails once more than its limit has been read (a
// file that grew after it was opened).
type capped struct {
	f           *os.File
	path        string
	limit, left int64
}

// Read reads at most one byte past the limit, to tell a file of exactly
// limit bytes from a larger one.
func (c *capped) Read(p []byte) (int, error) {
	if c.left < 0 {
		return 0, tooLarge{c.path, c.limit}
	}
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.f.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		return n - 1, tooLarge{c.path, c.limit}
	}
	return n, err
}

func (c *capped) Close() error { return c.f.Close() }
