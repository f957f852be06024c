//go:build unix

package yamlstrict

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReadFileFIFO: a named pipe is refused at once; opening it to read
// would wait for a writer.
func TestReadFileFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pipe")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skip(err)
	}
	done := make(chan error, 1)
	go func() { _, err := ReadFile(path, MaxYAML); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "is a named pipe, not a file") {
			t.Errorf("%v", err)
		}
	case <-time.After(10 * time.Second): // a bound: it answers at once
		t.Fatal("ReadFile waits on a named pipe")
	}
}
