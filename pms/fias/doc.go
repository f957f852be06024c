// Package fias is callgate's link to a hotel PMS over FIAS, the record
// protocol of Oracle Hospitality's IFC8 interface program (OPERA, Suite8)
// that Protel and many other PMSs also speak. The gateway is the "vendor
// system"; IFC8 is always the peer, and on TCP always the server.
//
// Layers, bottom up:
//
//   - Framing (FIPS): every record travels as STX record ETX. On TCP that
//     is all (Deframer reassembles records split over reads or joined in
//     one, and skips noise). On RS-232 a record is followed by its LRC (XOR
//     of every byte after STX up to and including ETX) and answered ACK or
//     NAK within 3 s; a NAKed record is sent again up to 3 times, a missing
//     answer is asked for with ENQ up to 3 times, and an ENQ received before
//     anything else is answered NAK. FrameConn is one connection of either
//     kind: NewStreamConn, NewSerialConn.
//   - Records (Codec, Record): a two-letter type and an ordered list of
//     fields, each a two-character id and a value ("PS|RN214|PTC|TA1250|…|").
//     Order, repeats (GS twice in a room move) and unknown fields are kept.
//     The code page is configurable (default Windows-1252); values are
//     cleaned before sending: no "|", no control bytes, CT at most 20
//     characters.
//   - The link (Link, which implements gateway.PMSLink): after connecting it
//     listens 3 s for LS, answers with LD (DA, TI, V#, IF), one LR per record
//     type it uses (GI, GO, GC, PS, PA, NS, NE) and LA, and waits at least
//     30 s for the PMS's LA. Then postings flow, one at a time: PS, answered
//     by PA, matched by P# only. Guest records become gateway.GuestEvents; a
//     resync (DR, answered DS, GI/GO with SF, DE — or, from Protel, the same
//     without DS/DE) and the night audit (NS … NE) hold postings back. A
//     quiet link is checked with LS (expecting LA) at most every 5 minutes.
//     LE is answered with LE; Close sends LE. Whatever breaks the link, it
//     reconnects with capped exponential back-off, logging once per state
//     change.
//
// A posting whose answer never came (no PA within 30 s, or the link lost
// while waiting) is in doubt: FIAS has no duplicate protection on the PMS
// side, so the link never sends it again; the engine hands it to a person.
//
// Every frame both ways can be written to a transcript (Options.Transcript)
// and is logged at debug level: installers need it for OPERA certification.
// It holds dialed numbers and guest names.
//
// Package sim beside this one is a FIAS PMS simulator for tests and for
// `gateway sim pms`.
package fias
