package apaleo

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"callgate/gateway"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDecodeReservations reads recorded reservation lists: the fields the
// link uses, an empty 204, and the lists it refuses.
func TestDecodeReservations(t *testing.T) {
	for _, tc := range []struct {
		file, err string
		n         int
	}{
		{"reservations-inhouse.json", "", 2},
		{"reservations-204.json", "", 0},
		{"reservations-confirmed-nounit.json", "", 1},
		{"reservations-noid.json", "no id", 0},
		{"reservations-nounit.json", "has no unit", 0},
		{"reservations-truncated.json", "not the JSON", 0},
	} {
		l, err := DecodeReservations(readTestdata(t, tc.file))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: %v, want %q", tc.file, err, tc.err)
			}
			continue
		}
		if err != nil || len(l.Reservations) != tc.n {
			t.Errorf("%s: %d reservations, %v", tc.file, len(l.Reservations), err)
		}
	}
	l, _ := DecodeReservations(readTestdata(t, "reservations-inhouse.json"))
	g := guestOf(l.Reservations[0])
	want := gateway.Guest{Room: "204", Reservation: "FJHKLWQS-1", LastName: "Jones", FirstName: "Peter", Title: "Mr", Language: "en",
		Arrival: time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC), Departure: time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)}
	if g != want {
		t.Errorf("guest %+v\nwant  %+v", g, want)
	}
	if g := guestOf(l.Reservations[1]); g.Room != "0310" || g.Group != "MUC-KONGRESS" || g.LastName != "Müller" {
		t.Errorf("guest %+v", g)
	}
}

// TestDecodeFoliosAndCharge reads recorded folio lists, charge answers and
// token answers.
func TestDecodeFoliosAndCharge(t *testing.T) {
	f, err := DecodeFolios(readTestdata(t, "folios.json"))
	if err != nil || len(f.Folios) != 2 || f.Folios[0].AllowedActions[0] != "AddCharge" || f.Folios[1].Reservation.ID != "FJHKLWQS-1" {
		t.Errorf("folios %+v %v", f, err)
	}
	if _, err := DecodeFolios(readTestdata(t, "folios-noid.json")); err == nil {
		t.Error("a folio without id was read")
	}
	if c, err := DecodeCharge(readTestdata(t, "charge-response.json")); c.ID != "FJHKLWQS-1-1-C3" || err != nil {
		t.Errorf("charge %+v %v", c, err)
	}
	if _, err := DecodeCharge(readTestdata(t, "charge-response-noid.json")); err == nil {
		t.Error("a charge answer without id was read")
	}
	if tok, err := DecodeToken(readTestdata(t, "token.json")); err != nil || tok.ExpiresIn != 3600 {
		t.Errorf("token %+v %v", tok, err)
	}
	for _, file := range []string{"token-noexpiry.json", "token-mac.json"} {
		if _, err := DecodeToken(readTestdata(t, file)); err == nil {
			t.Errorf("%s was read", file)
		}
	}
}

// TestErrorText reads apaleo's error shapes into the sentence the console
// shows.
func TestErrorText(t *testing.T) {
	for _, tc := range []struct {
		file   string
		status int
		want   string
	}{
		{"error-422.json", 422, "The folio 'FJHKLWQS-1-2' is closed: charges cannot be added."},
		{"error-problem.json", 400, "One or more validation errors occurred.; Amount.Currency: The Currency field is required.; Name: The Name field is required."},
		{"error-html.txt", 502, "HTTP 502"},
		{"reservations-204.json", 503, "HTTP 503"},
	} {
		if got := ErrorText(tc.status, readTestdata(t, tc.file)); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.file, got, tc.want)
		}
	}
	if got := ErrorText(400, []byte(strings.Repeat("é", 400))); len(got) > 300 || !strings.HasPrefix(got, "é") || strings.ToValidUTF8(got, "?") != got {
		t.Errorf("long text %q", got)
	}
}

// TestChargeRequest writes a posting as the recorded charge body.
func TestChargeRequest(t *testing.T) {
	l := &Link{o: settings{Charge: ChargeConfig{SubAccountID: "MUC-TEL"}}.withDefaults()}
	b, err := l.chargeBody(gateway.PostRequest{Number: 7, Room: "204", AmountMinor: 539, Currency: "EUR", Reference: "MUC-1-7",
		DurationS: 130, Dialed: "0044 1632-960123", Class: "international", Destination: "United\tKingdom"})
	if want := bytes.TrimSpace(readTestdata(t, "charge-request.json")); err != nil || !bytes.Equal(b, want) {
		t.Errorf("body %s %v\nwant %s", b, err, want)
	}
	for _, p := range []gateway.PostRequest{
		{Number: 7, Room: "204", Currency: "EUR", Reference: ""},
		{Number: 7, Room: "204", Currency: "EUR", Reference: "has space"},
		{Number: 7, Room: "204", Currency: "EUR", Reference: strings.Repeat("x", 41)},
		{Number: 7, Room: "204", Currency: "eur", Reference: "R"},
		{Number: 7, Room: "204", Currency: "EUR", Reference: "R", AmountMinor: -1},
	} {
		if _, err := l.chargeBody(p); !gateway.IsKind(err, gateway.KindInvalid) {
			t.Errorf("%+v: %v", p, err)
		}
	}
}

// TestAmounts: minor units and apaleo's decimals, both ways, exactly.
func TestAmounts(t *testing.T) {
	for _, tc := range []struct {
		minor  int64
		digits int
		s      string
	}{
		{539, 2, "5.39"}, {5, 2, "0.05"}, {-5, 2, "-0.05"}, {0, 2, "0.00"}, {1205, 3, "1.205"}, {539, 0, "539"},
		{9223372036854775807, 2, "92233720368547758.07"}, {-9223372036854775808, 2, "-92233720368547758.08"},
	} {
		if got := FormatAmount(tc.minor, tc.digits); got != tc.s {
			t.Errorf("FormatAmount(%d, %d) = %q, want %q", tc.minor, tc.digits, got, tc.s)
		}
		if got, err := ParseAmount(tc.s, tc.digits); got != tc.minor || err != nil {
			t.Errorf("ParseAmount(%q, %d) = %d %v", tc.s, tc.digits, got, err)
		}
	}
	if got, err := ParseAmount("5.3", 2); got != 530 || err != nil {
		t.Errorf("5.3: %d %v", got, err)
	}
	for _, s := range []string{"5.391", "5e2", "", "-", ".5", "5.", "1,5", "99999999999999999999"} {
		if _, err := ParseAmount(s, 2); err == nil {
			t.Errorf("%q was read", s)
		}
	}
}
