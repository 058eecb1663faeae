package pebblestore

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/tollgate/tollgate/store"
)

// loadAuditHead reads the chain's head once. Called with auditMu held.
func (b *Backend) loadAuditHead() error {
	if b.auditInit {
		return nil
	}
	v, err := b.get([]byte(keyAuditHead))
	if err != nil {
		return err
	}
	switch len(v) {
	case 0:
	case 40:
		b.auditSeq = binary.BigEndian.Uint64(v)
		copy(b.auditHead[:], v[8:])
	default:
		return fmt.Errorf("%w: audit head", store.ErrCorrupt)
	}
	b.auditInit = true
	return nil
}

// commitAudited writes what fill puts in a batch together with the audit
// entry e, in one durable commit (one fsync). fill may be nil. The batch is
// filled first, concurrently with other commits; then the entry is chained
// and the batch applied under the audit lock, so the chain has no gaps and
// is in the write-ahead log's order; the wait for the fsync comes after the
// lock is released, so that concurrent audited commits (two shops' orders)
// share fsyncs instead of taking turns. The log is written in order, so an
// entry on disk has its predecessors on disk too.
func (b *Backend) commitAudited(e store.AuditEntry, fill func(*pebble.Batch) error) error {
	return b.commitAuditedSized(e, 0, fill)
}

// commitAuditedSized is commitAudited with a batch made for size bytes of
// keys and values (0 for a small one): a large mint's batch would
// otherwise grow by doubling, copying what it holds each time.
func (b *Backend) commitAuditedSized(e store.AuditEntry, size int, fill func(*pebble.Batch) error) error {
	if b.closed.Load() {
		return store.ErrClosed
	}
	var batch *pebble.Batch
	if size > 0 {
		batch = b.db.NewBatchWithSize(size + size/8 + 1024) // record headers and the audit entry
	} else {
		batch = b.db.NewBatch()
	}
	defer batch.Close()
	if fill != nil {
		if err := fill(batch); err != nil {
			return err
		}
	}
	if err := b.applyAudited(batch, e); err != nil {
		return err
	}
	// Applied (visible, as every commit is before its fsync) but not yet
	// known to be durable: nothing is answered before this returns.
	if err := batch.SyncWait(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// applyAudited chains e, puts it in b and applies b under the audit lock,
// without waiting for the fsync (Batch.SyncWait).
func (b *Backend) applyAudited(batch *pebble.Batch, e store.AuditEntry) error {
	b.auditMu.Lock()
	defer b.auditMu.Unlock()
	if err := b.loadAuditHead(); err != nil {
		return err
	}
	e.Seq = b.auditSeq + 1
	if e.Time == 0 {
		e.Time = b.cfg.Now().Unix()
	}
	e.Prev = hex.EncodeToString(b.auditHead[:])
	v, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("store: encode audit entry: %w", err)
	}
	sum := sha256.Sum256(v)
	head := binary.BigEndian.AppendUint64(nil, e.Seq)
	head = append(head, sum[:]...)
	if err := batch.Set(auditKey(e.Seq), v, nil); err != nil {
		return fmt.Errorf("store: batch: %w", err)
	}
	if err := batch.Set([]byte(keyAuditHead), head, nil); err != nil {
		return fmt.Errorf("store: batch: %w", err)
	}
	if err := b.db.ApplyNoSyncWait(batch, pebble.Sync); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	b.auditSeq, b.auditHead = e.Seq, sum
	return nil
}

// Audit appends e to the audit log, durably. Seq, Prev and (when zero)
// Time are filled in.
func (b *Backend) Audit(e store.AuditEntry) error { return b.commitAudited(e, nil) }

// AuditLog returns the entries at or after since (Unix seconds), in order.
func (b *Backend) AuditLog(since int64) ([]store.AuditEntry, error) {
	var out []store.AuditEntry
	err := b.scan([]byte{pfxAudit}, func(_, v []byte) error {
		var e store.AuditEntry
		if err := json.Unmarshal(v, &e); err != nil {
			return fmt.Errorf("%w: audit entry: %w", store.ErrCorrupt, err)
		}
		if e.Time >= since {
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// VerifyAudit walks the whole audit log and checks its hash chain: the
// sequence numbers run from 1 without gaps, each entry names the hash of the
// one before, and the last matches the recorded head (so deleting entries at
// the end is caught too). It returns the number of entries checked, and an
// error wrapping store.ErrAuditBroken naming the first bad entry.
func (b *Backend) VerifyAudit() (int, error) {
	var (
		n    uint64
		prev [32]byte
	)
	err := b.scan([]byte{pfxAudit}, func(k, v []byte) error {
		n++
		var e store.AuditEntry
		if err := json.Unmarshal(v, &e); err != nil {
			return fmt.Errorf("%w: entry %d does not decode", store.ErrAuditBroken, n)
		}
		if len(k) != 9 || binary.BigEndian.Uint64(k[1:]) != n || e.Seq != n {
			return fmt.Errorf("%w: entry %d is missing or out of place", store.ErrAuditBroken, n)
		}
		if e.Prev != hex.EncodeToString(prev[:]) {
			return fmt.Errorf("%w: entry %d does not follow entry %d (edited or deleted)", store.ErrAuditBroken, n, n-1)
		}
		prev = sha256.Sum256(v)
		return nil
	})
	if err != nil {
		return int(n), err
	}
	head, err := b.get([]byte(keyAuditHead))
	if err != nil {
		return int(n), err
	}
	switch {
	case len(head) == 0 && n == 0:
		return 0, nil
	case len(head) != 40:
		return int(n), fmt.Errorf("%w: the head record is missing", store.ErrAuditBroken)
	case binary.BigEndian.Uint64(head) != n || [32]byte(head[8:]) != prev:
		return int(n), fmt.Errorf("%w: the log ends at entry %d but the head names entry %d (entries deleted or edited)", store.ErrAuditBroken, n, binary.BigEndian.Uint64(head))
	}
	return int(n), nil
}
