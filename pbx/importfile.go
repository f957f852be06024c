package pbx

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"callgate/gateway"
)

// Progress is told how far an import has read its file (a progress bar).
type Progress interface {
	Set64(done int64) error
	Finish() error
}

// ImportFile reads the SMDR file name once, framed as format frames it, into
// im (gateway import). received dates records that print no year or date;
// zero means the file's modification time. progress, if not nil, is called
// with the file's size and returns what is told how far the reading is. It
// returns the file's size, -1 if the file could not be opened.
func ImportFile(ctx context.Context, im *gateway.Importer, name string, format Format, received time.Time, progress func(size int64) Progress) (int64, error) {
	st, err := os.Stat(name)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return -1, fmt.Errorf("cannot read %s: %w", name, err)
	}
	if received.IsZero() {
		received = st.ModTime()
	}
	received = received.UTC()
	src, err := ReadFile(name, SourceOptions{LengthPrefixed: format.LengthPrefixed, IdleFlush: -1, Silence: -1,
		Now: func() time.Time { return received }})
	if err != nil {
		return -1, err
	}
	defer src.Close()
	var bar Progress
	if progress != nil {
		bar = progress(st.Size())
	}
	source := "import " + name
	err = im.ReadAll(ctx, sourceFunc(func(ctx context.Context) (gateway.RawRecord, error) {
		rec, err := src.Read(ctx)
		rec.Source = source
		if bar != nil && err == nil {
			bar.Set64(src.Stats().Bytes)
		}
		return rec, err
	}))
	if bar != nil {
		bar.Finish()
	}
	if err != nil && !strings.Contains(err.Error(), name) {
		// The journal's errors do not name the file; the file's own do.
		err = fmt.Errorf("importing %s: %w", name, err)
	}
	if err != nil {
		return st.Size(), err
	}
	return st.Size(), nil
}

// sourceFunc is a gateway.CallSource reading through a function.
type sourceFunc func(ctx context.Context) (gateway.RawRecord, error)

func (f sourceFunc) Read(ctx context.Context) (gateway.RawRecord, error) { return f(ctx) }
func (f sourceFunc) Close() error                                        { return nil }
