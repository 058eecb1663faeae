package store

import "github.com/tollgate/tollgate/keygen"

// The Store's methods that go straight to its backend: what they write is
// not cached (licenses are cached only with an activation, and a new license
// has none), so they need nothing of the cache. Each is documented at
// Backend.

// LicenseByKeyHash returns the license whose key has hash h, or ErrNotFound.
func (s *Store) LicenseByKeyHash(h keygen.KeyHash) (License, error) { return s.b.LicenseByKeyHash(h) }

// LicenseByID returns the license with this id, or ErrNotFound.
func (s *Store) LicenseByID(id LicenseID) (License, error) { return s.b.LicenseByID(id) }

// CreateLicenses writes new licenses durably in one commit. A key hash or
// license id that already exists is refused with ErrExists and nothing is
// written.
func (s *Store) CreateLicenses(ls []License) error {
	if len(ls) == 0 {
		return nil
	}
	return s.b.CreateLicenses(ls, nil)
}

// CreateLicensesAudited is CreateLicenses with the audit entry e written in
// the same commit.
func (s *Store) CreateLicensesAudited(ls []License, e AuditEntry) error {
	if len(ls) == 0 {
		return nil
	}
	return s.b.CreateLicenses(ls, &e)
}

// MintOrder places order o under the shop's lock (Backend.MintOrder).
func (s *Store) MintOrder(o Order, quota uint32, mint func() ([]License, []byte, error)) (_ Order, existed bool, _ error) {
	return s.b.MintOrder(o, quota, mint)
}

// OrderByID returns a shop's order, or ErrNotFound.
func (s *Store) OrderByID(shop, id string) (Order, error) { return s.b.OrderByID(shop, id) }

// MintedToday returns how many keys the shop minted on the current UTC day.
func (s *Store) MintedToday(shop string) (uint32, error) { return s.b.MintedToday(shop) }

// AddShop registers a new shop, durably, and audits it; an existing name
// or public key is ErrExists (Backend.AddShop).
func (s *Store) AddShop(sh Shop) error { return s.b.AddShop(sh) }

// UpdateShop replaces a registered shop, durably, and audits it; an
// unknown name is ErrNotFound (Backend.UpdateShop).
func (s *Store) UpdateShop(sh Shop) error { return s.b.UpdateShop(sh) }

// DeleteShop removes a shop, durably; its licenses and orders stay.
func (s *Store) DeleteShop(name string) error { return s.b.DeleteShop(name) }

// ShopByName returns the shop called name, or ErrNotFound.
func (s *Store) ShopByName(name string) (Shop, error) { return s.b.ShopByName(name) }

// Shops returns every shop, ordered by name.
func (s *Store) Shops() ([]Shop, error) { return s.b.Shops() }

// AddProduct adds a new catalogue entry, durably, and audits it; an
// existing code is ErrExists (Backend.AddProduct).
func (s *Store) AddProduct(p Product) error {
	defer s.catalogue.Add(1)
	return s.b.AddProduct(p)
}

// UpdateProduct replaces a catalogue entry, durably, and audits it; an
// unknown code is ErrNotFound (Backend.UpdateProduct).
func (s *Store) UpdateProduct(p Product) error {
	defer s.catalogue.Add(1)
	return s.b.UpdateProduct(p)
}

// CatalogueVersion returns a number that changes whenever the catalogue
// may have changed, so that what a caller derives from a product can be
// kept while it stays the same; ok is false while a shared backend may
// have missed changes (then nothing derived may be kept).
func (s *Store) CatalogueVersion() (v uint64, ok bool) {
	return s.catalogue.Load(), !s.untrusted.Load()
}

// ProductByCode returns the catalogue entry of code, or ErrNotFound.
func (s *Store) ProductByCode(code string) (Product, error) { return s.b.ProductByCode(code) }

// Products returns the catalogue, ordered by code.
func (s *Store) Products() ([]Product, error) { return s.b.Products() }

// Sightings returns the sightings of the license with this id (none yet:
// the zero value).
func (s *Store) Sightings(id LicenseID) (Sightings, error) { return s.b.Sightings(id) }

// FlaggedLicenses returns the flagged licenses, oldest flag first, at most
// limit of them (0: all). A license whose sightings record is damaged is
// listed first, with FlaggedAt 0 and DamagedSightings as its reason.
func (s *Store) FlaggedLicenses(limit int) ([]Flagged, error) { return s.b.FlaggedLicenses(limit) }

// Audit appends e to the audit log, durably. Seq, Prev and (when zero)
// Time are filled in.
func (s *Store) Audit(e AuditEntry) error { return s.b.Audit(e) }

// AuditLog returns the entries at or after since (Unix seconds), in order.
func (s *Store) AuditLog(since int64) ([]AuditEntry, error) { return s.b.AuditLog(since) }

// VerifyAudit checks the audit log's hash chain (Backend.VerifyAudit).
func (s *Store) VerifyAudit() (int, error) { return s.b.VerifyAudit() }
