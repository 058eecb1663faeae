package pebblestore

import (
	"encoding/json"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/tollgate/tollgate/store"
)

// PutShop registers or replaces a shop, durably, and audits it.
func (b *Backend) PutShop(sh store.Shop) error {
	if err := sh.Check(); err != nil {
		return err
	}
	for i, n := range sh.Networks {
		sh.Networks[i] = n.Masked()
	}
	v, err := json.Marshal(sh)
	if err != nil {
		return fmt.Errorf("store: encode shop: %w", err)
	}
	return b.commitAudited(store.AuditEntry{Kind: "shop.put", Shop: sh.Name}, func(batch *pebble.Batch) error {
		return batch.Set(shopKey(sh.Name), v, nil)
	})
}

// DeleteShop removes a shop, durably; its licenses and orders stay.
func (b *Backend) DeleteShop(name string) error {
	v, err := b.get(shopKey(name))
	if err != nil {
		return err
	}
	if v == nil {
		return fmt.Errorf("%w: shop %q", store.ErrNotFound, name)
	}
	return b.commitAudited(store.AuditEntry{Kind: "shop.remove", Shop: name}, func(batch *pebble.Batch) error {
		return batch.Delete(shopKey(name), nil)
	})
}

// ShopByName returns the shop called name, or ErrNotFound.
func (b *Backend) ShopByName(name string) (store.Shop, error) {
	v, err := b.get(shopKey(name))
	if err != nil {
		return store.Shop{}, err
	}
	if v == nil {
		return store.Shop{}, fmt.Errorf("%w: shop %q", store.ErrNotFound, name)
	}
	var sh store.Shop
	if err := json.Unmarshal(v, &sh); err != nil {
		return store.Shop{}, fmt.Errorf("%w: shop: %w", store.ErrCorrupt, err)
	}
	return sh, nil
}

// Shops returns every shop, ordered by name.
func (b *Backend) Shops() ([]store.Shop, error) {
	var out []store.Shop
	err := b.scan([]byte{pfxShop}, func(_, v []byte) error {
		var sh store.Shop
		if err := json.Unmarshal(v, &sh); err != nil {
			return fmt.Errorf("%w: shop: %w", store.ErrCorrupt, err)
		}
		out = append(out, sh)
		return nil
	})
	return out, err
}
