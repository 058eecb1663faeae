// Package clients is what a publisher links into a program, and what shops
// call from their servers: a thin client of the Tollgate gateway working
// from a server card. It never imports the gateway or the store, and its
// binaries carry no database. It holds only public keys of the gateway,
// and no raw hardware identifier ever leaves the machine through it.
//
// A program uses a Licensee: machine fingerprints (components_*.go), the
// state directory with the install key, lease and clock ratchet (state.go),
// and the offline policy of the lease's validation level (Check; CheckNow
// asks the server at once, CheckOffline never).
//
// A Client keeps one QUIC connection and one Noise session open and
// pipelines requests on it (request ids tie answers to requests); it dials
// on first use and again after the connection is lost. When the card lists
// several addresses (gateways of one deployment), it dials the one that
// answered last first and fails over to the others; ErrUnreachable means
// none answered. Its methods are safe for concurrent use.
package clients

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/wire"
)

// Config configures a Client.
type Config struct {
	// Card is the gateway's server card. Required.
	Card *wire.Card
	// InstallKey is this installation's Noise static key. Required.
	InstallKey channel.PrivateKey
	// Address, when not empty, replaces the card's addresses: it is the
	// only one dialed.
	Address string
	// Limits bound the channel; zero fields take channel's defaults.
	Limits channel.Limits
	// Timeout bounds one request when the context has no deadline. Zero
	// means 10 s.
	Timeout time.Duration
	// trust, when set, is the Licensee's key trust (keytrust.go); nil:
	// the card's lease keys and the keys leases introduce while the
	// client is open.
	trust *keyTrust
}

// Client talks to the gateway of one card, at any of its addresses.
type Client struct {
	*link
	cfg     Config
	install [32]byte // SHA-256 of the install key's public half, derived once
	trust   *keyTrust
}

// New returns a client; it connects on first use.
func New(cfg Config) (*Client, error) {
	if cfg.Card == nil {
		return nil, fmt.Errorf("%w: no server card", ErrConfig)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	pub := cfg.InstallKey.Public()
	l := newLink(cfg.Card, cfg.Address, channel.Config{Pattern: channel.PatternIK, Static: cfg.InstallKey, Limits: cfg.Limits}, cfg.Timeout)
	t := cfg.trust
	if t == nil {
		t = &keyTrust{card: cfg.Card, now: func() int64 { return time.Now().Unix() }}
	}
	return &Client{link: l, cfg: cfg, install: sha256.Sum256(pub[:]), trust: t}, nil
}

// InstallID returns the hash the gateway knows this installation by.
func (c *Client) InstallID() [32]byte { return c.install }

// Close ends the connection. Requests in flight fail with ErrClosed.
func (c *Client) Close() error {
	c.close()
	return nil
}

func newNonce() [wire.NonceSize]byte {
	var n [wire.NonceSize]byte
	rand.Read(n[:])
	return n
}

// ActivateResult is what a successful activation returns.
type ActivateResult struct {
	LicenseID [wire.LicenseIDSize]byte
	Changed   uint32 // fingerprint kinds that changed since the last activation (bit k for kind k)
	Lease     []byte // the signed lease, verified against the card
}

// Activate binds key to this installation on this machine.
func (c *Client) Activate(ctx context.Context, key keygen.Key, fp wire.Fingerprint, hostname, appVersion string) (*ActivateResult, error) {
	return c.activate(ctx, wire.ActivateRequest{Nonce: newNonce(), Key: key, Fingerprint: fp, Hostname: []byte(hostname), AppVersion: []byte(appVersion)})
}

// activate sends req, an activation, and checks the answer.
func (c *Client) activate(ctx context.Context, req wire.ActivateRequest) (*ActivateResult, error) {
	r, err := c.roundTrip(ctx, req)
	if err != nil {
		return nil, err
	}
	if r.typ != wire.TypeActivateResponse {
		return nil, fmt.Errorf("%w: answer of type %v to an activation", ErrProtocol, r.typ)
	}
	resp, _, err := wire.ParseActivateResponse(r.body)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	if resp.Nonce != req.Nonce {
		return nil, fmt.Errorf("%w: the answer does not echo the request's nonce", ErrProtocol)
	}
	if _, err := c.checkLease(resp.Lease, &req.Nonce, resp.LicenseID); err != nil {
		// The gateway has bound the key to this install: the seat is taken.
		return nil, &UnverifiedActivationError{LicenseID: resp.LicenseID, Err: err}
	}
	return &ActivateResult{LicenseID: resp.LicenseID, Changed: resp.Changed, Lease: resp.Lease}, nil
}

// UnverifiedActivationError is Client.Activate's error when the gateway
// activated the key but its lease does not verify (ErrLease; ErrWrongCard
// when no lease key of the card signed it). The gateway holds a seat for
// this install all the same: LicenseID lets the caller free it with
// Deactivate, as Licensee.Activate does.
type UnverifiedActivationError struct {
	LicenseID [wire.LicenseIDSize]byte
	Err       error
}

func (e *UnverifiedActivationError) Error() string { return e.Err.Error() }
func (e *UnverifiedActivationError) Unwrap() error { return e.Err }

// ValidateResult is what a successful validation returns.
type ValidateResult struct {
	ServerTime time.Time
	Changed    uint32
	Lease      []byte // a fresh signed lease, or nil when the current one stays
}

// Validate checks that the license is still good on this installation.
func (c *Client) Validate(ctx context.Context, license [wire.LicenseIDSize]byte, fp wire.Fingerprint, counter uint64, wantLease bool) (*ValidateResult, error) {
	req := wire.ValidateRequest{Nonce: newNonce(), LicenseID: license, Counter: counter, Fingerprint: fp}
	if wantLease {
		req.Flags = wire.ValidateWantLease
	}
	r, err := c.roundTrip(ctx, req)
	if err != nil {
		return nil, err
	}
	if r.typ != wire.TypeValidateResponse {
		return nil, fmt.Errorf("%w: answer of type %v to a validation", ErrProtocol, r.typ)
	}
	resp, _, err := wire.ParseValidateResponse(r.body)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	if resp.Nonce != req.Nonce || resp.Counter != counter {
		return nil, fmt.Errorf("%w: the answer does not echo the request's nonce and counter", ErrProtocol)
	}
	out := &ValidateResult{ServerTime: time.Unix(resp.ServerTime, 0), Changed: resp.Changed}
	if len(resp.Lease) > 0 {
		// A validation may be answered with the lease signed last, for an
		// earlier request (the gateway signs at most one lease per install
		// every ten minutes): any nonce, but this license and install.
		if _, err := c.checkLease(resp.Lease, nil, license); err != nil {
			return nil, err
		}
		out.Lease = resp.Lease
	}
	return out, nil
}

// Deactivate frees this installation's seat.
func (c *Client) Deactivate(ctx context.Context, license [wire.LicenseIDSize]byte) error {
	req := wire.DeactivateRequest{Nonce: newNonce(), LicenseID: license}
	r, err := c.roundTrip(ctx, req)
	if err != nil {
		return err
	}
	resp, _, err := wire.ParseDeactivateResponse(r.body)
	if err != nil || r.typ != wire.TypeDeactivateResponse {
		return fmt.Errorf("%w: bad answer to a deactivation", ErrProtocol)
	}
	if resp.Nonce != req.Nonce {
		return fmt.Errorf("%w: the answer does not echo the request's nonce", ErrProtocol)
	}
	return nil
}

// ServerTime asks the gateway for its clock.
func (c *Client) ServerTime(ctx context.Context) (time.Time, error) {
	req := wire.TimeRequest{Nonce: newNonce()}
	r, err := c.roundTrip(ctx, req)
	if err != nil {
		return time.Time{}, err
	}
	resp, _, err := wire.ParseTimeResponse(r.body)
	if err != nil || r.typ != wire.TypeTimeResponse {
		return time.Time{}, fmt.Errorf("%w: bad answer to a time request", ErrProtocol)
	}
	if resp.Nonce != req.Nonce {
		return time.Time{}, fmt.Errorf("%w: the answer does not echo the request's nonce", ErrProtocol)
	}
	return time.Unix(0, resp.ServerTime), nil
}

func classifyDial(err error) error {
	var idle *quic.IdleTimeoutError
	var hs *quic.HandshakeTimeoutError
	var op *net.OpError
	switch {
	case errors.Is(err, channel.ErrPinMismatch):
		return fmt.Errorf("%w: %w", ErrHandshake, err)
	case errors.As(err, &idle), errors.As(err, &hs), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: %w", ErrUnreachable, err)
	case errors.As(err, &op):
		return fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	return fmt.Errorf("%w: %w", ErrConnection, err)
}

// checkLease verifies a lease the gateway just sent: signed by a key of the
// card, for this license and this installation, answering the request with
// this nonce (nil: any request).
func (c *Client) checkLease(b []byte, nonce *[wire.NonceSize]byte, license [wire.LicenseIDSize]byte) (wire.Lease, error) {
	l, err := c.trust.verifyNew(b)
	if errors.Is(err, wire.ErrLeaseKey) || errors.Is(err, wire.ErrLeaseSignature) {
		return wire.Lease{}, fmt.Errorf("%w: %w: %w", ErrLease, ErrWrongCard, err)
	}
	if err != nil {
		return wire.Lease{}, fmt.Errorf("%w: %w", ErrLease, err)
	}
	if l.LicenseID != license || l.InstallKeyHash != c.InstallID() || nonce != nil && l.Nonce != *nonce {
		return wire.Lease{}, fmt.Errorf("%w: it was not issued for this request", ErrLease)
	}
	return l, nil
}
