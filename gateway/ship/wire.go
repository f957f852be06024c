// Package ship carries a property's journal events to the central over
// HTTPS: the wire format (this file), the property's client and the
// central's handler. See docs/central.md for the protocol.
package ship

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"callgate/gateway"
)

// The protocol's fixed parts (docs/central.md, "Protocol").
const (
	// PathBatch takes a batch: POST, gzip'd JSON, Authorization: Bearer.
	PathBatch = "/v1/batch"
	// PathCursor answers the central's cursor for ?epoch=E: GET.
	PathCursor = "/v1/cursor"
	// PropertyHeader names the property a shipper ships for
	// (central.property); the central refuses it (403) when it is not the
	// token's.
	PropertyHeader = "X-Callgate-Property"
	// WireVersion is the version of the batch format written in "v": 2
	// since batches carry sealed guest events and sealable_upto; the
	// central reads versions 1 and 2 (docs/central.md, "Protocol").
	WireVersion = 2
	// oldestWireVersion is the oldest version the central reads.
	oldestWireVersion = 1
	// MaxEvents is the most events one batch may carry; central.batch_max
	// may not be set above it.
	MaxEvents = 10_000
	// MaxBatchBytes is the most bytes a batch's JSON may take, unpacked.
	MaxBatchBytes = 64 << 20
	// MaxCompressedBytes is the most bytes a request body may take on the
	// wire.
	MaxCompressedBytes = 16 << 20
	// maxEpoch is the longest epoch accepted (a UUID is 36).
	maxEpoch = 64
)

// ErrTooLarge is wrapped by DecodeBatch's error for a batch over
// MaxBatchBytes or MaxEvents (HTTP 413).
var ErrTooLarge = errors.New("batch too large")

// ErrChain is wrapped by DecodeBatch's error for a batch whose events do
// not chain: a hash that is not SHA-256 of the previous hash and the
// event's body (HTTP 422).
// It is gateway.ErrShipChain, which the central's store wraps too.
var ErrChain = gateway.ErrShipChain

type wireBatch struct {
	V        int    `json:"v"`
	Epoch    string `json:"epoch"`
	PrevHash string `json:"prev_hash"`
	// ChainEpoch, Follows and FollowsEntry are sent only for an epoch a
	// replaced journal file started (docs/central.md, "Epochs").
	ChainEpoch   string      `json:"chain_epoch,omitempty"`
	Follows      string      `json:"follows,omitempty"`
	FollowsEntry uint64      `json:"follows_entry,omitempty"`
	Site         wireSite    `json:"site"`
	Events       []wireEvent `json:"events"`
	Guests       []wireGuest `json:"guest_names,omitempty"`
	// SealableUpto is the journal's last event written before schema 4
	// (version 2 on; absent in version 1): docs/central.md, "Guest data".
	SealableUpto *uint64 `json:"sealable_upto,omitempty"`
	// Ancestry is sent only when the epoch descends from more than the
	// one it follows; its last element is follows.
	Ancestry []wireAncestor `json:"ancestry,omitempty"`
	// PrunedFrom is sent only by a batch that goes on after events
	// retention removed.
	PrunedFrom uint64 `json:"pruned_from,omitempty"`
}

// wireAncestor is one epoch of a batch's ancestry.
type wireAncestor struct {
	Epoch string `json:"epoch"`
	Entry uint64 `json:"entry"`
	Seq   uint64 `json:"seq"`
}

// maxAncestry is the most epochs a batch's ancestry may name: one a
// restore, far more than a property makes.
const maxAncestry = 1000

type wireSite struct {
	Name     string `json:"name"`
	Timezone string `json:"timezone"`
	At       string `json:"at"`
	Link     string `json:"link"`
	Queued   int64  `json:"queued"`
	InDoubt  int64  `json:"in_doubt"`
	Version  string `json:"version"`
	Head     uint64 `json:"head,omitempty"`
}

// wireEvent is one event: its hash and its stored body, byte for byte; or,
// for a sealed guest event, its hash and its envelope with the data
// gateway.SealGuestData keeps (docs/central.md, "Guest data").
type wireEvent struct {
	Hash   string          `json:"hash"`
	Event  json.RawMessage `json:"event,omitempty"`
	Sealed json.RawMessage `json:"sealed,omitempty"`
}

// sealedEvent is a sealed event's envelope on the wire.
type sealedEvent struct {
	Seq     uint64          `json:"seq"`
	Entry   uint64          `json:"entry,omitempty"`
	Kind    string          `json:"kind"`
	Time    string          `json:"time"`
	TimeUTC string          `json:"time_utc"`
	Actor   string          `json:"actor,omitempty"`
	Reason  string          `json:"reason,omitempty"`
	Data    json.RawMessage `json:"data"`
}

type wireGuest struct {
	Room           string `json:"room"`
	Reservation    string `json:"reservation,omitempty"`
	LastName       string `json:"last_name,omitempty"`
	FirstName      string `json:"first_name,omitempty"`
	Title          string `json:"title,omitempty"`
	Language       string `json:"language,omitempty"`
	VIP            string `json:"vip,omitempty"`
	Group          string `json:"group,omitempty"`
	NoPost         bool   `json:"no_post,omitempty"`
	ClassOfService string `json:"class_of_service,omitempty"`
}

// Seal returns e sealed when it is a guest event whose data holds more than
// gateway.SealedGuestKeys (the guest's personal data, in an event written
// before journal schema 4): without its body, with its hash and the data
// reduced to those keys. Any other event is returned as it is, and false.
func Seal(e gateway.Event) (gateway.Event, bool) {
	if e.Kind != gateway.EventGuest || e.Sealed {
		return e, false
	}
	data, personal, err := gateway.SealGuestData(e.Data)
	if err != nil {
		// Data that is no object holds no key to keep: seal it empty.
		data, personal = json.RawMessage(`{}`), true
	}
	if !personal {
		return e, false
	}
	e.Data, e.Body, e.Sealed = data, nil, true
	return e, true
}

// encodeSealed writes a sealed event's envelope.
func encodeSealed(e gateway.Event) (json.RawMessage, error) {
	if e.Kind != gateway.EventGuest {
		return nil, gateway.Errorf(gateway.KindInternal, "event %d is a %s event: only guest events are sealed", e.Seq, e.Kind)
	}
	if e.From != "" || e.To != "" || e.Entry != 0 || e.Actor != "" || e.Reason != "" {
		return nil, gateway.Errorf(gateway.KindInternal, "sealed event %d has a state change, an entry, an actor or a reason: guest events have none", e.Seq)
	}
	return json.Marshal(sealedEvent{Seq: e.Seq, Kind: string(e.Kind),
		Time: e.Local.Format(gateway.WallClockLayout), TimeUTC: e.Time.UTC().Format(time.RFC3339Nano), Data: e.Data})
}

// decodeSealed reads a sealed event: a guest event's envelope whose data
// has only gateway.SealedGuestKeys.
func decodeSealed(h [32]byte, raw json.RawMessage) (gateway.Event, error) {
	var e gateway.Event
	var s sealedEvent
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return e, fmt.Errorf("not a sealed event: %v", err)
	}
	if s.Seq == 0 {
		return e, fmt.Errorf("no sequence number")
	}
	if s.Kind != string(gateway.EventGuest) {
		return e, fmt.Errorf("sealed event %d is of kind %q: only guest events are sealed", s.Seq, clip(s.Kind))
	}
	// The envelope's other fields are not covered by a hash the central
	// can check: a guest event has none, and a sealed one may carry none
	// (docs/central.md, "Guest data").
	if s.Entry != 0 || s.Actor != "" || s.Reason != "" {
		return e, fmt.Errorf("sealed event %d names an entry, an actor or a reason: a guest event has none", s.Seq)
	}
	at, err := time.Parse(time.RFC3339Nano, s.TimeUTC)
	if err != nil {
		return e, fmt.Errorf("event %d: time_utc %q is not an RFC 3339 time", s.Seq, clip(s.TimeUTC))
	}
	local, err := time.Parse(gateway.WallClockLayout, s.Time)
	if err != nil {
		return e, fmt.Errorf("event %d: time %q is not a wall-clock time like 2026-11-27T14:03:05", s.Seq, clip(s.Time))
	}
	data, extra, err := gateway.SealGuestData(s.Data)
	if err != nil {
		return e, fmt.Errorf("sealed event %d: %v", s.Seq, err)
	}
	if extra {
		return e, fmt.Errorf("sealed event %d carries more than the stay (%s), or its fields name the guest record's (%s): a sealed event keeps none of the guest's data", s.Seq, strings.Join(gateway.SealedGuestKeys, ", "), strings.Join(gateway.RecordFieldIDs, ", "))
	}
	return gateway.Event{Seq: s.Seq, Kind: gateway.EventGuest, Time: at.UTC(), Local: local, Data: data, Hash: h, Sealed: true}, nil
}

// eventHeader is the envelope of a stored event body (docs/journal.md).
type eventHeader struct {
	Seq     uint64          `json:"seq"`
	Entry   uint64          `json:"entry"`
	Kind    string          `json:"kind"`
	Time    string          `json:"time"`
	TimeUTC string          `json:"time_utc"`
	Actor   string          `json:"actor"`
	Reason  string          `json:"reason"`
	From    string          `json:"from"`
	To      string          `json:"to"`
	Data    json.RawMessage `json:"data"`
}

// gzipWriters keeps gzip writers between batches: a new one allocates and
// clears about a megabyte, most of a small batch's cost.
var gzipWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed) // the level is valid
	return zw
}}

// EncodeBatch writes b as the body of a POST to PathBatch: JSON, gzip'd.
// Every event must carry its Body (Queries.Events fills it).
func EncodeBatch(b gateway.ShipBatch) ([]byte, error) {
	if len(b.Events) == 0 {
		return nil, gateway.Errorf(gateway.KindInvalid, "a batch needs at least one event")
	}
	if len(b.Events) > MaxEvents {
		return nil, gateway.Errorf(gateway.KindInvalid, "a batch of %d events is over the %d a central takes: set central.batch_max lower", len(b.Events), MaxEvents)
	}
	w := wireBatch{V: WireVersion, Epoch: b.Epoch, PrevHash: hex.EncodeToString(b.PrevHash[:]),
		Follows: b.Follows, FollowsEntry: b.FollowsEntry,
		Site: wireSite{Name: b.Site.Name, Timezone: b.Site.Timezone, Link: string(b.Site.Link),
			Queued: b.Site.Queued, InDoubt: b.Site.InDoubt, Version: b.Site.Version, Head: b.Site.Head},
		Events: make([]wireEvent, len(b.Events))}
	if b.ChainEpoch != b.Epoch {
		w.ChainEpoch = b.ChainEpoch
	}
	if b.HasSealable {
		w.SealableUpto = &b.SealableUpto
	}
	for _, a := range b.Ancestry {
		w.Ancestry = append(w.Ancestry, wireAncestor(a))
	}
	w.PrunedFrom = b.PrunedFrom
	if !b.Site.At.IsZero() {
		w.Site.At = b.Site.At.UTC().Format(time.RFC3339Nano)
	}
	for i, e := range b.Events {
		w.Events[i].Hash = hex.EncodeToString(e.Hash[:])
		if e.Sealed {
			s, err := encodeSealed(e)
			if err != nil {
				return nil, err
			}
			w.Events[i].Sealed = s
			continue
		}
		if len(e.Body) == 0 {
			return nil, gateway.Errorf(gateway.KindInternal, "event %d has no stored body to ship", e.Seq)
		}
		w.Events[i].Event = e.Body
	}
	for _, g := range b.GuestNames {
		w.Guests = append(w.Guests, wireGuest(g))
	}
	var buf bytes.Buffer
	zw := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(zw)
	zw.Reset(&buf)
	enc := json.NewEncoder(zw)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&w); err != nil {
		return nil, gateway.Wrap(gateway.KindInternal, err, "the batch cannot be written as JSON")
	}
	if err := zw.Close(); err != nil {
		return nil, gateway.Wrap(gateway.KindInternal, err, "the batch cannot be compressed")
	}
	return buf.Bytes(), nil
}

// DecodeBatch reads a batch as EncodeBatch writes it (gzip'd JSON; plain
// JSON is read too) and checks it: the version, the epoch, between 1 and
// MaxEvents events with consecutive sequence numbers, each body a stored
// event whose hash chains from PrevHash. It reads at most MaxBatchBytes
// unpacked. The error is KindInvalid (wrapping ErrTooLarge or ErrChain
// where they apply) with a sentence naming what is wrong.
func DecodeBatch(r io.Reader) (gateway.ShipBatch, error) {
	br := bufio.NewReader(r)
	var src io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return gateway.ShipBatch{}, gateway.Wrap(gateway.KindInvalid, err, "the batch is not readable gzip")
		}
		defer zr.Close()
		src = zr
	}
	data, err := io.ReadAll(io.LimitReader(src, MaxBatchBytes+1))
	if err != nil {
		return gateway.ShipBatch{}, gateway.Wrap(gateway.KindInvalid, err, "the batch cannot be read")
	}
	if len(data) > MaxBatchBytes {
		return gateway.ShipBatch{}, gateway.Wrap(gateway.KindInvalid, ErrTooLarge,
			fmt.Sprintf("the batch is over %d MiB unpacked: set central.batch_max lower at the property", MaxBatchBytes>>20))
	}
	var w wireBatch
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return gateway.ShipBatch{}, gateway.Wrap(gateway.KindInvalid, err, "the batch is not the JSON a callgate shipper writes")
	}
	if dec.More() {
		return gateway.ShipBatch{}, gateway.Errorf(gateway.KindInvalid, "the batch has data after its JSON object")
	}
	return checkBatch(&w)
}

func checkBatch(w *wireBatch) (gateway.ShipBatch, error) {
	var b gateway.ShipBatch
	switch {
	case w.V < oldestWireVersion || w.V > WireVersion:
		return b, gateway.Errorf(gateway.KindInvalid, "the batch is of wire version %d and this central reads versions %d to %d: upgrade the central first, then the properties", w.V, oldestWireVersion, WireVersion)
	case w.V < 2 && (w.SealableUpto != nil || w.ChainEpoch != "" || w.Follows != "" || len(w.Ancestry) > 0 || w.PrunedFrom != 0):
		return b, gateway.Errorf(gateway.KindInvalid, "the batch is of wire version %d and names sealable_upto, chain_epoch, follows, ancestry or pruned_from, which version 2 added", w.V)
	case w.Epoch == "" || len(w.Epoch) > maxEpoch || !printable(w.Epoch):
		return b, gateway.Errorf(gateway.KindInvalid, "the batch's epoch %q is not a journal epoch (up to %d printable characters)", clip(w.Epoch), maxEpoch)
	case len(w.Events) == 0:
		return b, gateway.Errorf(gateway.KindInvalid, "the batch has no events")
	case len(w.Events) > MaxEvents:
		return b, gateway.Wrap(gateway.KindInvalid, ErrTooLarge, fmt.Sprintf("the batch has %d events, more than the %d a central takes: set central.batch_max lower at the property", len(w.Events), MaxEvents))
	}
	for _, f := range []struct{ name, v string }{{"chain_epoch", w.ChainEpoch}, {"follows", w.Follows}} {
		if f.v != "" && (len(f.v) > maxEpoch || !printable(f.v)) {
			return b, gateway.Errorf(gateway.KindInvalid, "the batch's %s %q is not a journal epoch (up to %d printable characters)", f.name, clip(f.v), maxEpoch)
		}
	}
	switch {
	case w.Follows == w.Epoch:
		return b, gateway.Errorf(gateway.KindInvalid, "the batch's epoch %s says it follows itself", clip(w.Epoch))
	case w.FollowsEntry > 0 && w.Follows == "":
		return b, gateway.Errorf(gateway.KindInvalid, "the batch names follows_entry %d but no epoch it follows", w.FollowsEntry)
	}
	if err := checkAncestry(w); err != nil {
		return b, err
	}
	if w.PrunedFrom != 0 && w.Follows == "" {
		return b, gateway.Errorf(gateway.KindInvalid, "the batch goes on after events removed from %d on but follows no epoch: only an epoch that follows another does", w.PrunedFrom)
	}
	b.Epoch, b.Follows, b.FollowsEntry, b.PrunedFrom = w.Epoch, w.Follows, w.FollowsEntry, w.PrunedFrom
	if w.SealableUpto != nil {
		b.SealableUpto, b.HasSealable = *w.SealableUpto, true
	}
	for _, a := range w.Ancestry {
		b.Ancestry = append(b.Ancestry, gateway.EpochAncestor(a))
	}
	if w.ChainEpoch != w.Epoch {
		b.ChainEpoch = w.ChainEpoch
	}
	prev, err := hash32(w.PrevHash)
	if err != nil {
		return b, gateway.Errorf(gateway.KindInvalid, "the batch's prev_hash: %v", err)
	}
	b.PrevHash = prev
	b.Site = gateway.SiteSnapshot{Name: w.Site.Name, Timezone: w.Site.Timezone, Link: gateway.LinkState(w.Site.Link),
		Queued: w.Site.Queued, InDoubt: w.Site.InDoubt, Version: w.Site.Version, Head: w.Site.Head}
	if w.Site.At != "" {
		at, err := time.Parse(time.RFC3339Nano, w.Site.At)
		if err != nil {
			return b, gateway.Errorf(gateway.KindInvalid, "the batch's site.at %q is not an RFC 3339 time", clip(w.Site.At))
		}
		b.Site.At = at.UTC()
	}
	b.Events = make([]gateway.Event, len(w.Events))
	for i, we := range w.Events {
		e, err := decodeEvent(we)
		if err != nil {
			return gateway.ShipBatch{}, gateway.Errorf(gateway.KindInvalid, "the batch's event %d: %v", i+1, err)
		}
		if i == 0 && b.PrunedFrom >= e.Seq {
			return gateway.ShipBatch{}, gateway.Errorf(gateway.KindInvalid, "the batch's pruned_from %d is not before its first event", b.PrunedFrom)
		}
		if i == 0 && e.Seq == 1 {
			// Event 1 chains from the genesis of the chain's epoch,
			// which the batch does not carry (docs/journal.md, "Hash
			// chain", "Epochs").
			if b.PrevHash != ([32]byte{}) {
				return gateway.ShipBatch{}, gateway.Errorf(gateway.KindInvalid, "the batch starts at event 1 but names a previous hash")
			}
			prev = b.ChainGenesis()
		}
		if i > 0 && e.Seq != b.Events[i-1].Seq+1 {
			return gateway.ShipBatch{}, gateway.Errorf(gateway.KindInvalid, "the batch's events are not consecutive: %d follows %d", e.Seq, b.Events[i-1].Seq)
		}
		// Only a guest event written before journal schema 4 is sealed
		// (docs/central.md, "Guest data").
		if e.Sealed && (!b.HasSealable || e.Seq > b.SealableUpto) {
			return gateway.ShipBatch{}, gateway.Errorf(gateway.KindInvalid, "the batch's event %d is sealed, and the batch says the journal wrote events up to %d before journal schema 4: only those are sealed", e.Seq, b.SealableUpto)
		}
		// A sealed event's body is not shipped: its hash is taken for
		// that one link, and the next event is checked from it.
		if want := chain(prev, e.Body); !e.Sealed && want != e.Hash {
			return gateway.ShipBatch{}, gateway.Wrap(gateway.KindInvalid, ErrChain,
				fmt.Sprintf("event %d of epoch %s does not chain from the one before it: the journal was altered or the batch damaged; run `gateway journal verify` at the property", e.Seq, b.Epoch))
		}
		prev = e.Hash
		b.Events[i] = e
	}
	for _, g := range w.Guests {
		b.GuestNames = append(b.GuestNames, gateway.ShipGuestName(g))
	}
	return b, nil
}

// checkAncestry checks a batch's ancestry: epochs, none the batch's own
// nor named twice, the last the one it follows, with its entry.
func checkAncestry(w *wireBatch) error {
	if len(w.Ancestry) == 0 {
		return nil
	}
	if len(w.Ancestry) > maxAncestry {
		return gateway.Errorf(gateway.KindInvalid, "the batch's ancestry names %d epochs, more than the %d a central takes", len(w.Ancestry), maxAncestry)
	}
	seen := map[string]bool{w.Epoch: true}
	for i, a := range w.Ancestry {
		if a.Epoch == "" || len(a.Epoch) > maxEpoch || !printable(a.Epoch) {
			return gateway.Errorf(gateway.KindInvalid, "the batch's ancestry %d %q is not a journal epoch (up to %d printable characters)", i+1, clip(a.Epoch), maxEpoch)
		}
		if seen[a.Epoch] {
			return gateway.Errorf(gateway.KindInvalid, "the batch's ancestry names epoch %s twice, or the batch's own", clip(a.Epoch))
		}
		seen[a.Epoch] = true
	}
	if last := w.Ancestry[len(w.Ancestry)-1]; last.Epoch != w.Follows || last.Entry != w.FollowsEntry {
		return gateway.Errorf(gateway.KindInvalid, "the batch's ancestry ends with epoch %s at entry %d, and the batch follows epoch %q at entry %d: the last epoch of the ancestry is the one followed", clip(last.Epoch), last.Entry, clip(w.Follows), w.FollowsEntry)
	}
	return nil
}

// decodeEvent reads one shipped event: its envelope, its data kept as
// JSON, its body and hash.
func decodeEvent(we wireEvent) (gateway.Event, error) {
	var e gateway.Event
	h, err := hash32(we.Hash)
	if err != nil {
		return e, err
	}
	switch {
	case we.Sealed != nil && we.Event != nil:
		return e, fmt.Errorf("both a body and a sealed event")
	case we.Sealed != nil:
		return decodeSealed(h, we.Sealed)
	}
	hd, ok := fastHeader(we.Event)
	if !ok {
		hd = eventHeader{}
		if err := json.Unmarshal(we.Event, &hd); err != nil {
			return e, fmt.Errorf("not a stored event: %v", err)
		}
	}
	if hd.Seq == 0 {
		return e, fmt.Errorf("no sequence number")
	}
	if hd.Kind == "" {
		return e, fmt.Errorf("event %d has no kind", hd.Seq)
	}
	at, err := time.Parse(time.RFC3339Nano, hd.TimeUTC)
	if err != nil {
		return e, fmt.Errorf("event %d: time_utc %q is not an RFC 3339 time", hd.Seq, clip(hd.TimeUTC))
	}
	local, err := time.Parse(gateway.WallClockLayout, hd.Time)
	if err != nil {
		return e, fmt.Errorf("event %d: time %q is not a wall-clock time like 2026-11-27T14:03:05", hd.Seq, clip(hd.Time))
	}
	// The decoder gave the event's bytes a copy of their own: the body
	// and its data (a part of it) keep them.
	return gateway.Event{Seq: hd.Seq, Entry: gateway.EntryID(hd.Entry), Kind: gateway.EventKind(hd.Kind), Time: at.UTC(), Local: local,
		Actor: hd.Actor, Reason: hd.Reason, From: gateway.State(hd.From), To: gateway.State(hd.To),
		Data: hd.Data, Hash: h, Body: we.Event}, nil
}

// chain is the journal's hash of an event whose predecessor's hash is
// prev (docs/journal.md, "Hash chain").
func chain(prev [32]byte, body []byte) [32]byte {
	h := sha256.New()
	h.Write(prev[:])
	h.Write(body)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// Chain is chain for the central, which checks that a batch continues
// from the last event it stored.
func Chain(prev [32]byte, body []byte) [32]byte { return chain(prev, body) }

func hash32(s string) ([32]byte, error) {
	var h [32]byte
	if len(s) != 64 {
		return h, fmt.Errorf("hash %q is not 64 hex digits", clip(s))
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, fmt.Errorf("hash %q is not 64 hex digits", clip(s))
	}
	return h, nil
}

func printable(s string) bool {
	for _, r := range s {
		if r < 0x21 || r > 0x7e {
			return false
		}
	}
	return true
}

// clip shortens a value quoted in an error.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// Ack is the central's answer to a batch or a cursor question, as JSON.
type Ack struct {
	Epoch  string `json:"epoch"`
	Cursor uint64 `json:"cursor"`
	At     string `json:"at,omitempty"` // RFC 3339, UTC
}

// Refusal is the central's error answer, as JSON: the sentence, and for a
// gap (HTTP 409) the epoch and cursor to resend after.
type Refusal struct {
	Error  string `json:"error"`
	Epoch  string `json:"epoch,omitempty"`
	Cursor uint64 `json:"cursor,omitempty"`
}

// AckOf and ShipAckOf convert between the answer and its JSON.
func AckOf(a gateway.ShipAck) Ack {
	out := Ack{Epoch: a.Epoch, Cursor: a.Cursor}
	if !a.At.IsZero() {
		out.At = a.At.UTC().Format(time.RFC3339Nano)
	}
	return out
}

// ShipAck reads an Ack back; a bad time is an error.
func (a Ack) ShipAck() (gateway.ShipAck, error) {
	out := gateway.ShipAck{Epoch: a.Epoch, Cursor: a.Cursor}
	if a.At != "" {
		t, err := time.Parse(time.RFC3339Nano, a.At)
		if err != nil {
			return out, gateway.Errorf(gateway.KindInvalid, "the central's answer has a bad time %q", clip(a.At))
		}
		out.At = t.UTC()
	}
	return out, nil
}
