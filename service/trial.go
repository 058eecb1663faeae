package service

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// TrialGrant is what a keyless trial grants: its license, when it ends
// (Unix seconds), and the signed lease. Resumed is true when the install
// asked again while its trial runs: the same trial, with a new lease.
type TrialGrant struct {
	LicenseID store.LicenseID
	Ends      int64
	Lease     []byte
	Resumed   bool
}

// StartTrial starts the keyless trial of req.Product for p's install on the
// machine of req.Fingerprint, or returns the install's running trial again.
// A machine gets one trial of a product: an install that had one, or
// another install on a machine that had one (a majority of the fingerprint
// components of an earlier trial's machine, the rule activations use: a
// new state directory or a reinstall on the same computer), is refused
// with ErrTrialUsed; a product that offers none with ErrNoTrial. A new
// trial is a one-seat license (License.Trial) of the offer's days and
// entitlements and the product's policy, whose key the gateway mints and
// forgets at once: no one can activate it elsewhere. Its license, its
// activation, the trial mark and an audit entry are committed in one
// durable commit before the answer.
func (s *Service) StartTrial(req *wire.TrialRequest, p *Peer) (TrialGrant, error) {
	code := string(req.Product[:])
	if !req.Fingerprint.Plausible() {
		return TrialGrant{}, ErrFingerprintRejected
	}
	prod, err := s.st.ProductByCode(code)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return TrialGrant{}, ErrNoTrial
	case err != nil:
		return TrialGrant{}, s.failed(err, "trial")
	case prod.TrialOffer == nil:
		return TrialGrant{}, ErrNoTrial
	}
	pc, err := keygen.ParseProductCode(code)
	if err != nil {
		return TrialGrant{}, errProductCode
	}
	msgs, err := s.leaseMessages(code)
	if err != nil {
		return TrialGrant{}, s.failed(err, "trial")
	}
	keyed := s.keyFingerprint(&req.Fingerprint)
	now := s.now()
	var (
		res    TrialGrant
		resume *store.Trial
	)
	err = s.st.StartTrial(code, p.Install, keyed, func(prior []store.Trial) (*store.NewTrial, error) {
		resume = nil
		for i := range prior {
			t := &prior[i]
			if t.Install == p.Install {
				resume = t
				return nil, nil
			}
			if _, same := t.Fingerprint.Match(&keyed); same {
				return nil, trialUsed(t)
			}
		}
		// Only a new trial counts against the address (a running one
		// asked for again costs nothing).
		if wait := s.trials.wait(p.Addr, now); wait > 0 {
			return nil, refusef(KindRateLimited, "too many new trials from this address; try again in %s", wait.Round(time.Second))
		}
		n, err := s.newTrial(pc, &prod, req, p, keyed, now)
		if err != nil {
			return nil, err
		}
		res = TrialGrant{LicenseID: n.License.ID, Ends: n.Trial.Ends}
		res.Lease, err = s.signLease(&n.License, &n.Activation, &req.Fingerprint, req.Nonce, 0, now, msgs)
		return n, err
	})
	if err != nil {
		return TrialGrant{}, s.failed(err, "trial")
	}
	if resume != nil {
		return s.resumeTrial(resume, req, p)
	}
	s.trials.fail(p.Addr, now)
	s.leasesSigned.Add(1)
	s.log.Info("trial started", "license", LicenseRef(res.LicenseID), "product", code)
	return res, nil
}

// trialUsed is the refusal of a machine that had trial t.
func trialUsed(t *store.Trial) error {
	return refusef(KindTrialUsed, "this computer has already had its trial of this product (it ended or ends on %s); buy a license key to go on",
		time.Unix(t.Ends, 0).UTC().Format("2006-01-02"))
}

// newTrial makes the license, activation and mark of a new trial of prod
// for p (nothing written; the lease is signed by the caller).
func (s *Service) newTrial(pc keygen.ProductCode, prod *store.Product, req *wire.TrialRequest, p *Peer, keyed wire.Fingerprint, now time.Time) (*store.NewTrial, error) {
	offer := prod.TrialOffer
	spec := Spec{Seats: 1, MaxSeats: 1, Term: store.Term{Kind: store.TermDays, Value: offer.Days},
		Entitlements: offer.Entitlements, Policy: prod.Policy}
	// The key is minted for the license's record and forgotten here: a
	// trial is found by its id (and its install) only.
	_, ls, err := newLicenses(s.keys.Hasher, pc, 1, spec, now)
	if err != nil {
		return nil, err
	}
	l := ls[0]
	l.Trial, l.Activated = true, now.Unix()
	a := store.Activation{License: l.ID, Install: p.Install, Created: now.Unix(), LastSeen: now.Unix(),
		Hostname: string(req.Hostname), AppVersion: string(req.AppVersion)}
	s.setFingerprint(&a, &req.Fingerprint)
	return &store.NewTrial{
		License:    l,
		Activation: a,
		Trial: store.Trial{Product: l.Product, Install: p.Install, License: l.ID, Fingerprint: keyed,
			Hostname: a.Hostname, Started: now.Unix(), Ends: l.Expiry()},
		Audit: store.AuditEntry{Time: now.Unix(), Kind: "trial.start", License: LicenseRef(l.ID),
			Detail: fmt.Sprintf("%d-day trial of %s on machine %s (%s)", offer.Days, l.Product, MachineID(p.Install), a.Hostname)},
	}, nil
}

// resumeTrial answers an install that asks again for its trial t: while
// the trial runs, on the same machine, a new lease of the same license;
// once it has ended, or its seat was given up (converted to a bought key,
// or freed by an operator), ErrTrialUsed.
func (s *Service) resumeTrial(t *store.Trial, req *wire.TrialRequest, p *Peer) (TrialGrant, error) {
	res := TrialGrant{LicenseID: t.License, Resumed: true}
	msgs, err := s.leaseMessages(t.Product)
	if err != nil {
		return TrialGrant{}, s.failed(err, "trial")
	}
	err = s.st.Update(t.License, func(tx *store.Tx) error {
		l := &tx.License
		now := s.now()
		if err := licenseRefusal(l, l.Expiry(), now.Unix()); err != nil {
			if errors.Is(err, ErrExpired) {
				return trialUsed(t)
			}
			return err
		}
		a, ok := tx.Activation(p.Install)
		if !ok {
			// Its seat was given up: the trial was converted to a key
			// (Licensee.Activate frees it), or an operator freed it.
			return trialUsed(t)
		}
		if _, same := s.matchFingerprint(&a, &req.Fingerprint); !same {
			return errActivatedElsewhere
		}
		s.setFingerprint(&a, &req.Fingerprint)
		a.Hostname, a.AppVersion, a.LastSeen = string(req.Hostname), string(req.AppVersion), now.Unix()
		var err error
		if res.Lease, err = s.signLease(l, &a, &req.Fingerprint, req.Nonce, a.Counter, now, msgs); err != nil {
			return err
		}
		res.Ends = l.Expiry()
		tx.PutActivation(a)
		return nil
	})
	if err != nil {
		return TrialGrant{}, s.failed(err, "trial")
	}
	s.leasesSigned.Add(1)
	return res, nil
}

// TrialRow is one trial as an operator sees it: the mark, and whether it
// has ended at the time of the listing.
type TrialRow struct {
	License  store.LicenseID
	Product  string
	Machine  string // MachineID of the install
	Hostname string
	Started  int64
	Ends     int64
	Ended    bool
}

// Trials returns the trials of product (every product when empty), oldest
// first, for the operator.
func Trials(st *store.Store, product string, now time.Time) ([]TrialRow, error) {
	if product != "" && !store.ValidProductCode(product) {
		return nil, errProductCode
	}
	ts, err := st.Trials(product)
	if err != nil {
		return nil, err
	}
	out := make([]TrialRow, len(ts))
	for i, t := range ts {
		out[i] = TrialRow{License: t.License, Product: t.Product, Machine: MachineID(t.Install), Hostname: t.Hostname,
			Started: t.Started, Ends: t.Ends, Ended: store.Ended(t.Ends, now.Unix())}
	}
	sortTrialRows(out)
	return out, nil
}

func sortTrialRows(rows []TrialRow) {
	slices.SortFunc(rows, func(x, y TrialRow) int {
		if c := cmp.Compare(x.Started, y.Started); c != 0 {
			return c
		}
		return bytes.Compare(x.License[:], y.License[:])
	})
}
