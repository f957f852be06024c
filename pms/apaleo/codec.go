package apaleo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"callgate/gateway"
)

// The shapes of apaleo's JSON, as far as the link reads and writes them
// (docs/pms-apaleo.md, "Wire shapes"). Unknown fields are ignored: apaleo
// adds fields without notice.

// TokenResponse is the identity server's answer to a client-credentials
// grant.
type TokenResponse struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
	TokenType   string `json:"token_type"`
	Scope       string `json:"scope,omitempty"`
}

// OAuthError is the identity server's error answer (RFC 6749, 5.2).
type OAuthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// ReservationList is GET /booking/v1/reservations's answer.
type ReservationList struct {
	Reservations []Reservation `json:"reservations"`
	Count        int           `json:"count"`
}

// Reservation is one reservation in a list, the fields the link uses.
type Reservation struct {
	ID           string    `json:"id"`
	BookingID    string    `json:"bookingId,omitempty"`
	Status       string    `json:"status"`
	Property     Embedded  `json:"property"`
	Unit         *Unit     `json:"unit,omitempty"`
	Arrival      string    `json:"arrival,omitempty"`
	Departure    string    `json:"departure,omitempty"`
	CheckInTime  string    `json:"checkInTime,omitempty"`
	PrimaryGuest *Guest    `json:"primaryGuest,omitempty"`
	Block        *Embedded `json:"block,omitempty"`
}

// Embedded is a reference to another resource by id.
type Embedded struct {
	ID string `json:"id"`
}

// Unit is the room a reservation is assigned to; Name is the room number.
type Unit struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Guest is a reservation's primary guest, the fields the link uses.
type Guest struct {
	Title             string `json:"title,omitempty"`
	FirstName         string `json:"firstName,omitempty"`
	LastName          string `json:"lastName"`
	PreferredLanguage string `json:"preferredLanguage,omitempty"`
}

// FolioList is GET /finance/v1/folios's answer.
type FolioList struct {
	Folios []Folio `json:"folios"`
	Count  int     `json:"count"`
}

// Folio is one folio in a list, the fields the link uses.
type Folio struct {
	ID             string    `json:"id"`
	Type           string    `json:"type"`
	Reservation    *Embedded `json:"reservation,omitempty"`
	IsMainFolio    bool      `json:"isMainFolio"`
	AllowedActions []string  `json:"allowedActions"`
}

// ChargeRequest is the body of POST /finance/v1/folio-actions/{folioId}/charges.
type ChargeRequest struct {
	ServiceType  string `json:"serviceType"`
	VatType      string `json:"vatType"`
	SubAccountID string `json:"subAccountId,omitempty"`
	Name         string `json:"name"`
	Amount       Money  `json:"amount"`
	Receipt      string `json:"receipt,omitempty"`
	Quantity     int    `json:"quantity"`
}

// Money is apaleo's monetary value: a decimal amount in the currency's
// major unit, written as a JSON number ("5.39"), never through a float.
type Money struct {
	Amount   json.Number `json:"amount"`
	Currency string      `json:"currency"`
}

// ChargeResponse is the answer to a charge: the new charge's id.
type ChargeResponse struct {
	ID string `json:"id"`
}

// ErrorBody is apaleo's error answer: {"messages": ["…"]}. Answers in the
// ASP.NET problem shape (title, detail, errors) are read too.
type ErrorBody struct {
	Messages []string            `json:"messages,omitempty"`
	Title    string              `json:"title,omitempty"`
	Detail   string              `json:"detail,omitempty"`
	Errors   map[string][]string `json:"errors,omitempty"`
}

// maxBody bounds what the link reads of an answer.
const maxBody = 4 << 20

// decodeStrict decodes exactly one JSON value from b into v.
func decodeStrict(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("more than one JSON value")
	}
	return nil
}

// DecodeToken reads a token answer; the token and a positive lifetime are
// required.
func DecodeToken(b []byte) (TokenResponse, error) {
	var t TokenResponse
	if err := decodeStrict(b, &t); err != nil {
		return t, fmt.Errorf("the token answer is not the JSON the identity server sends: %v", err)
	}
	if t.AccessToken == "" {
		return t, errors.New("the token answer has no access_token")
	}
	if t.TokenType != "" && !strings.EqualFold(t.TokenType, "Bearer") {
		return t, fmt.Errorf("the token answer's token_type is %q, not Bearer", t.TokenType)
	}
	if t.ExpiresIn <= 0 {
		return t, fmt.Errorf("the token answer's expires_in is %d, not a positive number of seconds", t.ExpiresIn)
	}
	return t, nil
}

// DecodeReservations reads a reservation list (an empty body, apaleo's 204
// No Content, is an empty list). Every reservation needs an id and a
// status; an in-house one needs a unit with a name.
func DecodeReservations(b []byte) (ReservationList, error) {
	var l ReservationList
	if len(bytes.TrimSpace(b)) == 0 {
		return l, nil
	}
	if err := decodeStrict(b, &l); err != nil {
		return l, fmt.Errorf("the reservation list is not the JSON apaleo sends: %v", err)
	}
	for i, r := range l.Reservations {
		if r.ID == "" || r.Status == "" {
			return l, fmt.Errorf("reservation %d of the list has no id or no status", i+1)
		}
		if r.Status == "InHouse" && (r.Unit == nil || strings.TrimSpace(r.Unit.Name) == "") {
			return l, fmt.Errorf("in-house reservation %s has no unit (room) name", r.ID)
		}
	}
	return l, nil
}

// DecodeFolios reads a folio list (an empty body is an empty list).
func DecodeFolios(b []byte) (FolioList, error) {
	var l FolioList
	if len(bytes.TrimSpace(b)) == 0 {
		return l, nil
	}
	if err := decodeStrict(b, &l); err != nil {
		return l, fmt.Errorf("the folio list is not the JSON apaleo sends: %v", err)
	}
	for i, f := range l.Folios {
		if f.ID == "" {
			return l, fmt.Errorf("folio %d of the list has no id", i+1)
		}
	}
	return l, nil
}

// DecodeCharge reads the answer to a charge; the id is required.
func DecodeCharge(b []byte) (ChargeResponse, error) {
	var c ChargeResponse
	if err := decodeStrict(b, &c); err != nil {
		return c, fmt.Errorf("the charge answer is not the JSON apaleo sends: %v", err)
	}
	if c.ID == "" {
		return c, errors.New("the charge answer has no id")
	}
	return c, nil
}

// ErrorText returns the PMS's message from an error answer: its messages
// joined, else the problem's title, detail and field errors, else the
// start of the body as text, else the HTTP status's name. At most 300
// characters.
func ErrorText(status int, b []byte) string {
	var e ErrorBody
	var parts []string
	if decodeStrict(b, &e) == nil {
		parts = append(parts, e.Messages...)
		if len(parts) == 0 {
			for _, s := range []string{e.Title, e.Detail} {
				if s != "" {
					parts = append(parts, s)
				}
			}
			keys := make([]string, 0, len(e.Errors))
			for k := range e.Errors {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				parts = append(parts, k+": "+strings.Join(e.Errors[k], " "))
			}
		}
	} else if t := strings.TrimSpace(string(b)); t != "" && !strings.HasPrefix(t, "<") {
		parts = append(parts, t)
	}
	text := strings.Join(parts, "; ")
	if text == "" {
		text = fmt.Sprintf("HTTP %d", status)
	}
	return clip(strings.Join(strings.Fields(text), " "), 300)
}

// clip shortens s to at most n bytes on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8Start(s[n]) {
		n--
	}
	return s[:n]
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// FormatAmount writes minor units as apaleo's decimal amount, exactly:
// 539 with 2 digits is "5.39", -5 is "-0.05", 539 with 0 digits "539".
func FormatAmount(minor int64, digits int) string {
	neg := minor < 0
	u := uint64(minor)
	if neg {
		u = uint64(-(minor + 1)) + 1
	}
	s := strconv.FormatUint(u, 10)
	if digits > 0 {
		if len(s) <= digits {
			s = strings.Repeat("0", digits-len(s)+1) + s
		}
		s = s[:len(s)-digits] + "." + s[len(s)-digits:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// ParseAmount reads apaleo's decimal amount into minor units, exactly: at
// most digits decimals, no exponent, within int64.
func ParseAmount(s string, digits int) (int64, error) {
	t := s
	neg := strings.HasPrefix(t, "-")
	if neg {
		t = t[1:]
	}
	whole, frac, dot := strings.Cut(t, ".")
	if whole == "" || !gateway.IsDigits(whole) || (dot && (frac == "" || !gateway.IsDigits(frac))) {
		return 0, fmt.Errorf("%q is not a decimal amount like 5.39", s)
	}
	if len(frac) > digits {
		return 0, fmt.Errorf("%q has more than %d decimals", s, digits)
	}
	frac += strings.Repeat("0", digits-len(frac))
	digs := whole + frac
	if neg {
		digs = "-" + digs
	}
	v, err := strconv.ParseInt(digs, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is out of range", s)
	}
	return v, nil
}

// guestOf returns the gateway's guest for an in-house reservation.
func guestOf(r Reservation) gateway.Guest {
	g := gateway.Guest{Reservation: r.ID}
	if r.Unit != nil {
		g.Room = strings.TrimSpace(r.Unit.Name)
	}
	if p := r.PrimaryGuest; p != nil {
		g.LastName, g.FirstName, g.Title, g.Language = p.LastName, p.FirstName, p.Title, p.PreferredLanguage
	}
	if r.Block != nil {
		g.Group = r.Block.ID
	}
	g.Arrival = dateOf(r.Arrival)
	g.Departure = dateOf(r.Departure)
	return g
}

// omitted is the guest fields apaleo's reservation list does not carry.
const omitted = gateway.FieldVIP | gateway.FieldNoPost | gateway.FieldClassOfService

// dateOf reads the date part of an ISO 8601 date-time as the property's
// calendar date; zero when it is not one.
func dateOf(s string) time.Time {
	if len(s) < 10 {
		return time.Time{}
	}
	d, err := time.Parse("2006-01-02", s[:10])
	if err != nil {
		return time.Time{}
	}
	return d
}
