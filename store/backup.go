package store

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"callgate/gateway"
)

// Backup writes a consistent copy of the journal to w without stopping
// writers; see gateway.Queries.
func (j *Journal) Backup(ctx context.Context, w io.Writer) (int64, error) {
	var n int64
	err := j.view(ctx, "back itself up", func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}

// BackupFile writes a consistent copy of the journal to a new file at path
// (written beside it under a temporary name, synced, then renamed). It
// refuses to replace an existing file.
func (j *Journal) BackupFile(ctx context.Context, path string) (int64, error) {
	if _, err := os.Stat(path); err == nil {
		return 0, gateway.Errorf(gateway.KindInvalid, "%s exists already: give the backup a new name", path)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return 0, gateway.Errorf(gateway.KindInvalid, "cannot write the backup beside %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	n, err := j.Backup(ctx, tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return 0, gateway.Errorf(gateway.KindInternal, "cannot write the backup %s: %w", path, err)
	}
	syncDir(filepath.Dir(path))
	return n, nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// Compact rewrites the journal at path into a new file without the free
// pages bbolt never returns, then puts it in place of the old one. It needs
// the journal stopped (it takes the lock like Open) and returns the file's
// size before and after.
func Compact(path string, o Options) (before, after int64, err error) {
	src, err := Open(path, o)
	if err != nil {
		return 0, 0, err
	}
	defer src.Close()
	st, err := os.Stat(path)
	if err != nil {
		return 0, 0, gateway.Errorf(gateway.KindInternal, "cannot read %s: %w", path, err)
	}
	tmp := path + ".compact"
	os.Remove(tmp)
	fail := func(err error) (int64, int64, error) {
		os.Remove(tmp)
		return 0, 0, gateway.Errorf(gateway.KindInternal, "cannot compact the journal %s (it is unchanged): %w", path, err)
	}
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: time.Second, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return fail(err)
	}
	if err := src.guard("copy itself", func() error { return bolt.Compact(dst, src.db, 64<<20) }); err != nil {
		dst.Close()
		if src.broken.Load() {
			os.Remove(tmp)
			return 0, 0, err // the damaged journal's sentence
		}
		return fail(err)
	}
	if err := dst.Close(); err != nil {
		return fail(err)
	}
	// The copy must be the same journal: same epoch, same head.
	in, err := src.Info(context.Background())
	if err != nil {
		return fail(err)
	}
	cp, err := Open(tmp, Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return fail(err)
	}
	cin, err := cp.Info(context.Background())
	cp.Close()
	if err != nil {
		return fail(err)
	}
	if cin.Epoch != in.Epoch || cin.LastSeq != in.LastSeq {
		return fail(fmt.Errorf("the copy differs (epoch %s seq %d, want %s seq %d)", cin.Epoch, cin.LastSeq, in.Epoch, in.LastSeq))
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(err)
	}
	syncDir(filepath.Dir(path))
	nst, err := os.Stat(path)
	if err != nil {
		return st.Size(), 0, nil
	}
	return st.Size(), nst.Size(), nil
}
