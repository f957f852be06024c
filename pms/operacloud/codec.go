package operacloud

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"

	"callgate/gateway"
)

// The JSON shapes of the OHIP operations the link uses, named as in
// Oracle's specifications (csh.json postBillingCharges and
// getGuestsTransactions, rsv.json getHotelReservations, oauth.json
// getToken). Only the fields the link reads or writes are declared.
// docs/pms-operacloud.md lists them.

// uniqueID is OHIP's uniqueID_Type.
type uniqueID struct {
	ID   string `json:"id"`
	Type string `json:"type,omitempty"`
}

// currencyAmount is OHIP's currencyAmountType; Amount is a JSON decimal
// written and read exactly (FormatAmount, ParseAmount).
type currencyAmount struct {
	Amount       json.Number `json:"amount"`
	CurrencyCode string      `json:"currencyCode"`
}

// chargeRequest is postBillingCharges' body (billingCharges).
type chargeRequest struct {
	Criteria chargeCriteria `json:"criteria"`
}

type chargeCriteria struct {
	HotelID       string      `json:"hotelId"`
	ReservationID uniqueID    `json:"reservationId"`
	CashierID     json.Number `json:"cashierId"`
	Charges       []charge    `json:"charges"`
}

// charge is chargeLongTrxCodeCriteriaType.
type charge struct {
	TransactionCode  string         `json:"transactionCode"`
	Price            currencyAmount `json:"price"`
	PostingQuantity  int            `json:"postingQuantity"`
	PostingReference string         `json:"postingReference"`
	PostingRemark    string         `json:"postingRemark,omitempty"`
}

// posting is summaryPostingType, in postBillingCharges' answer and in
// getGuestsTransactions' folios.
type posting struct {
	TransactionNo   json.Number     `json:"transactionNo,omitempty"`
	Reference       string          `json:"reference,omitempty"`
	Remark          string          `json:"remark,omitempty"`
	TransactionCode string          `json:"transactionCode,omitempty"`
	Price           *currencyAmount `json:"price,omitempty"`
	PostingDate     string          `json:"postingDate,omitempty"`
}

// chargeAnswer is billingChargesDetails.
type chargeAnswer struct {
	Postings []posting `json:"postings"`
}

// transactionsAnswer is guestsTransactions.
type transactionsAnswer struct {
	ReservationFolioInformation []struct {
		ReservationInfo struct {
			ReservationIDList []uniqueID `json:"reservationIdList"`
		} `json:"reservationInfo"`
		FolioWindows []struct {
			FolioWindowNo int `json:"folioWindowNo"`
			Folios        []struct {
				Postings []posting `json:"postings"`
			} `json:"folios"`
		} `json:"folioWindows"`
	} `json:"reservationFolioInformation"`
}

// reservationsAnswer is reservationsDetails.
type reservationsAnswer struct {
	Reservations struct {
		ReservationInfo []reservationInfo `json:"reservationInfo"`
		HasMore         bool              `json:"hasMore"`
		TotalResults    int               `json:"totalResults"`
		Count           int               `json:"count"`
		Offset          int               `json:"offset"`
		Limit           int               `json:"limit"`
	} `json:"reservations"`
}

type reservationInfo struct {
	ReservationIDList []uniqueID `json:"reservationIdList"`
	RoomStay          struct {
		RoomID        string `json:"roomId"`
		ArrivalDate   string `json:"arrivalDate"`
		DepartureDate string `json:"departureDate"`
	} `json:"roomStay"`
	ReservationGuest struct {
		GivenName  string `json:"givenName"`
		Surname    string `json:"surname"`
		NamePrefix string `json:"namePrefix"`
		Language   string `json:"language"`
		VIP        *struct {
			VipCode string `json:"vipCode"`
		} `json:"vip"`
	} `json:"reservationGuest"`
	ReservationStatus string `json:"reservationStatus"`
}

// tokenAnswer is OAuth2TokenResponse.
type tokenAnswer struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
	TokenType   string `json:"token_type"`
}

// problem is exceptionDetailType, OHIP's error body; Error and
// Description are the OAuth error fields a token endpoint may answer.
type problem struct {
	Type        string `json:"type"`
	Title       string `json:"title"`
	Detail      string `json:"detail"`
	ErrorCode   string `json:"o:errorCode"`
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// stay is one in-house reservation as the link keeps it.
type stay struct {
	ID    string // the OPERA reservation id (uniqueID type Reservation)
	Guest gateway.Guest
}

// FormatAmount writes minor units of a currency with digits decimals as
// an exact decimal ("5.39" for 539 and 2), without floats.
func FormatAmount(minor int64, digits int) (string, error) {
	if digits < 0 || digits > 6 {
		return "", fmt.Errorf("%d decimals is not a currency's minor unit", digits)
	}
	neg := minor < 0
	var u uint64
	if neg {
		u = uint64(-(minor + 1)) + 1 // safe for math.MinInt64
	} else {
		u = uint64(minor)
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
	return s, nil
}

// ParseAmount reads a JSON decimal (as OHIP writes amounts: 5.39, 5.4, 5,
// 5.390, 5.39E0) as minor units with digits decimals, exactly: an amount
// with more significant decimals than the currency has is an error, not
// rounded.
func ParseAmount(s string, digits int) (int64, error) {
	orig := s
	bad := func(why string) (int64, error) {
		return 0, fmt.Errorf("amount %q: %s", clip(orig, 40), why)
	}
	if digits < 0 || digits > 6 {
		return bad("the currency's decimals are unknown")
	}
	neg := false
	if strings.HasPrefix(s, "-") {
		neg, s = true, s[1:]
	}
	exp := 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.Atoi(strings.TrimPrefix(s[i+1:], "+"))
		if err != nil || e < -30 || e > 30 {
			return bad("not a number")
		}
		exp, s = e, s[:i]
	}
	intPart, frac, _ := strings.Cut(s, ".")
	if intPart == "" || !isDigits(intPart) || (frac != "" && !isDigits(frac)) || (strings.Contains(s, ".") && frac == "") {
		return bad("not a number")
	}
	all := strings.TrimLeft(intPart+frac, "0")
	scale := len(frac) - exp // the value is all × 10^-scale
	for scale > digits {     // drop trailing zeros down to the currency's decimals
		if all == "" {
			scale = digits
			break
		}
		if all[len(all)-1] != '0' {
			return bad(fmt.Sprintf("more decimals than the currency's %d", digits))
		}
		all, scale = all[:len(all)-1], scale-1
	}
	if all == "" {
		all = "0"
	}
	if len(all)+digits-scale > 18 {
		return bad("too large")
	}
	v, err := strconv.ParseInt(all, 10, 64)
	if err != nil {
		return bad("too large")
	}
	for ; scale < digits; scale++ {
		if v > math.MaxInt64/10 {
			return bad("too large")
		}
		v *= 10
	}
	if neg {
		v = -v
	}
	return v, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// clip shortens s to n bytes at most, on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// ValidReference reports whether r can be a posting reference: 1 to 40 of
// [A-Za-z0-9-] (gateway.PostRequest.Reference).
func ValidReference(r string) bool {
	if r == "" || len(r) > 40 {
		return false
	}
	for i := 0; i < len(r); i++ {
		c := r[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// remark is the folio line's remark: destination and duration, never the
// number dialed.
func remark(p gateway.PostRequest) string {
	dest := strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return -1
	}, strings.TrimSpace(p.Destination))
	dest = clip(dest, 40)
	d := p.DurationS
	if d < 0 {
		d = 0
	}
	dur := fmt.Sprintf("%d:%02d", d/60, d%60)
	if d >= 3600 {
		dur = fmt.Sprintf("%d:%02d:%02d", d/3600, d/60%60, d%60)
	}
	if dest == "" {
		return "Call " + dur
	}
	return "Call " + dest + " " + dur
}

// encodeCharge writes postBillingCharges' body for p to reservation res.
func encodeCharge(hotel, cashier, res, code string, p gateway.PostRequest, digits int) ([]byte, error) {
	amount, err := FormatAmount(p.AmountMinor, digits)
	if err != nil {
		return nil, err
	}
	body := chargeRequest{Criteria: chargeCriteria{
		HotelID:       hotel,
		ReservationID: uniqueID{ID: res, Type: "Reservation"},
		CashierID:     json.Number(cashier),
		Charges: []charge{{TransactionCode: code, Price: currencyAmount{Amount: json.Number(amount), CurrencyCode: p.Currency},
			PostingQuantity: 1, PostingReference: p.Reference, PostingRemark: remark(p)}},
	}}
	return json.Marshal(body)
}

// decodeCharge reads postBillingCharges' answer: the transaction number
// of the posting with ref, "" when the answer does not say.
func decodeCharge(b []byte, ref string) (string, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return "", nil // 201 with no body: the charge is booked
	}
	var a chargeAnswer
	if err := json.Unmarshal(b, &a); err != nil {
		return "", fmt.Errorf("OPERA Cloud's answer to a charge is not its JSON: %v", err)
	}
	for _, p := range a.Postings {
		if p.Reference == ref || ref == "" {
			return string(p.TransactionNo), nil
		}
	}
	if len(a.Postings) > 0 {
		return string(a.Postings[0].TransactionNo), nil
	}
	return "", nil
}

// decodeTransactions reads getGuestsTransactions' answer and returns the
// posting whose reference is exactly ref (found false when none).
func decodeTransactions(b []byte, ref string) (p posting, found bool, err error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return posting{}, false, nil
	}
	var a transactionsAnswer
	if err := json.Unmarshal(b, &a); err != nil {
		return posting{}, false, fmt.Errorf("OPERA Cloud's list of transactions is not its JSON: %v", err)
	}
	for _, r := range a.ReservationFolioInformation {
		for _, w := range r.FolioWindows {
			for _, f := range w.Folios {
				for _, p := range f.Postings {
					if p.Reference == ref {
						return p, true, nil
					}
				}
			}
		}
	}
	return posting{}, false, nil
}

// decodeReservations reads getHotelReservations' answer: the stays with a
// room, and whether more pages follow.
func decodeReservations(b []byte) ([]stay, bool, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, false, nil
	}
	var a reservationsAnswer
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, false, fmt.Errorf("OPERA Cloud's list of reservations is not its JSON: %v", err)
	}
	out := make([]stay, 0, len(a.Reservations.ReservationInfo))
	for _, r := range a.Reservations.ReservationInfo {
		id := ""
		for _, u := range r.ReservationIDList {
			if u.Type == "Reservation" {
				id = u.ID
				break
			}
		}
		if id == "" && len(r.ReservationIDList) > 0 {
			id = r.ReservationIDList[0].ID
		}
		room := strings.TrimSpace(r.RoomStay.RoomID)
		if id == "" || room == "" {
			continue // no reservation id or no room: nothing to charge or report
		}
		if s := r.ReservationStatus; s != "" && s != "InHouse" && s != "DueOut" {
			continue
		}
		g := gateway.Guest{Room: room, Reservation: id, LastName: r.ReservationGuest.Surname,
			FirstName: r.ReservationGuest.GivenName, Title: r.ReservationGuest.NamePrefix,
			Language: r.ReservationGuest.Language}
		if v := r.ReservationGuest.VIP; v != nil {
			g.VIP = v.VipCode
		}
		g.Arrival, _ = time.Parse(time.DateOnly, r.RoomStay.ArrivalDate)
		g.Departure, _ = time.Parse(time.DateOnly, r.RoomStay.DepartureDate)
		out = append(out, stay{ID: id, Guest: g})
	}
	// A page with nothing on it ends the reading, whatever hasMore says.
	return out, a.Reservations.HasMore && len(a.Reservations.ReservationInfo) > 0, nil
}

// decodeProblem reads an error body: the PMS's code and its sentence.
// Neither is ever the whole body of an unknown shape beyond 200 bytes.
func decodeProblem(status int, b []byte) (code, text string) {
	var p problem
	if json.Unmarshal(b, &p) == nil {
		code = p.ErrorCode
		if code == "" {
			code = p.Error
		}
		switch {
		case p.Detail != "":
			text = p.Detail
		case p.Description != "":
			text = p.Description
		case p.Title != "":
			text = p.Title
		}
	} else if t := strings.TrimSpace(string(b)); t != "" && !strings.HasPrefix(t, "<") {
		text = t
	}
	if code == "" {
		code = strconv.Itoa(status)
	}
	text = strings.Join(strings.Fields(clip(text, 200)), " ")
	if text == "" {
		text = fmt.Sprintf("HTTP %d", status)
	}
	return clip(code, 40), text
}
