package clients

import (
	"time"

	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/wire"
)

// EventKind names what happened to a license a shop sold. The names are
// part of the shop channel's contract and of the bridge's webhooks.
type EventKind string

// The kinds of event a gateway records for a shop.
const (
	EventActivated   EventKind = "activated"   // a machine took a seat
	EventDeactivated EventKind = "deactivated" // a machine gave its seat back, or an operator freed it
	EventFlagged     EventKind = "flagged"     // the key looks shared among people
	EventSuspended   EventKind = "suspended"
	EventResumed     EventKind = "resumed"
	EventRevoked     EventKind = "revoked"
	EventRenewed     EventKind = "renewed"
	EventExpiring    EventKind = "expiring" // the license ends within Days days
)

// Event is one thing that happened to a license the shop sold, as the
// gateway recorded it: durably, in the shop's order, numbered from 1
// without gaps (Seq), so that a reader resumes after the last Seq it
// handled (ShopClient.Events).
type Event struct {
	Seq     uint64
	Time    time.Time
	Kind    EventKind
	License [wire.LicenseIDSize]byte // the license's id, never its key
	Order   string                   // the shop's order the license was sold in
	Product string
	// Seat and Seats: activated and deactivated, the seats in use after
	// the change and the license's seats.
	Seat, Seats uint32
	// Machine is the activating or deactivating machine's hostname, as
	// its app reported it.
	Machine string
	// Days: expiring, the whole days left.
	Days uint16
}

// Order is an order a shop placed, as the gateway holds it: what a retry
// of the same mint would answer.
type Order struct {
	ID      string
	Product string
	Keys    []keygen.Key
	Created time.Time
}
