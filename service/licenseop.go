package service

import (
	"errors"
	"time"

	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// KeyOp performs shop sh's operation req on a key of its own: another
// shop's key is refused exactly like an unknown one.
func (s *Service) KeyOp(req *wire.KeyOpRequest, sh *store.Shop) (LicenseState, error) {
	key, err := keygen.ParseCanonical(req.Key[:])
	if err != nil {
		return LicenseState{}, errShopMalformedKey
	}
	op := LicenseOp(req.Op.String())
	res, err := ApplyLicenseOp(s.st, s.keys.Hasher, key, op, store.Term{Kind: req.Term.Kind, Value: req.Term.Value}, sh.Name, s.now())
	if err != nil {
		return LicenseState{}, s.failed(err, "key "+string(op))
	}
	return res, nil
}

// LicenseOp names an operation on a license: the wire's key operations
// (suspend, resume, revoke, renew, status) and the operator's reset.
type LicenseOp string

// License operations.
const (
	OpSuspend LicenseOp = "suspend"
	OpResume  LicenseOp = "resume"
	OpRevoke  LicenseOp = "revoke"
	OpRenew   LicenseOp = "renew"
	OpStatus  LicenseOp = "status"
	OpReset   LicenseOp = "reset" // free every seat: the user changed computers
	// OpUnflag clears a flag (and the machines and networks seen so far):
	// the operator has looked into it. Operators only: no shop op names it.
	OpUnflag LicenseOp = "unflag"
)

// pastParticiple says what cannot be done to a revoked license.
var pastParticiple = map[LicenseOp]string{OpSuspend: "suspended", OpResume: "resumed", OpRenew: "renewed"}

// LicenseState is a license and its activations after an operation.
type LicenseState struct {
	License     store.License
	Activations []store.Activation
}

// ApplyLicenseOp performs op on the license of key, durably (through
// store.Update, so the next validation sees it), and audits it. With shop
// not empty, only that shop's licenses are found; any other is
// not found (KindNotFound), as if it did not exist. term is the extension of a
// renewal (zero: the product's default, else the license's own term).
func ApplyLicenseOp(st *store.Store, hasher *keygen.Hasher, key keygen.Key, op LicenseOp, term store.Term, shop string, now time.Time) (LicenseState, error) {
	lic, err := st.LicenseByKeyHash(hasher.Hash(key))
	if errors.Is(err, store.ErrNotFound) || err == nil && shop != "" && lic.Shop != shop {
		return LicenseState{}, errShopUnknownKey
	}
	if err != nil {
		return LicenseState{}, err
	}
	return ApplyLicenseOpTo(st, lic, op, term, shop, now)
}

// ApplyLicenseOpTo performs op on lic, a license read before (by its key,
// FindLicense or a shop's lookup), as ApplyLicenseOp does.
func ApplyLicenseOpTo(st *store.Store, lic store.License, op LicenseOp, term store.Term, shop string, now time.Time) (LicenseState, error) {
	var res LicenseState
	if op == OpStatus {
		acts, err := st.Activations(lic.ID)
		return LicenseState{License: lic, Activations: acts}, err
	}
	if op == OpRenew && term.Kind == store.TermDefault {
		if p, err := st.ProductByCode(lic.Product); err == nil {
			term = p.DefaultTerm()
		} else {
			term = lic.Term
		}
	}
	err := st.Update(lic.ID, func(tx *store.Tx) error {
		l := &tx.License
		switch op {
		case OpSuspend, OpResume, OpRenew:
			if l.State == store.StateRevoked {
				return refusef(KindRevoked, "this license was revoked, and revocation is final: it cannot be %s; mint a new key instead", pastParticiple[op])
			}
		}
		switch op {
		case OpSuspend:
			l.State = store.StateSuspended
			tx.Record(store.Event{Kind: store.EventSuspended})
		case OpResume:
			l.State = store.StateActive
			tx.Record(store.Event{Kind: store.EventResumed})
		case OpRevoke:
			l.State = store.StateRevoked
			tx.Record(store.Event{Kind: store.EventRevoked})
		case OpRenew:
			if err := renew(l, term, tx.Now.Unix()); err != nil {
				return err
			}
			tx.Record(store.Event{Kind: store.EventRenewed})
		case OpReset:
			// One deactivated event per seat freed, the last down to 0.
			for _, a := range append([]store.Activation(nil), tx.Activations...) {
				tx.DeleteActivation(a.Install)
				recordSeat(tx, store.EventDeactivated, a.Hostname)
			}
		case OpUnflag:
			if shop != "" {
				return refuse(KindBadRequest, "only an operator clears a flag")
			}
			tx.ResetSightings()
		default:
			return refuse(KindBadRequest, "unknown license operation")
		}
		res = LicenseState{License: *l, Activations: append([]store.Activation(nil), tx.Activations...)}
		who := shop
		if who == "" {
			who = "operator"
		}
		tx.Audit = &store.AuditEntry{Time: now.Unix(), Kind: "license." + string(op), Shop: shop, License: LicenseRef(lic.ID), Detail: "by " + who}
		return nil
	})
	if err != nil {
		return LicenseState{}, err
	}
	return res, nil
}

// renew extends l by term t. A term that has not started yet grows (same
// kind); one that has started, or an absolute expiry, moves the end to t
// after the later of the current end and now.
func renew(l *store.License, t store.Term, now int64) error {
	if t.Kind == store.TermPerpetual {
		l.Term, l.AbsExpiry = store.Term{Kind: store.TermPerpetual}, 0
		return nil
	}
	if t.Kind == store.TermDefault || t.Value == 0 {
		return refuse(KindBadRequest, "renewal needs a term")
	}
	if l.Activated == 0 && l.AbsExpiry == 0 {
		if l.Term.Kind == t.Kind && uint32(l.Term.Value)+uint32(t.Value) <= 0xffff {
			l.Term.Value += t.Value
			return nil
		}
		if l.Term.Kind == store.TermPerpetual {
			return nil
		}
		if m, ok := inMonths(l.Term); ok {
			if n, ok := inMonths(t); ok && m+n <= 0xffff {
				l.Term = store.Term{Kind: store.TermMonths, Value: uint16(m + n)}
				return nil
			}
		}
		return refuse(KindBadRequest, "renew a license not yet activated by its own kind of term")
	}
	end := l.Expiry()
	if end == 0 {
		return nil // perpetual already
	}
	end = max(end, now)
	// The absolute expiry now governs; the term is stored as perpetual so
	// that it bounds nothing (TermText says what an operator sees).
	l.AbsExpiry = t.End(time.Unix(end, 0)).Unix()
	l.Term = store.Term{Kind: store.TermPerpetual}
	return nil
}

// inMonths returns a term of years or months in months.
func inMonths(t store.Term) (uint32, bool) {
	switch t.Kind {
	case store.TermYears:
		return 12 * uint32(t.Value), true
	case store.TermMonths:
		return uint32(t.Value), true
	}
	return 0, false
}

// TermText says the term of l as an operator reads it: its end date once
// renewed (an absolute expiry), else its term and whether it has started.
func TermText(l *store.License) string {
	switch {
	case l.AbsExpiry != 0:
		return "until " + time.Unix(l.AbsExpiry, 0).UTC().Format(time.RFC3339)
	case l.Term.Kind == store.TermPerpetual:
		return "perpetual"
	case l.Activated == 0:
		return l.Term.String() + " from first activation"
	}
	return l.Term.String() + " from " + time.Unix(l.Activated, 0).UTC().Format(time.RFC3339)
}
