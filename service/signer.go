package service

import (
	"sync/atomic"

	"github.com/tollgate/tollgate/keygen/composite"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// LeaseSigner holds the key that signs leases, and the key statement that
// introduces it to apps that know only the key before it, and switches
// both at once when the operator rotates the key (Set): a signature in
// flight finishes with the key it began with, and every lease signed
// after Set returns carries the new key and its statement. Safe for
// concurrent use.
type LeaseSigner struct {
	cur atomic.Pointer[signingKey]
}

// signingKey is one state of a LeaseSigner.
type signingKey struct {
	key       *composite.PrivateKey
	statement []byte // wire.KeyStatement introducing key; nil for a first key
	since     int64  // leases issued before this (Unix seconds) are re-signed at the next validation
}

// NewLeaseSigner returns a signer of leases with key. statement, when not
// nil, is the wire.KeyStatement that introduces key (every lease it signs
// carries it); leases issued before since (Unix seconds; 0 for none) were
// signed by an earlier key, and the next validation of each is answered
// with a lease of this key, so that every app still in touch learns it.
func NewLeaseSigner(key *composite.PrivateKey, statement []byte, since int64) *LeaseSigner {
	s := &LeaseSigner{}
	s.Set(key, statement, since)
	return s
}

// Set makes key, introduced by statement, the signing key from now on
// (see NewLeaseSigner).
func (s *LeaseSigner) Set(key *composite.PrivateKey, statement []byte, since int64) {
	s.cur.Store(&signingKey{key: key, statement: statement, since: since})
}

// Public returns the public half of the current signing key.
func (s *LeaseSigner) Public() *composite.PublicKey { return s.cur.Load().key.Public() }

// sign signs l with the current key, attaching its statement.
func (s *LeaseSigner) sign(l *wire.Lease) ([]byte, error) {
	k := s.cur.Load()
	l.Statement = k.statement
	return wire.SignLease(l, k.key)
}

// signer returns the service's lease signer: Keys.Signer, or one of
// Keys.LeaseKey alone.
func (k *Keys) signer() *LeaseSigner {
	if k.Signer != nil {
		return k.Signer
	}
	return NewLeaseSigner(k.LeaseKey, nil, 0)
}

// leaseForKey is leaseFor, plus the rotation: an activation whose lease
// was issued before the current key began gets a new one, so that the
// answer carries the new key's statement.
func (s *Service) leaseForKey(a *store.Activation, want bool, now int64) leaseAction {
	act := leaseFor(a, want, now)
	if act != leaseSign && len(a.Lease) > 0 && a.LeaseIssued < s.signer.cur.Load().since {
		return leaseSign
	}
	return act
}
