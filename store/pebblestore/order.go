package pebblestore

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/tollgate/tollgate/store"
)

// OrderByID returns a shop's order, or ErrNotFound.
func (b *Backend) OrderByID(shop, id string) (store.Order, error) {
	v, err := b.get(orderKey(shop, id))
	if err != nil {
		return store.Order{}, err
	}
	if v == nil {
		return store.Order{}, fmt.Errorf("%w: order", store.ErrNotFound)
	}
	return decodeOrder(v)
}

// decodeOrder reads an order record: binary (version 2) or JSON (before).
func decodeOrder(v []byte) (store.Order, error) {
	if len(v) > 0 && v[0] == recordVersionV2 {
		return parseOrderV2(v)
	}
	var o store.Order
	if err := json.Unmarshal(v, &o); err != nil {
		return store.Order{}, fmt.Errorf("%w: order: %w", store.ErrCorrupt, err)
	}
	if len(o.Request) == 0 {
		o.Request = nil
	}
	if len(o.Sealed) == 0 {
		o.Sealed = nil
	}
	return o, nil
}

// MintedToday returns how many keys the shop minted on the current UTC day.
func (b *Backend) MintedToday(shop string) (uint32, error) {
	v, err := b.get(quotaKey(shop, b.cfg.Now().Unix()/86400))
	if err != nil || len(v) != 4 {
		return 0, err
	}
	return binary.BigEndian.Uint32(v), nil
}

// MintOrder places order o (Shop, ID, Request, Count, Product set) under
// the shop's lock, so that two concurrent attempts of one order cannot
// both mint:
//
//   - an order with this id and the same request bytes exists: it is
//     returned with existed true, and mint is not called;
//   - it exists with other request bytes: store.ErrOrderConflict;
//   - the shop's quota (keys per UTC day, 0 for none) would be exceeded:
//     store.ErrQuotaExceeded;
//   - otherwise mint makes the licenses and the sealed keys, and the
//     licenses, the order, the quota count and an audit entry are written
//     in one batch with one fsync before MintOrder returns.
//
// New licenses are not checked for collisions with existing ones: their
// ids and key hashes come from 128 and 124 random bits.
func (b *Backend) MintOrder(o store.Order, quota uint32, mint func() ([]store.License, []byte, error)) (_ store.Order, existed bool, _ error) {
	if b.closed.Load() {
		return store.Order{}, false, store.ErrClosed
	}
	if o.Shop == "" || len(o.Shop) > 255 || o.ID == "" || o.Count < 1 || o.Count > store.MaxMintKeys {
		return store.Order{}, false, fmt.Errorf("%w: order", store.ErrInvalid)
	}
	mu := b.shopLock(o.Shop)
	mu.Lock()
	defer mu.Unlock()
	prev, err := b.OrderByID(o.Shop, o.ID)
	switch {
	case err == nil && bytes.Equal(prev.Request, o.Request):
		return prev, true, nil
	case err == nil:
		return store.Order{}, false, store.ErrOrderConflict
	case !isNotFound(err):
		return store.Order{}, false, err
	}
	now := b.cfg.Now().Unix()
	qk := quotaKey(o.Shop, now/86400)
	var used uint32
	if v, err := b.get(qk); err != nil {
		return store.Order{}, false, err
	} else if len(v) == 4 {
		used = binary.BigEndian.Uint32(v)
	}
	if quota != 0 && uint64(used)+uint64(o.Count) > uint64(quota) {
		return store.Order{}, false, fmt.Errorf("%w: %d of %d keys used today", store.ErrQuotaExceeded, used, quota)
	}
	ls, sealed, err := mint()
	if err != nil {
		return store.Order{}, false, err
	}
	if len(ls) != o.Count {
		return store.Order{}, false, fmt.Errorf("%w: %d licenses for an order of %d", store.ErrInvalid, len(ls), o.Count)
	}
	o.Sealed, o.Created = sealed, now
	rec, err := appendOrderV2(nil, &o)
	if err != nil {
		return store.Order{}, false, fmt.Errorf("store: encode order: %w", err)
	}
	entry := store.AuditEntry{Kind: "mint", Shop: o.Shop, Detail: fmt.Sprintf("order %q: %d keys of %s", o.ID, o.Count, o.Product)}
	body, err := licenseKVs(ls)
	if err != nil {
		return store.Order{}, false, err
	}
	defer body.release()
	body.add(orderKey(o.Shop, o.ID), rec)
	body.add(qk, binary.BigEndian.AppendUint32(nil, used+uint32(o.Count)))
	err = b.commitAuditedSized(entry, body.size(), body.putIn)
	if err != nil {
		return store.Order{}, false, err
	}
	return o, false, nil
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

// shopLock returns the lock under which the shop's orders are placed.
func (b *Backend) shopLock(name string) *sync.Mutex {
	mu, _ := b.shopLocks.LoadOrStore(name, new(sync.Mutex))
	return mu.(*sync.Mutex)
}
