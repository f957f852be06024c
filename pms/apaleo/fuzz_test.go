package apaleo

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// FuzzDecode: no answer apaleo could send makes the decoders panic; a list
// they accept gives guests with rooms.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*"))
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if l, err := DecodeReservations(b); err == nil {
			for _, r := range l.Reservations {
				if g := guestOf(r); r.Status == "InHouse" && g.Room == "" {
					t.Errorf("in-house reservation %q without a room was accepted", r.ID)
				}
			}
		}
		if l, err := DecodeFolios(b); err == nil {
			for _, f := range l.Folios {
				if f.ID == "" {
					t.Error("a folio without id was accepted")
				}
			}
		}
		if c, err := DecodeCharge(b); err == nil && c.ID == "" {
			t.Error("a charge without id was accepted")
		}
		if tok, err := DecodeToken(b); err == nil && (tok.AccessToken == "" || tok.ExpiresIn <= 0) {
			t.Error("a token without lifetime was accepted")
		}
		if s := ErrorText(422, b); s == "" || len(s) > 300 {
			t.Errorf("error text %q", s)
		}
	})
}

// FuzzAmount: every amount apaleo's decimals can carry comes back exactly.
func FuzzAmount(f *testing.F) {
	f.Add(int64(539), 2, "5.39")
	f.Add(int64(-1), 3, "-0.001")
	f.Fuzz(func(t *testing.T, minor int64, digits int, s string) {
		digits = ((digits % 4) + 4) % 4
		if got, err := ParseAmount(FormatAmount(minor, digits), digits); err != nil || got != minor {
			t.Errorf("%d with %d digits: %d %v", minor, digits, got, err)
		}
		if v, err := ParseAmount(s, digits); err == nil {
			if _, err := strconv.ParseFloat(s, 64); err != nil {
				t.Errorf("%q read as %d but is no number", s, v)
			}
		}
	})
}
