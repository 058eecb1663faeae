package clients

import (
	"context"
	"fmt"
	"time"

	"github.com/tollgate/tollgate/wire"
)

// OfflineAnswer is the license server's answer to an air-gapped machine's
// activation request: the license activated, and its lease, armored, for
// the customer to carry back and install (tollgate-client import).
type OfflineAnswer struct {
	LicenseID [wire.LicenseIDSize]byte
	Lease     []byte // armored: -----BEGIN TOLLGATE LEASE-----
}

// AnswerOffline has the gateway answer the activation request file an
// air-gapped machine wrote (tollgate-client request; the armored text), for
// a license this shop minted: a customer portal's "activate a machine that
// is never online". The machine's seat is taken as by an online
// activation, and the same request answered again gets the same seat. A
// file that is not an activation request is ErrConfig; the gateway's
// refusals are *wire.StatusError (REQUEST_MISMATCH: the request was made
// for another gateway or changed; NOT_FOUND: no license of this shop; the
// seat rules' own).
func (c *ShopClient) AnswerOffline(ctx context.Context, request []byte) (*OfflineAnswer, error) {
	raw, err := wire.DearmorOfflineRequest(request)
	if err != nil {
		return nil, fmt.Errorf("%w: not an activation request file: %w", ErrConfig, err)
	}
	or, _, err := wire.ParseOfflineRequest(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: the activation request is malformed: %w", ErrConfig, err)
	}
	req := wire.OfflineAnswerRequest{Nonce: newNonce(), Request: or}
	r, err := c.roundTrip(ctx, req)
	if err != nil {
		return nil, err
	}
	if r.typ != wire.TypeOfflineAnswerResponse {
		return nil, fmt.Errorf("%w: answer of type %v to an offline activation", ErrProtocol, r.typ)
	}
	resp, _, err := wire.ParseOfflineAnswerResponse(r.body)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	if resp.Nonce != req.Nonce {
		return nil, fmt.Errorf("%w: the answer does not echo the request's nonce", ErrProtocol)
	}
	// As an app would: a key of the card not retired, or a rotated key
	// its statement introduces.
	trust := &keyTrust{card: c.cfg.Card, now: func() int64 { return time.Now().Unix() }}
	l, err := trust.verifyNew(resp.Lease)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrLease, err)
	}
	if l.LicenseID != resp.LicenseID || l.InstallKeyHash != or.InstallID() || l.Nonce != or.Nonce {
		return nil, fmt.Errorf("%w: it was not issued for this request", ErrLease)
	}
	return &OfflineAnswer{LicenseID: resp.LicenseID, Lease: wire.ArmorLease(resp.Lease)}, nil
}

// ReleaseOffline has the gateway import the release proof an air-gapped
// machine wrote when it gave its license up (tollgate-client release; the
// armored text), for a license this shop minted, freeing the machine's
// seat. It returns the license's id. A file that is not a release proof
// is ErrConfig; the gateway's refusals are *wire.StatusError
// (REQUEST_MISMATCH, NOT_ACTIVATED: the seat is free already, NOT_FOUND).
func (c *ShopClient) ReleaseOffline(ctx context.Context, proof []byte) ([wire.LicenseIDSize]byte, error) {
	var id [wire.LicenseIDSize]byte
	raw, err := wire.DearmorOfflineRelease(proof)
	if err != nil {
		return id, fmt.Errorf("%w: not a release proof file: %w", ErrConfig, err)
	}
	rel, _, err := wire.ParseOfflineRelease(raw)
	if err != nil {
		return id, fmt.Errorf("%w: the release proof is malformed: %w", ErrConfig, err)
	}
	req := wire.OfflineReleaseRequest{Nonce: newNonce(), Release: rel}
	r, err := c.roundTrip(ctx, req)
	if err != nil {
		return id, err
	}
	if r.typ != wire.TypeOfflineReleaseResponse {
		return id, fmt.Errorf("%w: answer of type %v to an offline release", ErrProtocol, r.typ)
	}
	resp, _, err := wire.ParseOfflineReleaseResponse(r.body)
	if err != nil {
		return id, fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	if resp.Nonce != req.Nonce || resp.LicenseID != rel.LicenseID {
		return id, fmt.Errorf("%w: the answer does not match the release", ErrProtocol)
	}
	return resp.LicenseID, nil
}
