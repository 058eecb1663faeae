package service

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tollgate/tollgate/store"
)

// Bundles and plug-ins.
//
// A bundle product (Product.Bundle) mints one key that licenses further
// products. Each covered product keeps its own entitlements: in the
// bundle's entitlement list they are scoped by the covered product's code
// in lower case and a dot ("1cjs2.scan" is product 1CJS2's "scan"), the
// bundle's own being the unscoped names. The lease carries the list as it
// is; the client gives a program of product X the names scoped to X (the
// prefix taken off), or the unscoped ones when X is the bundle itself.
//
// A plug-in product (Product.Base) is valid only beside a license of its
// base product on the same install: its activation names the base license
// (wire.ActivateRequest.Base), which must be of the base product or a
// bundle covering it, in force, and activated on the calling install.

// EntitlementScope returns the prefix that scopes an entitlement to the
// covered product code in a bundle's list: "1cjs2." for 1CJS2.
func EntitlementScope(code string) string { return strings.ToLower(code) + "." }

// BundleEntitlements returns a bundle's entitlement list: own (the
// bundle's unscoped names) followed by each covered product's entitlements
// scoped by its code. Names already scoped in own are kept as they are,
// and a covered product with any scoped name in own gets no more: an
// operator's explicit list wins.
func BundleEntitlements(own []string, covered []store.Product) []string {
	out := slices.Clone(own)
	for _, c := range covered {
		scope := EntitlementScope(c.Code)
		if slices.ContainsFunc(own, func(e string) bool { return strings.HasPrefix(e, scope) }) {
			continue
		}
		for _, e := range c.Entitlements {
			out = append(out, scope+e)
		}
	}
	return out
}

// CheckCatalogueProduct checks p against the catalogue st holds before it
// is added or changed, and completes a bundle's entitlements: each product
// a bundle covers must be in the catalogue and be neither a plug-in nor a
// bundle, and its entitlements are added scoped (BundleEntitlements); a
// plug-in's base must be in the catalogue, be another product, and not be
// a plug-in itself; a product is not both. Refusals wrap store.ErrInvalid
// and say what to do.
func CheckCatalogueProduct(st *store.Store, p *store.Product) error {
	p.Base = strings.ToUpper(p.Base)
	if p.Base != "" && len(p.Bundle) > 0 {
		return fmt.Errorf("%w: product %s cannot be both a plug-in (of %s) and a bundle; make two products", store.ErrInvalid, p.Code, p.Base)
	}
	if p.Base != "" {
		if p.Base == p.Code {
			return fmt.Errorf("%w: product %s cannot be a plug-in of itself", store.ErrInvalid, p.Code)
		}
		base, err := catalogueEntry(st, p.Base, "the base product of plug-in "+p.Code)
		if err != nil {
			return err
		}
		if base.Base != "" {
			return fmt.Errorf("%w: %s is itself a plug-in (of %s); a plug-in's base must be a product of its own", store.ErrInvalid, base.Code, base.Base)
		}
	}
	if len(p.Bundle) == 0 {
		return nil
	}
	covered := make([]store.Product, 0, len(p.Bundle))
	for _, code := range p.Bundle {
		c, err := catalogueEntry(st, code, "a product bundle "+p.Code+" covers")
		if err != nil {
			return err
		}
		if c.Base != "" {
			return fmt.Errorf("%w: %s is a plug-in (of %s); a bundle covers products of their own, not plug-ins", store.ErrInvalid, c.Code, c.Base)
		}
		if len(c.Bundle) > 0 {
			return fmt.Errorf("%w: %s is a bundle itself; list the products it covers instead", store.ErrInvalid, c.Code)
		}
		covered = append(covered, c)
	}
	p.Entitlements = BundleEntitlements(p.Entitlements, covered)
	return p.Check()
}

// catalogueEntry returns the product of code, refusing an unknown code
// with ErrInvalid naming what it was for.
func catalogueEntry(st *store.Store, code, what string) (store.Product, error) {
	c, err := st.ProductByCode(code)
	if errors.Is(err, store.ErrNotFound) {
		return store.Product{}, fmt.Errorf("%w: %s, %s, is not in the catalogue; add it first", store.ErrInvalid, what, code)
	}
	return c, err
}

// covers reports whether license l licenses product code: its own, or
// one of its bundle's.
func covers(l *store.License, code string) bool {
	return l.Product == code || slices.Contains(l.Bundle, code)
}

// checkBase refuses (ErrBaseMissing, saying why) the activation of
// plug-in license lic on install unless base names a license of lic's base
// product, or of a bundle covering it, that is in force at now and
// activated on the same install. It reads the base through the store's
// cache: an activation of a plug-in costs one lookup more.
func (s *Service) checkBase(lic *store.License, base store.LicenseID, install store.InstallID, now int64) error {
	missing := func(why string) error {
		return refusef(KindBaseMissing, "this plug-in needs a license of product %s activated on this installation, and %s; activate %s here first, then the plug-in", lic.Base, why, lic.Base)
	}
	if base == (store.LicenseID{}) {
		return missing("the request named none")
	}
	e, err := s.st.Lookup(base, install)
	switch KindOf(err) {
	case KindNotFound:
		return missing("the license named is unknown")
	case KindNotActivated:
		return missing("the license named is not activated on this installation")
	}
	if err != nil {
		return err
	}
	if !covers(&e.License, lic.Base) {
		return missing("the license named is of product " + e.License.Product)
	}
	switch err := licenseRefusal(&e.License, e.Expiry, now); KindOf(err) {
	case KindRevoked:
		return missing("that license was revoked")
	case KindSuspended:
		return missing("that license is suspended")
	case KindExpired:
		return missing("that license has expired")
	}
	return nil
}
