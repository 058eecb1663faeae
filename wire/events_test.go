package wire

import (
	"errors"
	"slices"
	"testing"
)

var (
	testEvent = Event{Seq: 1, Time: 0x67000000, Kind: EventActivated, License: testLicenseID, Product: testProduct,
		Seat: 1, Seats: 2, OrderID: []byte("A-1001"), Machine: []byte("host")}
	testEvent2 = Event{Seq: 2, Time: 0x67000010, Kind: EventExpiring, License: testLicenseID, Product: testProduct,
		Days: 14, OrderID: []byte("A-1001")}
)

var testEventsRequest = EventsRequest{Nonce: testNonce, After: 41, Max: 100}

func TestEventsRequest(t *testing.T) {
	testCodec(t, ParseEventsRequest, testEventsRequest, `
		000102030405060708090a0b0c0d0e0f  # nonce
		0000000000000029                  # after 41
		0064                              # at most 100
	`)
}

func TestEventsRequestBounds(t *testing.T) {
	testBounds(t, ParseEventsRequest, testEventsRequest, []bound[EventsRequest]{
		{"max 1", func(m *EventsRequest) { m.Max = 1 }, nil},
		{"max MaxEvents", func(m *EventsRequest) { m.Max = MaxEvents }, nil},
		{"max 0", func(m *EventsRequest) { m.Max = 0 }, ErrInvalidField},
		{"max MaxEvents+1", func(m *EventsRequest) { m.Max = MaxEvents + 1 }, ErrInvalidField},
		{"after 0", func(m *EventsRequest) { m.After = 0 }, nil},
		{"after max", func(m *EventsRequest) { m.After = ^uint64(0) }, nil},
	})
}

func eventList(t testing.TB, evs ...Event) Events {
	t.Helper()
	var l Events
	for i, e := range evs {
		if err := l.Add(e); err != nil {
			t.Fatalf("Add %d: %v", i, err)
		}
	}
	return l
}

func testEventsResponse(t testing.TB) EventsResponse {
	return EventsResponse{Nonce: testNonce, Events: eventList(t, testEvent, testEvent2)}
}

func TestEventsResponse(t *testing.T) {
	testCodec(t, ParseEventsResponse, testEventsResponse(t), `
		000102030405060708090a0b0c0d0e0f  # nonce
		0002                              # 2 events
		0000000000000001                  # seq 1
		0000000067000000                  # time
		01                                # activated
		a0a1a2a3a4a5a6a7a8a9aaabacadaeaf  # license id
		31414a5332                        # product "1AJS2"
		00000001 00000002                 # seat 1 of 2
		0000                              # days
		06 412d31303031                   # order id "A-1001"
		04 686f7374                       # machine "host"
		0000000000000002                  # seq 2
		0000000067000010                  # time
		08                                # expiring
		a0a1a2a3a4a5a6a7a8a9aaabacadaeaf  # license id
		31414a5332                        # product "1AJS2"
		00000000 00000000                 # no seats
		000e                              # 14 days
		06 412d31303031                   # order id "A-1001"
		00                                # no machine
	`)
	var got []Event
	for e := range testEventsResponse(t).Events.All() {
		got = append(got, e)
	}
	if len(got) != 2 || got[0].Seq != 1 || string(got[0].Machine) != "host" || got[1].Days != 14 || got[1].Kind != EventExpiring {
		t.Fatalf("All() = %+v", got)
	}
}

func TestEventsResponseEmpty(t *testing.T) {
	testCodec(t, ParseEventsResponse, EventsResponse{Nonce: testNonce}, `
		000102030405060708090a0b0c0d0e0f  # nonce
		0000                              # no events
	`)
}

// TestEventBounds: an event the parser refuses is refused by Add as well,
// and one it accepts round-trips.
func TestEventBounds(t *testing.T) {
	cases := []struct {
		name string
		edit func(e *Event)
		want error
	}{
		{"deactivated to seat 0", func(e *Event) { e.Kind, e.Seat = EventDeactivated, 0 }, nil},
		{"machine 64 bytes", func(e *Event) { e.Machine = repeat('m', MaxHostnameLen) }, nil},
		{"machine UTF-8", func(e *Event) { e.Machine = []byte("höst") }, nil},
		{"order id 64 bytes", func(e *Event) { e.OrderID = repeat('o', MaxOrderIDLen) }, nil},
		{"revoked", func(e *Event) { e.Kind, e.Seat, e.Seats, e.Machine = EventRevoked, 0, 0, nil }, nil},
		{"seq 0", func(e *Event) { e.Seq = 0 }, ErrInvalidField},
		{"negative time", func(e *Event) { e.Time = -1 }, ErrInvalidField},
		{"kind 0", func(e *Event) { e.Kind = 0 }, ErrInvalidField},
		{"kind 9", func(e *Event) { e.Kind = EventExpiring + 1 }, ErrInvalidField},
		{"product lower case", func(e *Event) { e.Product[0] = 'a' }, ErrInvalidField},
		{"order id empty", func(e *Event) { e.OrderID = nil }, ErrInvalidField},
		{"order id 65 bytes", func(e *Event) { e.OrderID = repeat('o', MaxOrderIDLen+1) }, ErrInvalidField},
		{"order id control", func(e *Event) { e.OrderID = []byte{'A', 0} }, ErrInvalidField},
		{"machine 65 bytes", func(e *Event) { e.Machine = repeat('m', MaxHostnameLen+1) }, ErrInvalidField},
		{"machine control", func(e *Event) { e.Machine = []byte("a\nb") }, ErrInvalidField},
		{"machine not UTF-8", func(e *Event) { e.Machine = []byte{0xff} }, ErrInvalidField},
		{"revoked with seats", func(e *Event) { e.Kind, e.Machine = EventRevoked, nil }, ErrNonCanonical},
		{"flagged with a machine", func(e *Event) { e.Kind, e.Seat, e.Seats = EventFlagged, 0, 0 }, ErrNonCanonical},
		{"activated with days", func(e *Event) { e.Days = 1 }, ErrNonCanonical},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := testEvent
			e.Product = testEvent.Product
			c.edit(&e)
			if err := e.Check(); !errors.Is(err, c.want) {
				t.Fatalf("Check() = %v; want %v", err, c.want)
			}
			body := append(testNonce[:], 0, 1)
			body = e.Append(body)
			m, n, err := ParseEventsResponse(body)
			if !errors.Is(err, c.want) {
				t.Fatalf("parse: %v; want %v", err, c.want)
			}
			var l Events
			addErr := l.Add(e)
			if !errors.Is(addErr, c.want) {
				t.Fatalf("Add: %v; want %v", addErr, c.want)
			}
			if c.want != nil {
				if n != 0 || !isZero(m) || l.Count() != 0 {
					t.Fatalf("refused, yet n = %d, message or list not empty", n)
				}
				return
			}
			if got := (EventsResponse{Nonce: testNonce, Events: l}).Append(nil); !slices.Equal(got, body) {
				t.Fatalf("Add then Append differs from the encoding at byte %d", firstDiff(got, body))
			}
		})
	}
}

// TestEventsOrder: sequence numbers must increase within a response, and
// a count beyond MaxEvents or the body is refused before anything is read.
func TestEventsOrder(t *testing.T) {
	var l Events
	if err := l.Add(testEvent2); err != nil {
		t.Fatal(err)
	}
	for _, seq := range []uint64{1, 2} {
		e := testEvent
		e.Seq = seq
		if err := l.Add(e); !errors.Is(err, ErrInvalidField) || l.Count() != 1 {
			t.Fatalf("Add of seq %d after 2 = %v (count %d); want ErrInvalidField, list unchanged", seq, err, l.Count())
		}
		body := append(testNonce[:], 0, 2)
		body = testEvent2.Append(body)
		body = e.Append(body)
		if _, _, err := ParseEventsResponse(body); !errors.Is(err, ErrInvalidField) {
			t.Fatalf("parse of seq %d after 2 = %v; want ErrInvalidField", seq, err)
		}
	}
	testBadBytes(t, ParseEventsResponse, []badBytes{
		{"count MaxEvents+1", "000102030405060708090a0b0c0d0e0f 03e9", ErrInvalidField},
		{"count beyond the body", "000102030405060708090a0b0c0d0e0f 0002" + eventHex, ErrShort},
	})
}

const eventHex = `0000000000000002 0000000067000010 08 a0a1a2a3a4a5a6a7a8a9aaabacadaeaf 31414a5332 00000000 00000000 000e 06 412d31303031 00`

// maxEventList has MaxEvents events of the largest size.
func maxEventList(t testing.TB) Events {
	var l Events
	for i := range MaxEvents {
		e := Event{Seq: uint64(i + 1), Kind: EventDeactivated, Product: testProduct, Seat: uint32(i), Seats: 1000,
			OrderID: repeat('o', MaxOrderIDLen), Machine: repeat('a'+byte(i%26), MaxHostnameLen)}
		if err := l.Add(e); err != nil {
			t.Fatalf("Add %d: %v", i, err)
		}
	}
	if err := l.Add(Event{Seq: MaxEvents + 1, Kind: EventRevoked, Product: testProduct, OrderID: []byte("o")}); err == nil {
		t.Fatal("Add past MaxEvents succeeded")
	}
	return l
}

func TestEventKindString(t *testing.T) {
	for k, want := range map[EventKind]string{EventActivated: "activated", EventDeactivated: "deactivated", EventFlagged: "flagged",
		EventSuspended: "suspended", EventResumed: "resumed", EventRevoked: "revoked", EventRenewed: "renewed", EventExpiring: "expiring",
		0: "EventKind(0)", 9: "EventKind(9)"} {
		if got := k.String(); got != want {
			t.Errorf("EventKind(%d).String() = %q; want %q", uint8(k), got, want)
		}
	}
}
