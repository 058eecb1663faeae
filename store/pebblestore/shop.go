package pebblestore

import (
	"encoding/json"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/tollgate/tollgate/store"
)

// AddShop registers a new shop, durably, and audits it; a shop of the same
// name or public key is store.ErrExists.
func (b *Backend) AddShop(sh store.Shop) error { return b.putShop(sh, false) }

// UpdateShop replaces a registered shop, durably, and audits it; an
// unknown name is store.ErrNotFound, another shop's key store.ErrExists.
func (b *Backend) UpdateShop(sh store.Shop) error { return b.putShop(sh, true) }

// putShop writes sh: a new shop, or (update) the registered one of its
// name, under the catalogue lock.
func (b *Backend) putShop(sh store.Shop, update bool) error {
	if err := sh.Check(); err != nil {
		return err
	}
	for i, n := range sh.Networks {
		sh.Networks[i] = n.Masked()
	}
	b.catalogueMu.Lock()
	defer b.catalogueMu.Unlock()
	shops, err := b.Shops()
	if err != nil {
		return err
	}
	var old *store.Shop
	for i := range shops {
		switch {
		case shops[i].Name == sh.Name:
			old = &shops[i]
		case shops[i].PublicKey == sh.PublicKey:
			return fmt.Errorf("%w: shop %q already has this public key; each shop has a key of its own", store.ErrExists, shops[i].Name)
		}
	}
	kind := "shop.add"
	switch {
	case update && old == nil:
		return fmt.Errorf("%w: shop %q", store.ErrNotFound, sh.Name)
	case update:
		kind, sh.Created = "shop.update", old.Created
	case old != nil:
		return fmt.Errorf("%w: shop %q is registered; change it with 'tollgate shop update'", store.ErrExists, sh.Name)
	}
	v, err := json.Marshal(sh)
	if err != nil {
		return fmt.Errorf("store: encode shop: %w", err)
	}
	return b.commitAudited(store.AuditEntry{Kind: kind, Shop: sh.Name}, func(batch *pebble.Batch) error {
		return batch.Set(shopKey(sh.Name), v, nil)
	})
}

// DeleteShop removes a shop, durably; its licenses and orders stay.
func (b *Backend) DeleteShop(name string) error {
	b.catalogueMu.Lock()
	defer b.catalogueMu.Unlock()
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
