package gateway

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// handler makes the decisions: it turns a parsed request and the identity
// of the install that sent it into an encoded response frame. It knows
// nothing of QUIC or Noise, so benchmarks and tests call it directly.
type handler struct {
	st           *store.Store
	id           *Identity
	now          func() time.Time
	log          *slog.Logger
	defaultLease uint32
	guesses      *guessLimiter // nil: no limit (benchmarks)
	flag         flagPolicy    // zero: no flagging (benchmarks)
	stats        *stats        // nil: not counted (benchmarks)
	clones       *cloneFlagger // nil: clones refused, not flagged (benchmarks)
}

// peer is what the channel established about the caller.
type peer struct {
	install store.InstallID // SHA-256 of the caller's per-install static key
	addr    netip.Addr      // what its failed key lookups count against (guessAddr)
}

func newPeer(static [32]byte, addr netip.Addr) peer {
	return peer{install: sha256.Sum256(static[:]), addr: addr}
}

// appendError appends an ErrorResponse frame answering nonce.
func appendError(out []byte, reqID uint32, nonce [wire.NonceSize]byte, st wire.Status, msg string) []byte {
	return wire.AppendFrame(out, reqID, wire.ErrorResponse{Nonce: nonce, Status: st, Message: []byte(msg)})
}

// statusErr is how the handler's decisions travel out of store.Update.
func statusErr(st wire.Status, msg string) error { return &wire.StatusError{Status: st, Message: msg} }

// storeStatus maps a store error to the status a caller sees.
func (h *handler) storeStatus(err error, what string) (wire.Status, string) {
	var se *wire.StatusError
	switch {
	case errors.As(err, &se):
		return se.Status, se.Message
	case errors.Is(err, store.ErrNotFound):
		return wire.StatusNotFound, "no such license"
	case errors.Is(err, store.ErrNotActivated):
		return wire.StatusNotActivated, "this license is not activated on this installation"
	}
	h.log.Error("request failed", "request", what, "err", err)
	return wire.StatusServerError, "the gateway could not complete the request; try again later"
}

// licenseStatus returns the status a license's state and term give at now.
func licenseStatus(l *store.License, expiry, now int64) (wire.Status, string) {
	switch l.State {
	case store.StateSuspended:
		return wire.StatusSuspended, "this license is suspended; contact the vendor"
	case store.StateRevoked:
		return wire.StatusRevoked, "this license was revoked"
	}
	if expiry != 0 && now >= expiry {
		return wire.StatusExpired, "this license has expired; renew it to go on"
	}
	return wire.StatusOK, ""
}

// validate is the hot path: a cache hit signs nothing and writes nothing
// synchronously. It returns slow=true, having appended nothing, when the
// answer needs a fresh lease; the caller then runs validateSlow off the
// session's read loop.
//
// The install's counter must move forward: a validation presenting a
// counter no higher than one already seen comes from a copy of the
// install's state (a cloned machine or a restored backup) and is refused
// with INSTALL_CLONED; the install that is ahead keeps working, and the
// license is flagged (cloneFlagger).
func (h *handler) validate(out []byte, reqID uint32, req *wire.ValidateRequest, p *peer, now int64) (_ []byte, slow bool) {
	e, err := h.st.Lookup(req.LicenseID, p.install)
	if err != nil {
		st, msg := h.storeStatus(err, "validate")
		return appendError(out, reqID, req.Nonce, st, msg), false
	}
	if st, msg := licenseStatus(&e.License, e.Expiry, now); st != wire.StatusOK {
		return appendError(out, reqID, req.Nonce, st, msg), false
	}
	changed, same := h.matchEntry(e, &req.Fingerprint)
	if !same {
		return appendError(out, reqID, req.Nonce, wire.StatusFingerprintMismatch,
			"this activation belongs to another machine; activate the license here"), false
	}
	if !h.st.Advance(e, now, req.Counter) {
		h.clones.report(e.License.ID)
		return appendError(out, reqID, req.Nonce, wire.StatusInstallCloned, clonedMessage), false
	}
	var lease []byte
	switch leaseFor(&e.Activation, req.WantLease(), now) {
	case leaseSign:
		return out, true
	case leaseResend:
		if lease = h.entryLease(e); lease == nil {
			return out, true
		}
	}
	return wire.AppendFrame(out, reqID, wire.ValidateResponse{
		Nonce: req.Nonce, Status: wire.StatusOK, Counter: req.Counter, ServerTime: now, Changed: changed, Lease: lease,
	}), false
}

const clonedMessage = "this installation's license state is also in use on another computer (its check counter went back); activate the license again here"

// matchEntry matches the fingerprint a client sent against a cached
// activation's. The outcome is kept with the entry, so an install that
// sends the same fingerprint again (the usual case) costs a comparison,
// not a keyed hash of each component.
func (h *handler) matchEntry(e *store.Entry, sent *wire.Fingerprint) (changed uint32, same bool) {
	if m := e.Matched(); m != nil && m.Sent == *sent {
		return m.Changed, true
	}
	changed, same = h.matchFingerprint(&e.Activation, sent)
	if same {
		e.SetMatched(&store.FPMatch{Sent: *sent, Changed: changed})
	}
	return changed, same
}

// matchFingerprint matches the fingerprint a client sent against an
// activation's stored one: keyed (keyFingerprint), or as sent in records
// of earlier gateways.
func (h *handler) matchFingerprint(a *store.Activation, sent *wire.Fingerprint) (changed uint32, same bool) {
	if !a.Private {
		return a.Fingerprint.Match(sent)
	}
	k := h.keyFingerprint(sent)
	return a.Fingerprint.Match(&k)
}

// keyFingerprint returns fp as the gateway stores it: each component's
// hash replaced by a keyed hash (Hasher.Tag) of its kind and hash. The
// client hashes components with the product code, which is public, so a
// low-entropy component (a MAC address) could be found from its client
// hash by trying them all; under the gateway's secret it cannot.
func (h *handler) keyFingerprint(fp *wire.Fingerprint) wire.Fingerprint {
	k := *fp
	var in [1 + wire.FPHashSize]byte
	for i := range k.Components() {
		c := &k.C[i]
		in[0] = byte(c.Kind)
		copy(in[1:], c.Hash[:])
		binary.BigEndian.PutUint64(c.Hash[:], h.id.Hasher.Tag("fingerprint", in[:]))
	}
	return k
}

// setFingerprint stores the fingerprint a client sent in a, keyed; the
// activation is then private, and its lease must be sealed (signLease).
func (h *handler) setFingerprint(a *store.Activation, sent *wire.Fingerprint) {
	a.Fingerprint, a.Private = h.keyFingerprint(sent), true
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
func (h *handler) entryLease(e *store.Entry) []byte {
	if b := e.OpenedLease(); b != nil {
		return b
	}
	b, err := h.openLease(&e.Activation)
	if err != nil {
		h.log.Error("a stored lease does not open; signing a new one", "license", licenseRef(e.License.ID), "err", err)
		return nil
	}
	e.SetOpenedLease(b)
	return b
}

// validateSlow answers a validation that needs a fresh lease: it signs one
// and records it durably.
func (h *handler) validateSlow(out []byte, reqID uint32, req *wire.ValidateRequest, p *peer) []byte {
	now := h.now()
	var lease []byte
	var changed uint32
	err := h.st.Update(req.LicenseID, func(tx *store.Tx) error {
		a, ok := tx.Activation(p.install)
		if !ok {
			return store.ErrNotActivated
		}
		if st, msg := licenseStatus(&tx.License, tx.License.Expiry(), now.Unix()); st != wire.StatusOK {
			return statusErr(st, msg)
		}
		var same bool
		changed, same = h.matchFingerprint(&a, &req.Fingerprint)
		if !same {
			return statusErr(wire.StatusFingerprintMismatch, "this activation belongs to another machine; activate the license here")
		}
		// The counter was checked and advanced by validate.
		var err error
		h.setFingerprint(&a, &req.Fingerprint)
		a.LastSeen = now.Unix()
		a.Counter = max(a.Counter, req.Counter)
		if lease, err = h.signLease(&tx.License, &a, &req.Fingerprint, req.Nonce, req.Counter, now); err != nil {
			return err
		}
		tx.PutActivation(a)
		return nil
	})
	if err != nil {
		st, msg := h.storeStatus(err, "validate")
		return appendError(out, reqID, req.Nonce, st, msg)
	}
	h.leaseDelivered()
	return wire.AppendFrame(out, reqID, wire.ValidateResponse{
		Nonce: req.Nonce, Status: wire.StatusOK, Counter: req.Counter, ServerTime: now.Unix(), Changed: changed, Lease: lease,
	})
}

// activate binds a license to this install on this machine, durably, and
// answers with a signed lease.
func (h *handler) activate(out []byte, reqID uint32, req *wire.ActivateRequest, p *peer) []byte {
	// An address past its allowance of unknown keys (guessLimiter) has its
	// unknown keys answered RATE_LIMITED, but a key that exists still
	// activates: one guesser behind a company's NAT does not lock out the
	// office. Guessing gains nothing from this: a key holds 124 random
	// bits, and a limited address learns only that its guesses are limited.
	limited := h.guesses.wait(p.addr, h.now())
	refuseGuess := func(st wire.Status, msg string) []byte {
		h.guesses.fail(p.addr, h.now())
		if limited > 0 {
			st, msg = wire.StatusRateLimited, fmt.Sprintf("too many unknown license keys from this address; try again in %s", limited.Round(time.Second))
		}
		return appendError(out, reqID, req.Nonce, st, msg)
	}
	key, err := keygen.ParseCanonical(req.Key[:])
	if err != nil {
		return refuseGuess(wire.StatusMalformedKey, "this is not a valid license key; check it for typos")
	}
	if !req.Fingerprint.Plausible() {
		return appendError(out, reqID, req.Nonce, wire.StatusFingerprintRejected, "the machine fingerprint is not usable")
	}
	lic, err := h.st.LicenseByKeyHash(h.id.Hasher.Hash(key))
	if err != nil {
		st, msg := h.storeStatus(err, "activate")
		if st == wire.StatusNotFound {
			return refuseGuess(st, "no license has this key; check it, or contact the vendor")
		}
		return appendError(out, reqID, req.Nonce, st, msg)
	}
	now := h.now()
	var lease []byte
	var changed uint32
	var flagged string
	err = h.st.UpdateLicense(&lic, func(tx *store.Tx) error {
		l := &tx.License
		if l.Activated == 0 {
			// The term starts at first activation ("period of use after
			// first registration").
			l.Activated = now.Unix()
		}
		if st, msg := licenseStatus(l, l.Expiry(), now.Unix()); st != wire.StatusOK {
			return statusErr(st, msg)
		}
		a, ok := tx.Activation(p.install)
		if ok {
			var same bool
			if changed, same = h.matchFingerprint(&a, &req.Fingerprint); !same {
				return statusErr(wire.StatusFingerprintMismatch, "this installation was activated on another machine")
			}
		} else {
			if uint32(len(tx.Activations)) >= l.Seats {
				return statusErr(wire.StatusNoSeats, "every seat of this license is in use; deactivate another machine first")
			}
			a = store.Activation{Install: p.install, Created: now.Unix()}
		}
		var err error
		if flagged, err = h.sight(tx, p, now); err != nil {
			return err
		}
		h.setFingerprint(&a, &req.Fingerprint)
		a.Hostname = string(req.Hostname)
		a.AppVersion = string(req.AppVersion)
		a.LastSeen = now.Unix()
		if lease, err = h.signLease(l, &a, &req.Fingerprint, req.Nonce, a.Counter, now); err != nil {
			return err
		}
		tx.PutActivation(a)
		return nil
	})
	if err != nil {
		st, msg := h.storeStatus(err, "activate")
		return appendError(out, reqID, req.Nonce, st, msg)
	}
	h.leaseDelivered()
	h.log.Info("activated", "license", licenseRef(lic.ID), "product", lic.Product)
	if flagged != "" {
		h.log.Warn("license flagged", "license", licenseRef(lic.ID), "product", lic.Product, "shop", lic.Shop, "order", lic.Order, "reason", flagged)
	}
	return wire.AppendFrame(out, reqID, wire.ActivateResponse{Nonce: req.Nonce, LicenseID: lic.ID, Changed: changed, Lease: lease})
}

// deactivate frees this install's seat, durably.
func (h *handler) deactivate(out []byte, reqID uint32, req *wire.DeactivateRequest, p *peer) []byte {
	err := h.st.Update(req.LicenseID, func(tx *store.Tx) error {
		if _, ok := tx.Activation(p.install); !ok {
			return store.ErrNotActivated
		}
		tx.DeleteActivation(p.install)
		return nil
	})
	if err != nil {
		st, msg := h.storeStatus(err, "deactivate")
		return appendError(out, reqID, req.Nonce, st, msg)
	}
	h.log.Info("deactivated", "license", licenseRef(req.LicenseID))
	return wire.AppendFrame(out, reqID, wire.DeactivateResponse{Nonce: req.Nonce})
}

func (h *handler) serverTime(out []byte, reqID uint32, req *wire.TimeRequest) []byte {
	return wire.AppendFrame(out, reqID, wire.TimeResponse{Nonce: req.Nonce, ServerTime: h.now().UnixNano()})
}

// licenseRef names a license in logs: a prefix of its public id, never its key.
func licenseRef(id store.LicenseID) string {
	const hex = "0123456789abcdef"
	var b [8]byte
	for i := 0; i < 4; i++ {
		b[2*i], b[2*i+1] = hex[id[i]>>4], hex[id[i]&15]
	}
	return string(b[:])
}
