package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"callgate/gateway"
)

// Backup writes a consistent copy of the journal to w without stopping
// writers; see gateway.Queries. On a journal open for writing the copy is
// marked as a copy (a meta key put just before and taken away just after
// it), so that a backup copied back in place starts a new epoch
// (docs/journal.md, "Epochs").
func (j *Journal) Backup(ctx context.Context, w io.Writer) (int64, error) {
	if j.commits != nil {
		backupMu.Lock()
		defer backupMu.Unlock()
		mark := j.copyMark("a backup")
		if err := j.update(ctx, "mark its backup", func(tx *bolt.Tx) error {
			return tx.Bucket(bMeta).Put(kCopy, []byte(mark))
		}); err != nil {
			return 0, err
		}
		defer func() {
			if err := j.update(context.WithoutCancel(ctx), "unmark its backup", func(tx *bolt.Tx) error {
				return tx.Bucket(bMeta).Delete(kCopy)
			}); err != nil {
				j.log.Error().Err(err).Msg("the journal keeps the mark of a backup: its next start draws a new epoch")
			}
		}()
	}
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
	if err == nil && j.commits == nil {
		// A read-only journal could not mark the copy: the file is.
		err = markCopy(tmp.Name(), j.copyMark("a backup"))
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
	// The compacted file is the same journal under another inode once
	// renamed: its identity is recorded, so that its next open does not
	// take it for a replaced file (docs/journal.md, "Epochs").
	if err := dst.Update(func(tx *bolt.Tx) error {
		id := identityOf(tmp, absPath(path))
		if id == "" {
			return nil
		}
		return tx.Bucket(bMeta).Put(kFileID, []byte(id))
	}); err != nil {
		dst.Close()
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

// Restored says what Restore did.
type Restored struct {
	Epoch    string // the backup's epoch (the next start draws a new one)
	LastSeq  uint64 // the backup's last event
	Entries  uint64 // the backup's last entry
	Replaced string // where the replaced journal was kept ("" when there was none)
}

// Restore puts the backup at backup in place of the journal at path, for
// a stopped gateway (docs/journal.md, "Epochs"): it copies the backup to
// a temporary file beside the journal, upgrades the copy when the backup
// is of an older schema (a backup taken before this release), verifies it
// (its chain and projections), refuses while a gateway holds the journal,
// marks the copy so that the next writable open starts a new epoch, keeps
// the replaced journal as path.replaced-TIME (a hard link: the journal is
// at path throughout) and puts the copy at path in one rename. o are the
// journal's options (its zone, for the verification's rebuild).
func Restore(ctx context.Context, path, backup string, o Options) (Restored, error) {
	var out Restored
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); err != nil {
		return out, gateway.Errorf(gateway.KindInvalid, "the folder %s for the journal does not exist: create it, or check store.path", dir)
	}
	ro := o
	ro.ReadOnly, ro.Timeout = true, time.Second
	// The backup is read as it is first: a file that is no journal, or a
	// journal of a newer callgate, is named as the backup.
	schema, err := fileSchema(backup, ro)
	if err != nil {
		return out, err
	}
	tf, err := os.CreateTemp(dir, "."+filepath.Base(path)+".restoring-*")
	if err != nil {
		return out, gateway.Errorf(gateway.KindInternal, "cannot write the restored journal beside %s: %w", path, err)
	}
	tmp := tf.Name()
	tf.Close()
	defer func() {
		os.Remove(tmp)
		if bak, _ := filepath.Glob(tmp + ".schema*.bak"); len(bak) > 0 {
			for _, b := range bak {
				os.Remove(b)
			}
		}
	}()
	fail := func(err error) (Restored, error) {
		return out, gateway.Errorf(gateway.KindInternal, "cannot restore %s to %s (the journal is unchanged): %w", backup, path, err)
	}
	if err := copyInto(backup, tmp); err != nil {
		return fail(err)
	}
	if schema < currentSchema {
		// A backup of an older callgate: its copy is upgraded like a
		// journal at its first start, without the file check (the copy
		// mark below starts the new epoch at the gateway's next start).
		up := o
		up.ReadOnly, up.Timeout, up.upgradeOnly = false, time.Second, true
		j, err := Open(tmp, up)
		if err != nil {
			return out, gateway.Errorf(gateway.KindInvalid, "the backup %s (schema %d) cannot be upgraded to schema %d: %s; it is not restored", backup, schema, currentSchema, gateway.Message(err))
		}
		if err := j.Close(); err != nil {
			return fail(err)
		}
	}
	src, err := Open(tmp, ro)
	if err != nil {
		return fail(err)
	}
	rep, err := src.Verify(ctx, dir)
	if err == nil {
		var in gateway.JournalInfo
		in, err = src.Info(ctx)
		out.Epoch, out.LastSeq, out.Entries = in.Epoch, in.LastSeq, in.Entries
	}
	src.Close()
	if err != nil {
		return out, err
	}
	if !rep.OK() {
		return out, gateway.Errorf(gateway.KindInvalid, "the backup %s does not verify (%s): it is not restored; take an older backup, or run `gateway journal verify --journal %s` for every problem", backup, rep.Problems[0], backup)
	}
	if err := markCopy(tmp, fmt.Sprintf("restored from %s of epoch %s, %s", backup, out.Epoch, time.Now().UTC().Format(time.RFC3339))); err != nil {
		return fail(err)
	}
	// The lock a writing gateway holds, taken for the time of the swap.
	if cur, err := os.OpenFile(path, os.O_RDWR, 0); err == nil {
		defer cur.Close()
		ok, err := lockFile(cur)
		if err != nil {
			return out, gateway.Errorf(gateway.KindInternal, "cannot lock the journal %s: %w", path, err)
		}
		if !ok {
			return out, &gateway.Error{Kind: gateway.KindTransient, Err: ErrInUse,
				Msg: fmt.Sprintf("the journal %s is in use by a running gateway (%s): stop it first, then restore", path, lockHolder(path))}
		}
		// The replaced journal keeps a second name (a hard link, never
		// over an existing file); the copy then takes the path in one
		// rename, so that a kill at any point leaves a journal at path.
		kept, err := linkKept(path)
		if err != nil {
			return fail(err)
		}
		out.Replaced = kept
	} else if !errors.Is(err, os.ErrNotExist) {
		return out, gateway.Errorf(gateway.KindInternal, "cannot open the journal %s to replace it: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		if out.Replaced != "" {
			os.Remove(out.Replaced)
			out.Replaced = ""
		}
		return fail(err)
	}
	syncDir(dir)
	return out, nil
}

// fileSchema reads the schema of the journal at path without changing it:
// Open's sentence when it is no journal, damaged or of a newer callgate.
func fileSchema(path string, ro Options) (int, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, ReadOnly: true})
	if err != nil {
		// Open names what is wrong with the file.
		j, oerr := Open(path, ro)
		if oerr == nil {
			j.Close()
			return 0, gateway.Errorf(gateway.KindInternal, "cannot read %s: %w", path, err)
		}
		return 0, oerr
	}
	schema := 0
	db.View(func(tx *bolt.Tx) error {
		if m := tx.Bucket(bMeta); m != nil {
			schema = int(u64(m.Get(kSchema)))
		}
		return nil
	})
	db.Close()
	if schema >= currentSchema || schema < 1 {
		// Open checks the current schema's structure and names a newer
		// one or none.
		j, err := Open(path, ro)
		if err != nil {
			return 0, err
		}
		j.Close()
	}
	return schema, nil
}

// linkFile is os.Link; a test replaces it with a file system without
// hard links.
var linkFile = os.Link

// linkKept gives the journal at path a second name, path.replaced-TIME (a
// counter added when that name is taken: two restores in one second), and
// returns it.
func linkKept(path string) (string, error) {
	base := path + ".replaced-" + time.Now().UTC().Format("20060102T150405Z")
	for n := 1; n < 1000; n++ {
		name := base
		if n > 1 {
			name = fmt.Sprintf("%s-%d", base, n)
		}
		err := linkFile(path, name)
		if err == nil {
			syncDir(filepath.Dir(path))
			return name, nil
		}
		if errors.Is(err, os.ErrExist) {
			continue
		}
		// A file system without hard links (a network share): the
		// replaced journal is copied to its kept name instead, never
		// over an existing file.
		if cerr := copyNew(path, name); cerr == nil {
			syncDir(filepath.Dir(path))
			return name, nil
		} else if !errors.Is(cerr, os.ErrExist) {
			os.Remove(name)
			return "", fmt.Errorf("keeping the replaced journal as %s: %w", name, cerr)
		}
	}
	return "", fmt.Errorf("%s-2 to -999 exist already: move old replaced journals away", base)
}

// copyNew copies src to a new file dst (an error wrapping os.ErrExist
// when dst exists), synced.
func copyNew(src, dst string) error {
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	out.Close()
	return copyInto(src, dst)
}

// copyInto copies src over the existing file dst, synced.
func copyInto(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}
