// Package apaleo is the PMS link to apaleo's REST API (protocol name
// "apaleo"): OAuth2 client credentials, the in-house reservation of a room
// (its unit), the reservation's guest folio that allows charges, and one
// charge per call posted with an Idempotency-Key, so that the engine may
// send a posting whose answer was lost again with the same key
// (gateway.CapabilityIdempotent). Occupancy comes from polling the
// in-house reservations. See docs/pms-apaleo.md.
//
// The simulator for tests and `gateway sim pms --protocol apaleo` is
// pms/apaleo/sim.
package apaleo
