package pgstore

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/tollgate/tollgate/store"
)

// AddProduct adds a new catalogue entry and audits it ("product.add"); an
// entry of the same code is store.ErrExists.
func (b *Backend) AddProduct(p store.Product) error { return b.putProduct(p, false) }

// UpdateProduct replaces a catalogue entry and audits it
// ("product.update"); an unknown code is store.ErrNotFound.
func (b *Backend) UpdateProduct(p store.Product) error { return b.putProduct(p, true) }

// putProduct writes p: a new entry, or (update) the one of its code, with
// its audit entry and a products notification.
func (b *Backend) putProduct(p store.Product, update bool) error {
	if err := b.errIfClosed(); err != nil {
		return err
	}
	if err := p.Check(); err != nil {
		return err
	}
	if p.Policy.Level == 0 {
		p.Policy.Level = 1
	}
	rec, err := encodeProduct(&p)
	if err != nil {
		return err
	}
	ctx, cancel := b.ctx()
	defer cancel()
	return b.serializable(ctx, "write a product", func(tx pgx.Tx) error {
		kind := "product.add"
		if update {
			kind = "product.update"
			tag, err := tx.Exec(ctx, `UPDATE tollgate_products SET record = $2 WHERE code = $1`, p.Code, rec)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				return fmt.Errorf("%w: product %q", store.ErrNotFound, p.Code)
			}
		} else {
			tag, err := tx.Exec(ctx, `INSERT INTO tollgate_products (code, record) VALUES ($1, $2) ON CONFLICT (code) DO NOTHING`, p.Code, rec)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				return fmt.Errorf("%w: product %s is in the catalogue; change it with 'tollgate product update'", store.ErrExists, p.Code)
			}
		}
		return b.auditAndNotify(ctx, tx, store.AuditEntry{Kind: kind, Detail: p.Code}, payloadProducts)
	})
}

// ProductByCode returns the catalogue entry of code, or store.ErrNotFound.
func (b *Backend) ProductByCode(code string) (store.Product, error) {
	if err := b.errIfClosed(); err != nil {
		return store.Product{}, err
	}
	ctx, cancel := b.ctx()
	defer cancel()
	var rec []byte
	err := b.pool.QueryRow(ctx, `SELECT record FROM tollgate_products WHERE code = $1`, code).Scan(&rec)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Product{}, fmt.Errorf("%w: product %q", store.ErrNotFound, code)
	}
	if err != nil {
		return store.Product{}, b.fail("read a product", err)
	}
	return decodeProduct(code, rec)
}

// Products returns the catalogue, ordered by code.
func (b *Backend) Products() ([]store.Product, error) {
	if err := b.errIfClosed(); err != nil {
		return nil, err
	}
	ctx, cancel := b.ctx()
	defer cancel()
	rows, err := b.pool.Query(ctx, `SELECT code, record FROM tollgate_products ORDER BY code`)
	if err != nil {
		return nil, b.fail("read the catalogue", err)
	}
	defer rows.Close()
	var out []store.Product
	for rows.Next() {
		var (
			code string
			rec  []byte
		)
		if err := rows.Scan(&code, &rec); err != nil {
			return nil, b.fail("read the catalogue", err)
		}
		p, err := decodeProduct(code, rec)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, b.fail("read the catalogue", err)
	}
	// In bytewise order, whatever the database's collation.
	slices.SortFunc(out, func(x, y store.Product) int { return strings.Compare(x.Code, y.Code) })
	return out, nil
}
