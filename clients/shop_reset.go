package clients

import (
	"context"
	"fmt"
	"time"

	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/wire"
)

// SeatReset is what a customer's self-service seat reset did.
type SeatReset struct {
	Freed     uint32 `json:"freed"`      // seats freed (at least 1)
	SeatsUsed uint32 `json:"seats_used"` // the license's seats in use afterwards
	Seats     uint32 `json:"seats"`
	// ResetsLeft is how many more self-service resets the license has in
	// the gateway's 30-day window now.
	ResetsLeft int `json:"resets_left"`
	// NextReset, when no reset is left, is when the next becomes possible;
	// zero otherwise.
	NextReset time.Time `json:"next_reset,omitzero"`
}

// ResetSeat frees, on the customer's behalf, the seat the machine named
// hostname (as KeyOp's status lists the machines) holds on the license of
// key, which this shop must have sold; an empty hostname frees every seat.
// The gateway allows a few such resets per license in 30 days: past them
// the error is a *wire.StatusError of StatusResetLimit whose message says
// when the next is possible. Retrying after an answer was lost may be
// refused StatusNotActivated: the seat was freed by the first try.
func (c *ShopClient) ResetSeat(ctx context.Context, key keygen.Key, hostname string) (*SeatReset, error) {
	req := wire.SeatResetRequest{Nonce: newNonce(), Key: key, Hostname: []byte(hostname)}
	if hostname == "" {
		req.Flags = wire.SeatResetAll
	}
	if err := req.Check(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	r, err := c.roundTrip(ctx, req)
	if err != nil {
		return nil, err
	}
	if r.typ != wire.TypeSeatResetResponse {
		return nil, fmt.Errorf("%w: answer of type %v to a seat reset", ErrProtocol, r.typ)
	}
	resp, _, err := wire.ParseSeatResetResponse(r.body)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	if resp.Nonce != req.Nonce {
		return nil, fmt.Errorf("%w: the answer does not echo the request's nonce", ErrProtocol)
	}
	out := &SeatReset{Freed: resp.Freed, SeatsUsed: resp.SeatsUsed, Seats: resp.Seats, ResetsLeft: int(resp.ResetsLeft)}
	if resp.NextReset != 0 {
		out.NextReset = time.Unix(resp.NextReset, 0).UTC()
	}
	return out, nil
}
