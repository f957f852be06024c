package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"callgate/gateway"
)

// Epochs (docs/journal.md, "Epochs"). A journal's epoch names its stream of
// events at the central. A file that is not the one the journal last
// wrote — a backup copied in place, the file moved to another disk, a copy
// of a stopped journal — starts a new epoch at its first writable open,
// so that its events (which go on from an older head than the lost file's)
// never collide with what the central holds of the old epoch. The hash
// chain is not restarted: it goes on from the file's first epoch, kept as
// chain_epoch.
//
// The meta keys need no schema change: older files read them as absent
// (no migration): chain_epoch (absent: the epoch), file_id, follows,
// ancestry (absent: follows alone) and copy.

var (
	// kChainEpoch is the epoch whose genesis the chain starts from, when
	// it is not the current epoch.
	kChainEpoch = []byte("chain_epoch")
	// kFileID is the file's identity (device, inode, path) as the last
	// writable open or compaction found it.
	kFileID = []byte("file_id")
	// kFollows is a followed epoch's JSON (epochFollows), set with a new
	// epoch.
	kFollows = []byte("follows")
	// kAncestry is the JSON list (epochFollows) of every epoch the
	// current one descends from, the oldest first and the followed one
	// (kFollows) last. A journal written before it has kFollows alone:
	// read as a list of one.
	kAncestry = []byte("ancestry")
	// kCopy marks a copy of the journal (a backup, a restore): its first
	// writable open starts a new epoch. Its value says whose copy, for
	// the audit record.
	kCopy = []byte("copy")
	// kPostingEpochs is the JSON list (postingEpoch) of the postings
	// numbered under an earlier epoch and unsettled when the file was
	// replaced, with that epoch: their references keep it.
	kPostingEpochs = []byte("posting_epochs")
)

// postingEpoch is one posting numbered under an earlier epoch.
type postingEpoch struct {
	Entry   uint64 `json:"entry"`
	Posting uint32 `json:"posting"`
	Epoch   string `json:"epoch"`
}

// postingEpochs reads kPostingEpochs; nil when absent or unreadable.
func postingEpochs(m *bolt.Bucket) gateway.PostingEpochs {
	var list []postingEpoch
	if v := m.Get(kPostingEpochs); v == nil || json.Unmarshal(v, &list) != nil || len(list) == 0 {
		return nil
	}
	out := make(gateway.PostingEpochs, len(list))
	for _, p := range list {
		out[gateway.PostingKey{Entry: gateway.EntryID(p.Entry), Posting: p.Posting}] = p.Epoch
	}
	return out
}

// epochFollows is the epoch a new epoch follows, at the point the copy was
// taken: its last entry and last event.
type epochFollows struct {
	Epoch string `json:"epoch"`
	Entry uint64 `json:"entry"`
	Seq   uint64 `json:"seq"`
}

// ancestry reads the epochs the journal's epoch descends from, the oldest
// first: kAncestry, else kFollows as a list of one; nil for a first
// epoch.
func ancestry(m *bolt.Bucket) []epochFollows {
	var list []epochFollows
	if v := m.Get(kAncestry); v != nil && json.Unmarshal(v, &list) == nil && len(list) > 0 {
		return list
	}
	var f epochFollows
	if v := m.Get(kFollows); v != nil && json.Unmarshal(v, &f) == nil && f.Epoch != "" {
		return []epochFollows{f}
	}
	return nil
}

// ActionJournalReplaced is the audit action of a new epoch drawn at open.
const ActionJournalReplaced = "journal-replaced"

// backupMu serialises the copy mark of concurrent backups of one journal
// (Backup puts the mark, copies, takes it away).
var backupMu sync.Mutex

// fileIdentity is path's identity: "inode N device D path P"; "" when it
// cannot be read (or on systems without inodes).
//
// Only the inode tells another file (sameFile): a copy — cp, rsync, a move
// to another file system, a restore — is a new inode, while the same file
// keeps its inode when renamed (a path changed in the config) and may get
// another device number at the next mount (btrfs subvolumes, overlayfs,
// NFS number devices as they mount). Device and path are recorded for the
// audit record. A copy written over the journal in place keeps the
// journal's inode: the copy mark tells that one (docs/journal.md,
// "Epochs").
func fileIdentity(path string) string {
	return identityOf(path, absPath(path))
}

// chainEpochOf is the epoch the journal's hash chain starts from, as meta m
// holds it: chain_epoch, absent in a journal that never changed epoch
// (then epoch itself).
func chainEpochOf(m *bolt.Bucket, epoch string) string {
	if c := m.Get(kChainEpoch); len(c) > 0 {
		return string(c)
	}
	return epoch
}

// sameFile reports whether two identities name one file: the same inode.
func sameFile(a, b string) bool {
	fa, fb := strings.Fields(a), strings.Fields(b)
	return len(fa) >= 2 && len(fb) >= 2 && fa[0] == "inode" && fa[0] == fb[0] && fa[1] == fb[1]
}

// checkFile runs at every writable open: it records the file's identity,
// and starts a new epoch when the file is not the one the journal last
// wrote (another identity) or is a copy (a backup, a restore).
func (j *Journal) checkFile() error {
	id := fileIdentity(j.path)
	var old, mark string
	err := j.db.View(func(tx *bolt.Tx) error {
		m := tx.Bucket(bMeta)
		old, mark = string(m.Get(kFileID)), string(m.Get(kCopy))
		return nil
	})
	if err != nil {
		return gateway.Errorf(gateway.KindInternal, "cannot read the journal %s: %w", j.path, err)
	}
	var cause string
	switch {
	case mark != "":
		cause = "the file is a copy (" + mark + ")"
	case old != "" && id != "" && !sameFile(old, id):
		cause = "the file is another one than the journal last wrote (" + old + ", now " + id + ")"
	}
	if cause == "" {
		if id == "" || old == id {
			return nil
		}
		// A new journal, the first open by a callgate that records the
		// identity, or the same file under another path or device
		// number: noted, nothing else.
		return j.update(context.Background(), "record its file's identity", func(tx *bolt.Tx) error {
			return tx.Bucket(bMeta).Put(kFileID, []byte(id))
		})
	}
	return j.newEpoch(id, cause)
}

// newEpoch draws a new epoch for a replaced file, in one commit with the
// audit record saying so.
func (j *Journal) newEpoch(id, cause string) error {
	epoch := newUUID()
	var f epochFollows
	var sentence string
	err := j.write(context.Background(), "start a new epoch", func(w *txw) error {
		f = epochFollows{Epoch: j.epoch, Entry: w.entryN, Seq: w.headSeq}
		chainEpoch := chainEpochOf(w.meta, j.epoch)
		fj, err := json.Marshal(f)
		if err != nil {
			return err
		}
		// The whole line: the epochs the ending one descends from, then
		// it (an epoch the central never saw stays in the line).
		aj, err := json.Marshal(append(ancestry(w.meta), f))
		if err != nil {
			return err
		}
		// The postings numbered and not settled (their numbers held) keep
		// the epoch they were numbered under in their references: the one
		// an earlier replacement gave them, else the epoch ending now. A
		// posting numbered from now on names the new epoch.
		before := postingEpochs(w.meta)
		var pe []postingEpoch
		err = w.held.ForEach(func(k, v []byte) error {
			if len(k) != 4 || len(v) != 8 {
				return nil
			}
			p := postingEpoch{Entry: u64(v), Posting: binary.BigEndian.Uint32(k), Epoch: j.epoch}
			if e, ok := before[gateway.PostingKey{Entry: gateway.EntryID(p.Entry), Posting: p.Posting}]; ok {
				p.Epoch = e
			}
			pe = append(pe, p)
			return nil
		})
		if err != nil {
			return err
		}
		pj, err := json.Marshal(pe)
		if err != nil {
			return err
		}
		if len(pe) == 0 {
			if err := w.meta.Delete(kPostingEpochs); err != nil {
				return err
			}
		} else if err := w.meta.Put(kPostingEpochs, pj); err != nil {
			return err
		}
		for _, kv := range [][2][]byte{{kEpoch, []byte(epoch)}, {kChainEpoch, []byte(chainEpoch)}, {kFollows, fj}, {kAncestry, aj}, {kFileID, []byte(id)}} {
			if len(kv[1]) == 0 {
				continue
			}
			if err := w.meta.Put(kv[0], kv[1]); err != nil {
				return err
			}
		}
		if err := w.meta.Delete(kCopy); err != nil {
			return err
		}
		sentence = fmt.Sprintf("journal file replaced (restored or moved): new epoch %s after epoch %s at event %d, entry %d", epoch, f.Epoch, f.Seq, f.Entry)
		a := &gateway.AuditRecord{Actor: "gateway", Action: ActionJournalReplaced, Reason: sentence + "; " + cause,
			Detail: map[string]string{"epoch": epoch, "follows": f.Epoch, "event": strconv.FormatUint(f.Seq, 10),
				"entry": strconv.FormatUint(f.Entry, 10), "chain_epoch": chainEpoch}}
		return w.append(&event{kind: gateway.EventAudit, at: j.now(), actor: a.Actor, reason: a.Reason, audit: a})
	})
	if err != nil {
		return err
	}
	j.epoch = epoch
	j.log.Warn().Str("path", j.path).Str("epoch", epoch).Str("follows", f.Epoch).Uint64("event", f.Seq).
		Uint64("entry", f.Entry).Str("cause", cause).Msg(sentence + ": the central keeps both epochs")
	return nil
}

// markCopy marks the journal file at path (closed, not in use) as a copy:
// its first writable open starts a new epoch.
func markCopy(path, what string) error {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return err
	}
	err = db.Update(func(tx *bolt.Tx) error {
		m := tx.Bucket(bMeta)
		if m == nil {
			return fmt.Errorf("%s is not a callgate journal", path)
		}
		return m.Put(kCopy, []byte(what))
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	return err
}

// copyMark is the value of a copy mark: whose copy, when.
func (j *Journal) copyMark(what string) string {
	return fmt.Sprintf("%s of epoch %s, %s", what, j.epoch, time.Now().UTC().Format(time.RFC3339))
}

// readEpochs fills the epoch fields of in from the meta bucket.
func readEpochs(m *bolt.Bucket, in *gateway.JournalInfo) {
	in.ChainEpoch = chainEpochOf(m, in.Epoch)
	for _, a := range ancestry(m) {
		in.Ancestry = append(in.Ancestry, gateway.EpochAncestor{Epoch: a.Epoch, Entry: a.Entry, Seq: a.Seq})
	}
	if n := len(in.Ancestry); n > 0 {
		f := in.Ancestry[n-1]
		in.Follows, in.FollowsEntry, in.FollowsSeq = f.Epoch, f.Entry, f.Seq
	}
	in.PostingEpochs = postingEpochs(m)
}

func absPath(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}
