package wire

import (
	"encoding/binary"
	"fmt"
	"iter"
	"strconv"
)

// EventKind says what happened to a license a shop sold. The values are
// part of the wire format (and of the gateways' event records): never
// renumber one, only add.
type EventKind uint8

// Event kinds. Part of the wire format.
const (
	EventActivated   EventKind = 1 // a machine took a seat
	EventDeactivated EventKind = 2 // a machine gave its seat back, or an operator freed it
	EventFlagged     EventKind = 3 // the key looks shared among people
	EventSuspended   EventKind = 4
	EventResumed     EventKind = 5
	EventRevoked     EventKind = 6
	EventRenewed     EventKind = 7
	EventExpiring    EventKind = 8 // the license ends within Days days
)

var eventKindNames = [...]string{
	EventActivated:   "activated",
	EventDeactivated: "deactivated",
	EventFlagged:     "flagged",
	EventSuspended:   "suspended",
	EventResumed:     "resumed",
	EventRevoked:     "revoked",
	EventRenewed:     "renewed",
	EventExpiring:    "expiring",
}

// String returns the kind's name, such as "activated": the name the shop
// client and its bridge give it.
func (k EventKind) String() string {
	if k.Known() {
		return eventKindNames[k]
	}
	return "EventKind(" + strconv.Itoa(int(k)) + ")"
}

// Known reports whether k is a kind this version of the protocol defines.
func (k EventKind) Known() bool { return int(k) < len(eventKindNames) && eventKindNames[k] != "" }

// MaxEvents is the most events one EventsResponse carries, and the most an
// EventsRequest may ask for. Part of the wire format. At the largest
// event (eventMaxLen, 178 bytes) a full response is about 178 KB: within
// MaxFrameSize, so the gateway never has to return fewer than asked for
// because of the frame's size.
const MaxEvents = 1000

// EventsRequest asks the gateway, on behalf of a shop, for the events of
// its licenses recorded after the one numbered After: at most Max of them.
//
// Encoding (part of the wire format):
//
//	 0              16            24         26
//	+--------------+-------------+----------+
//	|  nonce (16)  |  after (8)  | max (2)  |
//	+--------------+-------------+----------+
//	                               1..MaxEvents
type EventsRequest struct {
	Nonce [NonceSize]byte
	After uint64
	Max   uint16
}

const eventsRequestLen = NonceSize + 8 + 2

// ParseEventsRequest parses a frame body, which must hold exactly one
// EventsRequest.
func ParseEventsRequest(b []byte) (EventsRequest, int, error) {
	var m EventsRequest
	d := decoder{b: b}
	d.copy(m.Nonce[:])
	m.After = d.u64()
	m.Max = d.u16()
	if err := d.end(); err != nil {
		return EventsRequest{}, 0, err
	}
	if err := m.Check(); err != nil {
		return EventsRequest{}, 0, err
	}
	return m, len(b), nil
}

// Check reports whether the parser would accept m's encoding.
func (m EventsRequest) Check() error {
	return checkLen("events asked for", int(m.Max), 1, MaxEvents)
}

// Type returns TypeEventsRequest.
func (EventsRequest) Type() Type { return TypeEventsRequest }

// Len returns the encoded size.
func (EventsRequest) Len() int { return eventsRequestLen }

// Append appends the encoding of m to b.
func (m EventsRequest) Append(b []byte) []byte {
	b = append(b, m.Nonce[:]...)
	b = binary.BigEndian.AppendUint64(b, m.After)
	return binary.BigEndian.AppendUint16(b, m.Max)
}

// Event is one event of a shop's stream.
//
// Encoding (part of the wire format):
//
//	 0          8           16         17             33             38
//	+----------+-----------+----------+--------------+--------------+
//	| seq (8)  | time (8)  | kind (1) | license (16) | product (5)  |
//	+----------+-----------+----------+--------------+--------------+
//	 38         42          46         48      49          49+n    50+n
//	+----------+-----------+----------+-------+-----------+-------+-----------+
//	| seat (4) | seats (4) | days (2) |  len  | order id  |  len  |  machine  |
//	+----------+-----------+----------+-------+-----------+-------+-----------+
//	                                    u8      1..64       u8      0..64
//
// Seq is 1 or more; time is Unix seconds; kind is a known EventKind; the
// product is a product code (0-9A-Z); the order id is printable ASCII as
// a MintRequest's; the machine is a hostname (UTF-8 without control
// characters). Seat, seats and machine are set for activated and
// deactivated events only, and days for expiring ones only: a field
// another kind does not use is zero (else ErrNonCanonical).
type Event struct {
	Seq     uint64
	Time    int64
	Kind    EventKind
	License [LicenseIDSize]byte
	Product [ProductSize]byte
	Seat    uint32
	Seats   uint32
	Days    uint16
	OrderID []byte // points into the input
	Machine []byte // points into the input
}

const (
	eventFixed  = 8 + 8 + 1 + LicenseIDSize + ProductSize + 4 + 4 + 2 + 1 + 1
	eventMaxLen = eventFixed + MaxOrderIDLen + MaxHostnameLen
)

// Check reports whether the parser would accept e's encoding.
func (e *Event) Check() error {
	if e.Seq == 0 {
		return fmt.Errorf("%w: event sequence number 0", ErrInvalidField)
	}
	if err := checkTime("event time", e.Time); err != nil {
		return err
	}
	if !e.Kind.Known() {
		return fmt.Errorf("%w: event kind %d", ErrInvalidField, uint8(e.Kind))
	}
	if err := checkKeyChars("event product", e.Product[:]); err != nil {
		return err
	}
	if err := checkLen("event order id", len(e.OrderID), 1, MaxOrderIDLen); err != nil {
		return err
	}
	if err := checkPrintable("event order id", e.OrderID); err != nil {
		return err
	}
	if err := checkLen("event machine", len(e.Machine), 0, MaxHostnameLen); err != nil {
		return err
	}
	if err := checkText("event machine", e.Machine); err != nil {
		return err
	}
	seats := e.Kind == EventActivated || e.Kind == EventDeactivated
	if !seats && (e.Seat != 0 || e.Seats != 0 || len(e.Machine) != 0) {
		return fmt.Errorf("%w: a %v event with seats or a machine", ErrNonCanonical, e.Kind)
	}
	if e.Kind != EventExpiring && e.Days != 0 {
		return fmt.Errorf("%w: a %v event with days", ErrNonCanonical, e.Kind)
	}
	return nil
}

// Len returns the encoded size.
func (e *Event) Len() int { return eventFixed + len(e.OrderID) + len(e.Machine) }

// Append appends the encoding of e to b.
func (e *Event) Append(b []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, e.Seq)
	b = binary.BigEndian.AppendUint64(b, uint64(e.Time))
	b = append(b, byte(e.Kind))
	b = append(b, e.License[:]...)
	b = append(b, e.Product[:]...)
	b = binary.BigEndian.AppendUint32(b, e.Seat)
	b = binary.BigEndian.AppendUint32(b, e.Seats)
	b = binary.BigEndian.AppendUint16(b, e.Days)
	b = append(b, byte(len(e.OrderID)))
	b = append(b, e.OrderID...)
	b = append(b, byte(len(e.Machine)))
	return append(b, e.Machine...)
}

func (d *decoder) event() Event {
	var e Event
	e.Seq = d.u64()
	e.Time = d.i64()
	e.Kind = EventKind(d.u8())
	d.copy(e.License[:])
	d.copy(e.Product[:])
	e.Seat = d.u32()
	e.Seats = d.u32()
	e.Days = d.u16()
	e.OrderID = d.bytes8()
	e.Machine = d.bytes8()
	return e
}

// EventsResponse answers an EventsRequest with the shop's events after the
// one asked for, in order: none when there are none yet.
//
// Encoding (part of the wire format):
//
//	 0              16          18
//	+--------------+-----------+---------------------------+
//	|  nonce (16)  | count (2) | count × Event, in order   |
//	+--------------+-----------+---------------------------+
//	                 0..MaxEvents
//
// The events' sequence numbers strictly increase.
type EventsResponse struct {
	Nonce  [NonceSize]byte
	Events Events
}

// ParseEventsResponse parses a frame body, which must hold exactly one
// EventsResponse. The events point into b.
func ParseEventsResponse(b []byte) (EventsResponse, int, error) {
	var m EventsResponse
	d := decoder{b: b}
	d.copy(m.Nonce[:])
	m.Events = sub(&d, "events", parseEvents)
	if err := d.end(); err != nil {
		return EventsResponse{}, 0, err
	}
	return m, len(b), nil
}

// Check reports whether the parser would accept m's encoding. (Events are
// valid by construction.)
func (m EventsResponse) Check() error { return nil }

// Type returns TypeEventsResponse.
func (EventsResponse) Type() Type { return TypeEventsResponse }

// Len returns the encoded size.
func (m EventsResponse) Len() int { return NonceSize + m.Events.Len() }

// Append appends the encoding of m to b.
func (m EventsResponse) Append(b []byte) []byte {
	b = append(b, m.Nonce[:]...)
	return m.Events.Append(b)
}

// Events is the list of events in an EventsResponse. It holds the
// encoding itself: a parsed value points into the input. The zero value
// is the empty list; Add builds one.
type Events struct {
	n    uint16
	last uint64 // the last event's sequence number
	raw  []byte // the events after the count
}

// parseEvents parses an encoded list (count and events) at the start of b
// and returns it with the number of bytes read. The result points into b.
func parseEvents(b []byte) (Events, int, error) {
	d := decoder{b: b}
	n := d.u16()
	if d.err == nil && n > MaxEvents {
		return Events{}, 0, fmt.Errorf("%w: %d events, more than %d", ErrInvalidField, n, MaxEvents)
	}
	var last uint64
	for range int(n) {
		e := d.event()
		if d.err != nil {
			return Events{}, 0, d.err
		}
		if err := e.follows(last); err != nil {
			return Events{}, 0, err
		}
		last = e.Seq
	}
	if d.err != nil {
		return Events{}, 0, d.err
	}
	return Events{n: n, last: last, raw: b[2:d.off:d.off]}, d.off, nil
}

// follows checks e, the event after the one numbered last.
func (e *Event) follows(last uint64) error {
	if err := e.Check(); err != nil {
		return err
	}
	if e.Seq <= last {
		return fmt.Errorf("%w: event sequence numbers do not increase", ErrInvalidField)
	}
	return nil
}

// Add appends e to the list. It fails, leaving the list as it was, if the
// list is full, e would not parse, or e's sequence number does not follow
// the last one's. Like append, it may reuse the spare capacity of a list
// it was called on before.
func (l *Events) Add(e Event) error {
	if l.n == MaxEvents {
		return fmt.Errorf("%w: more than %d events", ErrInvalidField, MaxEvents)
	}
	if err := e.follows(l.last); err != nil {
		return err
	}
	l.raw = e.Append(l.raw)
	l.n++
	l.last = e.Seq
	return nil
}

// Count returns the number of events.
func (l Events) Count() int { return int(l.n) }

// All yields the events in order. Their order ids and machines point into
// the list's encoding (for a parsed list, into the input): copy them to
// keep them.
func (l Events) All() iter.Seq[Event] {
	return func(yield func(Event) bool) {
		d := decoder{b: l.raw}
		for range int(l.n) {
			e := d.event()
			if d.err != nil || !yield(e) {
				return // an error cannot happen: parsing and Add check the lengths
			}
		}
	}
}

// Len returns the encoded size.
func (l Events) Len() int { return 2 + len(l.raw) }

// Append appends the encoding of l to b.
func (l Events) Append(b []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, l.n)
	return append(b, l.raw...)
}
