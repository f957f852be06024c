// Package report computes the call-accounting reports: cost by room,
// extension, account and class, trunk use, busy hour, Erlang B sizing,
// exceptions. It reads calls through gateway types only.
package report

import (
	"errors"
	"math"
)

// ErlangB returns the probability that a call is blocked when traffic
// erlangs are offered to trunks circuits (the Erlang B formula). It uses the
// recurrence B(0) = 1, B(n) = E·B(n−1) / (n + E·B(n−1)), which stays exact
// for thousands of trunks where the factorial form overflows.
func ErlangB(traffic float64, trunks int) float64 {
	if traffic <= 0 {
		return 0
	}
	if trunks <= 0 {
		return 1
	}
	b := 1.0
	for n := 1; n <= trunks; n++ {
		b = traffic * b / (float64(n) + traffic*b)
	}
	return b
}

// MaxTrunks bounds TrunksFor: no exchange has more circuits in one group.
const MaxTrunks = 100_000

// ErrTooManyTrunks is returned by TrunksFor when no group up to MaxTrunks
// reaches the grade of service.
var ErrTooManyTrunks = errors.New("more than 100,000 trunks would be needed")

// TrunksFor returns the fewest trunks that carry traffic erlangs with a
// blocking probability of at most gos (0.01 for a 1 % grade of service), and
// the blocking they give.
func TrunksFor(traffic, gos float64) (int, float64, error) {
	if gos <= 0 || gos >= 1 || math.IsNaN(gos) {
		return 0, 0, errors.New("the grade of service must be between 0 and 1 (0.01 for 1 %)")
	}
	if traffic <= 0 {
		return 0, 0, nil
	}
	b := 1.0
	for n := 1; n <= MaxTrunks; n++ {
		b = traffic * b / (float64(n) + traffic*b)
		if b <= gos {
			return n, b, nil
		}
	}
	return 0, 0, ErrTooManyTrunks
}
