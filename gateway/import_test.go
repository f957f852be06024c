package gateway_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/gateway/gatewaytest"
)

func importRig() (*gateway.Importer, *gatewaytest.Journal) {
	j := gatewaytest.NewJournal(gatewaytest.JournalOptions{})
	return &gateway.Importer{Journal: j, Parser: gatewaytest.Parser{}, Rater: gatewaytest.Rater{}, Batch: 2,
		Rooms: gateway.RoomMap{Map: map[string]string{"101": "101"}, NotRooms: []gateway.ExtensionRange{{From: "200", To: "299"}}}}, j
}

// TestImporterCountsAndJournals: every kind of record is counted; calls are
// journaled as imported, rated where the tariff can, with the room their
// extension maps to whatever their charge; a second run adds nothing.
func TestImporterCountsAndJournals(t *testing.T) {
	ctx := context.Background()
	im, j := importRig()
	at := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	src := gatewaytest.NewCallSource(nil)
	for i, line := range []string{"hdr page 1", "out 101 4416 60", "in 101 4416 30", "out 101 norate 10", "out 101 unknown 10",
		"out 250 4416 20", "bad line", "out 555 4416 5"} {
		src.Send(gateway.RawRecord{Data: []byte(line), Received: at.Add(time.Duration(i) * time.Minute), Source: "import smdr.txt"})
	}
	src.Send(gateway.RawRecord{Data: []byte("out 101 4416 99"), Truncated: true, Received: at})
	src.End()
	if err := im.ReadAll(ctx, src); err != nil {
		t.Fatal(err)
	}
	want := gateway.ImportStats{Records: 9, Calls: 6, Imported: 6, NotCalls: 1, Unreadable: 2, Unrated: 1, RatingIssues: 1}
	if got := im.Stats(); got != want {
		t.Errorf("stats %+v\nwant  %+v", got, want)
	}
	es, err := j.Entries(ctx, gateway.Filter{})
	if err != nil || len(es) != 6 {
		t.Fatalf("%d entries, %v", len(es), err)
	}
	rooms := map[string]string{}
	for _, e := range es {
		if e.State != gateway.StateImported || e.Posting != 0 || e.Raw.Source != "import smdr.txt" {
			t.Errorf("entry %+v", e)
		}
		rooms[string(e.Raw.Data)] = e.Room
		if (e.Charge == nil) != (e.Call.Dialed == "norate") {
			t.Errorf("%s: charge %+v", e.Raw.Data, e.Charge)
		}
	}
	for line, room := range map[string]string{"out 101 4416 60": "101", "in 101 4416 30": "101", "out 101 norate 10": "101",
		"out 250 4416 20": "", "out 555 4416 5": ""} {
		if rooms[line] != room {
			t.Errorf("%s: room %q, want %q", line, rooms[line], room)
		}
	}
	// The same file again: every call is a duplicate.
	again, _ := importRig()
	again.Journal = j
	for _, e := range es {
		if err := again.Record(ctx, e.Raw); err != nil {
			t.Fatal(err)
		}
	}
	if err := again.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if s := again.Stats(); s.Imported != 0 || s.Duplicates != 6 {
		t.Errorf("second run %+v", s)
	}
}

// TestImporterStopsOnAJournalError: a batch the journal refuses stops the
// import with its error.
func TestImporterStopsOnAJournalError(t *testing.T) {
	ctx := context.Background()
	im, j := importRig()
	j.Fail = func(op string) error { return errors.New("disk full") }
	src := gatewaytest.NewCallSource(nil)
	for _, line := range []string{"out 101 4416 1", "out 101 4416 2", "out 101 4416 3", "out 101 4416 4", "out 101 4416 5"} {
		src.Line(line)
	}
	src.End()
	if err := im.ReadAll(ctx, src); err == nil || err.Error() != "disk full" {
		t.Errorf("ReadAll: %v, want the journal's error", err)
	}
	if n := src.Reads(); n > 4 {
		t.Errorf("%d records read: a failure stops the import within two batches", n)
	}
}
