package mews_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"callgate/pms/mews"
)

// FuzzDecodeAnswers feeds any bytes to every decoder of Mews's answers: no
// panic, and what decodes keeps the fields the link relies on.
func FuzzDecodeAnswers(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*"))
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := mews.DecodeReservations(b); err == nil {
			for _, v := range r.Reservations {
				if v.ID == "" || v.AccountID == "" {
					t.Fatalf("decoded a reservation without Id or AccountId: %+v", v)
				}
			}
		}
		if r, err := mews.DecodeResources(b); err == nil {
			for _, v := range r.Resources {
				if v.ID == "" {
					t.Fatalf("decoded a resource without Id: %+v", v)
				}
			}
		}
		if r, err := mews.DecodeOrderItems(b); err == nil {
			for _, v := range r.OrderItems {
				if v.ID == "" {
					t.Fatalf("decoded an order item without Id: %+v", v)
				}
				mews.ParseAmount(v.Amount.GrossValue, 2) //nolint:errcheck // only must not panic
			}
		}
		if r, err := mews.DecodeAddOrder(b); err == nil && r.OrderID == "" {
			t.Fatal("decoded an order without OrderId")
		}
		if m := mews.DecodeError(b); len(m) > 504 || !utf8.ValidString(m) && utf8.ValidString(string(b)) {
			t.Fatalf("error message of %d bytes: %q", len(m), m)
		}
	})
}

// FuzzAmount: every amount in minor units goes to the JSON decimal and
// back unchanged.
func FuzzAmount(f *testing.F) {
	f.Add(int64(539), 2)
	f.Add(int64(0), 0)
	f.Add(int64(1), 4)
	f.Fuzz(func(t *testing.T, minor int64, digits int) {
		n, err := mews.FormatAmount(minor, digits)
		if err != nil {
			if minor >= 0 && digits >= 0 && digits <= 4 {
				t.Fatalf("FormatAmount(%d, %d): %v", minor, digits, err)
			}
			return
		}
		if !json.Valid([]byte(n)) {
			t.Fatalf("FormatAmount(%d, %d) = %q is not JSON", minor, digits, n)
		}
		back, err := mews.ParseAmount(n, digits)
		if err != nil || back != minor {
			t.Fatalf("ParseAmount(%q, %d) = %d %v, want %d", n, digits, back, err, minor)
		}
	})
}
