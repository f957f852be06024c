package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"

	bolt "go.etcd.io/bbolt"
)

// The page layout bbolt writes (its file format, stable across versions):
// a 16-byte header (id, flags, count, overflow), then count elements, then
// the keys and values the elements point to, each element's pos counted
// from the element itself. Values are in the machine's byte order.
const (
	pageHeader    = 16
	branchElement = 16 // pos, ksize uint32; pgid uint64
	leafElement   = 16 // flags, pos, ksize, vsize uint32
	branchFlag    = 0x01
	leafFlag      = 0x02
	bucketFlag    = 0x01 // a leaf element that holds a nested bucket
	bucketHeader  = 16   // root pgid, sequence
)

// checkPages reads every page a transaction can reach, from the file and in
// the calling goroutine, and checks what bbolt would otherwise trust: each
// element and the key and value it points to lie inside their page, keys
// are in order, and child pages lie inside the file. bbolt's tx.Check reads
// the same pages in a goroutine of its own, where a key pointing outside
// the file faults and ends the process; verify runs it only once this has
// passed (see docs/journal.md).
func checkPages(tx *bolt.Tx, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	c := pageChecker{f: f, size: int64(tx.DB().Info().PageSize), high: uint64(tx.Size()) / uint64(tx.DB().Info().PageSize), seen: map[uint64]bool{}}
	for _, name := range allBuckets {
		b := tx.Bucket(name)
		if b == nil {
			return fmt.Errorf("bucket %s is missing", name)
		}
		if root := uint64(b.Root()); root != 0 {
			if err := c.check(string(name), root, 0); err != nil {
				return err
			}
		}
	}
	return nil
}

type pageChecker struct {
	f    io.ReaderAt
	size int64  // page size
	high uint64 // pages in use: a page id at or past this is outside the file
	seen map[uint64]bool
}

// check reads page id of bucket and, for a branch, its children, depth
// levels below the bucket's root.
func (c *pageChecker) check(bucket string, id uint64, depth int) error {
	switch {
	case id < 2 || id >= c.high:
		return fmt.Errorf("bucket %s: page %d is outside the file's %d pages", bucket, id, c.high)
	case c.seen[id]:
		return fmt.Errorf("bucket %s: page %d is reached twice", bucket, id)
	case depth > 64:
		return fmt.Errorf("bucket %s: pages nest deeper than any journal's", bucket)
	}
	c.seen[id] = true
	head := make([]byte, pageHeader)
	if _, err := c.f.ReadAt(head, int64(id)*c.size); err != nil {
		return fmt.Errorf("bucket %s: page %d cannot be read: %v", bucket, id, err)
	}
	ne := binary.NativeEndian
	flags, count, overflow := ne.Uint16(head[8:]), int(ne.Uint16(head[10:])), uint64(ne.Uint32(head[12:]))
	if ne.Uint64(head) != id {
		return fmt.Errorf("bucket %s: page %d says it is page %d", bucket, id, ne.Uint64(head))
	}
	if id+overflow >= c.high {
		return fmt.Errorf("bucket %s: page %d runs past the file's end", bucket, id)
	}
	page := make([]byte, int64(overflow+1)*c.size)
	if _, err := c.f.ReadAt(page, int64(id)*c.size); err != nil {
		return fmt.Errorf("bucket %s: page %d cannot be read: %v", bucket, id, err)
	}
	span := uint64(len(page))
	if flags != branchFlag && flags != leafFlag {
		return fmt.Errorf("bucket %s: page %d is neither a branch nor a leaf (flags %#x)", bucket, id, flags)
	}
	if uint64(pageHeader+count*leafElement) > span {
		return fmt.Errorf("bucket %s: page %d claims %d elements, more than it holds", bucket, id, count)
	}
	var prev []byte
	for i := 0; i < count; i++ {
		at := uint64(pageHeader + i*leafElement)
		el := page[at:]
		var pos, ksize, vsize uint64
		var elFlags uint32
		if flags == branchFlag {
			pos, ksize = uint64(ne.Uint32(el)), uint64(ne.Uint32(el[4:]))
		} else {
			elFlags, pos, ksize, vsize = ne.Uint32(el), uint64(ne.Uint32(el[4:])), uint64(ne.Uint32(el[8:])), uint64(ne.Uint32(el[12:]))
		}
		if at+pos+ksize+vsize > span {
			return fmt.Errorf("bucket %s: page %d element %d points outside its page", bucket, id, i)
		}
		key := page[at+pos : at+pos+ksize]
		if prev != nil && bytes.Compare(prev, key) >= 0 {
			return fmt.Errorf("bucket %s: page %d keys out of order at element %d", bucket, id, i)
		}
		prev = key
		if flags == branchFlag {
			if err := c.check(bucket, ne.Uint64(el[8:]), depth+1); err != nil {
				return err
			}
			continue
		}
		if elFlags&bucketFlag != 0 {
			value := page[at+pos+ksize : at+pos+ksize+vsize]
			if len(value) < bucketHeader {
				return fmt.Errorf("bucket %s: page %d element %d holds a bucket too short to read", bucket, id, i)
			}
			if root := ne.Uint64(value); root != 0 {
				if err := c.check(bucket+"/"+string(key), root, depth+1); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
