package clients

import (
	"context"
	"fmt"
	"time"

	"github.com/tollgate/tollgate/wire"
)

// TrialResult is what a started (or resumed) trial returns.
type TrialResult struct {
	LicenseID [wire.LicenseIDSize]byte
	Ends      time.Time // when the trial ends
	Lease     []byte    // the signed lease, verified against the card
}

// StartTrial asks for product's keyless trial for this installation on
// this machine. The gateway grants one trial per machine; this install
// asking again while its trial runs gets the same trial.
func (c *Client) StartTrial(ctx context.Context, product string, fp wire.Fingerprint, hostname, appVersion string) (*TrialResult, error) {
	if len(product) != wire.ProductSize {
		return nil, fmt.Errorf("%w: product code %q is not %d characters", ErrConfig, product, wire.ProductSize)
	}
	req := wire.TrialRequest{Nonce: newNonce(), Fingerprint: fp, Hostname: []byte(hostname), AppVersion: []byte(appVersion)}
	copy(req.Product[:], product)
	r, err := c.roundTrip(ctx, req)
	if err != nil {
		return nil, err
	}
	if r.typ != wire.TypeTrialResponse {
		return nil, fmt.Errorf("%w: answer of type %v to a trial request", ErrProtocol, r.typ)
	}
	resp, _, err := wire.ParseTrialResponse(r.body)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	if resp.Nonce != req.Nonce {
		return nil, fmt.Errorf("%w: the answer does not echo the request's nonce", ErrProtocol)
	}
	lease, err := c.checkLease(resp.Lease, &req.Nonce, resp.LicenseID)
	if err != nil {
		return nil, err
	}
	if lease.LicenseExpiry != resp.Ends || lease.Product != req.Product {
		return nil, fmt.Errorf("%w: the trial's lease is not of this product or ends at another time", ErrLease)
	}
	return &TrialResult{LicenseID: resp.LicenseID, Ends: time.Unix(resp.Ends, 0), Lease: resp.Lease}, nil
}

// StartTrial starts the product's keyless trial on this machine and saves
// its lease as Activate saves a bought key's: Check then works on it as on
// any license, until the trial's end (the license's expiry). A machine gets
// one trial of a product: a machine that had it (even under another state
// directory, or after a reinstall) is refused with ReasonTrialUsed, and a
// product without a trial with ReasonNoTrial. A state directory that
// already holds a license starts no trial: the Decision is Check's of
// that license (a trial asked for twice is simply still running). Activating
// a bought key later in the same state directory replaces the trial and
// keeps the installation.
func (l *Licensee) StartTrial(ctx context.Context) Decision {
	return l.localized(l.startTrial(ctx))
}

func (l *Licensee) startTrial(ctx context.Context) Decision {
	l.mu.Lock()
	if l.st.HasLicense {
		l.mu.Unlock()
		return l.check(ctx, checkPolicy)
	}
	defer l.mu.Unlock()
	st := l.st
	now := l.cfg.Now()
	if d, back := l.ratchet(now); back {
		return d
	}
	res, err := l.client.StartTrial(ctx, l.cfg.Product, l.Fingerprint(), l.cfg.Hostname, l.cfg.AppVersion)
	if err != nil {
		return l.refusal(err, false)
	}
	st.LicenseID, st.HasLicense, st.Product, st.Lease = res.LicenseID, true, l.cfg.Product, res.Lease
	st.LastContact = now.Unix()
	if lease, err := l.lease(); err == nil {
		st.Trusted = lease.ServerTime
		st.Counter = max(st.Counter, lease.Counter)
	}
	l.advance(now)
	d := l.offline(now)
	if d.Allowed {
		d.Reason, d.Contact = ReasonOK, ReasonOK
		d.Message = fmt.Sprintf("The trial is running on this computer until %s.", res.Ends.UTC().Format("2006-01-02"))
	}
	if err := st.Save(); err != nil {
		d.Warning = "The trial is running, but it could not be saved on this computer; it will be fetched again next time."
		d.Err = err
	}
	return d
}
