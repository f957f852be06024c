package store_test

import (
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"callgate/gateway"
	"callgate/store"
)

func TestBackupWhileWriting(t *testing.T) {
	e := newEnv(t, store.Options{})
	e.fill()
	var wg sync.WaitGroup
	wg.Add(1)
	const writes = 150
	wrote := make(chan struct{}, writes) // a token per write, never blocking the writer
	go func() {
		defer wg.Done()
		for n := range writes {
			id := e.capture(1000 + n)
			e.move(id, gateway.Change{To: gateway.StateRated, Call: call(n), Charge: charge(50)})
			wrote <- struct{}{}
		}
	}()
	dir := t.TempDir()
	var files []string
	for i := range 3 {
		path := filepath.Join(dir, fmt.Sprintf("backup-%d.db", i))
		if _, err := e.j.BackupFile(ctx, path); err != nil {
			t.Fatal(err)
		}
		files = append(files, path)
		for range 20 { // writes between one backup and the next
			<-wrote
		}
	}
	wg.Wait()
	if _, err := e.j.BackupFile(ctx, files[0]); !gateway.IsKind(err, gateway.KindInvalid) {
		t.Errorf("backup over an existing file: %v", err)
	}
	want, _ := e.j.Info(ctx)
	for _, f := range files {
		b, err := store.Open(f, store.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		in, _ := b.Info(ctx)
		rep, err := b.Verify(ctx, dir)
		if err != nil || !rep.OK() || in.Epoch != want.Epoch || in.LastSeq > want.LastSeq || in.LastSeq == 0 {
			t.Errorf("backup %s: %+v %v %v", f, in, rep.Problems, err)
		}
		b.Close()
	}
}

func TestCompact(t *testing.T) {
	e := newEnv(t, store.Options{})
	for n := range 120 {
		e.to(n, gateway.StatePosted)
	}
	e.clock.Add(24 * time.Hour)
	if _, err := e.j.Prune(ctx, e.clock.Now(), false); err != nil {
		t.Fatal(err)
	}
	want, _ := e.j.Info(ctx)
	if _, _, err := store.Compact(e.path, store.Options{}); !gateway.IsKind(err, gateway.KindTransient) {
		t.Errorf("compacting an open journal: %v", err)
	}
	e.j.Close()
	before, after, err := store.Compact(e.path, store.Options{})
	if err != nil || after >= before {
		t.Errorf("compact: %d → %d bytes, %v", before, after, err)
	}
	e.open()
	if in, _ := e.j.Info(ctx); !reflect.DeepEqual(in, want) {
		t.Errorf("compacted journal %+v, want %+v", in, want)
	}
	e.verify()
	e.to(400, gateway.StateQueued)
	e.verify()
}
