package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strings"

	bolt "go.etcd.io/bbolt"

	"callgate/gateway"
)

// A damaged file (docs/journal.md "A damaged journal").
//
// bbolt trusts its file: a damaged branch page, a bad element count, a file
// cut short or a flipped bit make it panic, or fault reading its memory map,
// in whatever goroutine reads the page. Every transaction of the journal
// therefore runs under guard, which turns such a panic (and, with
// debug.SetPanicOnFault, such a fault) into an error of KindInternal naming
// the fix; from then on the journal refuses writes (writing on a damaged
// file can only spread the damage), and reads are tried and guarded one by
// one. Open checks the file's structure quickly (checkStructure) so that
// serve refuses a damaged file at start instead of failing at its first
// record.

// fixDamaged is the sentence that ends every damaged-journal error.
const fixDamaged = "stop the gateway and restore the journal from its last backup (gateway journal verify names the damage; when only indices differ, gateway journal rebuild repairs them)"

// guard runs f, turning a panic in it into the error of a damaged journal.
func (j *Journal) guard(what string, f func() error) (err error) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if v := recover(); v != nil {
			err = j.damagedError(what, v)
		}
	}()
	return f()
}

// damagedError marks the journal damaged, logs it once, and returns the
// error for a panic v that happened while the journal did what.
func (j *Journal) damagedError(what string, v any) error {
	if j.broken.CompareAndSwap(false, true) {
		j.log.Error().Str("path", j.path).Str("cause", panicText(v)).
			Msg("the journal file is damaged: " + fixDamaged)
	}
	return gateway.Errorf(gateway.KindInternal, "the journal %s is damaged: bbolt failed to %s (%s): %s", j.path, what, panicText(v), fixDamaged)
}

// damaged returns the error of a journal known to be damaged, nil if it is
// not.
func (j *Journal) damaged(what string) error {
	if !j.broken.Load() {
		return nil
	}
	return gateway.Errorf(gateway.KindInternal, "the journal %s is damaged and takes no more writes (it did not %s): %s", j.path, what, fixDamaged)
}

// panicText is a panic's value in one line of at most 200 bytes.
func panicText(v any) string {
	s := fmt.Sprint(v)
	if wp, ok := v.(writePanic); ok {
		s = fmt.Sprint(wp.v)
	}
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// asWritePanic reports whether err is a write's recovered panic, and its
// value.
func asWritePanic(err error) (any, bool) {
	var wp writePanic
	if errors.As(err, &wp) {
		return wp.v, true
	}
	return nil, false
}

// fullCheckMax is the largest file whose every page Open reads at start
// (walk): 0.5 s for the 1.7 GB of a 1,000,000-entry journal from the page
// cache (BenchmarkStartCheck1M), so under 0.1 s at this size, and seconds
// more from a cold disk for a large file. Larger files get the bounded
// walk (1 ms).
var fullCheckMax int64 = 256 << 20

// checkStructure is the check Open makes of an existing file, before the
// journal is used: the file must be as long as its meta page says (a file
// cut short fails here, before any page past its end is read); then, for a
// file up to fullCheckMax opened for writing, a walk of every key and
// value of every bucket (walk); otherwise a bounded walk that stays fast on
// a journal of millions of entries: in every bucket, the first and the
// last key with the branch pages on the way to them (a damaged root, a
// damaged meta page). Damage deeper in a large file is found when a
// transaction reaches it (guard) or by gateway journal verify.
//
// bbolt's own consistency check (tx.Check) is not used here: it reads the
// pages in a goroutine of its own, where a damaged key's address faults
// and ends the process (debug.SetPanicOnFault is per goroutine).
func checkStructure(tx *bolt.Tx, path string, full bool) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if st.Size() < tx.Size() {
		return fmt.Errorf("the file is %d bytes and its pages need %d: it was cut short", st.Size(), tx.Size())
	}
	if full && tx.Size() <= fullCheckMax {
		if err := walk(tx); err != nil {
			return err
		}
		return checkPages(tx, path)
	}
	for _, name := range allBuckets {
		b := tx.Bucket(name)
		if b == nil {
			return fmt.Errorf("bucket %s is missing", name)
		}
		c := b.Cursor()
		touch(c.First())
		touch(c.Last())
	}
	return nil
}

// walk reads every key and value of every bucket of the journal, in the
// goroutine that calls it (so that guard turns a fault into an error), and
// checks that keys are in order: every page a transaction can reach is
// read.
func walk(tx *bolt.Tx) error {
	for _, name := range allBuckets {
		b := tx.Bucket(name)
		if b == nil {
			return fmt.Errorf("bucket %s is missing", name)
		}
		var prev []byte
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			touch(k, v)
			if prev != nil && bytes.Compare(prev, k) >= 0 {
				return fmt.Errorf("bucket %s: key %x is not after key %x", name, k, prev)
			}
			prev = k
		}
	}
	return nil
}

// sink keeps touch's reads from being optimized away.
var sink byte

// touch reads a key's and a value's first and last bytes: a damaged
// element points them outside the file, and reading them faults.
func touch(k, v []byte) {
	for _, b := range [][]byte{k, v} {
		if len(b) > 0 {
			sink ^= b[0] ^ b[len(b)-1]
		}
	}
}

// cutShort reports, before bbolt opens the file, whether it is shorter
// than its newest meta page says: bbolt would read pages past its end at
// open (the free list) and fault there, holding the file's lock. A file
// too short or too odd to tell is left to bbolt's own checks.
func cutShort(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil
	}
	head := make([]byte, 80)
	if _, err := f.ReadAt(head, 0); err != nil {
		return nil
	}
	size := int64(binary.LittleEndian.Uint32(head[24:]))
	if size < 1024 || size > 1<<16 {
		return nil
	}
	var need int64
	var txid uint64
	for i := int64(0); i < 2; i++ {
		m := make([]byte, 80)
		if _, err := f.ReadAt(m, i*size); err != nil {
			continue
		}
		// page header (16 bytes), then magic, version, page size, flags,
		// root bucket (16), free list, high water mark, txid.
		if binary.LittleEndian.Uint32(m[16:]) != 0xED0CDAED {
			continue
		}
		if t := binary.LittleEndian.Uint64(m[64:]); t >= txid {
			txid, need = t, int64(binary.LittleEndian.Uint64(m[56:]))*size
		}
	}
	if need > 0 && st.Size() < need {
		return fmt.Errorf("the file is %d bytes and its pages need %d: it was cut short", st.Size(), need)
	}
	return nil
}
