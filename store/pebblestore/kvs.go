package pebblestore

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/tollgate/tollgate/store"
)

// kvs is a run of keys and values in strictly increasing key order, over
// one buffer: what a commit writes, put in a batch.
type kvs struct {
	buf  []byte
	ends []int // per entry: the end of its key in buf, then of its value
}

func (s *kvs) add(k, v []byte) { s.addKey(0, k, v) }

// addKey adds the key pfx|k (k alone for pfx 0) and its value v.
func (s *kvs) addKey(pfx byte, k, v []byte) {
	if pfx != 0 {
		s.buf = append(s.buf, pfx)
	}
	s.buf = append(s.buf, k...)
	s.ends = append(s.ends, len(s.buf))
	s.buf = append(s.buf, v...)
	s.ends = append(s.ends, len(s.buf))
}

// kvsPool keeps the buffers of earlier commits: a 10,000-key mint's is
// about 2 MB, and memory the process has not touched yet costs a page
// fault per 4 KB on first use.
var kvsPool = sync.Pool{New: func() any { return new(kvs) }}

// newKVs returns an empty kvs, with the buffers of an earlier one.
func newKVs() *kvs {
	s := kvsPool.Get().(*kvs)
	s.buf, s.ends = s.buf[:0], s.ends[:0]
	return s
}

// release hands s's buffers to the next commit; s is not used after.
func (s *kvs) release() { kvsPool.Put(s) }

func (s *kvs) len() int { return len(s.ends) / 2 }

// size is the bytes of s's keys and values.
func (s *kvs) size() int { return len(s.buf) }

// at returns entry i's key and value, which alias the buffer.
func (s *kvs) at(i int) (k, v []byte) {
	start := 0
	if i > 0 {
		start = s.ends[2*i-1]
	}
	return s.buf[start:s.ends[2*i]], s.buf[s.ends[2*i]:s.ends[2*i+1]]
}

// putIn sets every entry in batch.
func (s *kvs) putIn(batch *pebble.Batch) error {
	for i := range s.len() {
		k, v := s.at(i)
		if err := batch.Set(k, v, nil); err != nil {
			return fmt.Errorf("store: batch: %w", err)
		}
	}
	return nil
}

// licenseKVs returns the entries of new licenses in key order (release
// them once committed): the id
// index entries of ids not derived from their key hashes (store.IDFor),
// then the records under their key hashes. Two licenses of one key hash
// or one id are refused (store.ErrInvalid). Pebble inserts a batch into
// its memtable (a skiplist) in the batch's order, and an insert next to
// the previous one starts from where that one ended instead of from the
// top: in key order, a 10,000-key mint spends far less of its time in the
// memtable (BENCHMARKS.md, mint).
func licenseKVs(ls []store.License) (*kvs, error) {
	// Ids and key hashes are random: their first 8 bytes almost always
	// order them, the rest of the bytes only break a tie.
	type ref struct {
		first uint64
		i     int
	}
	order := make([]ref, 0, len(ls))
	byKey := func(key func(i int) []byte) func(x, y ref) int {
		return func(x, y ref) int {
			if c := cmp.Compare(x.first, y.first); c != 0 {
				return c
			}
			return bytes.Compare(key(x.i), key(y.i))
		}
	}
	out := newKVs()
	id := func(i int) []byte { return ls[i].ID[:] }
	for i := range ls {
		if ls[i].ID != store.IDFor(ls[i].KeyHash) {
			order = append(order, ref{binary.BigEndian.Uint64(ls[i].ID[:8]), i})
		}
	}
	slices.SortFunc(order, byKey(id))
	for j, r := range order {
		if j > 0 && order[j-1].first == r.first && ls[order[j-1].i].ID == ls[r.i].ID {
			out.release()
			return nil, fmt.Errorf("%w: two new licenses of one id", store.ErrInvalid)
		}
		out.addKey(pfxLicenseID, ls[r.i].ID[:], ls[r.i].KeyHash[:])
	}
	order = order[:0]
	for i := range ls {
		order = append(order, ref{binary.BigEndian.Uint64(ls[i].KeyHash[:8]), i})
	}
	hash := func(i int) []byte { return ls[i].KeyHash[:] }
	slices.SortFunc(order, byKey(hash))
	rec := make([]byte, 0, 256)
	for j, r := range order {
		if j > 0 && order[j-1].first == r.first && ls[order[j-1].i].KeyHash == ls[r.i].KeyHash {
			out.release()
			return nil, fmt.Errorf("%w: two new licenses of one key hash", store.ErrInvalid)
		}
		var err error
		if rec, err = appendLicenseV2(rec[:0], &ls[r.i], 0); err != nil {
			out.release()
			return nil, err
		}
		out.addKey(pfxLicense, ls[r.i].KeyHash[:], rec)
	}
	return out, nil
}
