package service

import (
	"fmt"
	"time"

	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// Customer self-service seat resets: a customer whose machine died frees
// its seat through the shop that sold the key (its "my licenses" page),
// without the publisher, a limited number of times per license in a
// sliding window.

// Self-service reset limits.
const (
	// ResetWindow is the sliding window self-service resets are counted
	// in: store.License.Resets keeps the times of those within it.
	ResetWindow = 30 * 24 * time.Hour
	// DefaultSelfServiceResets is how many resets a license has in a
	// window unless the gateway's configuration says otherwise.
	DefaultSelfServiceResets = 3
	// MaxSelfServiceResets bounds the configured number (it travels in
	// one byte).
	MaxSelfServiceResets = 100
)

// SeatReset is what a self-service reset did: the seats it freed, the
// license afterwards, the resets left in the window and, when none is,
// when the next becomes possible (Unix seconds).
type SeatReset struct {
	Freed      int
	State      LicenseState
	ResetsLeft int
	NextReset  int64
}

// SeatReset frees, for shop sh on its customer's behalf, the seat of the
// machine req names by hostname (or every seat, with wire.SeatResetAll) of
// the license of req.Key, which sh must have minted (any other is
// unknown, as with KeyOp). The license's resets in the last ResetWindow
// are limited: past the limit the reset is refused (ErrResetLimit, saying
// when the next is possible). The seats freed, one deactivated event per
// seat in the shop's stream, the reset's time and the audit entry are one
// durable commit, made before the answer.
func (s *Service) SeatReset(req *wire.SeatResetRequest, sh *store.Shop) (SeatReset, error) {
	if s.resets < 0 {
		return SeatReset{}, refuse(KindShopNotAllowed, "self-service seat resets are turned off on this license server; ask the publisher to free the seat")
	}
	key, err := keygen.ParseCanonical(req.Key[:])
	if err != nil {
		return SeatReset{}, errShopMalformedKey
	}
	lic, err := s.st.LicenseByKeyHash(s.keys.Hasher.Hash(key))
	if KindOf(err) == KindNotFound || err == nil && lic.Shop != sh.Name {
		return SeatReset{}, errShopUnknownKey
	}
	if err != nil {
		return SeatReset{}, s.failed(err, "seat reset")
	}
	limit, now := s.resets, s.now()
	var res SeatReset
	err = s.st.Update(lic.ID, func(tx *store.Tx) error {
		l := &tx.License
		if l.State == store.StateRevoked {
			return refuse(KindRevoked, "this license was revoked: it has no seats to free")
		}
		recent := recentResets(l.Resets, now)
		if len(recent) >= limit {
			next := recent[len(recent)-limit] + int64(ResetWindow/time.Second)
			return refusef(KindResetLimit, "this license's %d self-service seat resets in %d days are used up; the next is possible from %s; or contact the publisher to free the seat now",
				limit, int(ResetWindow/(24*time.Hour)), time.Unix(next, 0).UTC().Format("2006-01-02 15:04 UTC"))
		}
		var freed []store.Activation
		for _, a := range tx.Activations {
			if req.Flags&wire.SeatResetAll != 0 || a.Hostname == string(req.Hostname) {
				freed = append(freed, a)
			}
		}
		switch {
		case len(freed) == 0 && req.Flags&wire.SeatResetAll != 0:
			return refuse(KindNotActivated, "no machine holds a seat of this license: there is nothing to free")
		case len(freed) == 0:
			return refusef(KindNotActivated, "no machine named %q holds a seat of this license; the license's status lists the machines that do", req.Hostname)
		case len(freed) > 1 && req.Flags&wire.SeatResetAll == 0:
			return refusef(KindBadRequest, "%d machines named %q hold seats of this license; free every seat instead, or ask the publisher to free one", len(freed), req.Hostname)
		}
		for _, a := range freed {
			tx.DeleteActivation(a.Install)
			recordSeat(tx, store.EventDeactivated, a.Hostname)
		}
		l.Resets = append(recent, now.Unix())
		res = SeatReset{Freed: len(freed), ResetsLeft: limit - len(l.Resets),
			State: LicenseState{License: *l, Activations: append([]store.Activation(nil), tx.Activations...)}}
		if res.ResetsLeft <= 0 {
			res.ResetsLeft = 0
			res.NextReset = l.Resets[len(l.Resets)-limit] + int64(ResetWindow/time.Second)
		}
		what := fmt.Sprintf("machine %q", freed[0].Hostname)
		if req.Flags&wire.SeatResetAll != 0 {
			what = fmt.Sprintf("every seat (%d)", len(freed))
		}
		tx.Audit = &store.AuditEntry{Time: now.Unix(), Kind: "license.self-reset", Shop: sh.Name, License: LicenseRef(lic.ID),
			Detail: fmt.Sprintf("%s by the customer through shop %s (reset %d of %d in %d days)", what, sh.Name, len(l.Resets), limit, int(ResetWindow/(24*time.Hour)))}
		return nil
	})
	if err != nil {
		return SeatReset{}, s.failed(err, "seat reset")
	}
	s.log.Info("self-service seat reset", "license", LicenseRef(lic.ID), "shop", sh.Name, "freed", res.Freed, "resets_left", res.ResetsLeft)
	return res, nil
}

// recentResets returns the reset times of resets that are within the
// window ending at now, oldest first (a new slice: the record's is left
// as it is until the update is committed).
func recentResets(resets []int64, now time.Time) []int64 {
	from := now.Add(-ResetWindow).Unix()
	out := make([]int64, 0, len(resets)+1)
	for _, t := range resets {
		if t > from {
			out = append(out, t)
		}
	}
	return out
}
