package console

// SetBulkMax sets the most entries one action by filter moves, for a test;
// the function returned restores it.
func SetBulkMax(n int) (restore func()) {
	old := bulkMax
	bulkMax = n
	return func() { bulkMax = old }
}
