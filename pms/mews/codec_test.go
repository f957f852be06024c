package mews_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"callgate/pms/mews"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDecodeAnswers reads Mews's answers recorded in testdata (the
// examples of the Connector API's documentation, and broken ones): what
// the link relies on is read, what is broken is an error.
func TestDecodeAnswers(t *testing.T) {
	for _, tc := range []struct {
		file  string
		check func(t *testing.T, b []byte)
	}{
		{"reservations_getall_response.json", func(t *testing.T, b []byte) {
			r, err := mews.DecodeReservations(b)
			if err != nil || len(r.Reservations) != 1 {
				t.Fatalf("%+v %v", r, err)
			}
			v := r.Reservations[0]
			if v.ID != "0f515589-99b4-423d-b83a-b237009f0509" || v.AccountID != "fadd5bb6-b428-45d5-94f8-fd0d89fece6d" ||
				v.Number != "52" || v.State != "Confirmed" || v.AssignedResourceID == nil || *v.AssignedResourceID != "20e00c32-d561-4008-8609-82d8aa525714" ||
				v.ScheduledStartUtc != "2023-04-23T14:00:00Z" || v.ActualStartUtc != nil || r.Cursor == nil {
				t.Errorf("%+v", v)
			}
		}},
		{"reservations_missing_id.json", wantErr(func(b []byte) error { _, err := mews.DecodeReservations(b); return err }, "no Id")},
		{"reservations_truncated.json", wantErr(func(b []byte) error { _, err := mews.DecodeReservations(b); return err }, "not the JSON")},
		{"reservations_no_list.json", wantErr(func(b []byte) error { _, err := mews.DecodeReservations(b); return err }, "no Reservations")},
		{"resources_getall_response.json", func(t *testing.T, b []byte) {
			r, err := mews.DecodeResources(b)
			if err != nil || len(r.Resources) < 2 || r.Resources[0].Name != "101" || r.Resources[0].ID != "20e00c32-d561-4008-8609-82d8aa525714" || !r.Resources[0].IsActive {
				t.Errorf("%+v %v", r, err)
			}
		}},
		{"orderitems_getall_response.json", func(t *testing.T, b []byte) {
			r, err := mews.DecodeOrderItems(b)
			if err != nil || len(r.OrderItems) != 2 || r.OrderItems[0].ExternalIdentifier != nil || r.OrderItems[1].Amount.GrossValue != "100" {
				t.Errorf("%+v %v", r, err)
			}
		}},
		{"orderitems_with_reference.json", func(t *testing.T, b []byte) {
			r, err := mews.DecodeOrderItems(b)
			if err != nil || len(r.OrderItems) != 1 {
				t.Fatalf("%+v %v", r, err)
			}
			it := r.OrderItems[0]
			if it.ExternalIdentifier == nil || *it.ExternalIdentifier != "HOTEL-4" || it.Amount.GrossValue != "5.39" || it.CanceledUtc != nil {
				t.Errorf("%+v", it)
			}
			if v, err := mews.ParseAmount(it.Amount.GrossValue, 2); err != nil || v != 539 {
				t.Errorf("amount %d %v", v, err)
			}
		}},
		{"orderitems_trailing.json", wantErr(func(b []byte) error { _, err := mews.DecodeOrderItems(b); return err }, "after its JSON")},
		{"orders_add_response.json", func(t *testing.T, b []byte) {
			r, err := mews.DecodeAddOrder(b)
			if err != nil || r.OrderID != "cdfd5caa-2868-411b-ba95-322e70035f1a" {
				t.Errorf("%+v %v", r, err)
			}
		}},
		{"orders_add_no_id.json", wantErr(func(b []byte) error { _, err := mews.DecodeAddOrder(b); return err }, "no OrderId")},
		{"error_400.json", wantMessage("Invalid AccountId: account fadd5bb6-b428-45d5-94f8-fd0d89fece6d does not exist.")},
		{"error_401.json", wantMessage("Invalid ClientToken or AccessToken.")},
		{"error_403_details.json", wantMessage("The operation is not permitted.  Contact the property.")},
		{"error_502_proxy.html", wantMessage("<html><head><title>502 Bad Gateway</title></head><body>bad gateway</body></html>")},
	} {
		t.Run(tc.file, func(t *testing.T) { tc.check(t, readTestdata(t, tc.file)) })
	}
}

func wantErr(dec func([]byte) error, want string) func(*testing.T, []byte) {
	return func(t *testing.T, b []byte) {
		if err := dec(b); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v, want an error with %q", err, want)
		}
	}
}

func wantMessage(want string) func(*testing.T, []byte) {
	return func(t *testing.T, b []byte) {
		if got := mews.DecodeError(b); got != want {
			t.Errorf("%q, want %q", got, want)
		}
	}
}

// TestAmounts: minor units to the JSON decimal and back, exactly.
func TestAmounts(t *testing.T) {
	for _, tc := range []struct {
		minor  int64
		digits int
		json   string
	}{
		{539, 2, "5.39"}, {5, 2, "0.05"}, {0, 2, "0.00"}, {100, 2, "1.00"}, {539, 0, "539"}, {1, 3, "0.001"},
		{1234567, 3, "1234.567"}, {9223372036854775807, 2, "92233720368547758.07"},
	} {
		got, err := mews.FormatAmount(tc.minor, tc.digits)
		if err != nil || string(got) != tc.json {
			t.Errorf("FormatAmount(%d, %d) = %q %v, want %s", tc.minor, tc.digits, got, err, tc.json)
		}
		back, err := mews.ParseAmount(got, tc.digits)
		if err != nil || back != tc.minor {
			t.Errorf("ParseAmount(%s, %d) = %d %v", got, tc.digits, back, err)
		}
	}
	for _, tc := range []struct {
		in     string
		digits int
		want   int64
		ok     bool
	}{
		{"5.4", 2, 540, true}, {"5.390", 2, 539, true}, {"100", 2, 10000, true}, {"-6.54", 2, -654, true},
		{"5.391", 2, 0, false}, {"1e3", 2, 0, false}, {"", 2, 0, false}, {".5", 2, 0, false}, {"5.", 2, 500, true},
		{"99999999999999999999", 2, 0, false}, {"1,5", 2, 0, false},
	} {
		got, err := mews.ParseAmount(json.Number(tc.in), tc.digits)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("ParseAmount(%q, %d) = %d %v", tc.in, tc.digits, got, err)
		}
	}
	if _, err := mews.FormatAmount(-1, 2); err == nil {
		t.Error("a negative amount was written")
	}
}
