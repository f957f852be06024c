package report

import "time"

// Delivery is the state of one report sent by e-mail on a schedule (the
// config's reports: entries), for the console's dashboard.
type Delivery struct {
	Report    string
	Period    string
	To        []string
	Schedule  string
	Next      time.Time // the next run
	LastRun   time.Time // the last attempt, zero if none
	LastOK    time.Time // the last report sent
	LastError string    // the last attempt's error, "" after a success
	Failures  int       // attempts failed in a row
}
