package pebblestore

import (
	"encoding/json"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/tollgate/tollgate/store"
)

// PutProduct adds or replaces a catalogue entry, durably.
func (b *Backend) PutProduct(p store.Product) error {
	if err := p.Check(); err != nil {
		return err
	}
	if p.Policy.Level == 0 {
		p.Policy.Level = 1
	}
	v, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("store: encode product: %w", err)
	}
	return b.commitAudited(store.AuditEntry{Kind: "product.put", Detail: p.Code}, func(batch *pebble.Batch) error {
		return batch.Set(productKey(p.Code), v, nil)
	})
}

// ProductByCode returns the catalogue entry of code, or ErrNotFound.
func (b *Backend) ProductByCode(code string) (store.Product, error) {
	v, err := b.get(productKey(code))
	if err != nil {
		return store.Product{}, err
	}
	if v == nil {
		return store.Product{}, fmt.Errorf("%w: product %q", store.ErrNotFound, code)
	}
	var p store.Product
	if err := json.Unmarshal(v, &p); err != nil {
		return store.Product{}, fmt.Errorf("%w: product: %w", store.ErrCorrupt, err)
	}
	return p, nil
}

// Products returns the catalogue, ordered by code.
func (b *Backend) Products() ([]store.Product, error) {
	var out []store.Product
	err := b.scan([]byte{pfxProduct}, func(_, v []byte) error {
		var p store.Product
		if err := json.Unmarshal(v, &p); err != nil {
			return fmt.Errorf("%w: product: %w", store.ErrCorrupt, err)
		}
		out = append(out, p)
		return nil
	})
	return out, err
}
