package sim_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"callgate/pms/mews"
	"callgate/pms/mews/sim"
)

func start(t *testing.T, o sim.Options) *sim.Sim {
	t.Helper()
	if o.Rooms == nil {
		o.Rooms = []string{"101", "102"}
	}
	s, err := sim.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var auth = mews.Auth{ClientToken: sim.DefaultClientToken, AccessToken: sim.DefaultAccessToken, Client: "test 1.0"}

// fakeURL calls a simulator known only by its address.
type fakeURL struct{ url string }

func (f *fakeURL) URL() string { return f.url }

func (f *fakeURL) call(t *testing.T, path string, body any) (int, http.Header, []byte) {
	t.Helper()
	return call(t, f, path, body)
}

func call(t *testing.T, s interface{ URL() string }, path string, body any) (int, http.Header, []byte) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Post(s.URL()+mews.APIPrefix+path, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, out
}

func order(s *sim.Sim, account, reservation, ref string) mews.AddOrderRequest {
	return mews.AddOrderRequest{Auth: auth, ServiceID: sim.DefaultServiceID, AccountID: account, LinkedReservationID: reservation,
		ConsumptionUtc: "2026-12-06T03:00:00Z", Items: []mews.ItemParams{{Name: "Call", UnitCount: 1,
			UnitAmount:           mews.AmountParams{Currency: "EUR", GrossValue: "5.39", TaxCodes: []string{}},
			AccountingCategoryID: sim.DefaultAccountingCategories["local"], ExternalIdentifier: ref}}}
}

// reservationOf returns the account and id of the reservation in room.
func reservationOf(t *testing.T, s *sim.Sim) (account, id string) {
	t.Helper()
	st, _, b := call(t, s, mews.PathReservations, mews.ReservationsRequest{Auth: auth, States: []string{"Started"}, Limitation: mews.Limitation{Count: 10}})
	r, err := mews.DecodeReservations(b)
	if st != 200 || err != nil || len(r.Reservations) != 1 {
		t.Fatalf("%d %s %v", st, b, err)
	}
	return r.Reservations[0].AccountID, r.Reservations[0].ID
}

// TestValidation: the simulator answers as the Connector API documents:
// 401 for tokens, 400 with Message for a bad request, 404 for another
// address, all in the error shape.
func TestValidation(t *testing.T) {
	s := start(t, sim.Options{})
	if err := s.Occupy("101"); err != nil {
		t.Fatal(err)
	}
	acct, res := reservationOf(t, s)
	bad := auth
	bad.AccessToken = "nope"
	noClient := auth
	noClient.Client = ""
	badAmount := order(s, acct, res, "A")
	badAmount.Items[0].UnitAmount.GrossValue = "5.391"
	noTax := order(s, acct, res, "A")
	noTax.Items[0].UnitAmount.TaxCodes = nil
	badCat := order(s, acct, res, "A")
	badCat.Items[0].AccountingCategoryID = "00000000-0000-0000-0000-000000000000"
	otherAcct := order(s, acct, res, "A")
	otherAcct.AccountID = "00000000-0000-0000-0000-000000000001"
	for _, tc := range []struct {
		name   string
		path   string
		body   any
		status int
		msg    string
	}{
		{"wrong token", mews.PathAddOrder, withAuth(order(s, acct, res, "A"), bad), 401, "Invalid ClientToken or AccessToken"},
		{"no client", mews.PathResources, mews.ResourcesRequest{Auth: noClient, Limitation: mews.Limitation{Count: 1}}, 400, "Invalid Client"},
		{"no limitation", mews.PathResources, map[string]any{"ClientToken": auth.ClientToken, "AccessToken": auth.AccessToken, "Client": "x", "Extent": map[string]bool{"Resources": true}}, 400, "Limitation"},
		{"count too big", mews.PathReservations, mews.ReservationsRequest{Auth: auth, Limitation: mews.Limitation{Count: 1001}}, 400, "Limitation.Count"},
		{"bad state", mews.PathReservations, mews.ReservationsRequest{Auth: auth, States: []string{"InHouse"}, Limitation: mews.Limitation{Count: 1}}, 400, "InHouse"},
		{"decimals", mews.PathAddOrder, badAmount, 400, "GrossValue"},
		{"no tax codes", mews.PathAddOrder, noTax, 400, "TaxCodes"},
		{"unknown category", mews.PathAddOrder, badCat, 400, "AccountingCategoryId"},
		{"unknown account", mews.PathAddOrder, otherAcct, 400, "AccountId"},
		{"no filter", mews.PathOrderItems, mews.OrderItemsRequest{Auth: auth, Limitation: mews.Limitation{Count: 1}}, 400, "at least one of the filters"},
		{"window too long", mews.PathOrderItems, mews.OrderItemsRequest{Auth: auth, CreatedUtc: &mews.TimeInterval{StartUtc: "2026-01-01T00:00:00Z", EndUtc: "2026-06-01T00:00:00Z"}, Limitation: mews.Limitation{Count: 1}}, 400, "3 months"},
		{"other address", "orders/add/", order(s, acct, res, "A"), 404, "Not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, h, b := call(t, s, tc.path, tc.body)
			var e mews.ErrorResponse
			if st != tc.status || json.Unmarshal(b, &e) != nil || !strings.Contains(e.Message, tc.msg) || h.Get("Request-Id") == "" {
				t.Errorf("%d %s, want %d with %q", st, b, tc.status, tc.msg)
			}
		})
	}
	if len(s.Ledger()) != 0 {
		t.Errorf("refused orders were booked: %+v", s.Ledger())
	}
}

// TestNoDuplicateProtection: like the real API, a second orders/add with
// the same ExternalIdentifier is a second charge.
func TestNoDuplicateProtection(t *testing.T) {
	s := start(t, sim.Options{})
	if err := s.Occupy("101"); err != nil {
		t.Fatal(err)
	}
	acct, res := reservationOf(t, s)
	for i := 0; i < 2; i++ {
		if st, _, b := call(t, s, mews.PathAddOrder, order(s, acct, res, "SAME-1")); st != 200 {
			t.Fatalf("%d %s", st, b)
		}
	}
	if l := s.Ledger(); len(l) != 2 || l[0].Reference != "SAME-1" || l[1].Reference != "SAME-1" || l[0].AmountMinor != 539 || l[0].Room != "101" {
		t.Errorf("%+v", l)
	}
	st, _, b := call(t, s, mews.PathOrderItems, mews.OrderItemsRequest{Auth: auth, AccountIDs: []string{acct}, Limitation: mews.Limitation{Count: 1}})
	items, err := mews.DecodeOrderItems(b)
	if st != 200 || err != nil || len(items.OrderItems) != 1 || items.Cursor == nil {
		t.Fatalf("first page: %d %s %v", st, b, err)
	}
	_, _, b = call(t, s, mews.PathOrderItems, mews.OrderItemsRequest{Auth: auth, AccountIDs: []string{acct}, Limitation: mews.Limitation{Count: 1, Cursor: items.Cursor}})
	next, err := mews.DecodeOrderItems(b)
	if err != nil || len(next.OrderItems) != 1 || next.OrderItems[0].ID == items.OrderItems[0].ID {
		t.Errorf("second page: %s %v", b, err)
	}
}

// TestRateLimit: past the limit per access token the answer is 429 with
// Retry-After, in the error shape.
func TestRateLimit(t *testing.T) {
	s := start(t, sim.Options{RateLimit: 3, RateWindow: time.Minute})
	req := mews.ResourcesRequest{Auth: auth, Extent: mews.ResourceExtent{Resources: true}, Limitation: mews.Limitation{Count: 10}}
	for i := 0; i < 3; i++ {
		if st, _, b := call(t, s, mews.PathResources, req); st != 200 {
			t.Fatalf("request %d: %d %s", i+1, st, b)
		}
	}
	st, h, b := call(t, s, mews.PathResources, req)
	if st != 429 || h.Get("Retry-After") == "" || h.Get("Retry-After") == "0" || !strings.Contains(string(b), "Too many requests") {
		t.Errorf("%d %v %s", st, h, b)
	}
}

func withAuth(o mews.AddOrderRequest, a mews.Auth) mews.AddOrderRequest { o.Auth = a; return o }
