package store_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"callgate/store"
)

// TestVerifyFindsTampering: a changed byte, a removed event, swapped events
// and a rewritten hash are each found.
func TestVerifyFindsTampering(t *testing.T) {
	e := newEnv(t, store.Options{})
	e.fill()
	in, _ := e.j.Info(ctx)
	e.j.Close()
	e.j = nil
	key := func(seq uint64) []byte { return []byte{0, 0, 0, 0, 0, 0, byte(seq >> 8), byte(seq)} }
	last := in.LastSeq
	for _, tc := range []struct {
		name string
		edit func(ev *bolt.Bucket)
		want string
	}{
		{"a changed byte", func(ev *bolt.Bucket) {
			v := bytes.Clone(ev.Get(key(last - 3)))
			i := bytes.Index(v, []byte(`"room":"415"`))
			if i < 0 {
				i = bytes.Index(v, []byte(`"kind"`))
			}
			v[i+9]++
			ev.Put(key(last-3), v)
		}, fmt.Sprintf("event %d does not match its hash", last-3)},
		{"a removed event", func(ev *bolt.Bucket) { ev.Delete(key(last - 5)) }, fmt.Sprintf("events %d to %d are missing", last-5, last-5)},
		{"swapped events", func(ev *bolt.Bucket) {
			a, b := bytes.Clone(ev.Get(key(last-8))), bytes.Clone(ev.Get(key(last-7)))
			ev.Put(key(last-8), b)
			ev.Put(key(last-7), a)
		}, fmt.Sprintf("event %d does not match its hash", last-8)},
		{"a rewritten hash", func(ev *bolt.Bucket) {
			v := bytes.Clone(ev.Get(key(last - 2)))
			v[0] ^= 0xff
			ev.Put(key(last-2), v)
		}, fmt.Sprintf("event %d does not match its hash", last-2)},
		{"a changed event with its hash recomputed", func(ev *bolt.Bucket) {
			// The tamperer fixes event n's hash; event n+1 no longer chains.
			v := bytes.Clone(ev.Get(key(last - 1)))
			body := bytes.Replace(v[32:], []byte(`"time_utc":"20`), []byte(`"time_utc":"19`), 1)
			prev := ev.Get(key(last - 2))[:32]
			h := chain(prev, body)
			ev.Put(key(last-1), append(h, body...))
		}, fmt.Sprintf("event %d does not match its hash", last)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "journal.db")
			copyFile(t, e.path, path)
			edit(t, path, func(tx *bolt.Tx) { tc.edit(tx.Bucket([]byte("events"))) })
			j, err := store.Open(path, store.Options{ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			defer j.Close()
			rep, err := j.Verify(ctx, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(strings.Join(rep.Problems, "\n"), tc.want) {
				t.Errorf("problems %q, want %q", rep.Problems, tc.want)
			}
		})
	}
}
