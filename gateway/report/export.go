package report

import (
	"strings"

	"callgate/gateway"
)

// ExportColumns are the columns of the finance export, in order. They are a
// stable interface for finance systems: columns are only ever added at the
// end, never renamed, removed or reordered.
//
//	entry_id        the journal entry (gateway journal shows its history)
//	start           local wall-clock start of the call
//	room            the room (folio) charged; "" if none
//	reservation     the guest's PMS reservation number; "" if unknown
//	extension       the extension that made the call
//	dialed          the number dialed, as the PBX printed it
//	class           the tariff class: local, national, international, …
//	destination     the tariff's destination name
//	duration_s      connected seconds
//	billable_s      seconds billed after the tariff's increments
//	currency        ISO 4217 code of the amounts
//	carrier_cost    what the carrier charges the hotel
//	markup          the hotel's markup
//	surcharge       per-call surcharges
//	tax             tax
//	total           what the guest pays (carrier_cost + markup + surcharge + tax)
//	posting         the FIAS posting number; empty if never posted
//	state           the journal state: posted, refused, in-doubt, imported, …
//	tariff_version  the tariff edition that rated the call
var ExportColumns = []Column{
	{Name: "entry_id", Kind: Int}, {Name: "start", Kind: Instant}, {Name: "room"}, {Name: "reservation"},
	{Name: "extension"}, {Name: "dialed"}, {Name: "class"}, {Name: "destination"},
	{Name: "duration_s", Kind: Int}, {Name: "billable_s", Kind: Int}, {Name: "currency"},
	{Name: "carrier_cost", Kind: Money}, {Name: "markup", Kind: Money}, {Name: "surcharge", Kind: Money},
	{Name: "tax", Kind: Money}, {Name: "total", Kind: Money}, {Name: "posting", Kind: Int}, {Name: "state"},
	{Name: "tariff_version"},
}

// Export returns the finance export of the entries of the options' period:
// one row per chargeable call (rated chargeable, whatever became of its
// posting), in journal order.
func Export(es []gateway.Entry, o Options) (*Table, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	t := &Table{Name: "export", Title: "Finance export: chargeable calls", From: dateOf(o.From), To: dateOf(o.To), Columns: ExportColumns}
	for i := range es {
		e := &es[i]
		ch := e.Charge
		if ch == nil || !ch.Chargeable {
			continue
		}
		d := o.digits(ch.Currency)
		var posting any = ""
		if e.Posting != 0 {
			posting = int64(e.Posting)
		}
		t.Rows = append(t.Rows, []any{int64(e.ID), e.Call.Start, roomOf(e, &o), e.Reservation, e.Call.Extension,
			e.Call.Dialed, ch.Class, ch.Destination, int64(e.Call.DurationS), int64(ch.BillableS), strings.ToUpper(ch.Currency),
			Amount{ch.CarrierMinor, d}, Amount{ch.MarkupMinor, d}, Amount{ch.SurchargeMinor, d}, Amount{ch.TaxMinor, d},
			Amount{ch.TotalMinor, d}, posting, string(e.State), ch.TariffVersion})
	}
	return t, nil
}
