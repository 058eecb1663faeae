package store

import (
	"fmt"
	"net/netip"
	"slices"
)

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
