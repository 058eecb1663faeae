package service

import (
	"encoding/binary"

	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// Validation is what a validation grants: the fingerprint components that
// changed, the server's time, and a lease to send (nil: the client keeps
// the one it has).
type Validation struct {
	Changed    uint32
	ServerTime int64 // Unix seconds
	Lease      []byte
}

// Validate is the hot path: on a cache hit it signs nothing and writes
// nothing synchronously. It returns slow=true, deciding nothing, when the
// answer needs a new lease; the caller then calls ValidateSlow, off the
// path that must not wait (a session's read loop).
//
// The install's counter must move forward: a validation presenting a
// counter no higher than one already seen comes from a copy of the
// install's state (a cloned machine or a restored backup) and is refused
// with ErrInstallCloned; the install that is ahead keeps working, and the
// license is flagged (cloneFlagger).
//
// The entry a session's earlier validation of the license used is used
// again while the store says it is current (store.Current: the license
// unchanged, the entry still the shared cache's), so a session validating
// a license again pays a few atomic loads, not a shared-cache lookup
// (Peer.entry). Calls with the same p must not be concurrent.
func (s *Service) Validate(req *wire.ValidateRequest, p *Peer, now int64) (v Validation, slow bool, err error) {
	e, err := p.entry(s.st, req.LicenseID)
	if err != nil {
		return Validation{}, false, s.failed(err, "validate")
	}
	if err := licenseRefusal(&e.License, e.Expiry, now); err != nil {
		return Validation{}, false, err
	}
	changed, same := s.matchEntry(e, &req.Fingerprint)
	if !same {
		return Validation{}, false, ErrFingerprintMismatch
	}
	if !s.st.Advance(e, now, req.Counter) {
		s.clones.report(e.License.ID)
		return Validation{}, false, ErrInstallCloned
	}
	if e.License.Policy.Floating {
		// A heartbeat: it extends the checkout or takes a seat again, and
		// signs the lease that says so (floating.go).
		return Validation{}, true, nil
	}
	v = Validation{Changed: changed, ServerTime: now}
	switch s.leaseForKey(&e.Activation, req.WantLease(), now) {
	case leaseSign:
		return Validation{}, true, nil
	case leaseResend:
		if v.Lease = s.entryLease(e); v.Lease == nil {
			return Validation{}, true, nil
		}
	}
	return v, false, nil
}

// ValidateSlow answers a validation that needs a new lease (Validate said
// slow): it signs one and records it durably.
func (s *Service) ValidateSlow(req *wire.ValidateRequest, p *Peer) (Validation, error) {
	msgs, err := s.licenseMessages(req.LicenseID, p)
	if err != nil {
		return Validation{}, s.failed(err, "validate")
	}
	now := s.now()
	v := Validation{ServerTime: now.Unix()}
	err = s.st.Update(req.LicenseID, func(tx *store.Tx) error {
		a, ok := tx.Activation(p.Install)
		if !ok {
			return store.ErrNotActivated
		}
		if err := licenseRefusal(&tx.License, tx.License.Expiry(), now.Unix()); err != nil {
			return err
		}
		var same bool
		if v.Changed, same = s.matchFingerprint(&a, &req.Fingerprint); !same {
			return ErrFingerprintMismatch
		}
		// The counter was checked and advanced by Validate.
		var err error
		var took bool // a floating seat taken again (floating.go)
		if tx.License.Policy.Floating {
			if took, err = checkout(tx, &a, now.Unix()); err != nil {
				return err
			}
		}
		s.setFingerprint(&a, &req.Fingerprint)
		a.LastSeen = now.Unix()
		a.Counter = max(a.Counter, req.Counter)
		if v.Lease, err = s.signLease(&tx.License, &a, &req.Fingerprint, req.Nonce, req.Counter, now, msgs); err != nil {
			return err
		}
		tx.PutActivation(a)
		if took {
			recordFloatingSeat(tx, store.EventActivated, a.Hostname, now.Unix())
		}
		return nil
	})
	if err != nil {
		return Validation{}, s.failed(err, "validate")
	}
	s.leasesSigned.Add(1)
	return v, nil
}

// licenseRefusal returns why license l, whose term ends at expiry (zero:
// never), is refused at now, or nil.
func licenseRefusal(l *store.License, expiry, now int64) error {
	switch l.State {
	case store.StateSuspended:
		return ErrSuspended
	case store.StateRevoked:
		return ErrRevoked
	}
	if store.Ended(expiry, now) {
		return ErrExpired
	}
	return nil
}

// LicenseStatus returns the wire status license l has at now (OK, or why
// it is refused), as a shop's key status reports it.
func LicenseStatus(l *store.License, now int64) wire.Status {
	if err := licenseRefusal(l, l.Expiry(), now); err != nil {
		return KindOf(err).Status()
	}
	return wire.StatusOK
}

// matchEntry matches the fingerprint a client sent against a cached
// activation's. The outcome is kept with the entry, so an install that
// sends the same fingerprint again (the usual case) costs a comparison,
// not a keyed hash of each component.
func (s *Service) matchEntry(e *store.Entry, sent *wire.Fingerprint) (changed uint32, same bool) {
	if m := e.Matched(); m != nil && m.Sent.Equal(sent) {
		return m.Changed, true
	}
	changed, same = s.matchFingerprint(&e.Activation, sent)
	if same {
		e.SetMatched(&store.FPMatch{Sent: *sent, Changed: changed})
	}
	return changed, same
}

// matchFingerprint matches the fingerprint a client sent against an
// activation's stored one: keyed (keyFingerprint), or as sent in records
// of earlier gateways.
func (s *Service) matchFingerprint(a *store.Activation, sent *wire.Fingerprint) (changed uint32, same bool) {
	if !a.Private {
		return a.Fingerprint.Match(sent)
	}
	k := s.keyFingerprint(sent)
	return a.Fingerprint.Match(&k)
}

// keyFingerprint returns fp as the gateway stores it: each component's
// hash replaced by a keyed hash (Hasher.Tag) of its kind and hash. The
// client hashes components with the product code, which is public, so a
// low-entropy component (a MAC address) could be found from its client
// hash by trying them all; under the gateway's secret it cannot.
func (s *Service) keyFingerprint(fp *wire.Fingerprint) wire.Fingerprint {
	k := *fp
	var in [1 + wire.FPHashSize]byte
	for i := range k.Components() {
		c := &k.C[i]
		in[0] = byte(c.Kind)
		copy(in[1:], c.Hash[:])
		binary.BigEndian.PutUint64(c.Hash[:], s.keys.Hasher.Tag("fingerprint", in[:]))
	}
	return k
}

// setFingerprint stores the fingerprint a client sent in a, keyed; the
// activation is then private, and its lease must be sealed (signLease).
func (s *Service) setFingerprint(a *store.Activation, sent *wire.Fingerprint) {
	a.Fingerprint, a.Private = s.keyFingerprint(sent), true
}

// leaseReissueSeconds is how often an install that asks for a fresh lease
// while its current one is good gets a newly signed one: a client setting
// the want-lease flag on every validation would otherwise make the gateway
// sign (and fsync) for each. Meanwhile it is sent the lease signed last
// (a client that lost its lease file gets it back), and a level 3 deadline
// moves at most this much later.
const leaseReissueSeconds = 10 * 60

// leaseAction is what a validation's answer carries of a lease.
type leaseAction uint8

const (
	leaseKeep   leaseAction = iota // none: the client's current lease stays
	leaseResend                    // the lease signed last
	leaseSign                      // a newly signed one
)

// leaseFor decides the lease of a validation's answer: a new one when the
// current one is missing, expired or past half its life, or the client
// asks for one and the current one is at least leaseReissueSeconds old;
// the current one again when the client asks within that time.
func leaseFor(a *store.Activation, want bool, now int64) leaseAction {
	if len(a.Lease) == 0 || a.LeaseExpiry <= now {
		return leaseSign
	}
	half := a.LeaseIssued + (a.LeaseExpiry-a.LeaseIssued)/2
	switch {
	case now >= half:
		return leaseSign
	case !want:
		return leaseKeep
	case now-a.LeaseIssued >= leaseReissueSeconds:
		return leaseSign
	}
	return leaseResend
}

// entryLease returns the lease of a cached activation, opened, or nil if it
// does not open (a new one is then signed). The opened lease is kept with
// the entry, in memory.
func (s *Service) entryLease(e *store.Entry) []byte {
	if b := e.OpenedLease(); b != nil {
		return b
	}
	b, err := s.openLease(&e.Activation)
	if err != nil {
		s.log.Error("a stored lease does not open; signing a new one", "license", LicenseRef(e.License.ID), "err", err)
		return nil
	}
	e.SetOpenedLease(b)
	return b
}
