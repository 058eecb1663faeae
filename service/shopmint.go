package service

import (
	"errors"
	"fmt"

	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// Minted is the answer to a shop's order: how many keys it holds, and the
// keys sealed to the shop's public key (wire.SealKeys), which only the
// shop's private key opens.
type Minted struct {
	Count  int
	Sealed []byte
}

// Mint answers shop sh's order req: new keys of exactly the specification
// sold, written durably with the order, or, for an order id the shop used
// before with the same request, that order's keys again (a retry never
// mints twice). Another request under a used order id is ErrOrderConflict.
func (s *Service) Mint(req *wire.MintRequest, sh *store.Shop) (Minted, error) {
	code := string(req.Product[:])
	if !sh.MayMint(code) {
		return Minted{}, errShopProduct
	}
	prod, err := s.st.ProductByCode(code)
	if err != nil {
		if KindOf(err) == KindNotFound {
			return Minted{}, errNotInCatalogue
		}
		return Minted{}, s.failed(err, "mint")
	}
	now := s.now()
	if req.Spec.Expiry != 0 && req.Spec.Expiry <= now.Unix() {
		return Minted{}, errExpiryPast
	}
	var ents []string
	for e := range req.Spec.Entitlements.All() {
		ents = append(ents, string(e))
	}
	spec := ProductSpec(&prod)
	spec.AbsExpiry, spec.Shop, spec.Order = req.Spec.Expiry, sh.Name, string(req.OrderID)
	if req.Spec.Seats != 0 {
		spec.Seats = req.Spec.Seats
	}
	if err := spec.checkSeats(code); err != nil {
		return Minted{}, err
	}
	if req.Spec.Term.Kind != wire.TermDefault {
		spec.Term = store.Term{Kind: req.Spec.Term.Kind, Value: req.Spec.Term.Value}
	}
	if len(ents) > 0 {
		spec.Entitlements = ents
	}
	p, err := keygen.ParseProductCode(code)
	if err != nil {
		return Minted{}, errProductCode
	}
	order := store.Order{Shop: sh.Name, ID: string(req.OrderID), Request: req.AppendOrder(nil), Count: int(req.Count), Product: code}
	o, existed, err := s.st.MintOrder(order, sh.DailyQuota, func() ([]store.License, []byte, error) {
		keys, ls, err := newLicenses(s.keys.Hasher, p, int(req.Count), spec, now)
		if err != nil {
			return nil, nil, err
		}
		defer clear(keys) // sealed to the shop, the gateway forgets them
		sealed, err := sealKeys(sh, order.Request, keys)
		return ls, sealed, err
	})
	switch {
	case errors.Is(err, store.ErrOrderConflict):
		return Minted{}, ErrOrderConflict
	case errors.Is(err, store.ErrQuotaExceeded):
		return Minted{}, ErrQuotaExceeded
	case err != nil:
		return Minted{}, s.failed(err, "mint")
	}
	sealed, err := s.sealedForShop(sh, &o)
	if err != nil {
		return Minted{}, s.failed(err, "mint")
	}
	if existed {
		s.log.Info("mint retried", "shop", sh.Name, "order", order.ID, "keys", o.Count)
	} else {
		s.log.Info("minted", "shop", sh.Name, "order", order.ID, "product", code, "keys", o.Count)
	}
	return Minted{Count: o.Count, Sealed: sealed}, nil
}

// sealKeys seals an order's keys to the shop's public key for the order
// whose canonical bytes are order (wire.SealKeys): what the order record
// keeps and the answer carries. Only the shop's private key opens it.
func sealKeys(sh *store.Shop, order []byte, keys []keygen.Key) ([]byte, error) {
	plain := make([]byte, 0, len(keys)*keygen.KeyLen)
	for _, k := range keys {
		plain = append(plain, k[:]...)
	}
	defer clear(plain)
	sealed, err := wire.SealKeys(sh.PublicKey, order, plain)
	if err != nil {
		return nil, fmt.Errorf("service: sealing keys to shop %s: %w", sh.Name, err)
	}
	return sealed, nil
}

// sealedForShop returns the keys of order o sealed to shop sh, for the
// answer. Orders this gateway wrote keep exactly that; orders older
// gateways wrote keep their keys under the legacy AEAD (Keys.LegacyOrders),
// which is opened and its keys sealed to the shop afresh (the record is
// left as it is). The two are told apart by length: n keys sealed to the
// shop take 30n+49 bytes, under the legacy AEAD 30n+28.
func (s *Service) sealedForShop(sh *store.Shop, o *store.Order) ([]byte, error) {
	if len(o.Sealed) == wire.SealedKeysLen(o.Count) {
		if o.Sealed[0] != wire.SealHPKEX25519 {
			return nil, fmt.Errorf("%w: sealed order keys", store.ErrCorrupt)
		}
		return o.Sealed, nil
	}
	legacy := s.keys.LegacyOrders
	if legacy == nil {
		return nil, fmt.Errorf("%w: sealed order keys of an older gateway, and no key to open them", store.ErrCorrupt)
	}
	n := legacy.NonceSize()
	if len(o.Sealed) != n+o.Count*keygen.KeyLen+legacy.Overhead() {
		return nil, fmt.Errorf("%w: sealed order keys", store.ErrCorrupt)
	}
	plain, err := legacy.Open(nil, o.Sealed[:n], o.Sealed[n:], legacySealAD(o.Shop, o.ID))
	if err != nil {
		return nil, fmt.Errorf("%w: sealed order keys do not open", store.ErrCorrupt)
	}
	defer clear(plain)
	sealed, err := wire.SealKeys(sh.PublicKey, o.Request, plain)
	if err != nil {
		return nil, fmt.Errorf("service: sealing keys to shop %s: %w", sh.Name, err)
	}
	return sealed, nil
}

// legacySealAD is the associated data under which older gateways sealed
// an order's keys: the shop and order id. Part of their on-disk format.
func legacySealAD(shop, order string) []byte { return []byte(shop + "\x00" + order) }
