package gateway

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// shops is the shop side of a gateway: the registered shops indexed by
// their key id for the pre-handshake lookup, the key that opens orders
// older gateways sealed (read only), and the
// tally of connections the IP lock refused, which a goroutine of its own
// writes to the log and the audit log (a refused connection must cost no
// fsync and no log line in line, or a flood of them writes the disk full).
type shops struct {
	st  *store.Store
	log *slog.Logger
	// legacy opens the keys of orders written before keys were sealed to
	// the shop: an AEAD keyed from the key hash secret. Never used to seal.
	legacy cipher.AEAD
	index  atomic.Pointer[map[[channel.KeyIDSize]byte]*store.Shop]

	refused *refusals
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

// legacySealInfo separated the order-sealing key of older gateways from
// every other use of the key hash secret. Part of the on-disk format of
// the orders they wrote, which are still read.
const legacySealInfo = "tollgate order seal v1"

// newLegacyOpener derives the AEAD with which older gateways sealed the
// keys kept in order records (AES-256-GCM, nonce first, shop and order id
// as associated data) from the key hash secret. This gateway only opens
// with it, to answer retries of those orders; it seals new orders' keys
// to the shop (wire.SealKeys), which it cannot open.
func newLegacyOpener(dir string) (cipher.AEAD, error) {
	raw, err := os.ReadFile(filepath.Join(dir, FileKeySecret))
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	secret, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not base64", ErrIdentityCorrupt, FileKeySecret)
	}
	key, err := hkdf.Key(sha256.New, secret, nil, legacySealInfo, 32)
	clear(secret)
	if err != nil {
		return nil, fmt.Errorf("gateway: legacy seal key: %w", err)
	}
	blk, err := aes.NewCipher(key)
	clear(key)
	if err != nil {
		return nil, fmt.Errorf("gateway: legacy seal key: %w", err)
	}
	return cipher.NewGCM(blk)
}

func newShops(dir string, st *store.Store, log *slog.Logger) (*shops, error) {
	legacy, err := newLegacyOpener(dir)
	if err != nil {
		return nil, err
	}
	s := &shops{st: st, log: log, legacy: legacy, refused: newRefusals(time.Now()), stop: make(chan struct{}), done: make(chan struct{})}
	if err := s.reload(); err != nil {
		return nil, err
	}
	go s.auditLoop()
	return s, nil
}

// reload rebuilds the in-memory index from the store. Call it after any
// change to the shops.
func (s *shops) reload() error {
	list, err := s.st.Shops()
	if err != nil {
		return err
	}
	m := make(map[[channel.KeyIDSize]byte]*store.Shop, len(list))
	for i := range list {
		m[channel.PublicKey(list[i].PublicKey).ID()] = &list[i]
	}
	s.index.Store(&m)
	return nil
}

func (s *shops) byKeyID(id [channel.KeyIDSize]byte) *store.Shop { return (*s.index.Load())[id] }

// lookup returns the handshake's KK lookup for a connection from remote:
// the IP lock. It answers from memory, before any Diffie-Hellman.
func (s *shops) lookup(remote net.Addr) func([channel.KeyIDSize]byte) (channel.PublicKey, error) {
	return func(id [channel.KeyIDSize]byte) (channel.PublicKey, error) {
		refuse := &channel.RefusedError{Code: uint16(wire.StatusShopNotAllowed)}
		sh := s.byKeyID(id)
		if sh == nil {
			s.log.Debug("shop refused: unknown key", "addr", remote.String())
			return channel.PublicKey{}, refuse
		}
		addr, ok := addrOf(remote)
		if !ok || !sh.Allows(addr) {
			s.refused.add(sh.Name, addr) // logged and audited by auditLoop
			return channel.PublicKey{}, refuse
		}
		return channel.PublicKey(sh.PublicKey), nil
	}
}

// auditLoop writes the refusal tally: the first refusal of a shop from an
// address at once (nudged by add), the rest once an interval and on close,
// one log line and one audit entry for each shop and address.
func (s *shops) auditLoop() {
	defer close(s.done)
	t := time.NewTicker(refusalInterval)
	defer t.Stop()
	for {
		select {
		case <-s.refused.kick:
			s.writeRefusals(s.refused.takeFirst(), "")
		case now := <-t.C:
			sums, since := s.refused.takeAll(now)
			s.writeRefusals(sums, since)
		case <-s.stop:
			sums, since := s.refused.takeAll(time.Now())
			s.writeRefusals(sums, since)
			return
		}
	}
}

// writeRefusals logs and audits sums; since is how long they were counted
// over ("" for first refusals, written at once).
func (s *shops) writeRefusals(sums []refusalSum, since string) {
	for _, r := range sums {
		from := "other addresses"
		if !r.other {
			from = "an unknown address"
			if r.addr.IsValid() {
				from = r.addr.String()
			}
		}
		detail := fmt.Sprintf("%d connection(s) from %s outside its networks", r.n, from)
		if since != "" {
			detail += " in the last " + since
		}
		s.log.Warn("shop refused: "+detail, "shop", r.shop, "from", from, "count", r.n)
		if err := s.st.Audit(store.AuditEntry{Kind: "shop.refused", Shop: r.shop, Detail: detail}); err != nil {
			s.log.Error("audit: recording shop refusals failed", "err", err)
		}
	}
}

// close writes what the refusal tally holds and stops it.
func (s *shops) close() {
	s.once.Do(func() { close(s.stop) })
	<-s.done
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
		return nil, fmt.Errorf("gateway: sealing keys to shop %s: %w", sh.Name, err)
	}
	return sealed, nil
}

// sealedForShop returns the keys of order o sealed to shop sh, for the
// answer. Orders this gateway wrote keep exactly that; orders older
// gateways wrote keep their keys under the legacy AEAD, which is opened
// and its keys sealed to the shop afresh (the record is left as it is).
// The two are told apart by length: n keys sealed to the shop take
// 30n+49 bytes, under the legacy AEAD 30n+28.
func (s *shops) sealedForShop(sh *store.Shop, o *store.Order) ([]byte, error) {
	if len(o.Sealed) == wire.SealedKeysLen(o.Count) {
		if o.Sealed[0] != wire.SealHPKEX25519 {
			return nil, fmt.Errorf("%w: sealed order keys", store.ErrCorrupt)
		}
		return o.Sealed, nil
	}
	n := s.legacy.NonceSize()
	if len(o.Sealed) != n+o.Count*keygen.KeyLen+s.legacy.Overhead() {
		return nil, fmt.Errorf("%w: sealed order keys", store.ErrCorrupt)
	}
	plain, err := s.legacy.Open(nil, o.Sealed[:n], o.Sealed[n:], legacySealAD(o.Shop, o.ID))
	if err != nil {
		return nil, fmt.Errorf("%w: sealed order keys do not open", store.ErrCorrupt)
	}
	defer clear(plain)
	sealed, err := wire.SealKeys(sh.PublicKey, o.Request, plain)
	if err != nil {
		return nil, fmt.Errorf("gateway: sealing keys to shop %s: %w", sh.Name, err)
	}
	return sealed, nil
}

func legacySealAD(shop, order string) []byte { return []byte(shop + "\x00" + order) }

// mint answers a MintRequest from shop sh.
func (h *handler) mint(out []byte, reqID uint32, req *wire.MintRequest, sh *store.Shop, ss *shops) []byte {
	fail := func(st wire.Status, msg string) []byte { return appendError(out, reqID, req.Nonce, st, msg) }
	code := string(req.Product[:])
	if !sh.MayMint(code) {
		return fail(wire.StatusShopNotAllowed, "this shop may not mint this product")
	}
	prod, err := h.st.ProductByCode(code)
	if err != nil {
		st, msg := h.storeStatus(err, "mint")
		if st == wire.StatusNotFound {
			msg = "the product is not in the catalogue"
		}
		return fail(st, msg)
	}
	now := h.now()
	if req.Spec.Expiry != 0 && req.Spec.Expiry <= now.Unix() {
		return fail(wire.StatusBadRequest, "the expiry date is in the past")
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
		st, msg := h.storeStatus(err, "mint")
		return fail(st, msg)
	}
	if req.Spec.Term.Kind != wire.TermDefault {
		spec.Term = store.Term{Kind: store.TermKind(req.Spec.Term.Kind), Value: req.Spec.Term.Value}
	}
	if len(ents) > 0 {
		spec.Entitlements = ents
	}
	p, err := keygen.ParseProductCode(code)
	if err != nil {
		return fail(wire.StatusBadRequest, "malformed product code")
	}
	order := store.Order{Shop: sh.Name, ID: string(req.OrderID), Request: req.AppendOrder(nil), Count: int(req.Count), Product: code}
	o, existed, err := h.st.MintOrder(order, sh.DailyQuota, func() ([]store.License, []byte, error) {
		keys, ls, err := newLicenses(h.id.Hasher, p, int(req.Count), spec, now)
		if err != nil {
			return nil, nil, err
		}
		defer clear(keys) // sealed to the shop, the gateway forgets them
		sealed, err := sealKeys(sh, order.Request, keys)
		return ls, sealed, err
	})
	switch {
	case errors.Is(err, store.ErrOrderConflict):
		return fail(wire.StatusOrderConflict, "this order id was used for a different order")
	case errors.Is(err, store.ErrQuotaExceeded):
		return fail(wire.StatusQuotaExceeded, "the shop's daily key quota is used up")
	case err != nil:
		st, msg := h.storeStatus(err, "mint")
		return fail(st, msg)
	}
	sealed, err := ss.sealedForShop(sh, &o)
	if err != nil {
		st, msg := h.storeStatus(err, "mint")
		return fail(st, msg)
	}
	if existed {
		h.log.Info("mint retried", "shop", sh.Name, "order", order.ID, "keys", o.Count)
	} else {
		h.log.Info("minted", "shop", sh.Name, "order", order.ID, "product", code, "keys", o.Count)
	}
	return wire.AppendFrame(out, reqID, wire.MintResponse{Nonce: req.Nonce, OrderID: req.OrderID, Count: uint16(o.Count), Sealed: sealed})
}

// keyOp answers a KeyOpRequest from shop sh, which may act on its own keys
// only: another shop's key is answered exactly like an unknown one.
func (h *handler) keyOp(out []byte, reqID uint32, req *wire.KeyOpRequest, sh *store.Shop) []byte {
	key, err := keygen.ParseCanonical(req.Key[:])
	if err != nil {
		return appendError(out, reqID, req.Nonce, wire.StatusMalformedKey, "this is not a valid license key")
	}
	op := LicenseOp(req.Op.String())
	res, err := ApplyLicenseOp(h.st, h.id.Hasher, key, op, store.Term{Kind: store.TermKind(req.Term.Kind), Value: req.Term.Value}, sh.Name, h.now())
	if err != nil {
		st, msg := h.storeStatus(err, "key "+string(op))
		return appendError(out, reqID, req.Nonce, st, msg)
	}
	resp := wire.KeyStatusResponse{Nonce: req.Nonce, Seats: res.License.Seats, SeatsUsed: uint32(len(res.Activations)),
		Activated: res.License.Activated, Expiry: res.License.Expiry()}
	resp.Status, _ = licenseStatus(&res.License, resp.Expiry, h.now().Unix())
	copy(resp.Product[:], res.License.Product)
	for _, a := range res.Activations {
		host := []byte(a.Hostname)
		if len(host) > wire.MaxHostnameLen {
			host = host[:wire.MaxHostnameLen]
		}
		if resp.Activations.Add(wire.Activation{Hostname: host, LastSeen: a.LastSeen}) != nil {
			break
		}
	}
	return wire.AppendFrame(out, reqID, resp)
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

// LicenseState is a license and its activations after an operation.
type LicenseState struct {
	License     store.License
	Activations []store.Activation
}

// ApplyLicenseOp performs op on the license of key, durably (through
// store.Update, so the next validation sees it), and audits it. With shop
// not empty, only that shop's licenses are found; any other is
// StatusNotFound, as if it did not exist. term is the extension of a
// renewal (zero: the product's default, else the license's own term).
func ApplyLicenseOp(st *store.Store, hasher *keygen.Hasher, key keygen.Key, op LicenseOp, term store.Term, shop string, now time.Time) (LicenseState, error) {
	notFound := statusErr(wire.StatusNotFound, "no license has this key")
	lic, err := st.LicenseByKeyHash(hasher.Hash(key))
	if errors.Is(err, store.ErrNotFound) || err == nil && shop != "" && lic.Shop != shop {
		return LicenseState{}, notFound
	}
	if err != nil {
		return LicenseState{}, err
	}
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
	err = st.Update(lic.ID, func(tx *store.Tx) error {
		l := &tx.License
		switch op {
		case OpSuspend, OpResume, OpRenew:
			if l.State == store.StateRevoked {
				return statusErr(wire.StatusRevoked, "this license was revoked")
			}
		}
		switch op {
		case OpSuspend:
			l.State = store.StateSuspended
		case OpResume:
			l.State = store.StateActive
		case OpRevoke:
			l.State = store.StateRevoked
		case OpRenew:
			if err := renew(l, term, tx.Now.Unix()); err != nil {
				return err
			}
		case OpReset:
			for _, a := range append([]store.Activation(nil), tx.Activations...) {
				tx.DeleteActivation(a.Install)
			}
		case OpUnflag:
			if shop != "" {
				return statusErr(wire.StatusBadRequest, "only an operator clears a flag")
			}
			tx.ResetSightings()
		default:
			return statusErr(wire.StatusBadRequest, "unknown license operation")
		}
		res = LicenseState{License: *l, Activations: append([]store.Activation(nil), tx.Activations...)}
		who := shop
		if who == "" {
			who = "operator"
		}
		tx.Audit = &store.AuditEntry{Time: now.Unix(), Kind: "license." + string(op), Shop: shop, License: licenseRef(lic.ID), Detail: "by " + who}
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
		return statusErr(wire.StatusBadRequest, "renewal needs a term")
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
		return statusErr(wire.StatusBadRequest, "renew a license not yet activated by its own kind of term")
	}
	end := l.Expiry()
	if end == 0 {
		return nil // perpetual already
	}
	end = max(end, now)
	l.AbsExpiry = t.End(time.Unix(end, 0)).Unix()
	l.Term = store.Term{Kind: store.TermPerpetual} // the absolute expiry now governs
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
