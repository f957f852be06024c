package store

// HoldWriter opens a write transaction on j's file and keeps it, holding
// bbolt's writer lock, until release is called: for the test that reads
// the shipper's way must not wait for a writer.
func HoldWriter(j *Journal) (release func(), err error) {
	tx, err := j.db.Begin(true)
	if err != nil {
		return nil, err
	}
	return func() { tx.Rollback() }, nil
}
