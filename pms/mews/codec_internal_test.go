package mews

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zones below, also where the system has no zone database

	"callgate/gateway"
)

// TestEncodeAddOrder holds the orders/add body the link writes to the
// recorded body in testdata (the shape of Mews's operations/orders.md):
// field names, the exact decimal amount, ConsumptionUtc from the site's
// wall clock, the reference as ExternalIdentifier.
func TestEncodeAddOrder(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	if berlin == nil || tokyo == nil {
		t.Fatal("the time zone database is missing")
	}
	for _, tc := range []struct {
		file       string
		currency   string
		digits     int
		loc        *time.Location
		enterprise string
		taxCode    string
	}{
		{"orders_add_request.json", "EUR", 2, berlin, "", "DE-2020-1-S"},
		{"orders_add_request_enterprise_jpy.json", "JPY", 0, tokyo, "3fa85f64-5717-4562-b3fc-2c963f66afa6", ""},
	} {
		t.Run(tc.file, func(t *testing.T) {
			c := DefaultConfig()
			c.EnterpriseID = tc.enterprise
			c.Charge.ServiceID = "bd26d8db-86da-4f96-9efc-e5a4654a4a94"
			c.Charge.AccountingCategories = map[string]string{"international": "90eff5aa-36b4-4689-80c0-ab3a00bb4101"}
			c.Charge.TaxCode = tc.taxCode
			l := &Link{o: Options{Config: c, Location: tc.loc, MinorDigits: func(string) (int, bool) { return tc.digits, true }}}
			p := gateway.PostRequest{Number: 4, Room: "101", AmountMinor: 539, Currency: tc.currency,
				Start: time.Date(2026, 11, 27, 14, 3, 5, 0, time.UTC), DurationS: 130, Dialed: "0044 1632-960123",
				Class: "international", Destination: "United Kingdom", Reference: "HOTEL-4"}
			o, err := l.orderOf(p)
			if err != nil {
				t.Fatal(err)
			}
			o.Auth = Auth{ClientToken: "E0D439EE522F44368DC78E1BFB03710C-D24FB11DBE31D4621C4817E028D9E1D",
				AccessToken: "C66EF7B239D24632943D115EDE9CB810-EA00F8FD8294692C940F6B5A8F9453D", Client: "callgate 1.0"}
			o.AccountID, o.LinkedReservationID = "fadd5bb6-b428-45d5-94f8-fd0d89fece6d", "0f515589-99b4-423d-b83a-b237009f0509"
			got, err := json.Marshal(o)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			var g, w any
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(want, &w); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("body\n%s\nwant (testdata/%s)\n%s", got, tc.file, want)
			}
			// The amount is written as a decimal, never through a float.
			if tc.digits == 2 && !strings.Contains(string(got), `"GrossValue":5.39`) {
				t.Errorf("amount not exact: %s", got)
			}
		})
	}
}

// TestOrderInvalid: a request that cannot become an order is an exception
// naming the fix, and nothing is sent.
func TestOrderInvalid(t *testing.T) {
	c := DefaultConfig()
	c.Charge.ServiceID = "bd26d8db-86da-4f96-9efc-e5a4654a4a94"
	c.Charge.AccountingCategories = map[string]string{"international": "90eff5aa-36b4-4689-80c0-ab3a00bb4101"}
	l := &Link{o: Options{Config: c, Location: time.UTC}}
	ok := gateway.PostRequest{Number: 4, Room: "101", AmountMinor: 539, Currency: "EUR", Class: "international", Reference: "HOTEL-4"}
	for _, tc := range []struct {
		name string
		edit func(*gateway.PostRequest)
		want string
	}{
		{"class without category", func(p *gateway.PostRequest) { p.Class = "premium" }, "add pms.charge.accounting_categories.premium"},
		{"no reference", func(p *gateway.PostRequest) { p.Reference = "" }, "reference"},
		{"reference too long", func(p *gateway.PostRequest) { p.Reference = strings.Repeat("A", 41) }, "reference"},
		{"reference with a space", func(p *gateway.PostRequest) { p.Reference = "HOTEL 4" }, "reference"},
		{"negative amount", func(p *gateway.PostRequest) { p.AmountMinor = -5 }, "negative"},
		{"bad currency", func(p *gateway.PostRequest) { p.Currency = "eu" }, "currency"},
		{"number 0", func(p *gateway.PostRequest) { p.Number = 0 }, "number"},
		{"no room", func(p *gateway.PostRequest) { p.Room = " " }, "no room"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := ok
			tc.edit(&p)
			_, err := l.orderOf(p)
			if !gateway.IsKind(err, gateway.KindInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v, want KindInvalid mentioning %q", err, tc.want)
			}
		})
	}
	if _, err := l.orderOf(ok); err != nil {
		t.Errorf("the valid request: %v", err)
	}
}
