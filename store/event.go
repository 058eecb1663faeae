package store

import (
	"fmt"

	"github.com/tollgate/tollgate/wire"
)

// EventKind says what happened to a license a shop sold: the wire
// format's event kinds (wire.EventKind), so that an event passes from a
// record to a response without conversion. Part of the on-disk format.
type EventKind = wire.EventKind

// Event kinds, as the wire format numbers them.
const (
	EventActivated   = wire.EventActivated
	EventDeactivated = wire.EventDeactivated
	EventFlagged     = wire.EventFlagged
	EventSuspended   = wire.EventSuspended
	EventResumed     = wire.EventResumed
	EventRevoked     = wire.EventRevoked
	EventRenewed     = wire.EventRenewed
	EventExpiring    = wire.EventExpiring
)

// MaxEventsPage is the most events one read of a shop's stream returns
// (Backend.ShopEvents).
const MaxEventsPage = 1000

// Event is one thing that happened to a license a shop sold, recorded in
// the same commit as the change itself, in the shop's stream: Seq runs
// from 1 without gaps in each shop's stream, in the order of the commits.
// It never holds a license key: the license is named by its id.
type Event struct {
	Seq     uint64    `json:"seq"`
	Time    int64     `json:"time"` // Unix seconds
	Kind    EventKind `json:"kind"`
	Shop    string    `json:"shop"`
	License LicenseID `json:"license"`
	Order   string    `json:"order,omitempty"`
	Product string    `json:"product,omitempty"`
	// Seat and Seats: activated and deactivated, the seats in use after
	// the change and the license's seats.
	Seat  uint32 `json:"seat,omitempty"`
	Seats uint32 `json:"seats,omitempty"`
	// Machine is the hostname the (de)activating machine's app reported.
	Machine string `json:"machine,omitempty"`
	// Days: expiring, the whole days left.
	Days uint16 `json:"days,omitempty"`
}

// Check reports whether the event can be recorded: a known kind, a shop.
func (e *Event) Check() error {
	if !e.Kind.Known() {
		return fmt.Errorf("%w: event kind %d", ErrInvalid, uint8(e.Kind))
	}
	if e.Shop == "" || len(e.Shop) > 64 {
		return fmt.Errorf("%w: an event's shop name must be 1 to 64 bytes (Shop.Check)", ErrInvalid)
	}
	return nil
}

// CheckEventsPage reports whether a backend may answer ShopEvents(shop,
// after, limit): a shop, and a limit of 1 to MaxEventsPage (else
// ErrInvalid). Backends call it first.
func CheckEventsPage(shop string, limit int) error {
	if shop == "" || len(shop) > 64 {
		return fmt.Errorf("%w: a shop name must be 1 to 64 bytes (Shop.Check)", ErrInvalid)
	}
	if limit < 1 || limit > MaxEventsPage {
		return fmt.Errorf("%w: %d events asked for, not 1..%d", ErrInvalid, limit, MaxEventsPage)
	}
	return nil
}

// CheckExpiring reports whether e may be appended by AppendExpiring: an
// expiring event of a shop's license, at a time (else ErrInvalid).
func CheckExpiring(e *Event) error {
	if e.Kind != EventExpiring {
		return fmt.Errorf("%w: a %v event is recorded by Update, not AppendExpiring", ErrInvalid, e.Kind)
	}
	if e.Time <= 0 {
		return fmt.Errorf("%w: an expiring event without a time", ErrInvalid)
	}
	return e.Check()
}

// AppendExpiring appends the expiring event e to its shop's stream unless
// one of the license for the same end was appended before
// (Backend.AppendExpiring).
func (s *Store) AppendExpiring(e Event, end int64) (bool, error) {
	if err := CheckExpiring(&e); err != nil {
		return false, err
	}
	return s.b.AppendExpiring(e, end)
}

// ShopEvents returns the events of shop with Seq above after, in order, at
// most limit (1 to MaxEventsPage) of them (Backend.ShopEvents).
func (s *Store) ShopEvents(shop string, after uint64, limit int) ([]Event, error) {
	if err := CheckEventsPage(shop, limit); err != nil {
		return nil, err
	}
	return s.b.ShopEvents(shop, after, limit)
}
