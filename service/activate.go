package service

import (
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// Activation is what an activation grants: the license's id, the
// fingerprint components that changed (a re-activation), and the signed
// lease.
type Activation struct {
	LicenseID store.LicenseID
	Changed   uint32
	Lease     []byte
}

// Activate binds the license of req.Key to p's install on the machine of
// req.Fingerprint, durably, and signs its lease.
func (s *Service) Activate(req *wire.ActivateRequest, p *Peer) (Activation, error) {
	return s.activate(req, p, nil)
}

// activate is Activate; an offline answer (AnswerOffline) passes via,
// which limits the license to a shop's own and audits the answer.
func (s *Service) activate(req *wire.ActivateRequest, p *Peer, via *offlineVia) (Activation, error) {
	// An address past its allowance of unknown keys (guessLimiter) has its
	// unknown keys refused with ErrRateLimited, but a key that exists still
	// activates: one guesser behind a company's NAT does not lock out the
	// office. Guessing gains nothing from this: a key holds 124 random
	// bits, and a limited address learns only that its guesses are limited.
	limited := s.guesses.wait(p.Addr, s.now())
	refuseGuess := func(err error) (Activation, error) {
		s.guesses.fail(p.Addr, s.now())
		if limited > 0 {
			err = rateLimited(limited)
		}
		return Activation{}, err
	}
	key, err := keygen.ParseCanonical(req.Key[:])
	if err != nil {
		return refuseGuess(ErrMalformedKey)
	}
	if !req.Fingerprint.Plausible() {
		return Activation{}, ErrFingerprintRejected
	}
	lic, err := s.st.LicenseByKeyHash(s.keys.Hasher.Hash(key))
	if err != nil {
		if KindOf(err) == KindNotFound {
			return refuseGuess(errUnknownKey)
		}
		return Activation{}, s.failed(err, "activate")
	}
	if err := via.check(&lic); err != nil {
		return Activation{}, err
	}
	msgs, err := s.leaseMessages(lic.Product)
	if err != nil {
		return Activation{}, s.failed(err, "activate")
	}
	now := s.now()
	if lic.Base != "" {
		if err := s.checkBase(&lic, req.Base, p.Install, now.Unix()); err != nil {
			return Activation{}, s.failed(err, "activate")
		}
	}
	res := Activation{LicenseID: lic.ID}
	var flagged string
	err = s.st.UpdateLicense(&lic, func(tx *store.Tx) error {
		l := &tx.License
		if l.Activated == 0 {
			// The term starts at first activation ("period of use after
			// first registration").
			l.Activated = now.Unix()
		}
		if err := licenseRefusal(l, l.Expiry(), now.Unix()); err != nil {
			return err
		}
		a, ok := tx.Activation(p.Install)
		if ok {
			var same bool
			if res.Changed, same = s.matchFingerprint(&a, &req.Fingerprint); !same {
				return errActivatedElsewhere
			}
		} else {
			if !l.Policy.Floating && uint32(len(tx.Activations)) >= l.Seats {
				return ErrNoSeats
			}
			a = store.Activation{Install: p.Install, Created: now.Unix()}
		}
		var err error
		var took bool // a floating seat taken (floating.go)
		if l.Policy.Floating {
			if took, err = checkout(tx, &a, now.Unix()); err != nil {
				return err
			}
			if !ok {
				pruneBindings(tx, now.Unix())
			}
		} else if flagged, err = s.sight(tx, p, now); err != nil {
			return err
		}
		s.setFingerprint(&a, &req.Fingerprint)
		a.Hostname = string(req.Hostname)
		a.AppVersion = string(req.AppVersion)
		a.LastSeen = now.Unix()
		if res.Lease, err = s.signLease(l, &a, &req.Fingerprint, req.Nonce, a.Counter, now, msgs); err != nil {
			return err
		}
		tx.PutActivation(a)
		if took {
			recordFloatingSeat(tx, store.EventActivated, a.Hostname, now.Unix())
		} else if !ok && !l.Policy.Floating {
			recordSeat(tx, store.EventActivated, a.Hostname)
		}
		via.audit(tx, &a, now)
		return nil
	})
	if err != nil {
		return Activation{}, s.failed(err, "activate")
	}
	s.leasesSigned.Add(1)
	s.log.Info("activated", "license", LicenseRef(lic.ID), "product", lic.Product)
	if flagged != "" {
		s.log.Warn("license flagged", "license", LicenseRef(lic.ID), "product", lic.Product, "shop", lic.Shop, "order", lic.Order, "reason", flagged)
	}
	return res, nil
}

// Deactivate frees the seat p's install holds on license id, durably.
func (s *Service) Deactivate(id store.LicenseID, p *Peer) error {
	err := s.st.Update(id, func(tx *store.Tx) error {
		a, ok := tx.Activation(p.Install)
		if !ok {
			return store.ErrNotActivated
		}
		tx.DeleteActivation(p.Install)
		recordSeat(tx, store.EventDeactivated, a.Hostname)
		return nil
	})
	if err != nil {
		return s.failed(err, "deactivate")
	}
	s.log.Info("deactivated", "license", LicenseRef(id))
	return nil
}
