package pbx

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/internal/testutil"
)

func appendTo(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

func follow(t *testing.T, o FileOptions, so SourceOptions) *FileSource {
	t.Helper()
	if o.Poll == 0 {
		o.Poll = 20 * time.Millisecond
	}
	so.Logger = testLog(t, nil)
	s, err := FollowFile(o, so)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func expect(t *testing.T, src Source, want ...string) {
	t.Helper()
	got := readN(t, src, len(want), 5*time.Second)
	if !slices.Equal(datas(got), want) {
		t.Fatalf("got %q, want %q", datas(got), want)
	}
}

// TestFollowAppend: following from the end skips the records already in
// the file but not the start of the unfinished last line, then reads what is
// appended.
func TestFollowAppend(t *testing.T) {
	path := filepath.Join(t.TempDir(), "Master.csv")
	appendTo(t, path, "OLD 1\nOLD 2\nOLD 3 par")
	src := follow(t, FileOptions{Path: path}, SourceOptions{})
	testutil.WaitFor(t, 3*time.Second, "the file open", func() bool { return src.Stats().Connected == 1 })
	appendTo(t, path, "tial\nNEW 1\n")
	expect(t, src, "OLD 3 partial", "NEW 1")
	appendTo(t, path, "NEW 2\r\nNEW 3\r\n")
	expect(t, src, "NEW 2", "NEW 3")
	if st := src.Stats(); st.Records != 4 || st.Connections != 1 || st.Reconnects != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestFollowFromStart reads what the file holds, then follows it.
func TestFollowFromStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cdr.log")
	appendTo(t, path, "ONE\nTWO\n")
	src := follow(t, FileOptions{Path: path, FromStart: true}, SourceOptions{})
	expect(t, src, "ONE", "TWO")
	appendTo(t, path, "THREE\n")
	expect(t, src, "THREE")
}

// TestFollowRotation: the file is renamed away, a last record is added to
// it, and a new file takes its name: the old file is finished first, then
// the new one is read from its start.
func TestFollowRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "smdr.log")
	appendTo(t, path, "")
	src := follow(t, FileOptions{Path: path, Poll: 200 * time.Millisecond}, SourceOptions{})
	testutil.WaitFor(t, 3*time.Second, "the file open", func() bool { return src.Stats().Connected == 1 })
	appendTo(t, path, "BEFORE 1\n")
	expect(t, src, "BEFORE 1")

	// Within one poll interval: rename, the writer's last line to the old
	// file, the new file.
	old, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	old.WriteString("LAST OF OLD\nOLD UNFINISHED")
	old.Close()
	appendTo(t, path, "NEW 1\nNEW 2\n")
	expect(t, src, "LAST OF OLD", "OLD UNFINISHED", "NEW 1", "NEW 2")
	appendTo(t, path, "NEW 3\n")
	expect(t, src, "NEW 3")
	if st := src.Stats(); st.Connections != 2 || st.Reconnects != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestFollowRenameThenCreate: the name is missing for a while between the
// rename and the new file; the old file is kept until the new one appears.
func TestFollowRenameThenCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "smdr.log")
	appendTo(t, path, "")
	src := follow(t, FileOptions{Path: path}, SourceOptions{})
	testutil.WaitFor(t, 3*time.Second, "the file open", func() bool { return src.Stats().Connected == 1 })
	os.Rename(path, path+".1")
	appendTo(t, path+".1", "LATE OLD\n")
	expect(t, src, "LATE OLD")
	appendTo(t, path, "NEW\n")
	expect(t, src, "NEW")
}

// TestFollowTruncate: logrotate's copytruncate empties the file in place;
// the follower starts again from the start of it.
func TestFollowTruncate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "smdr.log")
	appendTo(t, path, "")
	src := follow(t, FileOptions{Path: path}, SourceOptions{})
	testutil.WaitFor(t, 3*time.Second, "the file open", func() bool { return src.Stats().Connected == 1 })
	appendTo(t, path, "A FIRST RECORD OF SOME LENGTH\nA SECOND RECORD OF SOME LENGTH\n")
	expect(t, src, "A FIRST RECORD OF SOME LENGTH", "A SECOND RECORD OF SOME LENGTH")
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	appendTo(t, path, "AFTER\n")
	expect(t, src, "AFTER")
	appendTo(t, path, "AFTER 2\n")
	expect(t, src, "AFTER 2")
	if st := src.Stats(); st.Reconnects != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestFollowMissing: a file that does not exist yet is waited for and read
// from its start when it appears.
func TestFollowMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "later.log")
	src := follow(t, FileOptions{Path: path}, SourceOptions{})
	waitRetries(t, src.base, 2) // two attempts to open it failed
	if st := src.Stats(); st.Connected != 0 {
		t.Fatalf("stats %+v", st)
	}
	appendTo(t, path, "FIRST\nSECOND\n")
	expect(t, src, "FIRST", "SECOND")
}

// TestReadFile: a file read once gives its records, its unfinished last line
// as a record, then io.EOF for good.
func TestReadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.txt")
	os.WriteFile(path, []byte("ONE\r\n\x00TWO\r\nTHREE"), 0o644)
	src, err := ReadFile(path, SourceOptions{Logger: testLog(t, nil), QueueSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	got, err := readAll(src)
	if !errors.Is(err, io.EOF) || !slices.Equal(datas(got), []string{"ONE", "TWO", "THREE"}) {
		t.Fatalf("got %q, %v", datas(got), err)
	}
	if _, err := src.Read(context.Background()); !errors.Is(err, io.EOF) {
		t.Fatalf("Read after the end: %v", err)
	}
	if got[0].Source != "file "+path {
		t.Errorf("Source %q", got[0].Source)
	}
	if st := src.Stats(); st.Records != 3 || st.ControlBytes != 1 || st.Silent {
		t.Errorf("stats %+v", st)
	}

	if _, err := ReadFile(filepath.Join(t.TempDir(), "nope"), SourceOptions{}); gateway.KindOf(err) != gateway.KindNotFound {
		t.Errorf("missing file: %v", err)
	}
}

// TestReadFileClose: closing a file source mid-way ends Read with ErrClosed
// once the queued records are read.
func TestReadFileClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.txt")
	var data []byte
	for _, l := range smdrLines("big", 1000) {
		data = append(data, l+"\n"...)
	}
	os.WriteFile(path, data, 0o644)
	src, err := ReadFile(path, SourceOptions{QueueSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	readN(t, src, 10, 3*time.Second)
	src.Close()
	got, err := readAll(src)
	if !errors.Is(err, ErrClosed) || len(got) > 990 {
		t.Fatalf("%d more records, then %v", len(got), err)
	}
}

// TestFollowNotices: with a poll of an hour, only the system's change
// notices can make the follower look: an append, a new file renamed over
// the name (as a CDR file delivered by SFTP appears), a truncation and a
// file that appears where there was none are each read at once.
func TestFollowNotices(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cdr_current")
	appendTo(t, path, "")
	src := follow(t, FileOptions{Path: path, Poll: time.Hour}, SourceOptions{})
	if src.watcher == nil {
		if runtime.GOOS == "linux" {
			t.Fatal("no change notices (inotify) on Linux")
		}
		t.Skip("no change notices on this system: the poll is all there is")
	}
	testutil.WaitFor(t, 3*time.Second, "the file open", func() bool { return src.Stats().Connected == 1 })
	appendTo(t, path, "APPENDED\n")
	expect(t, src, "APPENDED")

	next := filepath.Join(dir, "cdr_next")
	appendTo(t, next, "NEW FILE 1\nNEW FILE 2\n")
	if err := os.Rename(next, path); err != nil {
		t.Fatal(err)
	}
	expect(t, src, "NEW FILE 1", "NEW FILE 2")

	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	appendTo(t, path, "AFTER\n")
	expect(t, src, "AFTER")

	// A file that appears after the first attempt to open it failed (the
	// log says so before the source waits).
	var logged syncBuffer
	missing := filepath.Join(t.TempDir(), "later.log")
	late, err := FollowFile(FileOptions{Path: missing, Poll: time.Hour}, SourceOptions{Logger: testLog(t, &logged)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { late.Close() })
	testutil.WaitFor(t, 5*time.Second, "the first attempt to open the file failed", func() bool {
		return strings.Contains(logged.String(), "waiting for the PBX file to appear")
	})
	appendTo(t, missing, "FIRST\n")
	expect(t, late, "FIRST")
}

// TestFollowPollOnly: without change notices (a network share, the
// system's watch limit reached) the poll still finds appends and a file
// renamed over the name.
func TestFollowPollOnly(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cdr_current")
	appendTo(t, path, "")
	src := follow(t, FileOptions{Path: path, NoNotify: true}, SourceOptions{})
	if src.watcher != nil {
		t.Fatal("watching the folder with NoNotify set")
	}
	testutil.WaitFor(t, 3*time.Second, "the file open", func() bool { return src.Stats().Connected == 1 })
	appendTo(t, path, "APPENDED\n")
	expect(t, src, "APPENDED")
	next := filepath.Join(dir, "cdr_next")
	appendTo(t, next, "NEW FILE\n")
	if err := os.Rename(next, path); err != nil {
		t.Fatal(err)
	}
	expect(t, src, "NEW FILE")
}
