package pebblestore

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/objstorage/objstorageprovider"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/tollgate/tollgate/store"
)

// A large mint is not written through Pebble's write-ahead log and
// memtable: that writes each record three times (the log, the memtable,
// the table its flush makes) and inserts ten thousand random keys into
// the memtable's skiplist, most of a mint's cost (BENCHMARKS.md, mint).
// Its records, the order, the quota count and the audit entry are written
// instead as one sorted table, synced, and ingested: Pebble links the file
// into its directory and records it in its manifest (synced) before Ingest
// returns. One table in one ingest is atomic: after a crash the order is
// there with all its licenses, or none of it is.

// ingestMinKeys is the fewest licenses a mint writes by ingestion: a
// smaller one costs less through the log (one fsync where an ingestion
// makes three: the table, the directory, the manifest).
const ingestMinKeys = 1000

// l0Ingest is the depth of Pebble's level 0 (sublevels) at which a mint
// waits before ingesting, for at most l0Wait: each ingested table is a
// sublevel of its own, and a burst of them would otherwise deepen L0 past
// L0StopWritesThreshold (options.go), where Pebble stalls every other
// write (activations) at its next memtable switch, and make every read
// look in every sublevel.
const (
	l0Ingest = 24
	l0Wait   = 30 * time.Second
)

// waitForL0 waits, in steps of 10 ms and for at most limit, until
// Pebble's level 0 is less than depth sublevels deep, and returns how
// long it waited.
func (b *Backend) waitForL0(depth int, limit time.Duration) time.Duration {
	start := time.Now()
	for int(b.db.Metrics().Levels[0].Sublevels) >= depth && time.Since(start) < limit && !b.closed.Load() {
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

// ingestDirName is the directory, inside the store's, in which tables are
// written before they are ingested; what a crash leaves there is removed
// on the next open.
const ingestDirName = "ingest"

// kvs is a run of keys and values in strictly increasing key order, over
// one buffer: what a commit writes, put in a batch or written as a table.
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
// or one id are refused (store.ErrInvalid). Key order is what a table
// needs, and what a batch is best in too: Pebble inserts a batch into its
// memtable (a skiplist) in the batch's order, and an insert next to the
// previous one starts from where that one ended instead of from the top.
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

// openIngestDir makes the directory tables are written in before they are
// ingested, empty: a table left there by a crash was either ingested
// (Pebble holds its own link) or never counted. Called once Pebble holds
// the store's lock, so another process's tables are never removed.
func openIngestDir(fs vfs.FS, dir string) (string, error) {
	d := filepath.Join(dir, ingestDirName)
	if err := fs.RemoveAll(d); err != nil {
		return "", fmt.Errorf("store: clear %s: %w", d, err)
	}
	if err := fs.MkdirAll(d, privateDir); err != nil {
		return "", fmt.Errorf("store: create %s: %w", d, err)
	}
	return d, nil
}

// ingestAudited writes body and the audit entry e (chained as
// commitAudited chains it) as one table and ingests it, durably: the
// audit head's key comes first in the table, then body, whose keys must
// sort between the head's and the entries', then the entry. The audit
// lock is held throughout, so that the chain stays in commit order: entries
// applied through the log before are synced first, as the table may reach
// the disk before the log does.
func (b *Backend) ingestAudited(e store.AuditEntry, body *kvs) error {
	if b.closed.Load() {
		return store.ErrClosed
	}
	path := filepath.Join(b.ingestDir, fmt.Sprintf("%d.sst", b.ingestSeq.Add(1)))
	b.auditMu.Lock()
	defer b.auditMu.Unlock()
	if err := b.loadAuditHead(); err != nil {
		return err
	}
	if b.auditUnsynced {
		if err := b.db.LogData(nil, pebble.Sync); err != nil {
			return fmt.Errorf("store: sync the log: %w", err)
		}
		b.auditUnsynced = false
	}
	next, err := b.chainAudit(e)
	if err != nil {
		return err
	}
	if err := b.writeTable(path, func(w *sstable.Writer) error {
		if err := w.Set([]byte(keyAuditHead), next.head); err != nil {
			return err
		}
		for i := range body.len() {
			if err := w.Set(body.at(i)); err != nil {
				return err
			}
		}
		return w.Set(auditKey(next.seq), next.entry)
	}); err != nil {
		return err
	}
	defer b.opts.FS.Remove(path) // ingested or not, Pebble keeps its own link
	if err := b.db.Ingest(context.Background(), []string{path}); err != nil {
		return fmt.Errorf("store: ingest: %w", err)
	}
	b.auditSeq, b.auditHead = next.seq, next.sum
	return nil
}

// writeTable writes a table at path with what fill sets in it (in key
// order), in the store's table format, and syncs it.
func (b *Backend) writeTable(path string, fill func(w *sstable.Writer) error) error {
	f, err := b.opts.FS.Create(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return fmt.Errorf("store: create %s: %w", path, err)
	}
	w := sstable.NewWriter(objstorageprovider.NewFileWritable(f), b.opts.MakeWriterOptions(0, b.db.TableFormat()))
	if err := fill(w); err != nil {
		w.Close()
		b.opts.FS.Remove(path)
		return fmt.Errorf("store: write %s: %w", path, err)
	}
	if err := w.Close(); err != nil { // flushes and syncs the file
		b.opts.FS.Remove(path)
		return fmt.Errorf("store: write %s: %w", path, err)
	}
	return nil
}
