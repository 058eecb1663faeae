package clients

import (
	"context"
	"fmt"
	"time"

	"github.com/tollgate/tollgate/wire"
)

// Floating (concurrent) licenses. A floating license's lease
// (wire.LevelFloating) is a seat checked out until its LeaseExpiry: valid
// offline until then and never after. While a Licensee holds one, a
// goroutine of its own heartbeats (a server check that extends the
// checkout) every third of the checkout time, and Close checks the seat
// in, so that another machine may take it at once. A machine whose
// heartbeats stop (killed, unplugged) loses its seat when its checkout
// runs out, on the server as in its own lease. A checkout refused because
// every seat is held is ReasonNoSeat, with Decision.RetryAt set to when
// the first held seat runs out.

// floating is a Licensee's heartbeat of a floating seat.
type floating struct {
	cancel context.CancelFunc // stops the heartbeat; nil when none runs
	done   chan struct{}      // closed when the heartbeat has stopped
	closed bool               // Close was called: no heartbeat starts again
}

// minHeartbeat is the shortest wait between heartbeats, whatever the
// lease says (a lease a few seconds from its end, a clock far off).
const minHeartbeat = time.Second

// heartbeatDue returns when a floating lease should be renewed: a third
// into its checkout, so that two heartbeats may fail before it runs out.
func heartbeatDue(lease *wire.Lease) int64 {
	return lease.Issued + (lease.LeaseExpiry-lease.Issued)/3
}

// heartbeatIfFloating starts the heartbeat when the saved lease is a
// floating seat's and none runs. l.mu is held.
func (l *Licensee) heartbeatIfFloating() {
	if l.float.cancel != nil || l.float.closed {
		return
	}
	lease, err := l.lease()
	if err != nil || lease.Level != wire.LevelFloating {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	l.float.cancel, l.float.done = cancel, make(chan struct{})
	go l.heartbeat(ctx, l.float.done)
}

// stopHeartbeat stops the heartbeat, without waiting for it (it may be
// waiting for l.mu, which the caller holds), and returns what is closed
// when it has stopped (nil: none ran).
func (l *Licensee) stopHeartbeat() chan struct{} {
	if l.float.cancel == nil {
		return nil
	}
	l.float.cancel()
	done := l.float.done
	l.float.cancel, l.float.done = nil, nil
	return done
}

// heartbeat checks with the server whenever the floating lease is due for
// renewal, until ctx is cancelled or the license is gone from the state.
func (l *Licensee) heartbeat(ctx context.Context, done chan struct{}) {
	defer close(done)
	for {
		wait, ok := l.nextHeartbeat()
		if !ok {
			return
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		cctx, cancel := context.WithTimeout(ctx, l.cfg.Timeout)
		d := l.check(cctx, checkNow)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if f := l.cfg.OnHeartbeat; f != nil {
			f(l.localized(d))
		}
	}
}

// nextHeartbeat returns how long to wait before the next heartbeat, and
// false when there is no license to keep.
func (l *Licensee) nextHeartbeat() (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.st.HasLicense {
		return 0, false
	}
	lease, err := l.lease()
	if err != nil || lease.Level != wire.LevelFloating || lease.LeaseExpiry <= lease.Issued {
		// The seat was lost (refused, checked in elsewhere): try again
		// after the usual interval of the last lease, or a minute.
		return time.Minute, true
	}
	period := time.Duration(lease.LeaseExpiry-lease.Issued) * time.Second / 3
	wait := time.Duration(heartbeatDue(&lease)-l.cfg.Now().Unix()) * time.Second
	if wait > period {
		wait = period // a clock set back: never wait past a heartbeat's period
	}
	return max(wait, minHeartbeat), true
}

// checkIn stops the heartbeat and checks in the floating seat this
// install holds, if it holds one: the server frees it at once, and the
// saved lease is dropped (a new checkout is one Check away, without the
// key). When the server cannot be reached the seat runs out by itself at
// the lease's end.
func (l *Licensee) checkIn() {
	l.mu.Lock()
	l.float.closed = true
	done := l.stopHeartbeat()
	l.mu.Unlock()
	if done != nil {
		<-done // at most one server request: cancelled with the heartbeat
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.st.HasLicense {
		return
	}
	lease, err := l.lease()
	if err != nil || lease.Level != wire.LevelFloating || l.cfg.Now().Unix() >= lease.LeaseExpiry {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.cfg.Timeout)
	defer cancel()
	if err := l.client.CheckIn(ctx, l.st.LicenseID); err != nil {
		return
	}
	l.st.Lease = nil
	l.st.Save()
}

// CheckIn frees the floating seat this installation holds on license, at
// once; the installation stays bound to the license, and checks a seat out
// again with its next validation, without the key.
func (c *Client) CheckIn(ctx context.Context, license [wire.LicenseIDSize]byte) error {
	req := wire.DeactivateRequest{Nonce: newNonce(), LicenseID: license, Flags: wire.DeactivateCheckIn}
	r, err := c.roundTrip(ctx, req)
	if err != nil {
		return err
	}
	resp, _, err := wire.ParseDeactivateResponse(r.body)
	if err != nil || r.typ != wire.TypeDeactivateResponse {
		return fmt.Errorf("%w: bad answer to a check-in", ErrProtocol)
	}
	if resp.Nonce != req.Nonce {
		return fmt.Errorf("%w: the answer does not echo the request's nonce", ErrProtocol)
	}
	return nil
}
