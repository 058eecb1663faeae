package clients

import (
	"context"
	"fmt"
	"time"

	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/wire"
)

// Events returns the events of the shop's licenses numbered above after,
// at most max (1 to wire.MaxEvents) of them, in Seq order: empty (not nil)
// when there are none yet. A shop reads its stream by passing the last
// Seq it handled (0 at first); the gateway keeps every event, and only
// the shop's own.
func (c *ShopClient) Events(ctx context.Context, after uint64, max int) ([]Event, error) {
	if max < 1 || max > wire.MaxEvents {
		return nil, fmt.Errorf("%w: %d events asked for, not 1..%d", ErrConfig, max, wire.MaxEvents)
	}
	req := wire.EventsRequest{Nonce: newNonce(), After: after, Max: uint16(max)}
	r, err := c.roundTrip(ctx, req)
	if err != nil {
		return nil, err
	}
	if r.typ != wire.TypeEventsResponse {
		return nil, fmt.Errorf("%w: answer of type %v to an events request", ErrProtocol, r.typ)
	}
	resp, _, err := wire.ParseEventsResponse(r.body)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	if resp.Nonce != req.Nonce {
		return nil, fmt.Errorf("%w: the answer does not echo the request's nonce", ErrProtocol)
	}
	if resp.Events.Count() > max {
		return nil, fmt.Errorf("%w: %d events for the %d asked for", ErrProtocol, resp.Events.Count(), max)
	}
	out := make([]Event, 0, resp.Events.Count())
	for e := range resp.Events.All() {
		// The parser checked that the numbers increase; the first must
		// follow the one asked after.
		if e.Seq <= after {
			return nil, fmt.Errorf("%w: event %d is not after %d", ErrProtocol, e.Seq, after)
		}
		out = append(out, Event{
			Seq: e.Seq, Time: time.Unix(e.Time, 0), Kind: EventKind(e.Kind.String()), License: e.License,
			Order: string(e.OrderID), Product: string(e.Product[:]), Seat: e.Seat, Seats: e.Seats,
			Machine: string(e.Machine), Days: e.Days,
		})
	}
	return out, nil
}

// Order returns the shop's order orderID as the gateway holds it: its
// product, its keys (opened with ShopKey, as Mint opens them) and when it
// was placed; what a retry of the same Mint would return, without the
// shop having to know the order's request. An order id the shop never
// used is a *wire.StatusError of wire.StatusNotFound.
func (c *ShopClient) Order(ctx context.Context, orderID string) (*Order, error) {
	req := wire.OrderRequest{Nonce: newNonce(), OrderID: []byte(orderID)}
	if err := req.Check(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	r, err := c.roundTrip(ctx, req)
	if err != nil {
		return nil, err
	}
	if r.typ != wire.TypeOrderResponse {
		return nil, fmt.Errorf("%w: answer of type %v to an order lookup", ErrProtocol, r.typ)
	}
	defer clear(r.body)
	resp, _, err := wire.ParseOrderResponse(r.body)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	order, err := wire.ParseOrder(resp.Order)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	if resp.Nonce != req.Nonce || string(order.OrderID) != orderID {
		return nil, fmt.Errorf("%w: the answer does not match the order asked for", ErrProtocol)
	}
	// Sealed to the shop's key for the order's own bytes: keys of another
	// order, or a changed order, do not open.
	plain, err := wire.OpenKeys(c.cfg.ShopKey, resp.Order, resp.Sealed)
	if err != nil {
		return nil, fmt.Errorf("%w: the keys do not open with the shop's key for this order", ErrProtocol)
	}
	defer clear(plain)
	product := string(order.Product[:])
	o := &Order{ID: orderID, Product: product, Keys: make([]keygen.Key, order.Count), Created: time.Unix(resp.Created, 0)}
	for i := range o.Keys {
		if o.Keys[i], err = keygen.ParseCanonical(plain[i*keygen.KeyLen : (i+1)*keygen.KeyLen]); err != nil {
			return nil, fmt.Errorf("%w: key %d is malformed", ErrProtocol, i)
		}
		if o.Keys[i].Product().String() != product {
			return nil, fmt.Errorf("%w: key %d is for another product", ErrProtocol, i)
		}
	}
	return o, nil
}
