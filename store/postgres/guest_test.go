package postgres_test

import (
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

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
