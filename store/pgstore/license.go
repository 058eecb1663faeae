package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/store"
)

// CreateLicenses writes new licenses in one transaction (COPY), with audit
// (when not nil) in the same commit. A key hash or license id that already
// exists is refused with store.ErrExists and nothing is written.
func (b *Backend) CreateLicenses(ls []store.License, audit *store.AuditEntry) error {
	if len(ls) == 0 {
		return b.errIfClosed()
	}
	rows, err := licenseRows(ls)
	if err != nil {
		return err
	}
	ctx, cancel := b.ctx()
	defer cancel()
	return b.serializable(ctx, "create licenses", func(tx pgx.Tx) error {
		if err := copyLicenses(ctx, tx, rows); err != nil {
			return err
		}
		if audit != nil {
			return b.appendAudit(ctx, tx, *audit)
		}
		return nil
	})
}

// licenseRows encodes licenses for copyLicenses.
func licenseRows(ls []store.License) ([][]any, error) {
	rows := make([][]any, len(ls))
	for i := range ls {
		r, err := encodeLicense(&ls[i])
		if err != nil {
			return nil, err
		}
		rows[i] = r.args()
	}
	return rows, nil
}

// copyLicenses writes new licenses' rows in tx; a taken key hash or id is
// store.ErrExists.
func copyLicenses(ctx context.Context, tx pgx.Tx, rows [][]any) error {
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"tollgate_licenses"},
		[]string{"id", "key_hash", "shop", "order_id", "product", "state", "expiry", "record"}, pgx.CopyFromRows(rows))
	if isUnique(err) {
		return fmt.Errorf("%w: a license of the batch has the key hash or id of a license already stored", store.ErrExists)
	}
	return err
}

// LicenseByKeyHash returns the license whose key has hash h, or
// store.ErrNotFound.
func (b *Backend) LicenseByKeyHash(h keygen.KeyHash) (store.License, error) {
	return b.license(`SELECT `+licenseCols+` FROM tollgate_licenses WHERE key_hash = $1`, h[:])
}

// LicenseByID returns the license with this id, or store.ErrNotFound.
func (b *Backend) LicenseByID(id store.LicenseID) (store.License, error) {
	return b.license(`SELECT `+licenseCols+` FROM tollgate_licenses WHERE id = $1`, id[:])
}

// license reads the one license the query selects.
func (b *Backend) license(sql string, arg []byte) (store.License, error) {
	if err := b.errIfClosed(); err != nil {
		return store.License{}, err
	}
	ctx, cancel := b.ctx()
	defer cancel()
	var r licenseRow
	err := b.pool.QueryRow(ctx, sql, arg).Scan(r.scan()...)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.License{}, store.ErrNotFound
	}
	if err != nil {
		return store.License{}, b.fail("read a license", err)
	}
	return r.decode()
}

// Activation returns the activation of install on the license id, its
// last-seen time and counter the highest written, or
// store.ErrNotActivated.
func (b *Backend) Activation(id store.LicenseID, install store.InstallID) (store.Activation, error) {
	if err := b.errIfClosed(); err != nil {
		return store.Activation{}, err
	}
	ctx, cancel := b.ctx()
	defer cancel()
	var (
		lic, in                    []byte
		created, lastSeen, counter int64
		rec                        []byte
	)
	err := b.pool.QueryRow(ctx, `SELECT `+activationCols+` FROM tollgate_activations WHERE license = $1 AND install = $2`, id[:], install[:]).
		Scan(&lic, &in, &created, &lastSeen, &counter, &rec)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Activation{}, store.ErrNotActivated
	}
	if err != nil {
		return store.Activation{}, b.fail("read an activation", err)
	}
	return decodeActivation(lic, in, created, lastSeen, counter, rec)
}

// Activations returns the license's activations, ordered by install id.
func (b *Backend) Activations(id store.LicenseID) ([]store.Activation, error) {
	if err := b.errIfClosed(); err != nil {
		return nil, err
	}
	ctx, cancel := b.ctx()
	defer cancel()
	acts, err := activations(ctx, b.pool, id)
	return acts, b.fail("read activations", err)
}

// rowQuerier is what reads rows: a pool or a transaction.
type rowQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// activations reads the license's activations through q, ordered by
// install id.
func activations(ctx context.Context, q rowQuerier, id store.LicenseID) ([]store.Activation, error) {
	rows, err := q.Query(ctx, `SELECT `+activationCols+` FROM tollgate_activations WHERE license = $1 ORDER BY install`, id[:])
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Activation
	for rows.Next() {
		var (
			lic, in                    []byte
			created, lastSeen, counter int64
			rec                        []byte
		)
		if err := rows.Scan(&lic, &in, &created, &lastSeen, &counter, &rec); err != nil {
			return nil, err
		}
		a, err := decodeActivation(lic, in, created, lastSeen, counter, rec)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
