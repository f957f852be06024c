//go:build unix

package store_test

import "syscall"

// cpuNow is the CPU time (user + system) the process has used, in
// nanoseconds: the benchmarks report it beside wall time, which depends on
// what else the machine runs.
func cpuNow() int64 {
	var u syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &u) != nil {
		return 0
	}
	return u.Utime.Nano() + u.Stime.Nano()
}
