package mews

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"callgate/gateway"
)

func sortStays(s []stay) {
	slices.SortFunc(s, func(a, b stay) int {
		if c := strings.Compare(a.room, b.room); c != 0 {
			return c
		}
		if c := a.start.Compare(b.start); c != 0 {
			return c
		}
		return strings.Compare(a.number, b.number)
	})
}

// Post resolves the room's reservation in house again and, when there is
// one, orders the call as one custom item (orders/add) with the posting's
// Reference as ExternalIdentifier. See docs/pms-mews.md, "Posting".
func (l *Link) Post(ctx context.Context, p gateway.PostRequest) (gateway.PostResult, error) {
	order, err := l.orderOf(p)
	if err != nil {
		return gateway.PostResult{Outcome: gateway.PostInvalid, At: l.now()}, err
	}
	notSent := func(err error) (gateway.PostResult, error) {
		return gateway.PostResult{Outcome: gateway.PostTransient, At: l.now()}, err
	}
	if l.isClosed() {
		return notSent(errClosed)
	}
	if st := l.Status(); !st.Ready() {
		why := "not alive (" + string(st.State) + ")"
		if st.Resync {
			why = "reading all guests in house"
		}
		return notSent(gateway.Errorf(gateway.KindTransient, "posting %d for room %s waits: the Mews link is %s", p.Number, p.Room, why))
	}
	select {
	case l.postSem <- struct{}{}:
		defer func() { <-l.postSem }()
	case <-ctx.Done():
		return notSent(gateway.Wrap(gateway.KindTransient, ctx.Err(), fmt.Sprintf("posting %d for room %s was given up while another posting waited for Mews", p.Number, p.Room)))
	}
	ctx, cancel := l.ctxOr(ctx)
	defer cancel()

	// Resolve the stay just before posting: a guest who left since the
	// last poll must not be charged.
	st, err := l.resolve(ctx, p.Room)
	if err != nil {
		if gateway.IsKind(err, gateway.KindInvalid) {
			return gateway.PostResult{Outcome: gateway.PostInvalid, At: l.now()}, err
		}
		return notSent(gateway.Wrap(gateway.KindTransient, err, fmt.Sprintf("posting %d for room %s waits: %s", p.Number, p.Room, sentence(err))))
	}
	if st == nil {
		return gateway.PostResult{Outcome: gateway.PostVacant, At: l.now()},
			gateway.Errorf(gateway.KindInvalid, "posting %d: room %s has no guest in house in Mews (no reservation Started in it); nothing was sent", p.Number, p.Room)
	}
	order.AccountID, order.LinkedReservationID = st.account, st.id
	l.rememberAccount(p.Reference, st.account)
	l.log.Debug().Uint32("posting", p.Number).Str("room", p.Room).Str("dialed", p.Dialed).Str("reference", p.Reference).Msg("posting to Mews")

	a := l.send(ctx, PathAddOrder, func(auth Auth) any { order.Auth = auth; return order })
	res, err := l.classify(p, a)
	if res.Outcome == gateway.PostPosted || res.Outcome == gateway.PostRefused {
		l.rememberAccount(p.Reference, "") // settled: no lookup will come
	}
	return res, err
}

// maxAccounts bounds the references whose account the link remembers for
// their lookup; past it the memory starts over (a lookup without the
// account searches the service's items only).
const maxAccounts = 10000

// rememberAccount keeps (or, with "", forgets) the account a posting was
// sent to, so that its lookup can name it.
func (l *Link) rememberAccount(ref, account string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if account == "" {
		delete(l.accounts, ref)
		return
	}
	if len(l.accounts) >= maxAccounts {
		l.accounts = map[string]string{}
	}
	l.accounts[ref] = account
}

// classify turns orders/add's answer into the posting's outcome.
func (l *Link) classify(p gateway.PostRequest, a answer) (gateway.PostResult, error) {
	res := gateway.PostResult{Sent: a.wrote, At: l.now()}
	what := fmt.Sprintf("posting %d (reference %s) for room %s", p.Number, p.Reference, p.Room)
	if a.status != 0 {
		res.Answer = strconv.Itoa(a.status)
	}
	switch {
	case a.err != nil && gateway.IsKind(a.err, gateway.KindInvalid):
		res.Outcome = gateway.PostTransient
		l.setDown(gateway.Message(a.err))
		return res, gateway.Errorf(gateway.KindTransient, "%s waits: %s", what, gateway.Message(a.err))
	case a.err != nil && !a.wrote:
		res.Outcome = gateway.PostTransient
		l.log.Warn().Str("reference", p.Reference).Str("reason", netReason(a.err)).Msg("posting not sent: the request never reached Mews")
		l.poke() // check at once whether Mews can be reached
		return res, gateway.Wrap(gateway.KindTransient, a.err, fmt.Sprintf("%s was not sent: Mews could not be reached (%s)", what, netReason(a.err)))
	case a.err != nil:
		res.Outcome = gateway.PostInDoubt
		l.log.Warn().Str("reference", p.Reference).Str("reason", netReason(a.err)).Msg("posting in doubt: sent to Mews, no answer")
		return res, gateway.Wrap(gateway.KindInternal, gateway.ErrInDoubt, fmt.Sprintf("%s is in doubt: it went to Mews and no answer came (%s); it can be looked up by its reference", what, netReason(a.err)))
	case a.unauthorized:
		res.Outcome = gateway.PostTransient
		err := errUnauthorized(DecodeError(a.body))
		l.setDown(gateway.Message(err))
		return res, err
	case a.status == http.StatusOK:
		o, err := DecodeAddOrder(a.body)
		if err != nil {
			res.Outcome = gateway.PostInDoubt
			return res, gateway.Wrap(gateway.KindInternal, gateway.ErrInDoubt, fmt.Sprintf("%s is in doubt: Mews answered 200 but %v", what, err))
		}
		res.Outcome, res.Text = gateway.PostPosted, "order "+o.OrderID
		l.log.Info().Uint32("posting", p.Number).Str("room", p.Room).Str("reference", p.Reference).Str("order", o.OrderID).Msg("posted to Mews")
		return res, nil
	case a.status == http.StatusTooManyRequests:
		res.Outcome, res.Cause, res.Text = gateway.PostTransient, gateway.CauseBusy, DecodeError(a.body)
		return res, gateway.Errorf(gateway.KindTransient, "%s was not taken: Mews's request limit was reached (429); it waits %s", what, a.retryAfter)
	case a.status == http.StatusConflict:
		// "The request cannot be completed because the data has
		// changed": not booked; the next try resolves the stay again.
		res.Outcome, res.Cause, res.Text = gateway.PostTransient, gateway.CauseBusy, DecodeError(a.body)
		return res, gateway.Errorf(gateway.KindTransient, "%s was not taken: Mews says the data changed (409: %s); it is sent again", what, res.Text)
	case a.status >= 500 || a.status == http.StatusRequestTimeout:
		// Mews failed while handling the order: it may or may not be
		// booked. The lookup settles it.
		res.Outcome, res.Text = gateway.PostInDoubt, DecodeError(a.body)
		return res, gateway.Wrap(gateway.KindInternal, gateway.ErrInDoubt, fmt.Sprintf("%s is in doubt: Mews failed while handling it (HTTP %d: %s); it can be looked up by its reference", what, a.status, res.Text))
	default:
		res.Outcome, res.Text = gateway.PostRefused, DecodeError(a.body)
		l.log.Warn().Uint32("posting", p.Number).Str("room", p.Room).Int("status", a.status).Str("message", res.Text).Msg("Mews refused a posting")
		return res, gateway.Errorf(gateway.KindRejected, "Mews refused %s (HTTP %d): %s", what, a.status, res.Text)
	}
}

func (l *Link) setDown(reason string) {
	l.setStatus(func(s *gateway.LinkStatus) { s.State, s.Err = gateway.LinkDown, reason })
	l.poke()
}

// orderOf checks p and writes its order, without the stay.
func (l *Link) orderOf(p gateway.PostRequest) (AddOrderRequest, error) {
	bad := func(format string, args ...any) (AddOrderRequest, error) {
		return AddOrderRequest{}, gateway.Errorf(gateway.KindInvalid, "posting %d for room %q cannot go to Mews: "+format, append([]any{p.Number, p.Room}, args...)...)
	}
	switch {
	case p.Number < 1 || p.Number > 99_999_999:
		return bad("its number is not from 1 to 99999999")
	case strings.TrimSpace(p.Room) == "":
		return bad("it has no room")
	case !referenceRE.MatchString(p.Reference):
		return bad("its reference %q is not 1 to 40 letters, digits and dashes", p.Reference)
	case len(p.Currency) != 3 || strings.ToUpper(p.Currency) != p.Currency:
		return bad("%q is not an ISO 4217 currency code", p.Currency)
	}
	cat, ok := l.o.Config.Charge.AccountingCategories[p.Class]
	if !ok {
		return bad("the call's class %q has no accounting category: add pms.charge.accounting_categories.%s with the Id of its Mews accounting category", p.Class, p.Class)
	}
	digits := 2
	if l.o.MinorDigits != nil {
		if d, ok := l.o.MinorDigits(p.Currency); ok {
			digits = d
		}
	}
	amount, err := FormatAmount(p.AmountMinor, digits)
	if err != nil {
		return bad("%v", err)
	}
	taxes := []string{}
	if tc := l.o.Config.Charge.TaxCode; tc != "" {
		taxes = []string{tc}
	}
	return AddOrderRequest{
		EnterpriseID:   l.o.Config.EnterpriseID,
		ServiceID:      l.o.Config.Charge.ServiceID,
		ConsumptionUtc: FormatTime(l.utc(p.Start)),
		Notes:          notes(p),
		Items: []ItemParams{{
			Name:                 itemName(p),
			UnitCount:            1,
			UnitAmount:           AmountParams{Currency: p.Currency, GrossValue: amount, TaxCodes: taxes},
			AccountingCategoryID: cat,
			ExternalIdentifier:   p.Reference,
		}},
	}, nil
}

// utc reads a local wall-clock time (its Location means nothing) in the
// site's time zone.
func (l *Link) utc(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, l.o.Location).UTC()
}

// itemName is the folio line: "Call <destination> m:ss".
func itemName(p gateway.PostRequest) string {
	dest := clean(p.Destination, 60)
	if dest == "" {
		dest = p.Class
	}
	return fmt.Sprintf("Call %s %d:%02d", dest, p.DurationS/60, p.DurationS%60)
}

// notes carries what the folio line does not: the digits dialed, the
// start, the posting number.
func notes(p gateway.PostRequest) string {
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, p.Dialed)
	return fmt.Sprintf("Dialed %s at %s, %ds, posting %d", digits, p.Start.Format("2006-01-02 15:04:05"), p.DurationS, p.Number)
}

// resolve finds the stay a charge to room goes to, asking Mews now: nil
// when nobody is in house. Several reservations in one room (sharers):
// the one checked in first. An unknown room is KindInvalid.
func (l *Link) resolve(ctx context.Context, room string) (*stay, error) {
	l.mu.Lock()
	rid := l.rooms[room]
	l.mu.Unlock()
	if rid == "" {
		if err := l.loadRooms(ctx, []string{room}); err != nil {
			return nil, err
		}
		l.mu.Lock()
		rid = l.rooms[room]
		l.mu.Unlock()
		if rid == "" {
			return nil, gateway.Errorf(gateway.KindInvalid, "room %s is not a resource in Mews: check the extension's room number in the rooms table, or the room's name in Mews", room)
		}
	}
	res, err := l.reservations(ctx, []string{rid})
	if err != nil {
		return nil, err
	}
	var stays []stay
	for _, r := range res {
		if r.State == StateStarted && r.AssignedResourceID != nil && *r.AssignedResourceID == rid {
			stays = append(stays, l.stayOf(r, room))
		}
	}
	if len(stays) == 0 {
		return nil, nil
	}
	sortStays(stays)
	return &stays[0], nil
}

// Lookup asks Mews whether an order item with p.Reference as its
// ExternalIdentifier was created since p.FirstSent (less a margin):
// orderItems/getAll by service (and account, when this link sent it)
// and creation time. See docs/pms-mews.md, "Lookup".
func (l *Link) Lookup(ctx context.Context, p gateway.PostRequest) (gateway.LookupResult, error) {
	switch {
	case !referenceRE.MatchString(p.Reference):
		return gateway.LookupResult{}, gateway.Errorf(gateway.KindInvalid, "posting %d cannot be looked up in Mews: its reference %q is not 1 to 40 letters, digits and dashes", p.Number, p.Reference)
	case p.FirstSent.IsZero():
		return gateway.LookupResult{}, gateway.Errorf(gateway.KindInvalid, "posting %d cannot be looked up in Mews: it has no time it was first sent", p.Number)
	case l.isClosed():
		return gateway.LookupResult{}, errClosed
	}
	ctx, cancel := l.ctxOr(ctx)
	defer cancel()
	from := p.FirstSent.Add(-l.o.LookupMargin)
	to := l.now().Add(l.o.LookupMargin)
	if limit := from.AddDate(0, 3, 0).Add(-time.Hour); to.After(limit) {
		to = limit // the API's longest window is 3 months
	}
	l.mu.Lock()
	acct := l.accounts[p.Reference]
	l.mu.Unlock()
	var accounts []string
	if acct != "" {
		accounts = []string{acct}
	}
	var cursor *string
	for page := 0; page < 100; page++ {
		var r OrderItemsResponse
		err := l.read(ctx, PathOrderItems, func(a Auth) any {
			return OrderItemsRequest{Auth: a, EnterpriseIDs: l.enterprises(), AccountIDs: accounts,
				ServiceIDs: []string{l.o.Config.Charge.ServiceID},
				CreatedUtc: &TimeInterval{StartUtc: FormatTime(from), EndUtc: FormatTime(to)},
				Limitation: Limitation{Count: PageSize, Cursor: cursor}}
		}, func(b []byte) (err error) { r, err = DecodeOrderItems(b); return err })
		if err != nil {
			if l.isClosed() {
				return gateway.LookupResult{}, errClosed
			}
			// Whatever stopped the read (no answer, 5xx, 429, a refusal),
			// the posting's fate is unknown: the engine asks again later.
			return gateway.LookupResult{}, gateway.Wrap(gateway.KindTransient, err, fmt.Sprintf("posting %d (reference %s) could not be looked up in Mews: %s", p.Number, p.Reference, gateway.Message(err)))
		}
		for _, it := range r.OrderItems {
			if it.ExternalIdentifier != nil && *it.ExternalIdentifier == p.Reference {
				text := "Mews holds order item " + it.ID + " with the reference"
				if it.CanceledUtc != nil || it.AccountingState == "Canceled" {
					text += " (canceled in Mews since)"
				}
				l.log.Info().Str("reference", p.Reference).Str("item", it.ID).Msg("lookup: the posting is in Mews")
				return gateway.LookupResult{Found: true, Answer: it.ID, Text: text, At: l.now()}, nil
			}
		}
		if len(r.OrderItems) < PageSize || r.Cursor == nil {
			l.log.Info().Str("reference", p.Reference).Msg("lookup: the posting is not in Mews")
			return gateway.LookupResult{Text: fmt.Sprintf("Mews has no order item with reference %s created since %s", p.Reference, FormatTime(from)), At: l.now()}, nil
		}
		cursor = r.Cursor
	}
	return gateway.LookupResult{}, gateway.Errorf(gateway.KindTransient, "posting %d (reference %s): Mews listed more than %d order items; asked again later", p.Number, p.Reference, 100*PageSize)
}
