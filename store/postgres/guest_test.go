package postgres_test

import (
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"callgate/gateway"
	"callgate/gateway/gatewaytest"
)

// TestEventShapeConstraint: migration 005 adds the constraint tying body,
// sealed and sealed_data together NOT VALID, so that upgrading a central
// reads none of the events it holds (docs/central.md, "Guest data"), and
// the constraint still refuses a row of another shape written since.
func TestEventShapeConstraint(t *testing.T) {
	s, dsn := open(t)
	ctx := testCtx(t)
	l := gatewaytest.NewShipLog("e1", time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC), time.UTC)
	l.PostedCall(1, "101", 100)
	if _, err := s.Apply(ctx, "grand", l.Batch(1, 5)); err != nil {
		t.Fatal(err)
	}
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var validated bool
	if err := c.QueryRow(ctx, `SELECT convalidated FROM pg_constraint WHERE conname = 'event_body_or_sealed' AND conrelid = 'callgate.event'::regclass`).Scan(&validated); err != nil {
		t.Fatalf("the constraint on callgate.event: %v", err)
	}
	if validated {
		t.Error("the constraint was validated against the stored events (an exclusive lock over every event while the central upgrades)")
	}
	_, err = c.Exec(ctx, `UPDATE callgate.event SET sealed = true WHERE property = 'grand' AND epoch = 'e1' AND seq = 1`)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "23514" {
		t.Errorf("a sealed row with a body: %v, want a check violation", err)
	}
}

// TestSealStoredGuestEvents: the guest events a central received whole
// before guest events went sealed are sealed in place for a property that
// ships no guest names (body gone, the stay's data kept, the hash kept:
// the chain still checks); a property that ships names keeps them; a
// second run finds nothing left.
func TestSealStoredGuestEvents(t *testing.T) {
	s, dsn := open(t)
	ctx := testCtx(t)
	if _, err := s.AddProperty(ctx, "beach"); err != nil {
		t.Fatal(err)
	}
	logOf := func() *gatewaytest.ShipLog {
		l := gatewaytest.NewShipLog("e1", time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC), time.UTC)
		l.PostedCall(1, "101", 100)
		l.OldGuest(map[string]any{"room": "101", "reservation": "R1", "event": "check-in", "vip": "Platinum7", "language": "Quenya"})
		l.PostedCall(2, "101", 200)
		l.OldGuest(map[string]any{"room": "102", "reservation": "R2", "event": "check-in"}) // nothing personal
		return l
	}
	grand, beach := logOf(), logOf()
	if _, err := s.Apply(ctx, "grand", grand.Batch(1, 12)); err != nil {
		t.Fatal(err)
	}
	bb := beach.Batch(1, 12)
	bb.GuestNames = []gateway.ShipGuestName{{Room: "101", Reservation: "R1", LastName: "Smith", VIP: "Platinum7"}}
	if _, err := s.Apply(ctx, "beach", bb); err != nil {
		t.Fatal(err)
	}
	var props []string
	n, err := s.SealStoredGuestEvents(ctx, func(p string, _ int64) { props = append(props, p) })
	if err != nil || n != 1 || len(props) != 1 || props[0] != "grand" {
		t.Fatalf("sealed %d events of %v: %v; want 1 of grand", n, props, err)
	}
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var sealed bool
	var body, data *string
	if err := c.QueryRow(ctx, `SELECT sealed, body::text, sealed_data::text FROM callgate.event WHERE property = 'grand' AND seq = 6`).Scan(&sealed, &body, &data); err != nil {
		t.Fatal(err)
	}
	if !sealed || body != nil || data == nil || *data != `{"room":"101","reservation":"R1","event":"check-in"}` {
		t.Errorf("grand's event 6: sealed %v, body %v, data %v", sealed, body, data)
	}
	var left int
	if err := c.QueryRow(ctx, `SELECT count(*) FROM callgate.event WHERE property = 'grand' AND strpos(body::text, 'Platinum7') > 0`).Scan(&left); err != nil || left != 0 {
		t.Errorf("%d of grand's events still hold the guest's data (%v)", left, err)
	}
	if err := c.QueryRow(ctx, `SELECT count(*) FROM callgate.event WHERE property = 'beach' AND strpos(body::text, 'Platinum7') > 0`).Scan(&left); err != nil || left != 1 {
		t.Errorf("%d of beach's events hold the guest's data (%v), want 1: it ships names", left, err)
	}
	if got, err := s.VerifyChain(ctx, "grand", "e1"); err != nil || got != 12 {
		t.Errorf("grand's chain after sealing: %d, %v", got, err)
	}
	// The property's shipper sends the events again, whole: the same
	// hashes, skipped.
	if a, err := s.Apply(ctx, "grand", grand.Batch(1, 12)); err != nil || a.Cursor != 12 {
		t.Errorf("the events again: %+v %v", a, err)
	}
	if n, err := s.SealStoredGuestEvents(ctx, nil); err != nil || n != 0 {
		t.Errorf("a second run sealed %d: %v", n, err)
	}
}
