package clients

import (
	"encoding/hex"
	"time"

	"github.com/tollgate/tollgate/wire"
)

// Status describes the saved license, for a status display or support
// desk. It reads only local state. Its JSON keys are snake_case, part of
// tollgate-client's stable JSON.
type Status struct {
	Activated     bool      `json:"activated"`
	License       string    `json:"license,omitempty"` // license id, hex (not the key)
	Product       string    `json:"product,omitempty"`
	Entitlements  []string  `json:"entitlements,omitempty"`
	Level         int       `json:"level,omitempty"`
	LicenseExpiry time.Time `json:"license_expiry,omitzero"` // zero for perpetual
	LeaseExpiry   time.Time `json:"lease_expiry,omitzero"`
	OnlineBy      time.Time `json:"online_by,omitzero"` // level 3
	// DaysOffline is how many more whole days the program may run without
	// reaching the server: to the lease's expiry, or at level 3 its
	// online-by time.
	DaysOffline int       `json:"days_offline"`
	LastContact time.Time `json:"last_contact,omitzero"`
	TrustedTime time.Time `json:"trusted_time,omitzero"`
	// Lease is the lease's problem, "" when it is good offline.
	Lease string `json:"lease_problem,omitempty"`
}

// Status returns what the saved state says, judged offline at Now.
func (l *Licensee) Status() Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.cfg.Now()
	st := l.st
	s := Status{Activated: st.HasLicense}
	if !st.HasLicense {
		return s
	}
	s.License = hex.EncodeToString(st.LicenseID[:])
	if st.LastContact != 0 {
		s.LastContact = time.Unix(st.LastContact, 0).UTC()
	}
	if st.Trusted != 0 {
		s.TrustedTime = time.Unix(st.Trusted, 0).UTC()
	}
	d := l.offline(now)
	if l.clockBack(now) {
		d = refuse(ReasonClockBack, nil)
	}
	if !d.Allowed {
		s.Lease = string(d.Reason)
	}
	lease, err := l.lease()
	if err != nil {
		return s
	}
	s.Product = string(lease.Product[:])
	for e := range lease.Entitlements.All() {
		s.Entitlements = append(s.Entitlements, string(e))
	}
	s.Level = int(lease.Level)
	if lease.LicenseExpiry != 0 {
		s.LicenseExpiry = time.Unix(lease.LicenseExpiry, 0).UTC()
	}
	s.LeaseExpiry = time.Unix(lease.LeaseExpiry, 0).UTC()
	until := lease.LeaseExpiry
	if lease.Level == wire.LevelCheckRequired {
		s.OnlineBy = time.Unix(lease.OnlineBy, 0).UTC()
		until = min(until, lease.OnlineBy)
	}
	if d.Allowed {
		s.DaysOffline = int((until - now.Unix()) / 86400)
	}
	return s
}

// FingerprintReport lists this machine's fingerprint components, hashed,
// and which of them changed since the saved lease was issued.
type FingerprintReport struct {
	Components []ComponentHash `json:"components"`
	// Changed lists the kinds of the lease's fingerprint that differ now;
	// empty without a lease.
	Changed []string `json:"changed,omitempty"`
	// SameMachine reports whether the lease's fingerprint still matches (a
	// majority of components kept); false without a lease.
	SameMachine bool `json:"same_machine"`
	HasLease    bool `json:"has_lease"`
}

// ComponentHash is one salted component hash, as sent to the gateway.
type ComponentHash struct {
	Kind string `json:"kind"`
	Hash string `json:"hash"` // hex
}

// FingerprintReport returns the fingerprint and its changes.
func (l *Licensee) FingerprintReport() FingerprintReport {
	l.mu.Lock()
	defer l.mu.Unlock()
	fp := l.Fingerprint()
	var r FingerprintReport
	for _, c := range fp.Components() {
		r.Components = append(r.Components, ComponentHash{Kind: c.Kind.String(), Hash: hex.EncodeToString(c.Hash[:])})
	}
	if lease, err := l.lease(); err == nil {
		r.HasLease = true
		changed, same := lease.Fingerprint.Match(&fp)
		r.SameMachine = same
		for _, k := range ChangedKinds(changed) {
			r.Changed = append(r.Changed, k.String())
		}
	}
	return r
}
