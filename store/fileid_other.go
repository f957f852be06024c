//go:build !unix

package store

import "os"

// identityOf knows no inode here: only copies marked as such start a new
// epoch (docs/journal.md, "Epochs").
func identityOf(string, string) string { return "" }

// lockFile cannot tell a running gateway here; it takes the file.
func lockFile(*os.File) (bool, error) { return true, nil }
