package clients

import (
	"context"
	"fmt"
	"time"

	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/wire"
)

// ShopConfig configures a ShopClient.
type ShopConfig struct {
	// Card is the gateway's server card. Required.
	Card *wire.Card
	// ShopKey is the shop's Noise static private key, the one whose public
	// half the operator registered. Required.
	ShopKey channel.PrivateKey
	// Address, when not empty, replaces the card's addresses: it is the
	// only one dialed.
	Address string
	// Limits bound the channel; zero fields take channel's defaults.
	Limits channel.Limits
	// Timeout bounds one request when the context has no deadline. Zero
	// means 30 s (a 10,000-key order is written durably before it is
	// answered).
	Timeout time.Duration
}

// ShopClient is a shop server's client of the gateway: it mints keys at
// the moment of sale and manages the keys it minted, over one Noise KK
// session (both static keys known in advance) that it dials on first use
// and again after the connection is lost, failing over between the card's
// addresses as a Client does. Requests are pipelined. Its methods are safe
// for concurrent use.
//
// The keys it returns are secrets for the customer: print them with
// keygen.Key.Display where the shop hands them over, and nowhere else.
type ShopClient struct {
	*link
	cfg ShopConfig
}

// NewShop returns a shop client; it connects on first use.
func NewShop(cfg ShopConfig) (*ShopClient, error) {
	if cfg.Card == nil {
		return nil, fmt.Errorf("%w: no server card", ErrConfig)
	}
	if cfg.ShopKey.IsZero() {
		return nil, fmt.Errorf("%w: no shop key", ErrConfig)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	l := newLink(cfg.Card, cfg.Address, channel.Config{Pattern: channel.PatternKK, Static: cfg.ShopKey, Limits: cfg.Limits}, cfg.Timeout)
	return &ShopClient{link: l, cfg: cfg}, nil
}

// Close ends the connection. Requests in flight fail with ErrClosed.
func (c *ShopClient) Close() error {
	c.close()
	return nil
}

// MintSpec is what each key of an order grants; zero fields take the
// product's defaults from the gateway's catalogue.
type MintSpec struct {
	Term         wire.Term // zero: the product's default term
	Seats        uint32    // zero: the product's default seats
	Expiry       time.Time // zero: no absolute expiry
	Entitlements []string  // empty: the product's default entitlements
}

// Mint asks for count (1 to 10,000) new keys of product for the shop's
// order orderID. It is safe to retry: the same order id with the same
// request returns the same keys; with a different request the gateway
// answers StatusOrderConflict (a *wire.StatusError). The gateway answers
// with the keys sealed to the shop's public key (wire.SealKeys); Mint
// opens them with ShopKey.
func (c *ShopClient) Mint(ctx context.Context, orderID, product string, count int, spec MintSpec) ([]keygen.Key, error) {
	req := wire.MintRequest{Nonce: newNonce(), OrderID: []byte(orderID), Spec: wire.MintSpec{Term: spec.Term, Seats: spec.Seats}}
	if len(product) != wire.ProductSize {
		return nil, fmt.Errorf("%w: product code %q is not %d characters", ErrConfig, product, wire.ProductSize)
	}
	copy(req.Product[:], product)
	if count < 1 || count > wire.MaxMintCount {
		return nil, fmt.Errorf("%w: count %d not in 1..%d", ErrConfig, count, wire.MaxMintCount)
	}
	req.Count = uint16(count)
	if !spec.Expiry.IsZero() {
		req.Spec.Expiry = spec.Expiry.Unix()
	}
	var err error
	if req.Spec.Entitlements, err = wire.NewEntitlements(spec.Entitlements...); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if err := req.Check(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	r, err := c.roundTrip(ctx, req)
	if err != nil {
		return nil, err
	}
	if r.typ != wire.TypeMintResponse {
		return nil, fmt.Errorf("%w: answer of type %v to a mint", ErrProtocol, r.typ)
	}
	resp, _, err := wire.ParseMintResponse(r.body)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	if resp.Nonce != req.Nonce || string(resp.OrderID) != orderID || int(resp.Count) != count {
		return nil, fmt.Errorf("%w: the answer does not match the order", ErrProtocol)
	}
	// The keys come sealed to the shop's key for this very order: the
	// gateway keeps them only in that form.
	plain, err := wire.OpenKeys(c.cfg.ShopKey, req.AppendOrder(nil), resp.Sealed)
	if err != nil {
		return nil, fmt.Errorf("%w: the keys do not open with the shop's key for this order", ErrProtocol)
	}
	defer clear(plain)
	keys := make([]keygen.Key, count)
	for i := range keys {
		if keys[i], err = keygen.ParseCanonical(plain[i*keygen.KeyLen : (i+1)*keygen.KeyLen]); err != nil {
			return nil, fmt.Errorf("%w: key %d is malformed", ErrProtocol, i)
		}
		if keys[i].Product().String() != product {
			return nil, fmt.Errorf("%w: key %d is for another product", ErrProtocol, i)
		}
	}
	clear(r.body)
	return keys, nil
}

// KeyStatus is the state of one of the shop's licenses.
type KeyStatus struct {
	Status      wire.Status // OK (in force), SUSPENDED, REVOKED or EXPIRED
	Product     string
	Seats       uint32
	SeatsUsed   uint32
	Activated   time.Time // zero: never activated
	Expiry      time.Time // zero: does not expire (or term not started)
	Activations []KeyActivation
}

// KeyActivation is one machine a license is activated on.
type KeyActivation struct {
	Hostname string
	LastSeen time.Time
}

// KeyOp performs op on one of the shop's keys (suspend, resume, revoke,
// renew by term, or status) and returns the license's state afterwards. A
// key of another shop is answered StatusNotFound, like an unknown one.
// term is used by wire.KeyOpRenew only (zero: the product's default).
func (c *ShopClient) KeyOp(ctx context.Context, key keygen.Key, op wire.KeyOp, term wire.Term) (*KeyStatus, error) {
	req := wire.KeyOpRequest{Nonce: newNonce(), Op: op, Key: key}
	if op == wire.KeyOpRenew {
		req.Term = term
	}
	if err := req.Check(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	r, err := c.roundTrip(ctx, req)
	if err != nil {
		return nil, err
	}
	if r.typ != wire.TypeKeyStatusResponse {
		return nil, fmt.Errorf("%w: answer of type %v to a key operation", ErrProtocol, r.typ)
	}
	resp, _, err := wire.ParseKeyStatusResponse(r.body)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	if resp.Nonce != req.Nonce {
		return nil, fmt.Errorf("%w: the answer does not echo the request's nonce", ErrProtocol)
	}
	ks := &KeyStatus{Status: resp.Status, Product: string(resp.Product[:]), Seats: resp.Seats, SeatsUsed: resp.SeatsUsed}
	if resp.Activated != 0 {
		ks.Activated = time.Unix(resp.Activated, 0)
	}
	if resp.Expiry != 0 {
		ks.Expiry = time.Unix(resp.Expiry, 0)
	}
	for a := range resp.Activations.All() {
		ks.Activations = append(ks.Activations, KeyActivation{Hostname: string(a.Hostname), LastSeen: time.Unix(a.LastSeen, 0)})
	}
	return ks, nil
}
