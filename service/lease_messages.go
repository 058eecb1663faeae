package service

import (
	"errors"

	"github.com/tollgate/tollgate/store"
)

// leaseMessages returns the message overrides of product code encoded for
// Lease.Messages: nil when the product has none or is not in the
// catalogue. It is called before a license's update transaction, never
// inside it: on PostgreSQL a read there would wait for a second pool
// connection while holding one. It costs one catalogue read per lease
// signed (activation, renewal), nothing on the hot validation.
func (s *Service) leaseMessages(code string) ([]byte, error) {
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
