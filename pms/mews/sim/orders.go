package sim

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"callgate/pms/mews"
)

// addOrder books an order of custom items (orders/add), after the faults.
func (s *Sim) addOrder(w http.ResponseWriter, r *http.Request, body []byte) {
	var q mews.AddOrderRequest
	d := json.NewDecoder(strings.NewReader(string(body)))
	d.UseNumber()
	if err := d.Decode(&q); err != nil {
		apiError(w, http.StatusBadRequest, "Invalid request: "+err.Error())
		return
	}
	charges, msg, status := s.validateOrder(q)
	if msg != "" {
		apiError(w, status, msg)
		return
	}
	s.mu.Lock()
	s.received++
	s.changedLocked()
	f := &s.faults
	apply, lose, hold := true, false, false
	var slowFor time.Duration
	failStatus, failMsg := 0, ""
	switch {
	case f.LoseAfter > 0:
		f.LoseAfter--
		lose = true
	case f.LoseBefore > 0:
		f.LoseBefore--
		apply, lose = false, true
	case f.Hold > 0:
		f.Hold--
		apply, hold = false, true
	case f.Slow > 0:
		f.Slow--
		slowFor = f.SlowFor
	case f.Fail > 0:
		f.Fail--
		failStatus, failMsg, apply = f.FailStatus, f.FailMessage, f.FailApplied
		if failStatus == 0 {
			failStatus = http.StatusInternalServerError
		}
		if failMsg == "" {
			failMsg = "An unexpected error occurred."
		}
	case f.LoseEvery > 0:
		s.loseCount++
		if s.loseCount%f.LoseEvery == 0 {
			lose = true
			apply = (s.loseCount/f.LoseEvery)%2 == 1 // alternately after booking and before
		}
	}
	var orderID string
	if apply {
		orderID = s.guid()
		now := s.now().UTC()
		for i := range charges {
			charges[i].OrderID, charges[i].ItemID, charges[i].Created = orderID, s.guid(), now
			s.ledger = append(s.ledger, charges[i])
		}
		s.changedLocked()
	}
	s.mu.Unlock()
	switch {
	case hold:
		<-r.Context().Done()
		return
	case lose:
		dropConnection(w)
		return
	case slowFor > 0:
		t := time.NewTimer(slowFor)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	case failStatus != 0:
		apiError(w, failStatus, failMsg)
		return
	}
	reply(w, mews.AddOrderResponse{OrderID: orderID})
}

// dropConnection closes the client's connection without an answer: a
// response lost on the way.
func dropConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler) // net/http closes the connection
	}
	c, _, err := hj.Hijack()
	if err == nil {
		c.Close()
	}
}

// validateOrder checks an orders/add body as Mews documents it and
// returns the charges it would book, or the error message and status.
func (s *Sim) validateOrder(q mews.AddOrderRequest) ([]Charge, string, int) {
	bad := func(msg string) ([]Charge, string, int) { return nil, msg, http.StatusBadRequest }
	if q.ServiceID == "" {
		return bad("Invalid ServiceId: it is required.")
	}
	if !strings.EqualFold(q.ServiceID, s.o.ServiceID) {
		return bad("Invalid ServiceId: service " + q.ServiceID + " does not exist.")
	}
	if q.AccountID == "" {
		return bad("Invalid AccountId: it is required.")
	}
	if len(q.Items) == 0 {
		return bad("Invalid request: an order needs Items or ProductOrders.")
	}
	if q.ConsumptionUtc != "" {
		if _, err := mews.ParseTime(q.ConsumptionUtc); err != nil {
			return bad("Invalid ConsumptionUtc: " + err.Error())
		}
	}
	s.mu.Lock()
	var res *reservation
	accountKnown := false
	for _, v := range s.res {
		if v.account == q.AccountID {
			accountKnown = true
		}
		if v.id == q.LinkedReservationID {
			res = v
		}
	}
	room := ""
	if res != nil {
		room = s.roomNameLocked(res.resourceID)
	}
	s.mu.Unlock()
	if !accountKnown {
		return bad("Invalid AccountId: account " + q.AccountID + " does not exist.")
	}
	if q.LinkedReservationID != "" {
		if res == nil {
			return bad("Invalid LinkedReservationId: reservation " + q.LinkedReservationID + " does not exist.")
		}
		if res.account != q.AccountID {
			return nil, "The linked reservation does not belong to the account charged.", http.StatusForbidden
		}
	}
	var out []Charge
	for _, it := range q.Items {
		switch {
		case strings.TrimSpace(it.Name) == "":
			return bad("Invalid Items: Name is required.")
		case it.UnitCount < 1:
			return bad("Invalid Items: UnitCount must be at least 1.")
		case it.UnitAmount.Currency == "":
			return bad("Invalid UnitAmount: Currency is required.")
		case it.UnitAmount.Currency != s.o.Currency:
			return bad("Invalid UnitAmount: currency " + it.UnitAmount.Currency + " is not accepted by the enterprise.")
		case it.UnitAmount.TaxCodes == nil:
			return bad("Invalid UnitAmount: TaxCodes is required.")
		case len(it.UnitAmount.TaxCodes) > 1:
			return bad("Invalid UnitAmount: only one tax can be defined with GrossValue.")
		case it.UnitAmount.GrossValue == "":
			return bad("Invalid UnitAmount: GrossValue is required in a gross pricing environment.")
		case it.AccountingCategoryID != "" && !s.cats[strings.ToLower(it.AccountingCategoryID)]:
			return bad("Invalid AccountingCategoryId: accounting category " + it.AccountingCategoryID + " does not exist.")
		}
		v, err := mews.ParseAmount(it.UnitAmount.GrossValue, s.o.Digits)
		if err != nil {
			return bad("Invalid UnitAmount: GrossValue " + err.Error() + ".")
		}
		out = append(out, Charge{Reference: it.ExternalIdentifier, ServiceID: q.ServiceID, AccountID: q.AccountID,
			ReservationID: q.LinkedReservationID, Room: room, AccountingCategoryID: it.AccountingCategoryID, Name: it.Name,
			Notes: q.Notes, Currency: it.UnitAmount.Currency, AmountMinor: v * int64(it.UnitCount),
			TaxCodes: it.UnitAmount.TaxCodes, ConsumptionUtc: q.ConsumptionUtc})
	}
	return out, "", 0
}

func (s *Sim) roomNameLocked(id string) string {
	for _, r := range s.rooms {
		if r.id == id {
			return r.name
		}
	}
	return ""
}

// orderItems lists booked items (orderItems/getAll) by account, service
// and creation time.
func (s *Sim) orderItems(w http.ResponseWriter, body []byte) {
	var q struct {
		mews.OrderItemsRequest
		Limitation *mews.Limitation `json:"Limitation"`
	}
	if err := json.Unmarshal(body, &q); err != nil {
		apiError(w, http.StatusBadRequest, "Invalid request: "+err.Error())
		return
	}
	if msg := checkLimitation(q.Limitation); msg != "" {
		apiError(w, http.StatusBadRequest, msg)
		return
	}
	if len(q.ServiceIDs) == 0 && len(q.AccountIDs) == 0 && q.CreatedUtc == nil {
		apiError(w, http.StatusBadRequest, "Invalid request: at least one of the filters OrderItemIds, ServiceOrderIds, ServiceIds, BillIds, CreatedUtc, UpdatedUtc, ClosedUtc must be specified.")
		return
	}
	if len(q.AccountIDs) > 100 {
		apiError(w, http.StatusBadRequest, "Invalid AccountIds: at most 100 items.")
		return
	}
	var from, to time.Time
	if c := q.CreatedUtc; c != nil {
		var err1, err2 error
		from, err1 = mews.ParseTime(c.StartUtc)
		to, err2 = mews.ParseTime(c.EndUtc)
		switch {
		case err1 != nil || err2 != nil:
			apiError(w, http.StatusBadRequest, "Invalid CreatedUtc: StartUtc and EndUtc must be ISO 8601 datetimes.")
			return
		case to.Before(from):
			apiError(w, http.StatusBadRequest, "Invalid CreatedUtc: EndUtc is before StartUtc.")
			return
		case to.After(from.AddDate(0, 3, 0)):
			apiError(w, http.StatusBadRequest, "Invalid CreatedUtc: the interval is longer than 3 months.")
			return
		}
	}
	s.mu.Lock()
	var out []mews.OrderItem
	// Newest first, as Mews's cursor pagination runs.
	for i := len(s.ledger) - 1; i >= 0; i-- {
		c := s.ledger[i]
		created := c.Created.Truncate(time.Second)
		switch {
		case len(q.AccountIDs) > 0 && !containsFold(q.AccountIDs, c.AccountID),
			len(q.ServiceIDs) > 0 && !containsFold(q.ServiceIDs, c.ServiceID),
			q.CreatedUtc != nil && (created.Before(from) || created.After(to)):
			continue
		}
		ext := c.Reference
		amount, _ := mews.FormatAmount(c.AmountMinor, s.o.Digits)
		out = append(out, mews.OrderItem{ID: c.ItemID, AccountID: c.AccountID, ServiceID: c.ServiceID, ServiceOrderID: c.OrderID,
			ExternalIdentifier: &ext, UnitCount: 1, Amount: mews.Amount{Currency: c.Currency, GrossValue: amount, NetValue: amount},
			CreatedUtc: mews.FormatTime(c.Created), AccountingState: "Open"})
	}
	s.mu.Unlock()
	pg, cur, err := page(out, func(it mews.OrderItem) string { return it.ID }, *q.Limitation)
	if err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	if pg == nil {
		pg = []mews.OrderItem{}
	}
	reply(w, mews.OrderItemsResponse{OrderItems: pg, Cursor: cur})
}

func containsFold(list []string, v string) bool {
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}
