package wire

import (
	"encoding/binary"
	"fmt"
)

// SeatResetAll is the SeatResetRequest flag that frees every seat of the
// license rather than the one of a named machine.
const SeatResetAll uint8 = 1

// SeatResetRequest is a shop's request, on the customer's behalf (a "my
// licenses" page), to free the seat of a machine that died: a
// self-service reset, limited per license in a sliding window (the
// gateway's policy) and answered with a SeatResetResponse.
//
// Encoding (part of the wire format):
//
//	 0              16                  46      47      48
//	+--------------+-------------------+-------+-------+------------+
//	|  nonce (16)  | license key (30)  | flags |  len  |  hostname  |
//	+--------------+-------------------+-------+-------+------------+
//	                                                      0..64
//
// The seat is named by the hostname its machine reported (as a
// KeyStatusResponse lists it): 1 to MaxHostnameLen bytes of UTF-8 without
// control characters. With flags SeatResetAll every seat is freed and the
// hostname is empty; no other flag is defined. A hostname with
// SeatResetAll, or none without it, is refused.
type SeatResetRequest struct {
	Nonce    [NonceSize]byte
	Key      [KeySize]byte // a secret: never print or log it
	Flags    uint8
	Hostname []byte // points into the input
}

const seatResetRequestFixed = NonceSize + KeySize + 1

// ParseSeatResetRequest parses a frame body, which must hold exactly one
// SeatResetRequest. Hostname points into b.
func ParseSeatResetRequest(b []byte) (SeatResetRequest, int, error) {
	var m SeatResetRequest
	d := decoder{b: b}
	d.copy(m.Nonce[:])
	d.copy(m.Key[:])
	m.Flags = d.u8()
	m.Hostname = d.bytes8()
	if err := d.end(); err != nil {
		return SeatResetRequest{}, 0, err
	}
	if err := m.Check(); err != nil {
		return SeatResetRequest{}, 0, err
	}
	return m, len(b), nil
}

// Check reports whether the parser would accept m's encoding.
func (m SeatResetRequest) Check() error {
	if err := checkKeyChars("license key", m.Key[:]); err != nil {
		return err
	}
	switch m.Flags {
	case 0:
		if err := checkLen("hostname", len(m.Hostname), 1, MaxHostnameLen); err != nil {
			return err
		}
	case SeatResetAll:
		if len(m.Hostname) != 0 {
			return fmt.Errorf("%w: a hostname with the all-seats flag", ErrNonCanonical)
		}
	default:
		return fmt.Errorf("%w: seat reset flags %#x", ErrInvalidField, m.Flags)
	}
	return checkText("hostname", m.Hostname)
}

// Type returns TypeSeatResetRequest.
func (SeatResetRequest) Type() Type { return TypeSeatResetRequest }

// Len returns the encoded size.
func (m SeatResetRequest) Len() int { return seatResetRequestFixed + 1 + len(m.Hostname) }

// Append appends the encoding of m to b.
func (m SeatResetRequest) Append(b []byte) []byte {
	b = append(b, m.Nonce[:]...)
	b = append(b, m.Key[:]...)
	b = append(b, m.Flags, byte(len(m.Hostname)))
	return append(b, m.Hostname...)
}

// SeatResetResponse answers a SeatResetRequest that freed seats.
//
// Encoding (part of the wire format):
//
//	 0              16           20               24           28            29
//	+--------------+------------+----------------+------------+-------------+------------------+
//	|  nonce (16)  | freed (4)  | seats used (4) | seats (4)  | resets left | next reset (8)   |
//	+--------------+------------+----------------+------------+-------------+------------------+
//
// Freed is how many seats the reset freed (at least 1), seats used and
// seats the license's afterwards; resets left how many more self-service
// resets the license has in the window now. Next reset is when, Unix
// seconds, the next reset becomes possible when none is left, and zero
// when one is (so each answer has one encoding).
type SeatResetResponse struct {
	Nonce      [NonceSize]byte
	Freed      uint32
	SeatsUsed  uint32
	Seats      uint32
	ResetsLeft uint8
	NextReset  int64 // Unix seconds; 0 while a reset is left
}

const seatResetResponseLen = NonceSize + 4 + 4 + 4 + 1 + 8

// ParseSeatResetResponse parses a frame body, which must hold exactly one
// SeatResetResponse.
func ParseSeatResetResponse(b []byte) (SeatResetResponse, int, error) {
	var m SeatResetResponse
	d := decoder{b: b}
	d.copy(m.Nonce[:])
	m.Freed = d.u32()
	m.SeatsUsed = d.u32()
	m.Seats = d.u32()
	m.ResetsLeft = d.u8()
	m.NextReset = d.i64()
	if err := d.end(); err != nil {
		return SeatResetResponse{}, 0, err
	}
	if err := m.Check(); err != nil {
		return SeatResetResponse{}, 0, err
	}
	return m, len(b), nil
}

// Check reports whether the parser would accept m's encoding.
func (m SeatResetResponse) Check() error {
	if m.Freed == 0 {
		return fmt.Errorf("%w: a seat reset that freed no seat", ErrInvalidField)
	}
	if m.SeatsUsed > m.Seats {
		return fmt.Errorf("%w: %d seats used of %d", ErrInvalidField, m.SeatsUsed, m.Seats)
	}
	if err := checkTime("next reset", m.NextReset); err != nil {
		return err
	}
	switch {
	case m.ResetsLeft > 0 && m.NextReset != 0:
		return fmt.Errorf("%w: a next reset time while resets are left", ErrNonCanonical)
	case m.ResetsLeft == 0 && m.NextReset == 0:
		return fmt.Errorf("%w: no reset left and no time for the next", ErrInvalidField)
	}
	return nil
}

// Type returns TypeSeatResetResponse.
func (SeatResetResponse) Type() Type { return TypeSeatResetResponse }

// Len returns the encoded size.
func (m SeatResetResponse) Len() int { return seatResetResponseLen }

// Append appends the encoding of m to b.
func (m SeatResetResponse) Append(b []byte) []byte {
	b = append(b, m.Nonce[:]...)
	b = binary.BigEndian.AppendUint32(b, m.Freed)
	b = binary.BigEndian.AppendUint32(b, m.SeatsUsed)
	b = binary.BigEndian.AppendUint32(b, m.Seats)
	b = append(b, m.ResetsLeft)
	return binary.BigEndian.AppendUint64(b, uint64(m.NextReset))
}
