//go:build !unix

package store_test

// cpuNow is 0 where getrusage is missing: the benchmarks then report no CPU time.
func cpuNow() int64 { return 0 }
