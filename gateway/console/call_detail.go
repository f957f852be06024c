package console

import (
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"callgate/gateway"
)

type kvRow struct{ K, V string }

type historyRow struct {
	Local, UTC, From, To, Actor, Reason string
}

type detailPage struct {
	Row       callRow
	Raw       string // the record as printed; "" when the viewer may not see it
	RawHidden bool
	Source    string
	Received  string
	Parsed    []kvRow
	Rating    []kvRow
	Posting   []kvRow
	History   []historyRow
	Actions   bool // the viewer may resolve it
}

func (s *Server) callDetail(c echo.Context) error {
	id, err := strconv.ParseUint(c.Param("id"), 10, 64)
	if err != nil || id == 0 {
		return echo.NewHTTPError(http.StatusBadRequest, "a call is named by its entry number, like /calls/12")
	}
	e, err := s.o.Queries.Entry(c.Request().Context(), gateway.EntryID(id))
	if err != nil {
		return err
	}
	w := current(c)
	e = s.forRole(w, e)
	p := detailPage{Row: s.row(w, e), Source: e.Raw.Source, Received: s.wall(e.Raw.Received) + " (" + utc(e.Raw.Received) + ")"}
	if w.can(roleAuditor) {
		if utf8.Valid(e.Raw.Data) {
			p.Raw = string(e.Raw.Data)
		} else {
			p.Raw = strconv.Quote(string(e.Raw.Data))
		}
	} else {
		p.RawHidden = true
	}
	if k := e.Call; k != nil {
		answered := "unknown"
		if k.Answered != nil {
			answered = strconv.FormatBool(*k.Answered)
		}
		p.Parsed = []kvRow{
			{"Format", k.Format}, {"Direction", string(k.Direction)}, {"Extension", k.Extension},
			{"Dialed", s.number(w, k.Dialed)}, {"Start (PBX wall clock)", k.Start.Format("2006-01-02 15:04:05")},
			{"Start (UTC)", utc(k.StartUTC)}, {"Duration", strconv.Itoa(k.DurationS) + " s"},
			{"Answered", answered}, {"Trunk", k.Trunk}, {"Account code", k.AccountCode}, {"Call ID", k.CallID},
		}
		if k.TimeNote != "" {
			p.Parsed = append(p.Parsed, kvRow{"Time note", k.TimeNote})
		}
	}
	if ch := e.Charge; ch != nil {
		m := func(v int64) string { return s.money(v, ch.Currency) }
		exc := "none"
		if ch.Exception != nil {
			exc = *ch.Exception
		}
		p.Rating = []kvRow{
			{"Class", ch.Class}, {"Destination", ch.Destination}, {"Prefix", ch.Prefix}, {"Band", ch.Band},
			{"Tariff edition", ch.TariffVersion}, {"Billable", strconv.Itoa(ch.BillableS) + " s"},
			{"Chargeable", strconv.FormatBool(ch.Chargeable)}, {"Carrier cost", m(ch.CarrierMinor)},
			{"Markup", m(ch.MarkupMinor)}, {"Surcharge", m(ch.SurchargeMinor)}, {"Tax", m(ch.TaxMinor)},
			{"Total", m(ch.TotalMinor)}, {"Exception", exc},
		}
	}
	p.Posting = []kvRow{{"Room (folio)", e.Room}, {"Reservation", e.Reservation}}
	if e.Posting != 0 {
		p.Posting = append(p.Posting, kvRow{"Posting number (P#)", strconv.FormatUint(uint64(e.Posting), 10)})
		// A cloud PMS stores the posting's reference on the charge (or
		// takes it as the key): the night auditor finds the charge by it
		// (docs/posting-safety.md "The reference").
		if st := s.o.Engine.Status(); st.Capability == gateway.CapabilityLookup || st.Capability == gateway.CapabilityIdempotent {
			p.Posting = append(p.Posting, kvRow{"Posting reference (" + string(st.Capability) + ")", gateway.PostingReference(st.Property, st.PostingEpochs.Of(e.ID, e.Posting, st.Epoch), e.ID, e.Posting)})
		}
	}
	if !e.Sent.IsZero() {
		p.Posting = append(p.Posting, kvRow{"Sent", s.wall(e.Sent) + " (" + utc(e.Sent) + ")"})
	}
	if a := e.Answer; a != nil {
		p.Posting = append(p.Posting, kvRow{"PMS answer", a.Code}, kvRow{"PMS text", a.Text}, kvRow{"Answered at", s.wall(a.Time) + " (" + utc(a.Time) + ")"})
	}
	if e.Replays > 0 {
		p.Posting = append(p.Posting, kvRow{"PBX replays dropped", strconv.Itoa(e.Replays)})
	}
	for _, h := range e.History {
		actor := h.Actor
		if actor == "" {
			actor = "gateway"
		}
		p.History = append(p.History, historyRow{s.wall(h.Time), utc(h.Time), string(h.From), string(h.To), actor, h.Reason})
	}
	p.Actions = w.can(roleAuditor) && e.State.NeedsPerson()
	v := s.view(c, "Call "+strconv.FormatUint(id, 10))
	v.Nav, v.Data = "calls", p
	return c.Render(http.StatusOK, "call", v)
}
