// Package tariff prices calls: it loads a hotel's tariff file (docs/tariff.md,
// version 1), turns dialed digits into E.164 numbers, finds the destination by
// longest prefix, and computes the carrier cost and the guest's charge, all in
// integer minor units. It also rates the same calls under two tariffs for
// carrier comparison and re-rating.
//
// A *Tariff is immutable once loaded and safe for concurrent use. Load keeps
// no state, so a running gateway reloads by calling it again and keeps the
// old *Tariff when the new file is refused (Load returns every problem, each
// with its line, and no tariff).
//
// # Choices the rules leave to us
//
// These are what a hotel's finance manager would expect; each is tested.
//
//   - A call with 0 connected seconds is treated as unanswered (step 2),
//     whatever the PBX said: no guest accepts a charge for a call that never
//     connected, even with grace_seconds 0.
//   - Unanswered calls keep their class and destination but raise no
//     exception: an unanswered call to an odd number is not work for the
//     night auditor. Answered calls raise invalid-number, unroutable-number
//     and unknown-destination as docs/tariff.md says.
//   - Free numbers are priced with their class's guest rules (surcharge, tax,
//     grace), falling back to the guest block for what the class does not
//     override. They have no destination; prefix is the free prefix that
//     matched; billable_s is the connected seconds (no increments apply), and
//     e164 is filled when the number normalizes.
//   - A class override in guest.classes may set markup_percent, surcharge,
//     tax_percent and grace_seconds; what it leaves out comes from guest.
//     A tariff without a guest block charges guests the carrier cost.
//   - increments may be one value ([60] = [60, 60]); left out they are
//     [60, 60].
//   - Band days are the weekday of the moment being priced: a Monday–Friday
//     evening band from 18:00 to 08:00 covers Friday 23:00 and Monday 02:00
//     but not Saturday 02:00. The loader refuses a band list that leaves any
//     moment of the week uncovered, and a band with from equal to to.
//   - Splitting walks forward from the start through the billable seconds
//     (so increment rounding is priced in the band where it falls); every
//     band edge and midnight is a possible change, so a call runs into and
//     out of a holiday at midnight. Each part is rounded on its own, then
//     summed, then setup is added, then the minimum applies.
//   - Editions: effective_from is local wall-clock time like start; a call
//     starting exactly at effective_from uses the new edition. An edition
//     replaces only the destination list; bands, free numbers and guest rules
//     stay. effective_from may also be a plain date (midnight).
//   - A call over MaxDuration seconds, or with a direction that is not out, in
//     or internal, is an error rather than a charge.
//   - A destination list may be a CSV file (destinations: deck.csv): see
//     deck.go for its columns. Carriers deliver decks that way, and 100,000
//     prefixes load from CSV many times faster than from YAML.
//
// Amount limits (a rate, setup, minimum or surcharge up to 10^9 minor units,
// percentages up to 1,000 %, calls up to MaxDuration) and 128-bit
// intermediate products keep every computation exact.
package tariff
