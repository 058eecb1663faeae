package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// Order is a shop's minting order as recorded: the canonical bytes of the
// request (wire.MintRequest.AppendOrder) and the keys it produced, sealed
// by the gateway, so that a retry of the same order gets the same keys and
// a different request under the same id is told apart. The store never
// sees the keys in the clear.
type Order struct {
	Shop    string `json:"shop"`
	ID      string `json:"id"`
	Request []byte `json:"request"` // canonical order bytes
	Sealed  []byte `json:"sealed"`  // the keys, encrypted by the gateway
	Count   int    `json:"count"`
	Product string `json:"product"`
	Created int64  `json:"created"`
}

func orderKey(shop, id string) []byte {
	k := make([]byte, 0, 2+len(shop)+len(id))
	k = append(k, pfxOrder, byte(len(shop)))
	k = append(k, shop...)
	return append(k, id...)
}

func quotaKey(shop string, day int64) []byte {
	k := make([]byte, 0, 10+len(shop))
	k = append(k, pfxQuota, byte(len(shop)))
	k = append(k, shop...)
	return binary.BigEndian.AppendUint64(k, uint64(day))
}

// OrderByID returns a shop's order, or ErrNotFound.
func (s *Store) OrderByID(shop, id string) (Order, error) {
	v, err := s.get(orderKey(shop, id))
	if err != nil {
		return Order{}, err
	}
	if v == nil {
		return Order{}, fmt.Errorf("%w: order", ErrNotFound)
	}
	return decodeOrder(v)
}

// decodeOrder reads an order record: binary (version 2) or JSON (before).
func decodeOrder(v []byte) (Order, error) {
	if len(v) > 0 && v[0] == recordVersionV2 {
		return parseOrderV2(v)
	}
	var o Order
	if err := json.Unmarshal(v, &o); err != nil {
		return Order{}, fmt.Errorf("%w: order: %w", ErrCorrupt, err)
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
func (s *Store) MintedToday(shop string) (uint32, error) {
	v, err := s.get(quotaKey(shop, s.cfg.Now().Unix()/86400))
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
//   - it exists with other request bytes: ErrOrderConflict;
//   - the shop's quota (keys per UTC day, 0 for none) would be exceeded:
//     ErrQuotaExceeded;
//   - otherwise mint makes the licenses and the sealed keys, and the
//     licenses, the order, the quota count and an audit entry are written
//     in one batch with one fsync before MintOrder returns.
//
// New licenses are not checked for collisions with existing ones: their
// ids and key hashes come from 128 and 124 random bits.
func (s *Store) MintOrder(o Order, quota uint32, mint func() ([]License, []byte, error)) (_ Order, existed bool, _ error) {
	if s.closed.Load() {
		return Order{}, false, ErrClosed
	}
	if o.Shop == "" || len(o.Shop) > 255 || o.ID == "" || o.Count < 1 || o.Count > maxBatchKeys {
		return Order{}, false, fmt.Errorf("%w: order", ErrInvalid)
	}
	mu := s.shopLock(o.Shop)
	mu.Lock()
	defer mu.Unlock()
	prev, err := s.OrderByID(o.Shop, o.ID)
	switch {
	case err == nil && bytes.Equal(prev.Request, o.Request):
		return prev, true, nil
	case err == nil:
		return Order{}, false, ErrOrderConflict
	case !isNotFound(err):
		return Order{}, false, err
	}
	now := s.cfg.Now().Unix()
	qk := quotaKey(o.Shop, now/86400)
	var used uint32
	if v, err := s.get(qk); err != nil {
		return Order{}, false, err
	} else if len(v) == 4 {
		used = binary.BigEndian.Uint32(v)
	}
	if quota != 0 && uint64(used)+uint64(o.Count) > uint64(quota) {
		return Order{}, false, fmt.Errorf("%w: %d of %d keys used today", ErrQuotaExceeded, used, quota)
	}
	ls, sealed, err := mint()
	if err != nil {
		return Order{}, false, err
	}
	if len(ls) != o.Count {
		return Order{}, false, fmt.Errorf("%w: %d licenses for an order of %d", ErrInvalid, len(ls), o.Count)
	}
	o.Sealed, o.Created = sealed, now
	rec, err := appendOrderV2(nil, &o)
	if err != nil {
		return Order{}, false, fmt.Errorf("store: encode order: %w", err)
	}
	entry := AuditEntry{Kind: "mint", Shop: o.Shop, Detail: fmt.Sprintf("order %q: %d keys of %s", o.ID, o.Count, o.Product)}
	err = s.commitAudited(entry, func(b *pebble.Batch) error {
		if err := putLicenses(b, ls); err != nil {
			return err
		}
		if err := b.Set(orderKey(o.Shop, o.ID), rec, nil); err != nil {
			return fmt.Errorf("store: batch: %w", err)
		}
		return b.Set(qk, binary.BigEndian.AppendUint32(nil, used+uint32(o.Count)), nil)
	})
	if err != nil {
		return Order{}, false, err
	}
	return o, false, nil
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
