package service

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// Air-gapped machines (wire/offline.go): the gateway answers an
// activation request carried to it by the operator or a shop, and imports
// the release proof of a machine that gave its license up.

// offlineVia is who carried an offline request to the gateway: a shop,
// which may answer only for its own licenses, or the operator (shop "").
type offlineVia struct {
	shop string
}

// check refuses a license that is not the carrying shop's, exactly as an
// unknown key.
func (v *offlineVia) check(lic *store.License) error {
	if v == nil || v.shop == "" || lic.Shop == v.shop {
		return nil
	}
	return errShopUnknownKey
}

// who names the carrier in audit entries.
func (v *offlineVia) who() string {
	if v.shop == "" {
		return "operator"
	}
	return "shop " + v.shop
}

// audit notes an answered request in tx's audit entry.
func (v *offlineVia) audit(tx *store.Tx, a *store.Activation, now time.Time) {
	if v == nil {
		return
	}
	tx.Audit = &store.AuditEntry{Time: now.Unix(), Kind: "license.answer-offline", Shop: v.shop, License: LicenseRef(tx.License.ID),
		Detail: fmt.Sprintf("machine %s (%s), request carried by %s", MachineID(a.Install), a.Hostname, v.who())}
}

// Refusals of offline requests.
var (
	errOfflineProduct = refuse(KindRequestMismatch, "the license key sealed in this request is for another product than the request names; make the request again with this product's key")
	errReleaseOlder   = refuse(KindRequestMismatch, "this release proof is older than the machine's activation of the license (the machine was activated again after writing it); it frees nothing: release the license on the machine again and bring the new proof")
	errNoNoiseKey     = refuse(KindInternal, "this gateway has no Noise key to open offline requests with")
)

// AnswerOffline answers an air-gapped machine's activation request: it
// opens the license key sealed to this gateway, then activates it exactly
// as Activate does for the install whose key signed the request (same
// seat rules; the same install gets its seat again, a new machine for it
// is refused), durably, and returns the signed lease, whose nonce is the
// request's so that the machine can tell it answers its own request. shop
// is the shop that carried it, which may answer only for licenses it
// minted ("" for the operator). The answer is audited.
//
// A request sealed to another gateway, or changed since it was made, is
// refused with KindRequestMismatch.
func (s *Service) AnswerOffline(req *wire.OfflineRequest, shop string) (Activation, error) {
	noise := s.noiseKeys()
	if len(noise) == 0 {
		return Activation{}, s.failed(errNoNoiseKey, "answer offline")
	}
	var (
		key [wire.KeySize]byte
		err error
	)
	for i := range noise {
		if key, err = wire.OpenOfflineRequest(req, &noise[i]); !errors.Is(err, wire.ErrOfflineSeal) {
			break
		}
	}
	if err != nil {
		if errors.Is(err, wire.ErrOfflineSeal) {
			return Activation{}, ErrRequestMismatch
		}
		return Activation{}, refusef(KindBadRequest, "the activation request is malformed: %v", err)
	}
	defer clear(key[:])
	if [wire.ProductSize]byte(key[:wire.ProductSize]) != req.Product {
		return Activation{}, errOfflineProduct
	}
	act := wire.ActivateRequest{Nonce: req.Nonce, Key: key, Fingerprint: req.Fingerprint, Hostname: req.Hostname, AppVersion: req.AppVersion}
	defer clear(act.Key[:])
	p := Peer{Install: req.InstallID(), Addr: netip.Addr{}}
	return s.activate(&act, &p, &offlineVia{shop: shop})
}

// ImportRelease frees the seat of the install that wrote the release
// proof rel, durably, with the event and audit entry a deactivation gets;
// shop is the shop that carried it, which may release only licenses it
// minted ("" for the operator). It returns the license's id.
//
// A proof made for another gateway or changed since is refused with
// KindRequestMismatch, as is one older than the install's activation (a
// proof carried in again after the machine was activated anew); a license
// the install does not hold a seat of is KindNotActivated.
func (s *Service) ImportRelease(rel *wire.OfflineRelease, shop string) (store.LicenseID, error) {
	noise := s.noiseKeys()
	if len(noise) == 0 {
		return store.LicenseID{}, s.failed(errNoNoiseKey, "import release")
	}
	var err error
	for i := range noise {
		if err = wire.VerifyOfflineRelease(rel, &noise[i]); !errors.Is(err, wire.ErrOfflineSeal) {
			break
		}
	}
	if err != nil {
		if errors.Is(err, wire.ErrOfflineSeal) {
			return store.LicenseID{}, ErrRequestMismatch
		}
		return store.LicenseID{}, refusef(KindBadRequest, "the release proof is malformed: %v", err)
	}
	id := store.LicenseID(rel.LicenseID)
	install := store.InstallID(rel.InstallID())
	via := offlineVia{shop: shop}
	now := s.now()
	err = s.st.Update(id, func(tx *store.Tx) error {
		if via.check(&tx.License) != nil {
			return ErrNotFound
		}
		a, ok := tx.Activation(install)
		if !ok {
			return refusef(KindNotActivated, "license %s has no seat on the machine that wrote this release proof: it was released already, or never activated there", LicenseRef(id))
		}
		// The proof must give up the newest lease the binding was given: an
		// older one (released, then activated again on the same binding)
		// frees nothing.
		if rel.LeaseIssued < a.LeaseIssued {
			return errReleaseOlder
		}
		tx.DeleteActivation(install)
		recordSeat(tx, store.EventDeactivated, a.Hostname)
		tx.Audit = &store.AuditEntry{Time: now.Unix(), Kind: "license.release-offline", Shop: shop, License: LicenseRef(id),
			Detail: fmt.Sprintf("machine %s (%s), release proof carried by %s", MachineID(a.Install), a.Hostname, via.who())}
		return nil
	})
	if err != nil {
		return store.LicenseID{}, s.failed(err, "import release")
	}
	s.log.Info("released offline", "license", LicenseRef(id))
	return id, nil
}

// noiseKeys returns the Noise keys to open offline files with, none if the
// gateway has none.
func (s *Service) noiseKeys() [][32]byte {
	if s.keys.NoiseKeys != nil {
		return s.keys.NoiseKeys()
	}
	if s.keys.Noise == [32]byte{} {
		return nil
	}
	return [][32]byte{s.keys.Noise}
}
