package report

import (
	"math"
	"testing"
)

// Published Erlang B table values: the traffic that N trunks carry at a
// grade of service.
func TestErlangBTable(t *testing.T) {
	for _, tc := range []struct {
		trunks  int
		traffic float64
		gos     float64
	}{
		{1, 0.0101, 0.01},
		{5, 1.3608, 0.01},
		{10, 4.4612, 0.01},
		{15, 8.1080, 0.01},
		{20, 12.031, 0.01},
		{30, 20.337, 0.01},
		{50, 37.901, 0.01},
		{100, 84.064, 0.01},
		{10, 7.5106, 0.10},
		{24, 15.295, 0.01},
		{10, 5.0841, 0.02},
		{10, 6.2157, 0.05},
		{5, 0.7621, 0.001},
	} {
		b := ErlangB(tc.traffic, tc.trunks)
		if math.Abs(b-tc.gos)/tc.gos > 0.001 {
			t.Errorf("B(%.4f E, %d) = %.6f, want %.4f", tc.traffic, tc.trunks, b, tc.gos)
		}
		n, got, err := TrunksFor(tc.traffic, tc.gos*1.001)
		if err != nil || n != tc.trunks || got > tc.gos*1.001 {
			t.Errorf("TrunksFor(%.4f, %.3f) = %d (%.6f) %v, want %d", tc.traffic, tc.gos, n, got, err, tc.trunks)
		}
	}
}

func TestErlangBLarge(t *testing.T) {
	// 5,000 trunks at 4,900 erlangs: finite, small, no overflow.
	b := ErlangB(4900, 5000)
	if math.IsNaN(b) || math.IsInf(b, 0) || b <= 0 || b > 0.01 {
		t.Errorf("B(4900, 5000) = %v", b)
	}
	n, _, err := TrunksFor(9000, 0.01)
	if err != nil || n < 8900 || n > 9100 || ErlangB(9000, n) > 0.01 || ErlangB(9000, n-1) <= 0.01 {
		t.Errorf("TrunksFor(9000, 1%%) = %d, %v", n, err)
	}
	if ErlangB(0, 10) != 0 || ErlangB(5, 0) != 1 {
		t.Error("edge cases")
	}
	if _, _, err := TrunksFor(5, 1.5); err == nil {
		t.Error("gos 1.5 accepted")
	}
	if _, _, err := TrunksFor(1e9, 0.01); err != ErrTooManyTrunks {
		t.Errorf("huge traffic: %v", err)
	}
	// Blocking falls as trunks are added.
	prev := 1.0
	for n := 1; n <= 40; n++ {
		b := ErlangB(20, n)
		if b >= prev {
			t.Fatalf("B(20, %d) = %v is not below B(20, %d) = %v", n, b, n-1, prev)
		}
		prev = b
	}
}
