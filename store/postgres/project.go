package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"callgate/gateway"
)

// eventData is the "data" of a stored event as far as the central projects
// it: the keys docs/journal.md gives the kinds captured, imported and
// moved, and the audit detail.
type eventData struct {
	Received    string          `json:"received"`
	Source      string          `json:"source"`
	Call        json.RawMessage `json:"call"`
	Charge      json.RawMessage `json:"charge"`
	Room        string          `json:"room"`
	Reservation string          `json:"reservation"`
	Posting     uint32          `json:"posting"`
	Answer      *struct {
		Code string `json:"code"`
		Text string `json:"text"`
	} `json:"answer"`
	Action string            `json:"action"`
	Detail map[string]string `json:"detail"`
}

// callRow is one row of call_state: a journal entry's latest state and
// facts, projected from its events as the property's journal projects them.
type callRow struct {
	entry       uint64
	created     time.Time
	state       gateway.State
	updated     time.Time
	lastSeq     uint64
	received    *time.Time
	source      *string
	call        *gateway.Call
	charge      *gateway.Charge
	callJSON    []byte // the journal's JSON of call and charge, kept whole
	chargeJSON  []byte
	entryAt     time.Time // the entry's time: the call's start once parsed, the time read before
	room        *string
	reservation *string
	posting     uint32
	sent        *time.Time
	answer      *string
	answerText  *string
	answerAt    *time.Time
	replays     int
}

// postingRow is one (entry, posting number) of the batch, with what the
// batch tells of it; nil fields keep what is stored.
type postingRow struct {
	entry, posting uint64
	room           *string
	total          *int64
	currency       *string
	state          gateway.State
	given          time.Time
	sent           *time.Time
	answer         *string
	answerText     *string
	answerAt       *time.Time
}

// project updates the projections from the batch's new events: call_state,
// posting, exception and action.
func project(ctx context.Context, tx pgx.Tx, property, epoch string, evs []gateway.Event) error {
	rows := map[uint64]*callRow{}
	var order []uint64 // the entries the batch touches, first touch first
	inOrder := map[uint64]bool{}
	created := map[uint64]bool{}
	var load []int64 // entries made before the batch: their rows are read
	loading := map[uint64]bool{}
	for i := range evs {
		e := &evs[i]
		if e.Entry == 0 {
			continue
		}
		id := uint64(e.Entry)
		if e.Kind == gateway.EventCaptured || e.Kind == gateway.EventImported {
			created[id] = true
		} else if !created[id] && !loading[id] {
			loading[id] = true
			load = append(load, int64(id))
		}
	}
	if len(load) > 0 {
		if err := loadCalls(ctx, tx, property, epoch, load, rows); err != nil {
			return err
		}
	}
	postings := map[[2]uint64]*postingRow{}
	var postOrder [][2]uint64
	var excs, acts [][]any
	for i := range evs {
		e := &evs[i]
		var d eventData
		var call *gateway.Call
		var charge *gateway.Charge
		if len(e.Data) > 0 {
			err := json.Unmarshal(e.Data, &d)
			if err == nil && len(d.Call) > 0 && string(d.Call) != "null" {
				call = new(gateway.Call)
				err = json.Unmarshal(d.Call, call)
			}
			if err == nil && len(d.Charge) > 0 && string(d.Charge) != "null" {
				charge = new(gateway.Charge)
				err = json.Unmarshal(d.Charge, charge)
			}
			if err != nil {
				return gateway.Errorf(gateway.KindInvalid, "event %d (%s) of epoch %s: its data cannot be read: %v", e.Seq, e.Kind, epoch, err)
			}
		}
		if e.Actor != "" || e.Kind == gateway.EventAudit || e.Kind == gateway.EventPruned {
			var detail any
			if len(d.Detail) > 0 {
				detail = d.Detail
			}
			action := d.Action
			if action == "" {
				action = string(e.Kind)
			}
			acts = append(acts, []any{property, epoch, int64(e.Seq), int64(e.Entry), e.Time.UTC(), e.Local, string(e.Kind), e.Actor,
				action, string(e.From), string(e.To), e.Reason, detail})
		}
		if e.Entry == 0 {
			continue
		}
		id := uint64(e.Entry)
		r := rows[id]
		if r == nil {
			r = &callRow{entry: id, created: e.Time.UTC(), entryAt: e.Time.UTC(), state: gateway.StateCaptured}
			rows[id] = r
		}
		if !inOrder[id] {
			inOrder[id] = true
			order = append(order, id)
		}
		r.updated, r.lastSeq = e.Time.UTC(), e.Seq
		switch e.Kind {
		case gateway.EventCaptured, gateway.EventImported:
			*r = callRow{entry: id, created: e.Time.UTC(), entryAt: e.Time.UTC(), state: gateway.StateCaptured, updated: e.Time.UTC(), lastSeq: e.Seq}
			if d.Received != "" {
				if t, err := time.Parse(time.RFC3339Nano, d.Received); err == nil {
					t = t.UTC()
					r.received, r.entryAt = &t, t
				}
			}
			if d.Source != "" {
				r.source = ptr(d.Source)
			}
			if e.Kind == gateway.EventImported {
				r.state = gateway.StateImported
				if d.Room != "" {
					r.room = ptr(d.Room)
				}
				setCall(r, &d, call, charge)
			}
		case gateway.EventReplayed:
			r.replays++
		case gateway.EventMoved:
			r.state = e.To
			setCall(r, &d, call, charge)
			if d.Room != "" {
				r.room = ptr(d.Room)
			}
			if d.Reservation != "" {
				r.reservation = ptr(d.Reservation)
			}
			switch {
			case d.Posting != 0:
				r.posting = d.Posting
				p := postingOf(postings, &postOrder, r, e)
				p.given = e.Time.UTC()
			case e.To == gateway.StateQueued && (e.From == gateway.StateReposted || e.From == gateway.StateTransferred):
				r.posting = 0 // queued again by a person, to go under a new number
			}
			if e.To == gateway.StateSent {
				t := e.Time.UTC()
				r.sent = &t
			}
			if d.Answer != nil {
				t := e.Time.UTC()
				r.answer, r.answerText, r.answerAt = ptr(d.Answer.Code), optPtr(d.Answer.Text), &t
			}
			if r.posting != 0 {
				p := postingOf(postings, &postOrder, r, e)
				if e.To == gateway.StateSent {
					p.sent = r.sent
				}
				if d.Answer != nil {
					t := e.Time.UTC()
					p.answer, p.answerText, p.answerAt = r.answer, r.answerText, &t
				}
			}
			if e.To == gateway.StateException || e.To == gateway.StateInDoubt {
				excs = append(excs, []any{property, epoch, int64(e.Seq), int64(e.Entry), e.Time.UTC(), string(e.From), string(e.To), e.Reason})
			}
		}
	}
	if err := putCalls(ctx, tx, property, epoch, rows, order); err != nil {
		return err
	}
	if err := putPostings(ctx, tx, property, epoch, postings, postOrder); err != nil {
		return err
	}
	if len(excs) > 0 {
		if err := insertAll(ctx, tx, "exception", []string{"property", "epoch", "seq", "entry", "time_utc", "from_state", "to_state", "reason"}, excs); err != nil {
			return err
		}
	}
	if len(acts) > 0 {
		if err := insertAll(ctx, tx, "action", []string{"property", "epoch", "seq", "entry", "time_utc", "time_local", "kind", "actor", "action", "from_state", "to_state", "reason", "detail"}, acts); err != nil {
			return err
		}
	}
	return nil
}

// postingOf is the batch's row for the entry's current posting number,
// carrying the entry's state, room and charge as they are now.
func postingOf(m map[[2]uint64]*postingRow, order *[][2]uint64, r *callRow, e *gateway.Event) *postingRow {
	k := [2]uint64{r.entry, uint64(r.posting)}
	p := m[k]
	if p == nil {
		p = &postingRow{entry: r.entry, posting: uint64(r.posting), given: e.Time.UTC()}
		m[k] = p
		*order = append(*order, k)
	}
	p.state, p.room = r.state, r.room
	if r.charge != nil {
		p.total, p.currency = &r.charge.TotalMinor, &r.charge.Currency
	}
	return p
}

func setCall(r *callRow, d *eventData, call *gateway.Call, charge *gateway.Charge) {
	if call != nil {
		call.Raw = nil
		r.call, r.callJSON = call, d.Call
		if !call.StartUTC.IsZero() {
			r.entryAt = call.StartUTC.UTC()
		}
	}
	if charge != nil {
		r.charge, r.chargeJSON = charge, d.Charge
	}
}

func ptr[T any](v T) *T { return &v }

func optPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// callCols are call_state's columns in the order callRow.values gives them.
var callCols = []string{"property", "epoch", "entry", "created_utc", "state", "updated_utc", "last_seq", "received_utc", "source",
	"start_local", "start_utc", "extension", "room", "reservation", "dialed", "duration_s", "direction", "trunk", "account_code",
	"class", "destination", "band", "billable_s", "chargeable", "carrier_minor", "markup_minor", "surcharge_minor", "tax_minor",
	"total_minor", "currency", "tariff_version", "exception", "posting", "sent_utc", "pms_answer", "pms_answer_text", "answer_utc",
	"replays", "entry_utc", "call", "charge", "ring_s"}

func (r *callRow) values(property, epoch string) []any {
	v := make([]any, 0, len(callCols))
	v = append(v, property, epoch, int64(r.entry), r.created, string(r.state), r.updated, int64(r.lastSeq), r.received, r.source)
	if c := r.call; c != nil {
		var startLocal, startUTC *time.Time
		if !c.Start.IsZero() {
			startLocal = &c.Start
		}
		if !c.StartUTC.IsZero() {
			t := c.StartUTC.UTC()
			startUTC = &t
		}
		v = append(v, startLocal, startUTC, optPtr(c.Extension))
	} else {
		v = append(v, nil, nil, nil)
	}
	v = append(v, r.room, r.reservation)
	if c := r.call; c != nil {
		v = append(v, optPtr(c.Dialed), int32(c.DurationS), optPtr(string(c.Direction)), optPtr(c.Trunk), optPtr(c.AccountCode))
	} else {
		v = append(v, nil, nil, nil, nil, nil)
	}
	if ch := r.charge; ch != nil {
		v = append(v, ch.Class, optPtr(ch.Destination), optPtr(ch.Band), int32(ch.BillableS), ch.Chargeable, ch.CarrierMinor, ch.MarkupMinor,
			ch.SurchargeMinor, ch.TaxMinor, ch.TotalMinor, ch.Currency, ch.TariffVersion, ch.Exception)
	} else {
		v = append(v, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil)
	}
	var posting *int64
	if r.posting != 0 {
		posting = ptr(int64(r.posting))
	}
	var ring *int32
	if r.call != nil && r.call.RingS != nil {
		ring = ptr(int32(*r.call.RingS))
	}
	return append(v, posting, r.sent, r.answer, r.answerText, r.answerAt, int32(r.replays), r.entryAt, jsonText(r.callJSON), jsonText(r.chargeJSON), ring)
}

// jsonText is JSON for a json column: NULL when there is none.
func jsonText(b []byte) *string {
	if len(b) == 0 {
		return nil
	}
	s := string(b)
	return &s
}

func loadCalls(ctx context.Context, tx pgx.Tx, property, epoch string, ids []int64, into map[uint64]*callRow) error {
	rows, err := tx.Query(ctx, `SELECT entry, created_utc, state, updated_utc, last_seq, received_utc, source,
		room, reservation, posting, sent_utc, pms_answer, pms_answer_text, answer_utc, replays, entry_utc, call::text, charge::text
		FROM callgate.call_state WHERE property = $1 AND epoch = $2 AND entry = ANY($3)`, property, epoch, ids)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanCall(rows)
		if err != nil {
			return err
		}
		into[r.entry] = r
	}
	return rows.Err()
}

// scanCall reads a row of loadCalls' columns.
func scanCall(rows pgx.Rows) (*callRow, error) {
	var r callRow
	var state string
	var entry, lastSeq int64
	var posting *int64
	var replays int32
	var callJSON, chargeJSON *string
	if err := rows.Scan(&entry, &r.created, &state, &r.updated, &lastSeq, &r.received, &r.source,
		&r.room, &r.reservation, &posting, &r.sent, &r.answer, &r.answerText, &r.answerAt, &replays, &r.entryAt, &callJSON, &chargeJSON); err != nil {
		return nil, err
	}
	r.entry, r.lastSeq, r.state, r.replays = uint64(entry), uint64(lastSeq), gateway.State(state), int(replays)
	if posting != nil {
		r.posting = uint32(*posting)
	}
	r.created, r.updated, r.entryAt = r.created.UTC(), r.updated.UTC(), r.entryAt.UTC()
	for _, t := range []*time.Time{r.received, r.sent, r.answerAt} {
		if t != nil {
			*t = t.UTC()
		}
	}
	if callJSON != nil {
		r.call, r.callJSON = new(gateway.Call), []byte(*callJSON)
		if err := json.Unmarshal(r.callJSON, r.call); err != nil {
			return nil, fmt.Errorf("entry %d: the stored call cannot be read: %w", entry, err)
		}
	}
	if chargeJSON != nil {
		r.charge, r.chargeJSON = new(gateway.Charge), []byte(*chargeJSON)
		if err := json.Unmarshal(r.chargeJSON, r.charge); err != nil {
			return nil, fmt.Errorf("entry %d: the stored charge cannot be read: %w", entry, err)
		}
	}
	return &r, nil
}

// putCalls copies the batch's rows into the staging table and upserts them.
func putCalls(ctx context.Context, tx pgx.Tx, property, epoch string, rows map[uint64]*callRow, order []uint64) error {
	if len(order) == 0 {
		return nil
	}
	vals := make([][]any, len(order))
	for i, id := range order {
		vals[i] = rows[id].values(property, epoch)
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"stage_call"}, callCols, pgx.CopyFromRows(vals)); err != nil {
		return err
	}
	set := ""
	for _, c := range callCols[4:] {
		if set != "" {
			set += ", "
		}
		set += c + " = EXCLUDED." + c
	}
	cols := ""
	for i, c := range callCols {
		if i > 0 {
			cols += ", "
		}
		cols += c
	}
	_, err := tx.Exec(ctx, fmt.Sprintf(`INSERT INTO callgate.call_state (%s) SELECT %s FROM stage_call
		ON CONFLICT (property, epoch, entry, created_utc) DO UPDATE SET %s`, cols, cols, set))
	return err
}

func putPostings(ctx context.Context, tx pgx.Tx, property, epoch string, m map[[2]uint64]*postingRow, order [][2]uint64) error {
	if len(order) == 0 {
		return nil
	}
	cols := []string{"property", "epoch", "entry", "posting", "room", "total_minor", "currency", "state", "given_utc", "sent_utc", "answer", "answer_text", "answer_utc"}
	rows := make([][]any, len(order))
	for i, k := range order {
		p := m[k]
		rows[i] = []any{property, epoch, int64(p.entry), int64(p.posting), p.room, p.total, p.currency, string(p.state), p.given, p.sent, p.answer, p.answerText, p.answerAt}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"stage_posting"}, cols, pgx.CopyFromRows(rows)); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO callgate.posting (property, epoch, entry, posting, room, total_minor, currency, state, given_utc, sent_utc, answer, answer_text, answer_utc)
		SELECT property, epoch, entry, posting, room, total_minor, currency, state, given_utc, sent_utc, answer, answer_text, answer_utc FROM stage_posting
		ON CONFLICT (property, epoch, entry, posting) DO UPDATE SET
			room = COALESCE(EXCLUDED.room, posting.room), total_minor = COALESCE(EXCLUDED.total_minor, posting.total_minor),
			currency = COALESCE(EXCLUDED.currency, posting.currency), state = EXCLUDED.state,
			sent_utc = COALESCE(EXCLUDED.sent_utc, posting.sent_utc), answer = COALESCE(EXCLUDED.answer, posting.answer),
			answer_text = COALESCE(EXCLUDED.answer_text, posting.answer_text), answer_utc = COALESCE(EXCLUDED.answer_utc, posting.answer_utc)`)
	return err
}

// insertAll copies rows into table's staging table and inserts them,
// skipping any held already.
func insertAll(ctx context.Context, tx pgx.Tx, table string, cols []string, rows [][]any) error {
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"stage_" + table}, cols, pgx.CopyFromRows(rows)); err != nil {
		return err
	}
	list := strings.Join(cols, ", ")
	_, err := tx.Exec(ctx, fmt.Sprintf("INSERT INTO callgate.%s (%s) SELECT %s FROM stage_%s ON CONFLICT DO NOTHING", table, list, list, table))
	return err
}
