package service

import (
	"errors"
	"sync"

	"github.com/tollgate/tollgate/store"
)

// messageCache keeps each product's encoded message overrides for as long
// as the store's catalogue version stays the same, so that a lease signed
// (an activation, a renewal, every floating heartbeat) reads the catalogue
// only after the catalogue changed.
type messageCache struct {
	mu      sync.Mutex
	version uint64
	byCode  map[string][]byte // nil entry: no overrides
}

// leaseMessages returns the message overrides of product code encoded for
// Lease.Messages: nil when the product has none or is not in the
// catalogue. It is called before a license's update transaction, never
// inside it: on PostgreSQL a read there would wait for a second pool
// connection while holding one. It reads the catalogue once per product
// and catalogue version (messageCache), nothing on the hot validation.
func (s *Service) leaseMessages(code string) ([]byte, error) {
	v, keep := s.st.CatalogueVersion()
	c := &s.msgCache
	if keep {
		c.mu.Lock()
		b, ok := c.byCode[code]
		if c.version != v {
			c.version, c.byCode, ok = v, nil, false
		}
		c.mu.Unlock()
		if ok {
			return b, nil
		}
	}
	b, err := s.readLeaseMessages(code)
	if err != nil || !keep {
		return b, err
	}
	c.mu.Lock()
	if c.version == v { // read under this version or a later one: good for it
		if c.byCode == nil {
			c.byCode = make(map[string][]byte)
		}
		c.byCode[code] = b
	}
	c.mu.Unlock()
	return b, nil
}

// readLeaseMessages reads product code's overrides from the catalogue.
func (s *Service) readLeaseMessages(code string) ([]byte, error) {
	p, err := s.st.ProductByCode(code)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, err
	}
	b, err := p.LeaseMessages()
	if err != nil {
		// The store checked them when they were set: a record that no
		// longer fits is the operator's to fix, not the user's to pay for.
		s.log.Warn("product messages left out of the lease", "product", code, "err", err)
		return nil, nil
	}
	return b, nil
}

// licenseMessages is leaseMessages for the product of license id as the
// hot cache knows it; nil when the license is not found (the update that
// follows refuses it).
func (s *Service) licenseMessages(id store.LicenseID, p *Peer) ([]byte, error) {
	e, err := s.st.Lookup(id, p.Install)
	if err != nil {
		return nil, nil
	}
	return s.leaseMessages(e.License.Product)
}
