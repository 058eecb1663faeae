package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/tollgate/tollgate/store"
)

// AddShop registers a new shop and audits it ("shop.add"); a shop of the
// same name, or another with the same public key, is store.ErrExists.
func (b *Backend) AddShop(sh store.Shop) error { return b.putShop(sh, false) }

// UpdateShop replaces a registered shop and audits it ("shop.update"); an
// unknown name is store.ErrNotFound, another shop's key store.ErrExists.
func (b *Backend) UpdateShop(sh store.Shop) error { return b.putShop(sh, true) }

// putShop writes sh: a new shop, or (update) the registered one of its
// name, with its audit entry and a shops notification. The unique
// constraints of name and key decide between gateways adding at once.
func (b *Backend) putShop(sh store.Shop, update bool) error {
	if err := b.errIfClosed(); err != nil {
		return err
	}
	if err := sh.Check(); err != nil {
		return err
	}
	for i, n := range sh.Networks {
		sh.Networks[i] = n.Masked()
	}
	ctx, cancel := b.ctx()
	defer cancel()
	return b.serializable(ctx, "write a shop", func(tx pgx.Tx) error {
		s := sh
		var (
			other   string
			created int64
		)
		found := false
		rows, err := tx.Query(ctx, `SELECT name, record FROM tollgate_shops WHERE name = $1 OR public_key = $2 FOR UPDATE`, s.Name, s.PublicKey[:])
		if err != nil {
			return err
		}
		for rows.Next() {
			var (
				name string
				rec  []byte
			)
			if err := rows.Scan(&name, &rec); err != nil {
				rows.Close()
				return err
			}
			if name != s.Name {
				other = name
				continue
			}
			old, err := decodeShop(name, s.PublicKey[:], rec)
			if err != nil {
				rows.Close()
				return err
			}
			found, created = true, old.Created
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		kind := "shop.add"
		switch {
		case other != "":
			return fmt.Errorf("%w: shop %q already has this public key; each shop has a key of its own", store.ErrExists, other)
		case update && !found:
			return fmt.Errorf("%w: shop %q", store.ErrNotFound, s.Name)
		case update:
			kind, s.Created = "shop.update", created
		case found:
			return fmt.Errorf("%w: shop %q is registered; change it with 'tollgate shop update'", store.ErrExists, s.Name)
		}
		rec, err := encodeShop(&s)
		if err != nil {
			return err
		}
		if update {
			_, err = tx.Exec(ctx, `UPDATE tollgate_shops SET public_key = $2, record = $3 WHERE name = $1`, s.Name, s.PublicKey[:], rec)
		} else {
			var tag interface{ RowsAffected() int64 }
			tag, err = tx.Exec(ctx, `INSERT INTO tollgate_shops (name, public_key, record) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, s.Name, s.PublicKey[:], rec)
			if err == nil && tag.RowsAffected() == 0 {
				return errRace // added meanwhile by another gateway: run again to name it
			}
		}
		if isUnique(err) {
			return errRace
		}
		if err != nil {
			return err
		}
		return b.auditAndNotify(ctx, tx, store.AuditEntry{Kind: kind, Shop: s.Name}, payloadShops)
	})
}

// auditAndNotify appends e to the audit log in tx and notifies the
// gateways of the change (Watch).
func (b *Backend) auditAndNotify(ctx context.Context, tx pgx.Tx, e store.AuditEntry, payload string) error {
	if err := notify(ctx, tx, payload); err != nil {
		return err
	}
	return b.appendAudit(ctx, tx, e)
}

// DeleteShop removes a shop, and audits it ("shop.remove"); its licenses
// and orders stay. An unknown shop is store.ErrNotFound.
func (b *Backend) DeleteShop(name string) error {
	ctx, cancel := b.ctx()
	defer cancel()
	return b.serializable(ctx, "delete a shop", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM tollgate_shops WHERE name = $1`, name)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("%w: shop %q", store.ErrNotFound, name)
		}
		return b.auditAndNotify(ctx, tx, store.AuditEntry{Kind: "shop.remove", Shop: name}, payloadShops)
	})
}

// ShopByName returns the shop called name, or store.ErrNotFound.
func (b *Backend) ShopByName(name string) (store.Shop, error) {
	if err := b.errIfClosed(); err != nil {
		return store.Shop{}, err
	}
	ctx, cancel := b.ctx()
	defer cancel()
	var (
		key, rec []byte
	)
	err := b.pool.QueryRow(ctx, `SELECT public_key, record FROM tollgate_shops WHERE name = $1`, name).Scan(&key, &rec)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Shop{}, fmt.Errorf("%w: shop %q", store.ErrNotFound, name)
	}
	if err != nil {
		return store.Shop{}, b.fail("read a shop", err)
	}
	return decodeShop(name, key, rec)
}

// Shops returns every shop, ordered by name.
func (b *Backend) Shops() ([]store.Shop, error) {
	if err := b.errIfClosed(); err != nil {
		return nil, err
	}
	ctx, cancel := b.ctx()
	defer cancel()
	rows, err := b.pool.Query(ctx, `SELECT name, public_key, record FROM tollgate_shops ORDER BY name`)
	if err != nil {
		return nil, b.fail("read the shops", err)
	}
	defer rows.Close()
	var out []store.Shop
	for rows.Next() {
		var (
			name     string
			key, rec []byte
		)
		if err := rows.Scan(&name, &key, &rec); err != nil {
			return nil, b.fail("read the shops", err)
		}
		sh, err := decodeShop(name, key, rec)
		if err != nil {
			return nil, err
		}
		out = append(out, sh)
	}
	if err := rows.Err(); err != nil {
		return nil, b.fail("read the shops", err)
	}
	// In bytewise order, whatever the database's collation.
	slices.SortFunc(out, func(x, y store.Shop) int { return strings.Compare(x.Name, y.Name) })
	return out, nil
}
