package service

import (
	"errors"
	"fmt"

	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// A shop follows what happens to the licenses it sold through its event
// stream (store.Event, recorded by Tx.Record in the commit of each
// change), and looks up its orders again by id. What is recorded:
//
//   - activated: a machine took a new seat (a re-activation of the same
//     install records nothing); Seat is the seats in use after it;
//   - deactivated: the app gave its seat back, an operator freed one
//     machine's seat, or an operator's reset freed every seat: one event
//     per seat freed, Seat counting down to 0;
//   - flagged: the license was flagged as shared (too many machines or
//     networks, or a cloned install);
//   - suspended, resumed, revoked, renewed: by the shop's key operation or
//     the operator's, alike.

// recordSeat records an activated or deactivated event of the machine
// hostname in tx, with the seats in use after the change.
func recordSeat(tx *store.Tx, k store.EventKind, hostname string) {
	if tx.License.Policy.Floating {
		// Seats held, not machines bound (floating.go).
		recordFloatingSeat(tx, k, hostname, tx.Now.Unix())
		return
	}
	tx.Record(store.Event{Kind: k, Seat: uint32(len(tx.Activations)), Seats: tx.License.Seats, Machine: hostname})
}

// Events returns shop sh's events after the one numbered after, at most
// max (1 to wire.MaxEvents) of them, in order, as the shop channel
// carries them; none when there are none yet. A shop sees its own stream
// only.
func (s *Service) Events(sh *store.Shop, after uint64, max int) (wire.Events, error) {
	if max < 1 || max > wire.MaxEvents {
		return wire.Events{}, refusef(KindBadRequest, "ask for 1 to %d events", wire.MaxEvents)
	}
	evs, err := s.st.ShopEvents(sh.Name, after, max)
	if err != nil {
		return wire.Events{}, s.failed(err, "events")
	}
	var out wire.Events
	for i := range evs {
		if err := out.Add(wireEvent(&evs[i])); err != nil {
			// Not an event Tx.Record made from a shop's order.
			err = fmt.Errorf("%w: event %d of shop %s: %w", store.ErrCorrupt, evs[i].Seq, sh.Name, err)
			return wire.Events{}, s.failed(err, "events")
		}
	}
	return out, nil
}

// wireEvent returns e as the shop channel carries it.
func wireEvent(e *store.Event) wire.Event {
	w := wire.Event{Seq: e.Seq, Time: e.Time, Kind: e.Kind, License: e.License, Seat: e.Seat, Seats: e.Seats, Days: e.Days,
		OrderID: []byte(e.Order), Machine: []byte(e.Machine)}
	if len(e.Product) == wire.ProductSize {
		copy(w.Product[:], e.Product)
	} // else a zero product code, which fails the event's check
	return w
}

// ShopOrder is one of a shop's orders as the shop channel answers a
// lookup: its canonical bytes (wire.MintRequest.AppendOrder), when it was
// placed, and its keys sealed to the shop as its mint answered them.
type ShopOrder struct {
	Request []byte
	Created int64
	Sealed  []byte
}

// errUnknownOrder is the refusal of an order id the shop never used.
var errUnknownOrder = refuse(KindNotFound, "this shop placed no order of this id")

// Order returns shop sh's order of id id: what a retry of its mint would
// answer, with the order's own bytes, so that the shop opens the keys
// without knowing the request. Another shop's order is not found, exactly
// like one never placed.
func (s *Service) Order(sh *store.Shop, id string) (ShopOrder, error) {
	o, err := s.st.OrderByID(sh.Name, id)
	if errors.Is(err, store.ErrNotFound) {
		return ShopOrder{}, errUnknownOrder
	}
	if err != nil {
		return ShopOrder{}, s.failed(err, "order")
	}
	if _, err := wire.ParseOrder(o.Request); err != nil {
		return ShopOrder{}, s.failed(fmt.Errorf("%w: order %q of shop %s: %w", store.ErrCorrupt, id, sh.Name, err), "order")
	}
	sealed, err := s.sealedForShop(sh, &o)
	if err != nil {
		return ShopOrder{}, s.failed(err, "order")
	}
	return ShopOrder{Request: o.Request, Created: o.Created, Sealed: sealed}, nil
}

// MaxExpiringDays bounds how long before a license ends its shop is told
// (NoteExpiring): the days of an expiring event fit its wire field, and a
// year covers any notice a shop gives.
const MaxExpiringDays = 365

// NoteExpiring appends an expiring event to the stream of each registered
// shop for each of its active licenses that ends within the next within
// days (1 to MaxExpiringDays): once per license and end, however often it
// runs and on however many gateways of one database
// (store.AppendExpiring), so a renewal that moves the end is told again.
// Days is the whole days left. It returns how many events it appended. A
// license of a shop since deleted is not looked at. It is an operator's
// query, paged: the cost of Backend.Licenses for each shop.
func (s *Service) NoteExpiring(within int) (int, error) {
	if within < 1 || within > MaxExpiringDays {
		return 0, fmt.Errorf("%w: expiring notice of %d days, not 1..%d", store.ErrConfig, within, MaxExpiringDays)
	}
	shops, err := s.st.Shops()
	if err != nil {
		return 0, fmt.Errorf("service: expiring licenses: %w", err)
	}
	now := s.now().Unix()
	active := store.StateActive
	added := 0
	for _, sh := range shops {
		q := store.LicenseQuery{Shop: sh.Name, State: &active, ExpiringBefore: now + int64(within)*86400, Limit: 1000}
		for {
			ls, next, err := s.st.Licenses(q)
			if err != nil {
				return added, fmt.Errorf("service: expiring licenses of shop %s: %w", sh.Name, err)
			}
			for i := range ls {
				l := &ls[i]
				end := l.Expiry()
				if end <= now {
					continue // ended already: nothing to warn of
				}
				e := store.Event{Kind: store.EventExpiring, Time: now, Shop: l.Shop, License: l.ID, Order: l.Order, Product: l.Product,
					Days: uint16((end - now) / 86400)}
				ok, err := s.st.AppendExpiring(e, end)
				if err != nil {
					return added, fmt.Errorf("service: expiring event of license %s: %w", LicenseRef(l.ID), err)
				}
				if ok {
					added++
				}
			}
			if next == "" {
				break
			}
			q.After = next
		}
	}
	return added, nil
}
