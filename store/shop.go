package store

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"sync"

	"github.com/cockroachdb/pebble/v2"
)

// ext is the state of the shop side of the store: per-shop mint locks and
// the audit chain's head.
type ext struct {
	shopLocks sync.Map // shop name -> *sync.Mutex

	auditMu   sync.Mutex
	auditInit bool
	auditSeq  uint64
	auditHead [32]byte
}

func (s *Store) shopLock(name string) *sync.Mutex {
	mu, _ := s.ext.shopLocks.LoadOrStore(name, new(sync.Mutex))
	return mu.(*sync.Mutex)
}

// Shop is a web shop allowed to mint keys over the shop channel.
type Shop struct {
	Name string `json:"name"`
	// PublicKey is the shop's Noise static public key (raw 32 bytes).
	PublicKey [32]byte `json:"public_key"`
	// Networks are the CIDR prefixes the shop may connect from, IPv4 or IPv6.
	Networks []netip.Prefix `json:"networks"`
	// Products are the product codes the shop may mint.
	Products []string `json:"products"`
	// DailyQuota bounds the keys minted per UTC day; zero means no bound.
	DailyQuota uint32 `json:"daily_quota,omitempty"`
	Created    int64  `json:"created"`
}

// Allows reports whether a connection from addr is within the shop's
// networks. IPv4-mapped IPv6 addresses count as IPv4.
func (sh *Shop) Allows(addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, n := range sh.Networks {
		if n.Contains(addr) {
			return true
		}
	}
	return false
}

// MayMint reports whether the shop may mint product code p.
func (sh *Shop) MayMint(p string) bool { return slices.Contains(sh.Products, p) }

// Check reports whether the shop record is complete.
func (sh *Shop) Check() error {
	switch {
	case sh.Name == "" || len(sh.Name) > 64:
		return fmt.Errorf("%w: shop name must be 1 to 64 bytes", ErrInvalid)
	case sh.PublicKey == [32]byte{}:
		return fmt.Errorf("%w: shop %q has no public key", ErrInvalid, sh.Name)
	case len(sh.Networks) == 0:
		return fmt.Errorf("%w: shop %q has no networks", ErrInvalid, sh.Name)
	case len(sh.Products) == 0:
		return fmt.Errorf("%w: shop %q may mint no product", ErrInvalid, sh.Name)
	}
	for _, c := range sh.Name {
		if c <= ' ' || c > '~' {
			return fmt.Errorf("%w: shop name must be printable ASCII without spaces", ErrInvalid)
		}
	}
	for _, n := range sh.Networks {
		if !n.IsValid() {
			return fmt.Errorf("%w: shop %q has an invalid network", ErrInvalid, sh.Name)
		}
	}
	return nil
}

func shopKey(name string) []byte { return append([]byte{pfxShop}, name...) }

// PutShop registers or replaces a shop, durably, and audits it.
func (s *Store) PutShop(sh Shop) error {
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
	return s.commitAudited(AuditEntry{Kind: "shop.put", Shop: sh.Name}, func(b *pebble.Batch) error {
		return b.Set(shopKey(sh.Name), v, nil)
	})
}

// DeleteShop removes a shop, durably; its licenses and orders stay.
func (s *Store) DeleteShop(name string) error {
	v, err := s.get(shopKey(name))
	if err != nil {
		return err
	}
	if v == nil {
		return fmt.Errorf("%w: shop %q", ErrNotFound, name)
	}
	return s.commitAudited(AuditEntry{Kind: "shop.remove", Shop: name}, func(b *pebble.Batch) error {
		return b.Delete(shopKey(name), nil)
	})
}

// ShopByName returns the shop called name, or ErrNotFound.
func (s *Store) ShopByName(name string) (Shop, error) {
	v, err := s.get(shopKey(name))
	if err != nil {
		return Shop{}, err
	}
	if v == nil {
		return Shop{}, fmt.Errorf("%w: shop %q", ErrNotFound, name)
	}
	var sh Shop
	if err := json.Unmarshal(v, &sh); err != nil {
		return Shop{}, fmt.Errorf("%w: shop: %w", ErrCorrupt, err)
	}
	return sh, nil
}

// Shops returns every shop, ordered by name.
func (s *Store) Shops() ([]Shop, error) {
	var out []Shop
	err := s.scan([]byte{pfxShop}, func(_, v []byte) error {
		var sh Shop
		if err := json.Unmarshal(v, &sh); err != nil {
			return fmt.Errorf("%w: shop: %w", ErrCorrupt, err)
		}
		out = append(out, sh)
		return nil
	})
	return out, err
}

// scan calls fn on every key with prefix pfx, in order.
func (s *Store) scan(pfx []byte, fn func(k, v []byte) error) error {
	hi := append([]byte(nil), pfx...)
	hi[len(hi)-1]++
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: pfx, UpperBound: hi})
	if err != nil {
		return fmt.Errorf("store: iterate: %w", err)
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		if err := fn(it.Key(), it.Value()); err != nil {
			return err
		}
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("store: iterate: %w", err)
	}
	return nil
}
