package gateway

import "strconv"

// Charge is the result of rating one call against the tariff: what the carrier
// costs and what the guest pays, in integer minor units of Currency. The JSON
// names are those docs/tariff.md gives for `gateway rate`.
type Charge struct {
	Class          string  `json:"class"`       // local, national, international, emergency, incoming, …
	Destination    string  `json:"destination"` // destination name, "" for none
	Prefix         string  `json:"prefix"`      // the destination prefix that matched
	E164           string  `json:"e164"`        // the number as E.164 digits
	Band           string  `json:"band"`        // the band at the call's start
	BillableS      int     `json:"billable_s"`  // seconds billed after increments
	Chargeable     bool    `json:"chargeable"`
	CarrierMinor   int64   `json:"carrier_minor"`
	MarkupMinor    int64   `json:"markup_minor"`
	SurchargeMinor int64   `json:"surcharge_minor"`
	TaxMinor       int64   `json:"tax_minor"`
	TotalMinor     int64   `json:"total_minor"`
	Currency       string  `json:"currency"`       // ISO 4217 code
	TariffVersion  string  `json:"tariff_version"` // "base" or the edition's effective_from
	Exception      *string `json:"exception"`      // nil, or invalid-number, unroutable-number, unknown-destination
}

// The rating exceptions docs/tariff.md names.
const (
	ExceptionInvalidNumber      = "invalid-number"
	ExceptionUnroutableNumber   = "unroutable-number"
	ExceptionUnknownDestination = "unknown-destination"
)

// Postable reports whether the charge should go to a folio: chargeable, no
// exception and a total above zero.
func (c Charge) Postable() bool {
	return c.Chargeable && c.Exception == nil && c.TotalMinor > 0
}

// MarshalJSON writes the charge as the rating fields of docs/tariff.md: text fields the
// rating did not reach (no destination for a free number, no E.164 number for
// an unroutable one) are null.
func (c Charge) MarshalJSON() ([]byte, error) {
	type wire struct {
		Class          string  `json:"class"`
		Destination    *string `json:"destination"`
		Prefix         *string `json:"prefix"`
		E164           *string `json:"e164"`
		Band           *string `json:"band"`
		BillableS      int     `json:"billable_s"`
		Chargeable     bool    `json:"chargeable"`
		CarrierMinor   int64   `json:"carrier_minor"`
		MarkupMinor    int64   `json:"markup_minor"`
		SurchargeMinor int64   `json:"surcharge_minor"`
		TaxMinor       int64   `json:"tax_minor"`
		TotalMinor     int64   `json:"total_minor"`
		Currency       string  `json:"currency"`
		TariffVersion  string  `json:"tariff_version"`
		Exception      *string `json:"exception"`
	}
	w := wire{c.Class, optional(c.Destination), optional(c.Prefix), optional(c.E164), optional(c.Band),
		c.BillableS, c.Chargeable, c.CarrierMinor, c.MarkupMinor, c.SurchargeMinor, c.TaxMinor, c.TotalMinor,
		c.Currency, c.TariffVersion, c.Exception}
	return MarshalPlain(w)
}

// FormatMinor writes an amount of minor units with digits decimals: 1279
// with 2 is "12.79", -5 with 2 is "-0.05", 300 with 0 is "300". Exact: no
// floating point.
func FormatMinor(minor int64, digits int) string {
	sign := ""
	u := uint64(minor)
	if minor < 0 {
		sign, u = "-", uint64(-minor)
	}
	if digits <= 0 {
		return sign + strconv.FormatUint(u, 10)
	}
	s := strconv.FormatUint(u, 10)
	for len(s) <= digits {
		s = "0" + s
	}
	return sign + s[:len(s)-digits] + "." + s[len(s)-digits:]
}
