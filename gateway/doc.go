// Package gateway is the centre of callgate: the vocabulary every other package
// speaks, the small interfaces the engine consumes, and the [Engine] that moves
// each call from the PBX to the guest's folio. It imports no other package of
// this module; the adapters (pbx, pms, store, tariff) import it and never each
// other, and cmd/gateway wires them together.
//
// # The engine
//
// [Engine] runs concurrent loops over the interfaces of this package. The
// capture loop reads the [CallSource] and commits each raw record to the
// [Journal] before anything else, dropping records the PBX replays. The
// decide step parses the record ([RecordParser]), prices it ([Rater]),
// resolves the extension to a room ([RoomMap]), looks up who stays there
// ([Queries]) and decides once: not chargeable, exception, or queued for
// posting — the rating and the decision in one journal commit. The post loop
// sends queued postings through the [PMSLink] one at a time, oldest call
// first, journaling each as sent before it is written and journaling the
// PMS's answer: posted, refused, back to the queue with back-off (the PMS said
// "not now"), or in doubt (no answer came). A watch loop follows the link
// (asking the PMS for a resync when the journal has no guest data), raises
// alarms and tidies the journal daily; a guest loop journals the PMS's guest
// events. On start the engine resolves what a previous run left: a posting
// left sent is in doubt, records left captured or rated go on.
//
// # The flow of one call
//
// A hotel's phone system (the PBX) prints one line for every finished call on a
// serial port or a TCP socket: its SMDR (station message detail recording) or
// CDR (call detail record) stream. callgate moves each such line to the guest's
// bill like this:
//
//  1. PBX record. A transport in package pbx reads bytes from the PBX and frames
//     them into raw records ([RawRecord]), one per printed line.
//  2. Journal. The raw bytes are committed to the journal (package store, bbolt,
//     fsync) before anything else happens to them, so a record that was read is
//     never lost, whatever happens next.
//  3. Parse. The PBX's format parser turns the raw record into a normalized
//     [Call]: extension, dialed number, start, connected seconds, direction,
//     trunk, account code. Lines that are not calls (page headers, summaries) are
//     skipped; lines that should be calls but cannot be read become exceptions.
//  4. Rate. The tariff (package tariff) prices the call: the carrier's cost, the
//     hotel's markup, surcharge and tax, all in integer minor units ([Charge]).
//  5. Room. The extension is mapped to a room and the room to the guest staying
//     in it, as the PMS reported through its guest events.
//  6. FIAS posting. The charge is sent to the PMS (Oracle OPERA and others) as a
//     FIAS posting record with a posting number ([PostRequest]); the PMS's answer
//     decides the posting's final state.
//  7. Night audit. The night auditor reconciles the day in the console: every
//     call charged once, every exception and every posting in doubt resolved by
//     a person, with the reason kept in the audit log.
//
// # Hotel vocabulary
//
//   - SMDR / CDR: the call records a PBX prints, one line per call (or per call
//     segment), in a layout of the vendor's choosing.
//   - Extension: an internal phone number. Guest rooms usually have extensions
//     equal to the room number; admin extensions are accounted but never posted.
//   - Trunk: a line to the public network (an analog line, an ISDN channel, a SIP
//     channel). Outgoing calls seize a trunk; trunk use is what the carrier bills.
//   - Folio: a guest's bill in the PMS; call charges are posted to it.
//   - Posting: one charge sent to a folio over the PMS interface (FIAS "PS"
//     record), identified by a posting number (FIAS "P#") and answered by the PMS
//     (FIAS "PA"): accepted, refused, or never answered.
//   - Night audit: the PMS's daily close. The PMS refuses or delays postings while
//     it runs; the auditor then checks the day's calls against the folios.
//   - In doubt: a posting that was sent but whose answer never came (the link
//     dropped, the gateway was killed). FIAS has no duplicate protection, so such
//     a posting is never re-sent automatically: a person looks at the folio and
//     decides whether it was booked.
//
// # Invariants
//
// Nothing read is lost; nothing is charged twice; postings for one room reach the
// PMS in call order, one at a time; bad input is quarantined, never fatal; money
// is integer minor units; every manual action is audited; guest names expire.
// docs/design.md in the repository explains the flow, the packages and these
// invariants; docs/journal.md the journal's events and states;
// docs/posting-safety.md what happens to a posting whose answer never came.
package gateway
