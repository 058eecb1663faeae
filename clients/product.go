package clients

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/wire"
)

// Bundles and plug-ins, on the client.
//
// A bundle's key licenses several products: its lease lists them
// (wire.Lease.Bundle), and its entitlements are each covered product's
// scoped by that product's code in lower case and a dot ("1cjs2.scan"),
// beside the bundle's own unscoped names. A program of product X
// activates a bundle's key that covers X as it would a key of X, and its
// decisions carry X's entitlements alone; CheckProduct answers for any
// product code.
//
// A plug-in's Licensee (LicenseeConfig.Base) speaks for the installation
// of its base program: it uses the base's install key (from the base's
// state directory), names the base's license when it activates, and is
// refused (ReasonBaseMissing) whenever the base's saved lease does not
// license the base product on this installation.

// ActivatePlugin is Activate for a plug-in's key: base is the license of
// the plug-in's base product that this install holds. The gateway refuses
// with StatusBaseMissing unless that license is in force and activated on
// the same install.
func (c *Client) ActivatePlugin(ctx context.Context, key keygen.Key, base [wire.LicenseIDSize]byte, fp wire.Fingerprint, hostname, appVersion string) (*ActivateResult, error) {
	return c.activate(ctx, wire.ActivateRequest{Nonce: newNonce(), Key: key, Fingerprint: fp, Hostname: []byte(hostname), AppVersion: []byte(appVersion), Base: base})
}

// leaseCovers reports whether lease licenses product code: its own
// product or one of its bundle's.
func leaseCovers(lease *wire.Lease, code string) bool {
	if len(code) != wire.ProductSize {
		return false
	}
	return string(lease.Product[:]) == code || lease.HasProduct([wire.ProductSize]byte([]byte(code)))
}

// ProductEntitlements returns the entitlements lease grants product code:
// for a product of the lease's bundle, the names scoped to it with the
// scope taken off; for the lease's own product, the names scoped to none
// of its bundle's products; for any other code, none.
func ProductEntitlements(lease *wire.Lease, code string) []string {
	own := string(lease.Product[:]) == code
	var out []string
	for e := range lease.Entitlements.All() {
		name := string(e)
		scoped := false
		if len(name) > wire.ProductSize+1 && name[wire.ProductSize] == '.' {
			scope := strings.ToUpper(name[:wire.ProductSize])
			if scope != string(lease.Product[:]) && lease.HasProduct([wire.ProductSize]byte([]byte(scope))) {
				scoped = true
				if scope == code {
					out = append(out, name[wire.ProductSize+1:])
				}
			}
		}
		if !scoped && own {
			out = append(out, name)
		}
	}
	return out
}

// CheckProduct is Check answering for product code rather than the
// Licensee's own: allowed, with that product's entitlements, when the
// license held here is code's own or a bundle's that covers it;
// ReasonWrongProduct when it does not cover code. A suite's program asks
// it for each of its parts.
func (l *Licensee) CheckProduct(ctx context.Context, code string) Decision {
	return l.localized(l.checkProduct(ctx, code))
}

func (l *Licensee) checkProduct(ctx context.Context, code string) Decision {
	code = strings.ToUpper(code)
	d := l.check(ctx, checkPolicy)
	if !d.Allowed {
		return d
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	lease, err := l.lease()
	if err != nil {
		return refuse(ReasonLeaseInvalid, fmt.Errorf("%w: %w", ErrLease, err))
	}
	if !leaseCovers(&lease, code) {
		r := refuse(ReasonWrongProduct, nil)
		r.Message = fmt.Sprintf("The license held here (product %s) does not include product %s.", lease.Product[:], code)
		return r
	}
	d.Entitlements = ProductEntitlements(&lease, code)
	return d
}

// refuseUncovered frees the seat an activation just took when its lease
// does not license this Licensee's product (a key of another product that
// is no bundle covering it) and answers ReasonWrongProduct; ok is true
// when the lease covers the product.
func (l *Licensee) refuseUncovered(ctx context.Context, res *ActivateResult) (Decision, bool) {
	lease, _, err := wire.ParseLease(res.Lease)
	if err == nil && leaseCovers(&lease, l.cfg.Product) {
		return Decision{}, true
	}
	d := refuse(ReasonWrongProduct, nil)
	if err == nil {
		d.Message = fmt.Sprintf("This license key is for product %s, which does not include this program (product %s).", lease.Product[:], l.cfg.Product)
	}
	if l.st.HasLicense && l.st.LicenseID == res.LicenseID {
		return d, false // the seat is the license's held here: it stays
	}
	ferr := l.client.Deactivate(ctx, res.LicenseID)
	var se *wire.StatusError
	if ferr == nil || errors.As(ferr, &se) && se.Status == wire.StatusNotActivated {
		return d, false
	}
	d.Warning = "The key took a seat on the license server that could not be freed just now; activating it again in its own program on this computer reuses that seat."
	d.Err = ferr
	return d, false
}

// baseCache keeps the verification of the base's saved lease, as
// Licensee.verified does the Licensee's own.
type baseCache struct {
	raw   []byte
	lease wire.Lease
	err   error
}

// baseDir returns the base program's state directory of a plug-in's
// configuration.
func (c *LicenseeConfig) baseDir() (string, error) {
	if c.BaseStateDir != "" {
		return c.BaseStateDir, nil
	}
	return DefaultStateDir(c.Base, c.System)
}

// baseState checks a plug-in's Base and loads the base's state (creating
// its directory and install key when the base has not run yet: the base
// program then uses them): its install key is the plug-in's too.
func (c *LicenseeConfig) baseState() (*State, error) {
	if _, err := keygen.ParseProductCode(c.Base); err != nil {
		return nil, fmt.Errorf("%w: base product code: %w", ErrConfig, err)
	}
	c.Base = strings.ToUpper(c.Base)
	if c.Base == strings.ToUpper(c.Product) {
		return nil, fmt.Errorf("%w: a plug-in's base is another product than its own (%s)", ErrConfig, c.Base)
	}
	dir, err := c.baseDir()
	if err != nil {
		return nil, err
	}
	c.BaseStateDir = dir
	st, _, err := LoadState(dir)
	return st, err
}

// baseLicense returns the license id of the base this plug-in's install
// holds, or the refusal (ReasonBaseMissing) when its saved lease does not
// license the base product on this installation at now.
func (l *Licensee) baseLicense(now time.Time) ([wire.LicenseIDSize]byte, Decision, bool) {
	var id [wire.LicenseIDSize]byte
	missing := func() ([wire.LicenseIDSize]byte, Decision, bool) {
		return id, refuse(ReasonBaseMissing, nil), false
	}
	hexID, _, ok := savedLicense(l.cfg.BaseStateDir)
	if !ok {
		d := refuse(ReasonBaseMissing, nil)
		d.Message = fmt.Sprintf("This add-on needs the program it extends (product %s), and that program is not activated on this computer.", l.cfg.Base)
		return id, d, false
	}
	hex.Decode(id[:], []byte(hexID))
	b, ok := readState(l.cfg.BaseStateDir, FileLease)
	if !ok {
		return missing()
	}
	raw, err := wire.DearmorLease(b)
	if err != nil {
		return missing()
	}
	if l.base.raw == nil || !bytes.Equal(l.base.raw, raw) {
		lease, err := l.client.trust.verifyHeld(raw)
		l.base.raw, l.base.lease, l.base.err = raw, lease, err
	}
	lease, t := &l.base.lease, now.Unix()
	switch {
	case l.base.err != nil, lease.LicenseID != id, lease.InstallKeyHash != l.client.InstallID(), !leaseCovers(lease, l.cfg.Base):
		return missing()
	case lease.LicenseExpiry != 0 && t >= lease.LicenseExpiry:
		d := refuse(ReasonBaseMissing, nil)
		d.Message = fmt.Sprintf("This add-on needs the program it extends (product %s), and that program's license has expired.", l.cfg.Base)
		return id, d, false
	case t >= lease.LeaseExpiry:
		d := refuse(ReasonBaseMissing, nil)
		d.Message = fmt.Sprintf("This add-on needs the program it extends (product %s), and that program has not renewed its license for a while.", l.cfg.Base)
		d.Action = "Start that program once while connected to the internet, then the add-on."
		return id, d, false
	}
	return id, Decision{}, true
}
