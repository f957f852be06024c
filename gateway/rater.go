package gateway

import "errors"

// ErrNotCall is returned by a RecordParser for a line that is not a call
// record: a header, a page title, a summary, an information-only line.
var ErrNotCall = errors.New("not a call record")

// RecordParser turns the raw records of one PBX stream into calls. Parse
// returns:
//  1. the call and nil;
//  2. ErrNotCall for a line that is not a call record (it is journaled and
//     skipped, not an exception);
//  3. an error of kind invalid saying why a line that should be a call cannot
//     be read (the entry becomes an exception with that reason).
//
// Parse never panics. A RecordParser may keep state between records of its
// stream, so each stream has its own and it is not safe for concurrent use.
type RecordParser interface {
	Parse(RawRecord) (Call, error)
}

// Rater prices calls: the tariff in force. Rate returns the charge, with
// rating exceptions (unknown destination, …) inside it; an error only for a
// call the tariff cannot price at all (kind invalid). A Rater is safe for
// concurrent use and never changes: a reload makes a new one.
type Rater interface {
	Rate(Call) (Charge, error)
}
