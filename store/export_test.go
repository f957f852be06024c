package store

// ChainHash is chainHash, for the tamper test.
var ChainHash = chainHash

// Grouped returns the transactions the committer ran and the writes they
// held.
func Grouped(j *Journal) (commits, writes int64) {
	return j.commits.commits.Load(), j.commits.writes.Load()
}
