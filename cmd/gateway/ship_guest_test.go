package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rs/zerolog"

	"callgate/gateway"
	"callgate/gateway/ship"
	"callgate/internal/pgtest"
	"callgate/internal/testutil"
	"callgate/store"
	"callgate/store/postgres"
)

// wireSink passes a shipper's batches through the wire format to a
// central's store, as the HTTPS client and the ingest handler do.
type wireSink struct {
	central  *postgres.Store
	property string
}

func (w wireSink) Ship(ctx context.Context, b gateway.ShipBatch) (gateway.ShipAck, error) {
	data, err := ship.EncodeBatch(b)
	if err != nil {
		return gateway.ShipAck{}, err
	}
	d, err := ship.DecodeBatch(bytes.NewReader(data))
	if err != nil {
		return gateway.ShipAck{}, err
	}
	return w.central.Apply(ctx, w.property, d)
}

// The guest data of TestShipGuestData's journal: the old guest events of
// store/testdata/guests-v1 (group ACME, and the keys of personal data in
// their bodies) and the distinctive values of a guest checked in since.
var (
	oldGuestData = []string{"ACME", `"vip"`, `"language"`, `"group"`, `"no_post"`, `"class_of_service"`}
	newGuestData = []string{"Quenya", "VipGold77", "Fellowship Nine", "cos-77", "Zyxwvut"}
)

// TestShipGuestData: a journal written before schema 4 (its guest events
// hold the guests' language, VIP, group, no-post flag and class of
// service), upgraded, with a guest checked in since, shipped to a real
// PostgreSQL central: with central.ship_guest_names false no trace of
// that data is in any text or JSON column of the central's tables (the old
// guest events arrive sealed and the chain holds across them); with true
// the events arrive whole and the guests' names and personal data are in
// callgate.guest_name.
func TestShipGuestData(t *testing.T) {
	for _, names := range []bool{false, true} {
		t.Run(fmt.Sprintf("ship_guest_names=%v", names), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			dsn := pgtest.DB(t)
			central, err := postgres.Open(ctx, dsn, zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			defer central.Close()
			if _, err := central.AddProperty(ctx, "grand"); err != nil {
				t.Fatal(err)
			}
			j := oldGuestJournal(t)
			_, err = j.ApplyGuest(ctx, gateway.GuestEvent{Kind: gateway.GuestCheckIn, Guest: gateway.Guest{Room: "501", Reservation: "R50",
				LastName: "Zyxwvut", Language: "Quenya", VIP: "VipGold77", Group: "Fellowship Nine", NoPost: true, ClassOfService: "cos-77"}})
			if err != nil {
				t.Fatal(err)
			}
			in, err := j.Info(ctx)
			if err != nil {
				t.Fatal(err)
			}
			s := &ship.Shipper{Sink: wireSink{central, "grand"}, Journal: j, Queries: j, GuestNames: names, BatchMax: 7}
			rctx, stop := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- s.Run(rctx) }()
			testutil.WaitFor(t, time.Minute, "the central holds the journal", func() bool { return s.Status().Cursor >= in.LastSeq })
			stop()
			<-done

			sealed := rows(t, dsn, "SELECT count(*) FROM callgate.event WHERE property = 'grand' AND sealed AND body IS NULL")
			if held := rows(t, dsn, "SELECT count(*) FROM callgate.event WHERE property = 'grand'"); held != int(in.LastSeq) {
				t.Errorf("the central holds %d events, the journal %d", held, in.LastSeq)
			}
			// The central's own check of the chain it holds takes a sealed
			// event's stored hash, as Apply does.
			if n, err := central.VerifyChain(ctx, "grand", in.Epoch); err != nil || n != in.LastSeq {
				t.Errorf("the central's chain check: %d events, %v; want %d", n, err, in.LastSeq)
			}
			if !names {
				if sealed == 0 {
					t.Error("no guest event arrived sealed")
				}
				for _, v := range append(oldGuestData, newGuestData...) {
					for _, where := range centralHolds(t, dsn, v) {
						t.Errorf("%q is at the central, in %s", v, where)
					}
				}
				if n := rows(t, dsn, "SELECT count(*) FROM callgate.guest_name"); n != 0 {
					t.Errorf("%d guests at the central", n)
				}
				return
			}
			if sealed != 0 {
				t.Errorf("%d events sealed with ship_guest_names", sealed)
			}
			for _, v := range append(oldGuestData, newGuestData...) {
				if len(centralHolds(t, dsn, v)) == 0 && v != `"vip"` && v != `"no_post"` && v != `"class_of_service"` && v != `"language"` && v != `"group"` {
					t.Errorf("%q is not at the central", v)
				}
			}
			if n := rows(t, dsn, `SELECT count(*) FROM callgate.guest_name WHERE property = 'grand' AND room = '501' AND reservation = 'R50'
				AND last_name = 'Zyxwvut' AND language = 'Quenya' AND vip = 'VipGold77' AND guest_group = 'Fellowship Nine' AND no_post AND class_of_service = 'cos-77'`); n != 1 {
				t.Error("the new guest's names and personal data are not in callgate.guest_name")
			}
			if n := rows(t, dsn, `SELECT count(*) FROM callgate.guest_name WHERE room = '205' AND reservation = 'R2' AND vip = '2' AND guest_group = 'ACME' AND no_post`); n != 1 {
				t.Error("the old guest's personal data (from its guest record) is not in callgate.guest_name")
			}
			if n := rows(t, dsn, `SELECT count(*) FROM callgate.event WHERE kind = 'guest' AND body::text LIKE '%"vip"%'`); n == 0 {
				t.Error("the old guest events did not arrive whole")
			}
		})
	}
}

// oldGuestJournal opens, and so upgrades, a copy of the schema-3 journal
// store/testdata/guests-v1.db.gz.
func oldGuestJournal(t *testing.T) *store.Journal {
	t.Helper()
	gz, err := os.ReadFile(filepath.Join("..", "..", "store", "testdata", "guests-v1.db.gz"))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	db, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "journal.db")
	if err := os.WriteFile(path, db, 0o600); err != nil {
		t.Fatal(err)
	}
	j, err := store.Open(path, store.Options{Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

// centralHolds returns the callgate tables' columns (text, JSON, arrays)
// whose value holds v anywhere, as "table.column".
func centralHolds(t *testing.T, dsn, v string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	r, err := conn.Query(ctx, `SELECT c.table_name, c.column_name FROM information_schema.columns c
		JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
		WHERE c.table_schema = 'callgate' AND t.table_type = 'BASE TABLE'
		AND c.data_type IN ('text', 'json', 'jsonb', 'character varying', 'ARRAY')`)
	if err != nil {
		t.Fatal(err)
	}
	cols, err := pgx.CollectRows(r, func(row pgx.CollectableRow) ([2]string, error) {
		var c [2]string
		err := row.Scan(&c[0], &c[1])
		return c, err
	})
	if err != nil || len(cols) < 20 {
		t.Fatalf("the central's columns: %d, %v", len(cols), err)
	}
	var out []string
	for _, c := range cols {
		var n int
		q := fmt.Sprintf(`SELECT count(*) FROM callgate.%s WHERE strpos(%s::text, $1) > 0`, pgx.Identifier{c[0]}.Sanitize(), pgx.Identifier{c[1]}.Sanitize())
		if err := conn.QueryRow(ctx, q, v).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if n > 0 {
			out = append(out, c[0]+"."+c[1])
		}
	}
	return out
}

// TestCentralPurgeGuestData: `gateway central purge-guest-data` seals the
// guest events an upgraded central received whole before guest events
// went sealed (a shipper of wire version 1): afterwards no trace of the
// guests' personal data is in any column of the central's tables.
func TestCentralPurgeGuestData(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dsn := pgtest.DB(t)
	cfg := writeCentralConfig(t, dsn, "127.0.0.1:0", "")
	addProperty(t, cfg, "grand")
	central, err := postgres.Open(ctx, dsn, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer central.Close()
	j := oldGuestJournal(t)
	in, err := j.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := j.Events(ctx, gateway.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	// As an older shipper sent them: whole.
	if _, err := central.Apply(ctx, "grand", gateway.ShipBatch{Epoch: in.Epoch, ChainEpoch: in.ChainEpoch, Events: evs}); err != nil {
		t.Fatal(err)
	}
	if len(centralHolds(t, dsn, "ACME")) == 0 {
		t.Fatal("the test's guest data is not at the central before the purge")
	}
	code, out, errs := run(t, "", "central", "purge-guest-data", "--config", cfg)
	if code != 0 || !strings.Contains(out, "property grand: ") {
		t.Fatalf("purge-guest-data: %d %s %s", code, out, errs)
	}
	for _, v := range oldGuestData {
		for _, where := range centralHolds(t, dsn, v) {
			t.Errorf("%q is at the central after the purge, in %s", v, where)
		}
	}
	if n, err := central.VerifyChain(ctx, "grand", in.Epoch); err != nil || n != in.LastSeq {
		t.Errorf("the chain after the purge: %d events, %v; want %d", n, err, in.LastSeq)
	}
}
