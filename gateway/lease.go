package gateway

import (
	"fmt"
	"time"

	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// signLease signs a lease for activation a of license l on the machine
// whose fingerprint the client sent (fp), answering nonce, and records when
// it was issued and expires in a (the lease itself is not kept: it holds
// the client's fingerprint hashes). The lease never
// outlives the license, and at level 3 it carries when the next server check
// is due and when to start warning.
func (h *handler) signLease(l *store.License, a *store.Activation, fp *wire.Fingerprint, nonce [wire.NonceSize]byte, counter uint64, now time.Time) ([]byte, error) {
	life := l.Policy.LeaseSeconds
	if life == 0 {
		life = h.defaultLease
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
	}
	if lease.Level == 0 {
		lease.Level = 1
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
			return nil, fmt.Errorf("gateway: lease bundle: %w", err)
		}
	}
	if lease.Entitlements, err = wire.NewEntitlements(l.Entitlements...); err != nil {
		return nil, fmt.Errorf("gateway: lease entitlements: %w", err)
	}
	b, err := wire.SignLease(&lease, h.id.LeaseKey)
	if err != nil {
		return nil, fmt.Errorf("gateway: sign lease: %w", err)
	}
	a.Lease, a.LeaseIssued, a.LeaseExpiry = nil, lease.Issued, lease.LeaseExpiry
	return b, nil
}

// leaseDelivered counts a signed lease whose commit succeeded (it goes out
// in the answer).
func (h *handler) leaseDelivered() {
	if h.stats != nil {
		h.stats.leasesSigned.Add(1)
	}
}
