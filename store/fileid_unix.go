//go:build unix

package store

import (
	"fmt"
	"os"
	"syscall"
)

// identityOf is the file's inode, device and absolute path abs (see
// fileIdentity); sameFile compares the inodes.
func identityOf(path, abs string) string {
	st, err := os.Stat(path)
	if err != nil {
		return ""
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	return fmt.Sprintf("inode %d device %d path %s", uint64(sys.Ino), uint64(sys.Dev), abs)
}

// lockFile takes path's exclusive lock (the one a writing gateway holds)
// without waiting: false when another process holds it.
func lockFile(f *os.File) (bool, error) {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if err == syscall.EWOULDBLOCK {
		return false, nil
	}
	return err == nil, err
}
