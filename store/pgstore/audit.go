package pgstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/tollgate/tollgate/store"
)

// canonicalAudit returns the canonical bytes of an audit entry: its JSON
// encoding (encoding/json, the fields in the order of store.AuditEntry),
// what the entry's row keeps and the next entry's Prev hashes. Part of the
// database format.
func canonicalAudit(e *store.AuditEntry) ([]byte, error) {
	v, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("store: encode audit entry: %w", err)
	}
	return v, nil
}

// zeroPrev is the Prev of the first entry.
var zeroPrev = strings.Repeat("0", 2*sha256.Size)

// appendAudit chains e to the log in tx: the head row locked (FOR UPDATE)
// until tx ends, so that entries of every gateway form one chain in the
// order of their commits. Seq, Prev and (when zero) Time are filled in.
func (b *Backend) appendAudit(ctx context.Context, tx pgx.Tx, e store.AuditEntry) error {
	var (
		seq  int64
		head []byte
	)
	err := tx.QueryRow(ctx, `SELECT seq, hash FROM tollgate_audit_head WHERE id = 1 FOR UPDATE`).Scan(&seq, &head)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w: the audit log has no head row", store.ErrCorrupt)
	}
	if err != nil {
		return err
	}
	e.Prev = zeroPrev
	switch {
	case seq == 0 && len(head) == 0:
	case seq > 0 && len(head) == sha256.Size:
		e.Prev = hex.EncodeToString(head)
	default:
		return fmt.Errorf("%w: the audit log's head row", store.ErrCorrupt)
	}
	e.Seq = uint64(seq) + 1
	if e.Time == 0 {
		e.Time = b.cfg.Now().Unix()
	}
	v, err := canonicalAudit(&e)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(v)
	var batch pgx.Batch
	batch.Queue(`INSERT INTO tollgate_audit (seq, time, entry) VALUES ($1, $2, $3)`, int64(e.Seq), e.Time, v)
	batch.Queue(`UPDATE tollgate_audit_head SET seq = $1, hash = $2 WHERE id = 1`, int64(e.Seq), sum[:])
	if err := tx.SendBatch(ctx, &batch).Close(); err != nil {
		return fmt.Errorf("store: append to the audit log: %w", err)
	}
	return nil
}

// Audit appends e to the audit log, durably. Seq, Prev and (when zero)
// Time are filled in.
func (b *Backend) Audit(e store.AuditEntry) error {
	ctx, cancel := b.ctx()
	defer cancel()
	return b.serializable(ctx, "append to the audit log", func(tx pgx.Tx) error { return b.appendAudit(ctx, tx, e) })
}

// AuditLog returns the entries at or after since (Unix seconds), in order.
// It reads the log's rows of those times (no index on time: an operator's
// query).
func (b *Backend) AuditLog(since int64) ([]store.AuditEntry, error) {
	if err := b.errIfClosed(); err != nil {
		return nil, err
	}
	ctx, cancel := b.ctx()
	defer cancel()
	rows, err := b.pool.Query(ctx, `SELECT entry FROM tollgate_audit WHERE time >= $1 ORDER BY seq`, since)
	if err != nil {
		return nil, b.fail("read the audit log", err)
	}
	defer rows.Close()
	var out []store.AuditEntry
	for rows.Next() {
		var v []byte
		if err := rows.Scan(&v); err != nil {
			return nil, b.fail("read the audit log", err)
		}
		var e store.AuditEntry
		if err := json.Unmarshal(v, &e); err != nil {
			return nil, fmt.Errorf("%w: audit entry: %w", store.ErrCorrupt, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, b.fail("read the audit log", err)
	}
	return out, nil
}

// VerifyAudit walks the whole audit log and checks its hash chain: the
// sequence numbers run from 1 without gaps, each entry names the hash of
// the one before, and the last matches the head row (so that deleting
// entries at the end is caught too). It returns the number of entries
// checked, and an error wrapping store.ErrAuditBroken naming the first bad
// entry. It reads the log in one snapshot (a REPEATABLE READ transaction),
// while other gateways append.
func (b *Backend) VerifyAudit() (int, error) {
	if err := b.errIfClosed(); err != nil {
		return 0, err
	}
	ctx, cancel := b.ctx()
	defer cancel()
	tx, err := b.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return 0, b.fail("verify the audit log", err)
	}
	defer tx.Rollback(ctx)
	n, err := verifyChain(ctx, tx)
	if errors.Is(err, store.ErrAuditBroken) {
		return n, err
	}
	return n, b.fail("verify the audit log", err)
}

// verifyChain checks the chain in tx (VerifyAudit).
func verifyChain(ctx context.Context, tx pgx.Tx) (int, error) {
	var (
		n    int64
		prev [sha256.Size]byte
	)
	rows, err := tx.Query(ctx, `SELECT seq, entry FROM tollgate_audit ORDER BY seq`)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	for rows.Next() {
		n++
		var (
			seq int64
			v   []byte
		)
		if err := rows.Scan(&seq, &v); err != nil {
			return int(n - 1), err
		}
		var e store.AuditEntry
		if err := json.Unmarshal(v, &e); err != nil {
			return int(n), fmt.Errorf("%w: entry %d does not decode", store.ErrAuditBroken, n)
		}
		if seq != n || e.Seq != uint64(n) {
			return int(n), fmt.Errorf("%w: entry %d is missing or out of place", store.ErrAuditBroken, n)
		}
		if e.Prev != hex.EncodeToString(prev[:]) {
			return int(n), fmt.Errorf("%w: entry %d does not follow entry %d (edited or deleted)", store.ErrAuditBroken, n, n-1)
		}
		prev = sha256.Sum256(v)
	}
	if err := rows.Err(); err != nil {
		return int(n), err
	}
	var (
		seq  int64
		head []byte
	)
	err = tx.QueryRow(ctx, `SELECT seq, hash FROM tollgate_audit_head WHERE id = 1`).Scan(&seq, &head)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return int(n), fmt.Errorf("%w: the head row is missing", store.ErrAuditBroken)
	case err != nil:
		return int(n), err
	case seq == 0 && n == 0 && len(head) == 0:
		return 0, nil
	case seq != n || !bytes.Equal(head, prev[:]):
		return int(n), fmt.Errorf("%w: the log ends at entry %d but the head names entry %d (entries deleted or edited)", store.ErrAuditBroken, n, seq)
	}
	return int(n), nil
}
