package mews

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The Mews Connector API's operations this link uses, each POSTed to
// {base_url}/api/connector/v1/{path} (docs/pms-mews.md, "Wire").
const (
	PathResources    = "resources/getAll"
	PathReservations = "reservations/getAll/2023-06-06"
	PathAddOrder     = "orders/add"
	PathOrderItems   = "orderItems/getAll"
)

// APIPrefix is the path every operation's address starts with.
const APIPrefix = "/api/connector/v1/"

// PageSize is the Limitation.Count of every getAll: the API's maximum.
const PageSize = 1000

// Auth is the part of every request body that authenticates it.
type Auth struct {
	ClientToken string `json:"ClientToken"`
	AccessToken string `json:"AccessToken"`
	Client      string `json:"Client"`
}

// Limitation is a getAll's page: how many items and where to start.
type Limitation struct {
	Count  int     `json:"Count"`
	Cursor *string `json:"Cursor,omitempty"`
}

// TimeInterval is an inclusive UTC interval.
type TimeInterval struct {
	StartUtc string `json:"StartUtc"`
	EndUtc   string `json:"EndUtc"`
}

// ResourceExtent says what resources/getAll returns.
type ResourceExtent struct {
	Resources bool `json:"Resources"`
	Inactive  bool `json:"Inactive"`
}

// ResourcesRequest is the body of resources/getAll.
type ResourcesRequest struct {
	Auth
	EnterpriseIDs []string       `json:"EnterpriseIds,omitempty"`
	Names         []string       `json:"Names,omitempty"`
	Extent        ResourceExtent `json:"Extent"`
	Limitation    Limitation     `json:"Limitation"`
}

// Resource is one bookable resource; a room is a resource whose Name is
// its number.
type Resource struct {
	ID       string `json:"Id"`
	Name     string `json:"Name"`
	IsActive bool   `json:"IsActive"`
}

// ResourcesResponse is the answer of resources/getAll.
type ResourcesResponse struct {
	Resources []Resource `json:"Resources"`
	Cursor    *string    `json:"Cursor"`
}

// ReservationsRequest is the body of reservations/getAll (ver 2023-06-06).
type ReservationsRequest struct {
	Auth
	EnterpriseIDs       []string   `json:"EnterpriseIds,omitempty"`
	AssignedResourceIDs []string   `json:"AssignedResourceIds,omitempty"`
	States              []string   `json:"States"`
	Limitation          Limitation `json:"Limitation"`
}

// StateStarted is the reservation state of a guest in house (checked in).
const StateStarted = "Started"

// Reservation is the part of a Mews reservation the link reads.
type Reservation struct {
	ID                 string  `json:"Id"`
	AccountID          string  `json:"AccountId"`
	AccountType        string  `json:"AccountType"`
	Number             string  `json:"Number"`
	State              string  `json:"State"`
	AssignedResourceID *string `json:"AssignedResourceId"`
	ScheduledStartUtc  string  `json:"ScheduledStartUtc"`
	ActualStartUtc     *string `json:"ActualStartUtc"`
	ScheduledEndUtc    string  `json:"ScheduledEndUtc"`
}

// ReservationsResponse is the answer of reservations/getAll.
type ReservationsResponse struct {
	Reservations []Reservation `json:"Reservations"`
	Cursor       *string       `json:"Cursor"`
}

// AmountParams is a unit amount sent to Mews: the gross value is a JSON
// decimal written exactly from minor units (FormatAmount).
type AmountParams struct {
	Currency   string      `json:"Currency"`
	GrossValue json.Number `json:"GrossValue"`
	TaxCodes   []string    `json:"TaxCodes"`
}

// ItemParams is one custom item of an order.
type ItemParams struct {
	Name                 string       `json:"Name"`
	UnitCount            int          `json:"UnitCount"`
	UnitAmount           AmountParams `json:"UnitAmount"`
	AccountingCategoryID string       `json:"AccountingCategoryId,omitempty"`
	ExternalIdentifier   string       `json:"ExternalIdentifier"`
}

// AddOrderRequest is the body of orders/add.
type AddOrderRequest struct {
	Auth
	EnterpriseID        string       `json:"EnterpriseId,omitempty"`
	ServiceID           string       `json:"ServiceId"`
	AccountID           string       `json:"AccountId"`
	LinkedReservationID string       `json:"LinkedReservationId"`
	ConsumptionUtc      string       `json:"ConsumptionUtc"`
	Notes               string       `json:"Notes,omitempty"`
	Items               []ItemParams `json:"Items"`
}

// AddOrderResponse is the answer of orders/add.
type AddOrderResponse struct {
	OrderID string `json:"OrderId"`
}

// OrderItemsRequest is the body of orderItems/getAll.
type OrderItemsRequest struct {
	Auth
	EnterpriseIDs []string      `json:"EnterpriseIds,omitempty"`
	AccountIDs    []string      `json:"AccountIds,omitempty"`
	ServiceIDs    []string      `json:"ServiceIds,omitempty"`
	CreatedUtc    *TimeInterval `json:"CreatedUtc,omitempty"`
	Limitation    Limitation    `json:"Limitation"`
}

// Amount is an amount Mews returns.
type Amount struct {
	Currency   string      `json:"Currency"`
	NetValue   json.Number `json:"NetValue"`
	GrossValue json.Number `json:"GrossValue"`
}

// OrderItem is the part of a Mews order item the link reads.
type OrderItem struct {
	ID                 string  `json:"Id"`
	AccountID          string  `json:"AccountId"`
	ServiceID          string  `json:"ServiceId"`
	ServiceOrderID     string  `json:"ServiceOrderId"`
	ExternalIdentifier *string `json:"ExternalIdentifier"`
	UnitCount          int     `json:"UnitCount"`
	Amount             Amount  `json:"Amount"`
	CreatedUtc         string  `json:"CreatedUtc"`
	CanceledUtc        *string `json:"CanceledUtc"`
	AccountingState    string  `json:"AccountingState"`
}

// OrderItemsResponse is the answer of orderItems/getAll.
type OrderItemsResponse struct {
	OrderItems []OrderItem `json:"OrderItems"`
	Cursor     *string     `json:"Cursor"`
}

// ErrorResponse is the body of every error answer.
type ErrorResponse struct {
	Message   string  `json:"Message"`
	RequestID *string `json:"RequestId"`
	Details   *string `json:"Details"`
}

// TimeFormat is the API's datetime format: ISO 8601 in UTC, whole seconds.
const TimeFormat = "2006-01-02T15:04:05Z"

// FormatTime writes t in the API's format, in UTC.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }

// ParseTime reads one of the API's datetimes (RFC 3339; the API writes
// UTC with or without fractions).
func ParseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an ISO 8601 date and time", s)
	}
	return t.UTC(), nil
}

// FormatAmount writes minor units as a JSON decimal with digits decimals,
// exactly (no floating point): 539 with 2 digits is 5.39.
func FormatAmount(minor int64, digits int) (json.Number, error) {
	if minor < 0 {
		return "", fmt.Errorf("the amount %d is negative: a call charge is never a credit", minor)
	}
	if digits < 0 || digits > 4 {
		return "", fmt.Errorf("%d is not a number of currency decimals from 0 to 4", digits)
	}
	s := strconv.FormatInt(minor, 10)
	if digits == 0 {
		return json.Number(s), nil
	}
	if len(s) <= digits {
		s = strings.Repeat("0", digits-len(s)+1) + s
	}
	return json.Number(s[:len(s)-digits] + "." + s[len(s)-digits:]), nil
}

// ParseAmount reads a JSON decimal as minor units with digits decimals,
// exactly; more decimals than digits (other than trailing zeros), an
// exponent or a value beyond int64 is an error.
func ParseAmount(n json.Number, digits int) (int64, error) {
	s := string(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || !allDigits(whole) || !allDigits(frac) {
		return 0, fmt.Errorf("%q is not a plain decimal amount", string(n))
	}
	frac = strings.TrimRight(frac, "0")
	if len(frac) > digits {
		return 0, fmt.Errorf("%q has more than %d decimals", string(n), digits)
	}
	frac += strings.Repeat("0", digits-len(frac))
	v, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is out of range", string(n))
	}
	if neg {
		v = -v
	}
	return v, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Decode reads one JSON answer into v, keeping numbers as written. The
// whole body must be one JSON value.
func Decode(body []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("the answer is not the JSON Mews documents: %v", err)
	}
	if d.More() {
		return fmt.Errorf("the answer has data after its JSON value")
	}
	return nil
}

// DecodeError reads an error answer's Message; a body that is not the
// documented error shape gives its first 200 bytes, cleaned.
func DecodeError(body []byte) string {
	var e ErrorResponse
	if err := Decode(body, &e); err == nil && e.Message != "" {
		return clean(e.Message, 500)
	}
	return clean(string(body), 200)
}

// clean keeps printable characters of s, at most max bytes.
func clean(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r == 0xfffd {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > max {
		cut := max
		for cut > 0 && (s[cut]&0xC0) == 0x80 {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// DecodeReservations reads a reservations/getAll answer and checks the
// fields the link relies on.
func DecodeReservations(body []byte) (ReservationsResponse, error) {
	var r ReservationsResponse
	if err := Decode(body, &r); err != nil {
		return r, err
	}
	if r.Reservations == nil {
		return r, fmt.Errorf("the reservations answer has no Reservations list")
	}
	for i, v := range r.Reservations {
		if v.ID == "" || v.AccountID == "" {
			return r, fmt.Errorf("reservation %d of the answer has no Id or AccountId", i+1)
		}
	}
	return r, nil
}

// DecodeResources reads a resources/getAll answer.
func DecodeResources(body []byte) (ResourcesResponse, error) {
	var r ResourcesResponse
	if err := Decode(body, &r); err != nil {
		return r, err
	}
	if r.Resources == nil {
		return r, fmt.Errorf("the resources answer has no Resources list")
	}
	for i, v := range r.Resources {
		if v.ID == "" {
			return r, fmt.Errorf("resource %d of the answer has no Id", i+1)
		}
	}
	return r, nil
}

// DecodeOrderItems reads an orderItems/getAll answer.
func DecodeOrderItems(body []byte) (OrderItemsResponse, error) {
	var r OrderItemsResponse
	if err := Decode(body, &r); err != nil {
		return r, err
	}
	if r.OrderItems == nil {
		return r, fmt.Errorf("the order items answer has no OrderItems list")
	}
	for i, v := range r.OrderItems {
		if v.ID == "" {
			return r, fmt.Errorf("order item %d of the answer has no Id", i+1)
		}
	}
	return r, nil
}

// DecodeAddOrder reads an orders/add answer.
func DecodeAddOrder(body []byte) (AddOrderResponse, error) {
	var r AddOrderResponse
	if err := Decode(body, &r); err != nil {
		return r, err
	}
	if r.OrderID == "" {
		return r, fmt.Errorf("the orders/add answer has no OrderId")
	}
	return r, nil
}
