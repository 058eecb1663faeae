package store

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// AuditEntry is one line of the append-only audit log: every mint, status
// change, shop refusal, reset and shop registration. Prev is the SHA-256 of
// the previous entry's stored bytes, so an edited or deleted entry breaks
// the chain (VerifyAudit). It never holds a license key: licenses are named
// by a prefix of their public id.
type AuditEntry struct {
	Seq     uint64 `json:"seq"`
	Time    int64  `json:"time"` // Unix seconds
	Kind    string `json:"kind"` // such as "mint", "license.revoke", "shop.refused"
	Shop    string `json:"shop,omitempty"`
	License string `json:"license,omitempty"` // license id prefix, never the key
	Detail  string `json:"detail,omitempty"`
	Prev    string `json:"prev"` // hex SHA-256 of the previous entry; zeros for the first
}

func auditKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{pfxAudit}, seq)
}

// loadAuditHead reads the chain's head once. Called with auditMu held.
func (s *Store) loadAuditHead() error {
	if s.ext.auditInit {
		return nil
	}
	v, err := s.get([]byte(keyAuditHead))
	if err != nil {
		return err
	}
	switch len(v) {
	case 0:
	case 40:
		s.ext.auditSeq = binary.BigEndian.Uint64(v)
		copy(s.ext.auditHead[:], v[8:])
	default:
		return fmt.Errorf("%w: audit head", ErrCorrupt)
	}
	s.ext.auditInit = true
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
func (s *Store) commitAudited(e AuditEntry, fill func(b *pebble.Batch) error) error {
	if s.closed.Load() {
		return ErrClosed
	}
	b := s.db.NewBatch()
	defer b.Close()
	if fill != nil {
		if err := fill(b); err != nil {
			return err
		}
	}
	if err := s.applyAudited(b, e); err != nil {
		return err
	}
	// Applied (visible, as every commit is before its fsync) but not yet
	// known to be durable: nothing is answered before this returns.
	if err := b.SyncWait(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// applyAudited chains e, puts it in b and applies b under the audit lock,
// without waiting for the fsync (Batch.SyncWait).
func (s *Store) applyAudited(b *pebble.Batch, e AuditEntry) error {
	s.ext.auditMu.Lock()
	defer s.ext.auditMu.Unlock()
	if err := s.loadAuditHead(); err != nil {
		return err
	}
	e.Seq = s.ext.auditSeq + 1
	if e.Time == 0 {
		e.Time = s.cfg.Now().Unix()
	}
	e.Prev = hex.EncodeToString(s.ext.auditHead[:])
	v, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("store: encode audit entry: %w", err)
	}
	sum := sha256.Sum256(v)
	head := binary.BigEndian.AppendUint64(nil, e.Seq)
	head = append(head, sum[:]...)
	if err := b.Set(auditKey(e.Seq), v, nil); err != nil {
		return fmt.Errorf("store: batch: %w", err)
	}
	if err := b.Set([]byte(keyAuditHead), head, nil); err != nil {
		return fmt.Errorf("store: batch: %w", err)
	}
	if err := s.db.ApplyNoSyncWait(b, pebble.Sync); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	s.ext.auditSeq, s.ext.auditHead = e.Seq, sum
	return nil
}

// Audit appends e to the audit log, durably. Seq, Prev and (when zero)
// Time are filled in.
func (s *Store) Audit(e AuditEntry) error { return s.commitAudited(e, nil) }

// AuditLog returns the entries at or after since (Unix seconds), in order.
func (s *Store) AuditLog(since int64) ([]AuditEntry, error) {
	var out []AuditEntry
	err := s.scan([]byte{pfxAudit}, func(_, v []byte) error {
		var e AuditEntry
		if err := json.Unmarshal(v, &e); err != nil {
			return fmt.Errorf("%w: audit entry: %w", ErrCorrupt, err)
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
// error wrapping ErrAuditBroken naming the first bad entry.
func (s *Store) VerifyAudit() (int, error) {
	var (
		n    uint64
		prev [32]byte
	)
	err := s.scan([]byte{pfxAudit}, func(k, v []byte) error {
		n++
		var e AuditEntry
		if err := json.Unmarshal(v, &e); err != nil {
			return fmt.Errorf("%w: entry %d does not decode", ErrAuditBroken, n)
		}
		if len(k) != 9 || binary.BigEndian.Uint64(k[1:]) != n || e.Seq != n {
			return fmt.Errorf("%w: entry %d is missing or out of place", ErrAuditBroken, n)
		}
		if e.Prev != hex.EncodeToString(prev[:]) {
			return fmt.Errorf("%w: entry %d does not follow entry %d (edited or deleted)", ErrAuditBroken, n, n-1)
		}
		prev = sha256.Sum256(v)
		return nil
	})
	if err != nil {
		return int(n), err
	}
	head, err := s.get([]byte(keyAuditHead))
	if err != nil {
		return int(n), err
	}
	switch {
	case len(head) == 0 && n == 0:
		return 0, nil
	case len(head) != 40:
		return int(n), fmt.Errorf("%w: the head record is missing", ErrAuditBroken)
	case binary.BigEndian.Uint64(head) != n || [32]byte(head[8:]) != prev:
		return int(n), fmt.Errorf("%w: the log ends at entry %d but the head names entry %d (entries deleted or edited)", ErrAuditBroken, n, binary.BigEndian.Uint64(head))
	}
	return int(n), nil
}
