package pebblestore

import (
	"encoding/json"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/tollgate/tollgate/store"
)

// AddProduct adds a new catalogue entry, durably, and audits it; an entry
// of the same code is store.ErrExists.
func (b *Backend) AddProduct(p store.Product) error { return b.putProduct(p, false) }

// UpdateProduct replaces a catalogue entry, durably, and audits it; an
// unknown code is store.ErrNotFound.
func (b *Backend) UpdateProduct(p store.Product) error { return b.putProduct(p, true) }

// putProduct writes p: a new entry, or (update) the one of its code, under
// the catalogue lock.
func (b *Backend) putProduct(p store.Product, update bool) error {
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
	b.catalogueMu.Lock()
	defer b.catalogueMu.Unlock()
	old, err := b.get(productKey(p.Code))
	if err != nil {
		return err
	}
	kind := "product.add"
	switch {
	case update && old == nil:
		return fmt.Errorf("%w: product %q", store.ErrNotFound, p.Code)
	case update:
		kind = "product.update"
	case old != nil:
		return fmt.Errorf("%w: product %s is in the catalogue; change it with 'tollgate product update'", store.ErrExists, p.Code)
	}
	return b.commitAudited(store.AuditEntry{Kind: kind, Detail: p.Code}, func(batch *pebble.Batch) error {
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
