// Package store is callgate's journal on bbolt: it implements the
// gateway.Journal, gateway.Queries and gateway.Users interfaces.
//
// # An event log with projections
//
// Every fact is an event appended to one log (bucket "events"): a raw record
// read, its parse and rating, each state change of an entry, each replay
// dropped, each guest event from the PMS, each audit record, each retention
// run. An event has a sequence number (from 1, no gaps, never reused), the
// entry it belongs to (0 for none), its kind, its time (UTC, and the site's
// wall clock), its actor and reason, the state change it makes, its data as
// JSON, and a hash. Events are never rewritten; retention removes whole
// closed entries with their events and leaves the hash chain intact (see
// below).
//
// Everything else except guest records and console users is a projection of the
// log: each entry's current state, the indices, the counts, the posting
// number counter, the replay index, the rooms and their guests. Every write
// appends its event(s) and applies them to the projections with the same code
// in the same bbolt transaction, and Rebuild (or Verify, into a scratch file)
// replays the log through that code: rebuilt equals stored by construction,
// and the tests check it.
//
// # Hashes
//
// The hash of event n is SHA-256(hash of event n-1 ‖ stored JSON of event n),
// and the "hash of event 0" is SHA-256("callgate journal " + chain epoch),
// the file's first epoch (meta chain_epoch; absent: epoch; see epoch.go and
// docs/journal.md "Epochs"). The chain binds every event to its
// predecessors and to the journal's first epoch: a
// changed byte, a removed event or a swapped pair breaks the hash of the
// event and of the one after it, and Verify names it. The stored JSON is
// hashed as stored, so verification never depends on re-encoding; `gateway
// journal events` prints that JSON with "epoch" and "hash" appended.
//
// Retention deletes events from the middle of the log. For each run of
// consecutive deleted sequence numbers it keeps, in bucket "pruned", the last
// number of the run and the hash of its last event, so the chain still
// verifies across the hole and a hole that is not a recorded run is reported
// as missing events. A chain protects against accidents and casual edits; it
// is no proof against someone who can rewrite the whole file, which is what
// shipping each property's log (epoch, seq, hash) to a central server will
// give.
//
// # Buckets (schema 4)
//
//	meta          schema, epoch, created, head (last seq ‖ its hash),
//	              file_id, and after a replaced file's new epoch
//	              chain_epoch and follows (JSON); copy on a backup's copy;
//	              and projected counters: entries (last id), posting
//	              (last P#), replays, resync, night_audit
//	events        seq(8) → hash(32) ‖ JSON                  the log
//	pruned        first seq(8) → last seq(8) ‖ hash(32)     holes left by retention
//	entries       id(8) → entry record (binary, see record.go): state,
//	              index keys, raw record, and a compact copy of the
//	              current call and charge
//	entry_events  id(8) ‖ seq(8) → ∅                        an entry's events
//	by_time       time(8) ‖ id(8) → ∅                       time = call start (UTC µs), or read time
//	by_state      state ‖ 0 ‖ time(8) ‖ id(8) → ∅
//	by_room       room ‖ 0 ‖ time(8) ‖ id(8) → ∅
//	by_ext        extension ‖ 0 ‖ time(8) ‖ id(8) → ∅
//	by_posting    P#(4) ‖ id(8) → ∅                         every number an entry held
//	held          P#(4) → id(8)                             numbers held by unresolved entries
//	counts        state → count(8)
//	totals        slot(8) → entries(8)                      running totals per quarter hour of entry
//	              slot(8) ‖ class ‖ 0 ‖ currency →          time (totals.go); slot = µs / 900e6, floored,
//	              calls(8) ‖ revenue(8)                     sign bit flipped
//	replay        SHA-256(raw)(32) → id(8) ‖ read time(8)
//	audit         seq(8) → ∅                                audit records and persons' moves
//	rooms         room → JSON list of stays (no names, no personal data)
//	stays         reservation → room
//	names         guest key → JSON guest record (names and personal data)
//	              not a projection: erased after check-out
//	users         name → JSON user            not a projection
//	tokens        token hash → name           index of users
//
// Integers in keys are big-endian, so cursors walk them in order; times in
// keys are Unix microseconds with the sign bit flipped.
//
// An entry record holds everything Queries.Entries returns except the
// history, so a listing decodes no event: the raw record is copied from the
// captured or imported event, and the call and charge from the event that
// last set them, as the log's JSON keeps them (whole seconds, text that is
// not UTF-8 replaced), so that a live write and a rebuild store the same
// bytes. Schema 1 kept the sequence numbers of those events instead; opening
// a schema-1 journal rewrites its entry records (migrate.go), in the one
// transaction that records schema 2. Schema 3 adds the totals, made from the
// entry records when a schema-2 journal is opened. Schema 4 moves a guest's
// personal data (language, VIP, group, no-post flag, class of service) from
// the stays in "rooms" to the guest record in "names", which guest events
// written since no longer carry (docs/journal.md, "Guest records").
//
// # Durability and concurrency
//
// Every write returns once its transaction is committed (two fsyncs); nothing
// uses NoSync. The journal's writes go through one committer, which runs the
// writes that arrive while a commit is syncing in the next transaction
// together (group commit, see commit.go): a lone write commits at once, and
// writers that come together share fsyncs instead of queueing for them. The
// free-page list is written at every commit (no NoFreelistSync): without it
// Open would walk every page of the file, slow and memory-hungry on a journal
// of years.
// Reads are short View transactions and copy what they return. bbolt lets
// any number of readers run beside the one writer. Open takes the file's
// lock with a timeout, so a second gateway (or a `gateway journal` command
// on a running gateway's journal) fails at once with a sentence saying so.
package store
