package console

// SetBulkMax sets the most entries one action by filter moves, for a test;
// the function returned restores it.
func SetBulkMax(n int) (restore func()) {
	old := bulkMax
	bulkMax = n
	return func() { bulkMax = old }
}

// CompareHash lets the tests count the bcrypt checks a login makes.
var CompareHash = &compareHash

// SessionFor makes a logged-in session of user, as a login would, and
// returns its cookie's value: for tests whose console cannot serve the
// login pages.
func (s *Server) SessionFor(user, role string) string {
	id, _ := s.sessions.create(user, role)
	return id
}
