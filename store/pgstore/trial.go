package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// StartTrial writes (and so locks) the product's trial head row, finds the product's
// earlier trials of install or sharing a fingerprint component with fp,
// lets decide judge, and writes the new trial's license, activation, mark,
// index rows and audit entry in the same SERIALIZABLE transaction (run
// again, decide with it, on a serialisation failure).
func (b *Backend) StartTrial(product string, install store.InstallID, fp wire.Fingerprint, decide func(prior []store.Trial) (*store.NewTrial, error)) error {
	if !store.ValidProductCode(product) {
		return fmt.Errorf("%w: %q is not a product code", store.ErrInvalid, product)
	}
	comps := make([][]byte, 0, fp.N)
	for _, c := range fp.Components() {
		k := store.TrialComponentKey(c)
		comps = append(comps, k[:])
	}
	ctx, cancel := b.ctx()
	defer cancel()
	return b.serializable(ctx, "start a trial", func(tx pgx.Tx) error {
		// The head row is written, not only locked: a transaction that
		// waited for it fails to serialise once the other commits (40001),
		// and runs again on a snapshot that holds the other's trial,
		// whenever its own snapshot was taken.
		if _, err := tx.Exec(ctx, `INSERT INTO tollgate_trial_heads (product) VALUES ($1)
			ON CONFLICT (product) DO UPDATE SET product = excluded.product`, product); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT record FROM tollgate_trials WHERE product = $1 AND (install = $2 OR install IN
			(SELECT install FROM tollgate_trial_components WHERE product = $1 AND component = ANY($3))) ORDER BY install`,
			product, install[:], comps)
		if err != nil {
			return err
		}
		prior, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Trial, error) {
			var rec []byte
			if err := r.Scan(&rec); err != nil {
				return store.Trial{}, err
			}
			return store.DecodeTrial(rec)
		})
		if err != nil {
			return err
		}
		n, err := decide(prior)
		if err != nil || n == nil {
			return err
		}
		if err := store.CheckNewTrial(n, product, install, fp); err != nil {
			return err
		}
		lrows, err := licenseRows([]store.License{n.License})
		if err != nil {
			return err
		}
		if err := copyLicenses(ctx, tx, lrows); err != nil {
			return err
		}
		arec, err := encodeActivation(&n.Activation)
		if err != nil {
			return err
		}
		trec, err := store.EncodeTrial(&n.Trial)
		if err != nil {
			return err
		}
		a := &n.Activation
		var batch pgx.Batch
		batch.Queue(`INSERT INTO tollgate_activations (`+activationCols+`) VALUES ($1, $2, $3, $4, $5, $6)`,
			n.License.ID[:], install[:], a.Created, a.LastSeen, counterColumn(a.Counter), arec)
		batch.Queue(`INSERT INTO tollgate_trials (product, install, license, started, ends, record) VALUES ($1, $2, $3, $4, $5, $6)`,
			product, install[:], n.License.ID[:], n.Trial.Started, n.Trial.Ends, trec)
		batch.Queue(`INSERT INTO tollgate_trial_components (product, component, install) SELECT $1, c, $2 FROM unnest($3::bytea[]) AS c`,
			product, install[:], comps)
		queueNotify(&batch, licensePayload(n.License.ID))
		if err := tx.SendBatch(ctx, &batch).Close(); err != nil {
			if isUnique(err) {
				return fmt.Errorf("%w: a trial of this install", store.ErrExists)
			}
			return fmt.Errorf("store: write a trial: %w", err)
		}
		return b.appendAudit(ctx, tx, n.Audit)
	})
}

// Trials returns the trial marks of product (every product when empty),
// ordered by product and install.
func (b *Backend) Trials(product string) ([]store.Trial, error) {
	if err := b.errIfClosed(); err != nil {
		return nil, err
	}
	if product != "" && !store.ValidProductCode(product) {
		return nil, fmt.Errorf("%w: %q is not a product code", store.ErrInvalid, product)
	}
	ctx, cancel := b.ctx()
	defer cancel()
	out, err := trials(ctx, b.pool, product)
	return out, b.fail("read trials", err)
}

func trials(ctx context.Context, q rowQuerier, product string) ([]store.Trial, error) {
	rows, err := q.Query(ctx, `SELECT record FROM tollgate_trials WHERE $1 = '' OR product = $1 ORDER BY product, install`, product)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Trial, error) {
		var rec []byte
		if err := r.Scan(&rec); err != nil {
			return store.Trial{}, err
		}
		return store.DecodeTrial(rec)
	})
}
