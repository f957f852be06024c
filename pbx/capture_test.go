package pbx

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCapture(t *testing.T) {
	name := filepath.Join(t.TempDir(), "smdr.txt")
	if err := os.WriteFile(name, []byte("first line\nsecond line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	open := func() Source {
		src, err := ReadFile(name, SourceOptions{IdleFlush: -1, Silence: -1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { src.Close() })
		return src
	}
	// Raw: each record as framed, one a line; the end of the file is an
	// error like any other but a close.
	var b bytes.Buffer
	if err := Capture(context.Background(), open(), nil, &b); !errors.Is(err, io.EOF) || b.String() != "first line\nsecond line\n" {
		t.Errorf("raw: %v %q", err, b.String())
	}
	p, err := NewParser("avaya-ipo", Options{Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	b.Reset()
	if err := Capture(context.Background(), open(), p, &b); !errors.Is(err, io.EOF) || strings.Count(b.String(), `"raw":`) != 2 {
		t.Errorf("parsed: %v %q", err, b.String())
	}
	// A closed source ends the capture without an error. A followed file
	// never ends by itself, so only the close can end this one (a file read
	// once may already have queued its end before the close).
	src, err := FollowFile(FileOptions{Path: name}, SourceOptions{IdleFlush: -1, Silence: -1})
	if err != nil {
		t.Fatal(err)
	}
	src.Close()
	if err := Capture(context.Background(), src, nil, io.Discard); err != nil {
		t.Errorf("closed source: %v", err)
	}
}
