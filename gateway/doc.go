// Package gateway is the centre of callgate: the vocabulary every other package
// speaks, the small interfaces the engine consumes, and (as later work lands) the
// engine itself. It imports no other package of this module; the adapters (pbx,
// pms, store, tariff) import it and never each other, and cmd/gateway wires them
// together.
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
//     FIAS posting record with a posting number ([Posting]); the PMS's answer
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
// See DESIGN.md.
package gateway
