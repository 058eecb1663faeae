package pgstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/store"
)

// Update runs fn on the license with this id, its row locked (SELECT ...
// FOR UPDATE) in a SERIALIZABLE transaction, and commits what it changed
// with its audit entry, its shop's events and a change notification (Watch) before
// returning. A transaction that fails to serialise is run again, fn with
// it on a new store.Tx read afresh. With hash, the license is found by its
// key hash, and one of another id is store.ErrNotFound.
func (b *Backend) Update(id store.LicenseID, hash *keygen.KeyHash, fn func(tx *store.Tx) error) error {
	ctx, cancel := b.ctx()
	defer cancel()
	return b.serializable(ctx, "update a license", func(tx pgx.Tx) error {
		sql, arg := `SELECT `+licenseCols+` FROM tollgate_licenses WHERE id = $1 FOR UPDATE`, id[:]
		if hash != nil {
			sql, arg = `SELECT `+licenseCols+` FROM tollgate_licenses WHERE key_hash = $1 FOR UPDATE`, hash[:]
		}
		var r licenseRow
		err := tx.QueryRow(ctx, sql, arg).Scan(r.scan()...)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		lic, err := r.decode()
		if err != nil {
			return err
		}
		if lic.ID != id {
			return store.ErrNotFound
		}
		acts, err := activations(ctx, tx, id)
		if err != nil {
			return err
		}
		stx := store.NewTx(lic, acts, b.cfg.Now(), func() (store.Sightings, error) { return sightings(ctx, tx, id) })
		if err := fn(stx); err != nil {
			return err
		}
		c, err := stx.Changes(id, lic.KeyHash)
		if err != nil {
			return err
		}
		if err := writeChanges(ctx, tx, id, &c); err != nil {
			return err
		}
		if len(c.Events) > 0 {
			if err := appendEvents(ctx, tx, c.Events); err != nil {
				return err
			}
		}
		if c.Audit != nil {
			return b.appendAudit(ctx, tx, *c.Audit)
		}
		return nil
	})
}

// writeChanges writes a transaction's changes in tx, in one round trip:
// the license row, the deletions, the puts, the sightings and the change
// notification.
func writeChanges(ctx context.Context, tx pgx.Tx, id store.LicenseID, c *store.TxChanges) error {
	r, err := encodeLicense(&c.License)
	if err != nil {
		return err
	}
	var batch pgx.Batch
	batch.Queue(`UPDATE tollgate_licenses SET shop = $2, order_id = $3, product = $4, state = $5, expiry = $6, record = $7 WHERE id = $1`,
		id[:], r.Shop, r.Order, r.Product, r.State, r.Expiry, r.Rest)
	if len(c.Deletes) > 0 {
		ins := make([][]byte, len(c.Deletes))
		for i := range c.Deletes {
			ins[i] = c.Deletes[i][:]
		}
		batch.Queue(`DELETE FROM tollgate_activations WHERE license = $1 AND install = ANY($2)`, id[:], ins)
	}
	// In the order of their keys (the last put of an install last), as
	// WriteSeen writes them: the two lock the same rows in the same order.
	puts := slices.Clone(c.Puts)
	slices.SortStableFunc(puts, func(x, y store.Activation) int { return bytes.Compare(x.Install[:], y.Install[:]) })
	for i := range puts {
		a := &puts[i]
		rec, err := encodeActivation(a)
		if err != nil {
			return err
		}
		// The written-behind values of other gateways may be ahead of
		// what this transaction read: neither goes back.
		batch.Queue(`INSERT INTO tollgate_activations (`+activationCols+`) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (license, install) DO UPDATE SET created = excluded.created,
				last_seen = GREATEST(tollgate_activations.last_seen, excluded.last_seen),
				counter = GREATEST(tollgate_activations.counter, excluded.counter), record = excluded.record`,
			id[:], a.Install[:], a.Created, a.LastSeen, counterColumn(a.Counter), rec)
	}
	if sg := c.Sightings; sg != nil {
		if sg.Empty() {
			batch.Queue(`DELETE FROM tollgate_sightings WHERE license = $1`, id[:])
		} else {
			list, err := encodeSightings(sg)
			if err != nil {
				return err
			}
			batch.Queue(`INSERT INTO tollgate_sightings (license, flagged_at, reason, list) VALUES ($1, $2, $3, $4)
				ON CONFLICT (license) DO UPDATE SET flagged_at = excluded.flagged_at, reason = excluded.reason, list = excluded.list`,
				id[:], sg.FlaggedAt, sg.Reason, list)
		}
	}
	queueNotify(&batch, licensePayload(id))
	if err := tx.SendBatch(ctx, &batch).Close(); err != nil {
		return fmt.Errorf("store: write a license's changes: %w", err)
	}
	return nil
}
