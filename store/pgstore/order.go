package pgstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/tollgate/tollgate/store"
)

// OrderByID returns a shop's order, or store.ErrNotFound.
func (b *Backend) OrderByID(shop, id string) (store.Order, error) {
	if err := b.errIfClosed(); err != nil {
		return store.Order{}, err
	}
	ctx, cancel := b.ctx()
	defer cancel()
	o, err := orderIn(ctx, b.pool, shop, id)
	return o, b.fail("read an order", err)
}

// orderIn reads a shop's order through q, or store.ErrNotFound.
func orderIn(ctx context.Context, q querier, shop, id string) (store.Order, error) {
	o := store.Order{Shop: shop, ID: id}
	var count int64
	err := q.QueryRow(ctx, `SELECT request, sealed, count, product, created FROM tollgate_orders WHERE shop = $1 AND id = $2`, shop, id).
		Scan(&o.Request, &o.Sealed, &count, &o.Product, &o.Created)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Order{}, fmt.Errorf("%w: order", store.ErrNotFound)
	}
	if err != nil {
		return store.Order{}, err
	}
	if count < 1 || count > store.MaxMintKeys {
		return store.Order{}, fmt.Errorf("%w: order %q of shop %q has %d keys", store.ErrCorrupt, id, shop, count)
	}
	o.Count = int(count)
	if len(o.Request) == 0 {
		o.Request = nil
	}
	if len(o.Sealed) == 0 {
		o.Sealed = nil
	}
	return o, nil
}

// MintedToday returns how many keys the shop minted on the current UTC
// day, by every gateway of the database.
func (b *Backend) MintedToday(shop string) (uint32, error) {
	if err := b.errIfClosed(); err != nil {
		return 0, err
	}
	ctx, cancel := b.ctx()
	defer cancel()
	var day, minted int64
	err := b.pool.QueryRow(ctx, `SELECT day, minted FROM tollgate_mint_quota WHERE shop = $1`, shop).Scan(&day, &minted)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return 0, nil
	case err != nil:
		return 0, b.fail("read the mint quota", err)
	case day != b.cfg.Now().Unix()/86400:
		return 0, nil
	case minted < 0 || minted > 1<<32-1:
		return 0, fmt.Errorf("%w: shop %q minted %d keys today", store.ErrCorrupt, shop, minted)
	}
	return uint32(minted), nil
}

// MintOrder places order o under the lock of its shop's quota row (SELECT
// ... FOR UPDATE), so that no two gateways mint one order or pass the
// quota together:
//
//   - an order with this id and the same request bytes exists: it is
//     returned with existed true, and mint is not called;
//   - it exists with other request bytes: store.ErrOrderConflict;
//   - the shop's quota (keys per UTC day, 0 for none) would be exceeded:
//     store.ErrQuotaExceeded;
//   - otherwise mint makes the licenses and the sealed keys, and the
//     licenses, the order, the quota count and an audit entry are
//     committed in one transaction before MintOrder returns.
//
// A transaction run again (it failed to serialise) calls mint again; what
// an aborted run minted is never written. It may take Config.Timeout once
// more for each thousand keys of the order.
func (b *Backend) MintOrder(o store.Order, quota uint32, mint func() ([]store.License, []byte, error)) (_ store.Order, existed bool, _ error) {
	if err := b.errIfClosed(); err != nil {
		return store.Order{}, false, err
	}
	if o.Shop == "" || len(o.Shop) > 255 || o.ID == "" || o.Count < 1 || o.Count > store.MaxMintKeys {
		return store.Order{}, false, fmt.Errorf("%w: order", store.ErrInvalid)
	}
	// An order's time grows with its keys (made, sealed, copied in): a
	// Timeout more for each thousand, so that a 10,000-key order on a
	// loaded machine is not refused as a database away.
	ctx, cancel := context.WithTimeout(context.Background(), b.cfg.Timeout*time.Duration(1+o.Count/1000))
	defer cancel()
	var placed store.Order
	err := b.serializable(ctx, "place an order", func(tx pgx.Tx) error {
		existed = false
		now := b.cfg.Now().Unix()
		day := now / 86400
		if _, err := tx.Exec(ctx, `INSERT INTO tollgate_mint_quota (shop, day, minted) VALUES ($1, $2, 0) ON CONFLICT (shop) DO NOTHING`, o.Shop, day); err != nil {
			return err
		}
		var qday, minted int64
		if err := tx.QueryRow(ctx, `SELECT day, minted FROM tollgate_mint_quota WHERE shop = $1 FOR UPDATE`, o.Shop).Scan(&qday, &minted); err != nil {
			return err
		}
		prev, err := orderIn(ctx, tx, o.Shop, o.ID)
		switch {
		case err == nil && bytes.Equal(prev.Request, o.Request):
			placed, existed = prev, true
			return nil
		case err == nil:
			return store.ErrOrderConflict
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		used := uint64(0)
		if qday == day && minted > 0 {
			used = uint64(minted)
		}
		if quota != 0 && used+uint64(o.Count) > uint64(quota) {
			return fmt.Errorf("%w: %d of %d keys used today", store.ErrQuotaExceeded, used, quota)
		}
		ls, sealed, err := mint()
		if err != nil {
			return err
		}
		if len(ls) != o.Count {
			return fmt.Errorf("%w: %d licenses for an order of %d", store.ErrInvalid, len(ls), o.Count)
		}
		rows, err := licenseRows(ls)
		if err != nil {
			return err
		}
		if err := copyLicenses(ctx, tx, rows); err != nil {
			return err
		}
		p := o
		p.Sealed, p.Created = sealed, now
		tag, err := tx.Exec(ctx, `INSERT INTO tollgate_orders (shop, id, request, sealed, count, product, created)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (shop, id) DO NOTHING`,
			p.Shop, p.ID, nonNil(p.Request), nonNil(p.Sealed), int64(p.Count), p.Product, p.Created)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return errRace // another gateway placed it: run again to find it
		}
		if _, err := tx.Exec(ctx, `UPDATE tollgate_mint_quota SET day = $2, minted = $3 WHERE shop = $1`, o.Shop, day, int64(used)+int64(o.Count)); err != nil {
			return err
		}
		placed = p
		return b.appendAudit(ctx, tx, store.AuditEntry{Kind: "mint", Shop: o.Shop, Detail: fmt.Sprintf("order %q: %d keys of %s", o.ID, o.Count, o.Product)})
	})
	if err != nil {
		return store.Order{}, false, err
	}
	return placed, existed, nil
}

// nonNil returns b, or an empty slice for nil: a bytea column NOT NULL
// takes no NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
