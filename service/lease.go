package service

import (
	"crypto/rand"
	"fmt"
	"time"

	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// signLease signs a lease for activation a of license l on the machine
// whose fingerprint the client sent (fp), answering nonce, and records it
// in a: sealed (it holds the client's fingerprint hashes), with when it was
// issued and expires. a must be private (setFingerprint). The lease never
// outlives the license, and at level 3 it carries when the next server check
// is due and when to start warning. msgs are the product's message
// overrides (leaseMessages), read before the update transaction.
func (s *Service) signLease(l *store.License, a *store.Activation, fp *wire.Fingerprint, nonce [wire.NonceSize]byte, counter uint64, now time.Time, msgs []byte) ([]byte, error) {
	life := l.Policy.LeaseSeconds
	if life == 0 {
		life = s.defaultLease
	}
	issued := now.Unix()
	lease := wire.Lease{
		LicenseID:      l.ID,
		InstallKeyHash: a.Install,
		Issued:         issued,
		LeaseExpiry:    issued + int64(life),
		LicenseExpiry:  l.Expiry(),
		Level:          wire.LeaseLevel(l.Policy.Level),
		Counter:        counter,
		ServerTime:     issued,
		Nonce:          nonce,
		Fingerprint:    *fp,
		Messages:       msgs,
	}
	if lease.Level == 0 {
		lease.Level = 1
	}
	if l.Policy.Floating {
		// Valid offline only until the checkout's end (floating.go).
		lease.Level = wire.LevelFloating
	}
	copy(lease.Product[:], l.Product)
	if lease.LicenseExpiry != 0 && lease.LicenseExpiry < lease.LeaseExpiry {
		lease.LeaseExpiry = lease.LicenseExpiry
	}
	if lease.Level == 3 {
		online := l.Policy.OnlineDays
		if online == 0 {
			online = 30
		}
		lease.OnlineBy = issued + int64(online)*86400
		if w := int64(l.Policy.WarnDays) * 86400; w > 0 && w < lease.OnlineBy-issued {
			lease.WarnFrom = lease.OnlineBy - w
		}
	}
	var err error
	if len(l.Bundle) > 0 {
		codes := make([][wire.ProductSize]byte, len(l.Bundle))
		for i, c := range l.Bundle {
			copy(codes[i][:], c)
		}
		if lease.Bundle, err = wire.NewLeaseBundle(codes...); err != nil {
			return nil, fmt.Errorf("service: lease bundle: %w", err)
		}
	}
	if lease.Entitlements, err = wire.NewEntitlements(l.Entitlements...); err != nil {
		return nil, fmt.Errorf("service: lease entitlements: %w", err)
	}
	b, err := s.batch.sign(&lease)
	if err != nil {
		return nil, fmt.Errorf("service: sign lease: %w", err)
	}
	a.License = l.ID // as PutActivation will set it: the seal binds it
	if a.Lease, err = s.sealLease(a, b); err != nil {
		return nil, err
	}
	a.LeaseIssued, a.LeaseExpiry = lease.Issued, lease.LeaseExpiry
	return b, nil
}

// sealLease seals lease b for the store: a random nonce, then the lease
// encrypted under Identity.LeaseSeal, bound to the license and install.
func (s *Service) sealLease(a *store.Activation, b []byte) ([]byte, error) {
	if !a.Private {
		return nil, fmt.Errorf("service: sealing the lease of an activation that is not private")
	}
	aead := s.keys.LeaseSeal
	out := make([]byte, aead.NonceSize(), aead.NonceSize()+len(b)+aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		return nil, fmt.Errorf("service: seal lease: %w", err)
	}
	return aead.Seal(out, out, b, leaseAD(a)), nil
}

// openLease returns a's lease as signed: opened if a is private, as stored
// otherwise (records of earlier gateways).
func (s *Service) openLease(a *store.Activation) ([]byte, error) {
	if !a.Private {
		return a.Lease, nil
	}
	aead := s.keys.LeaseSeal
	n := aead.NonceSize()
	if len(a.Lease) < n {
		return nil, fmt.Errorf("%w: sealed lease", store.ErrCorrupt)
	}
	b, err := aead.Open(nil, a.Lease[:n], a.Lease[n:], leaseAD(a))
	if err != nil {
		return nil, fmt.Errorf("%w: sealed lease does not open", store.ErrCorrupt)
	}
	return b, nil
}

func leaseAD(a *store.Activation) []byte {
	return append(append(make([]byte, 0, len(a.License)+len(a.Install)), a.License[:]...), a.Install[:]...)
}
