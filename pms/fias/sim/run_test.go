package sim

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"callgate/internal/testutil"
)

func TestParseRooms(t *testing.T) {
	got, err := ParseRooms("101-103, 0201-0202,PH1")
	if err != nil || strings.Join(got, " ") != "101 102 103 0201 0202 PH1" {
		t.Errorf("%v %v", got, err)
	}
	for _, bad := range []string{"160-101", "1-x", "a b"} {
		t.Run(bad, func(t *testing.T) {
			if _, err := ParseRooms(bad); err == nil {
				t.Errorf("%q accepted", bad)
			}
		})
	}
}

// TestRunConfigErrors: settings that cannot be used are usage errors named
// by their flag; a port that cannot be opened is not.
func TestRunConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		c     RunConfig
		usage bool
		msg   string
	}{
		{"rooms", RunConfig{Rooms: "9-1"}, true, "--rooms: "},
		{"vacant", RunConfig{Rooms: "101", Vacant: "a b"}, true, "--vacant: "},
		{"code page", RunConfig{Rooms: "101", CodePage: "ebcdic"}, true, "--code-page: "},
		{"transcript file", RunConfig{Rooms: "101", TranscriptFile: filepath.Join(t.TempDir(), "no", "dir")}, false, "cannot open the transcript file"},
		{"serial port", RunConfig{Rooms: "101", Serial: filepath.Join(t.TempDir(), "ttyNOPE")}, false, "ttyNOPE not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.c.Out, tc.c.In, tc.c.Logger = io.Discard, strings.NewReader(""), zerolog.Nop()
			err := Run(context.Background(), tc.c)
			var ue *UsageError
			if err == nil || errors.As(err, &ue) != tc.usage || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("%v (usage error %v), want %q (usage error %v)", err, errors.As(err, &ue), tc.msg, tc.usage)
			}
		})
	}
}

// TestRunConsole: Run listens, takes console commands and reports what
// they do, and returns when its context ends.
func TestRunConsole(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out testutil.Buffer
	inR, inW := io.Pipe()
	defer inW.Close()
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, RunConfig{Listen: "127.0.0.1:0", Rooms: "101-103", Vacant: "103", CodePage: "windows-1252",
			In: inR, Out: &out, Logger: zerolog.Nop()})
	}()
	testutil.WaitFor(t, 5*time.Second, "the simulator listening", func() bool {
		return bytes.Contains(out.Bytes(), []byte("PMS simulator listening on 127.0.0.1:"))
	})
	if !bytes.Contains(out.Bytes(), []byte("3 rooms (2 occupied)")) {
		t.Errorf("start line: %q", out.Bytes())
	}
	io.WriteString(inW, "ci 103 Tester\nguests\nfly\n")
	testutil.WaitFor(t, 5*time.Second, "the console's answers", func() bool {
		return bytes.Contains(out.Bytes(), []byte("fly: unknown command: type help"))
	})
	for _, want := range []string{"checked in reservation", "room 103 reservation", "Tester"} {
		if !bytes.Contains(out.Bytes(), []byte(want)) {
			t.Errorf("output lacks %q:\n%s", want, out.Bytes())
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return when its context ended")
	}
}
