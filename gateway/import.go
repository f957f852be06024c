package gateway

import (
	"context"
	"errors"
	"io"
)

// DefaultImportBatch is how many records an Importer journals in one
// transaction: one fsync per batch, and a batch small enough that a failure
// loses little work.
const DefaultImportBatch = 5000

// ImportStats counts what an import did.
type ImportStats struct {
	Records      int64 // records read
	Calls        int64 // calls parsed
	Imported     int64 // new entries journaled
	Duplicates   int64 // calls already in the journal, skipped
	NotCalls     int64 // headers, summaries, page breaks
	Unreadable   int64 // records that should be calls but cannot be read (or were cut): not imported
	Unrated      int64 // calls the tariff could not price: imported without a charge
	RatingIssues int64 // calls rated with a rating exception (unknown destination, …)
}

// Importer journals history read from files (`gateway import`): each record
// goes through the first half of the engine's decision — Rate, then Judge
// for its room — and is journaled as imported, never posted, in batches.
// Set the fields, then call Record for each record (or ReadAll) and Flush
// at the end. An Importer is for one goroutine.
type Importer struct {
	Journal Journal
	Parser  RecordParser
	Rater   Rater
	Rooms   RoomMap
	// Batch is how many records go to the journal in one transaction
	// (default DefaultImportBatch).
	Batch int

	stats ImportStats
	batch []ImportRecord
	// inflight gets the result of the batch the journal is writing.
	inflight chan error
}

// Stats returns what the import did so far; after Flush, everything.
func (im *Importer) Stats() ImportStats { return im.stats }

// ReadAll imports every record of src until it ends (io.EOF), then
// flushes. An error reading src or journaling stops it.
func (im *Importer) ReadAll(ctx context.Context, src CallSource) error {
	for {
		rec, err := src.Read(ctx)
		if errors.Is(err, io.EOF) {
			return im.Flush(ctx)
		}
		if err != nil {
			im.wait()
			return err
		}
		if err := im.Record(ctx, rec); err != nil {
			im.wait()
			return err
		}
	}
}

// Record rates one record and adds it to the batch, journaling the batch
// when it is full. The record's bytes are kept: the caller must not reuse
// them.
func (im *Importer) Record(ctx context.Context, rec RawRecord) error {
	im.stats.Records++
	if rec.Truncated || rec.Cut {
		im.stats.Unreadable++
		return nil
	}
	r := Rate(im.Parser, im.Rater, rec)
	switch {
	case r.NotCall:
		im.stats.NotCalls++
		return nil
	case r.ParseErr != nil:
		im.stats.Unreadable++
		return nil
	}
	im.stats.Calls++
	ir := ImportRecord{Raw: rec, Call: &r.Call, Charge: r.Charge}
	switch {
	case r.RateErr != nil:
		im.stats.Unrated++
	case r.Charge.Exception != nil:
		im.stats.RatingIssues++
	}
	// History keeps the room its extension maps to, whatever the verdict.
	ir.Room = Judge(&r.Call, r.Charge, im.Rooms).Room
	im.batch = append(im.batch, ir)
	if len(im.batch) >= im.size() {
		return im.hand(ctx)
	}
	return nil
}

func (im *Importer) size() int {
	if im.Batch <= 0 {
		return DefaultImportBatch
	}
	return im.Batch
}

// Flush journals the batch and waits until every batch is journaled.
func (im *Importer) Flush(ctx context.Context) error {
	if err := im.hand(ctx); err != nil {
		return err
	}
	return im.wait()
}

// hand gives the batch to the journal, which writes it while the next batch
// is rated: at most one batch is in flight, so a failure stops the import
// within two batches.
func (im *Importer) hand(ctx context.Context) error {
	if err := im.wait(); err != nil {
		return err
	}
	if len(im.batch) == 0 {
		return nil
	}
	batch := im.batch
	im.batch = make([]ImportRecord, 0, im.size())
	done := make(chan error, 1)
	im.inflight = done
	go func() {
		res, err := im.Journal.Import(ctx, batch)
		if err == nil {
			im.stats.Imported += int64(len(batch) - res.Duplicates)
			im.stats.Duplicates += int64(res.Duplicates)
		}
		done <- err
	}()
	return nil
}

// wait waits for the batch in flight, if any.
func (im *Importer) wait() error {
	if im.inflight == nil {
		return nil
	}
	err := <-im.inflight
	im.inflight = nil
	return err
}
