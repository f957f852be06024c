package fias

// OnAttempt makes the link opened with o call f after each attempt to
// connect that ended, with why it ended, once the status says so.
func OnAttempt(o *Options, f func(err error)) { o.attempted = f }
