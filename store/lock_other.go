//go:build !linux

package store

// lockHolder would name the process holding path's lock; only Linux says.
func lockHolder(string) string { return "pid unknown" }
