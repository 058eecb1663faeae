package wire

import "encoding/binary"

// TimeRequest asks for the gateway's clock, which a client compares with
// its own to detect a clock set back to stretch a lease.
//
// Encoding (part of the wire format):
//
//	 0              16
//	+--------------+
//	|  nonce (16)  |
//	+--------------+
type TimeRequest struct {
	Nonce [NonceSize]byte
}

const timeRequestLen = NonceSize

// ParseTimeRequest parses a frame body, which must hold exactly one
// TimeRequest.
func ParseTimeRequest(b []byte) (TimeRequest, int, error) {
	var m TimeRequest
	d := decoder{b: b}
	d.copy(m.Nonce[:])
	if err := d.end(); err != nil {
		return TimeRequest{}, 0, err
	}
	return m, len(b), nil
}

// Check reports whether the parser would accept m's encoding: always.
func (m TimeRequest) Check() error { return nil }

// Type returns TypeTimeRequest.
func (TimeRequest) Type() Type { return TypeTimeRequest }

// Len returns the encoded size.
func (m TimeRequest) Len() int { return timeRequestLen }

// Append appends the encoding of m to b.
func (m TimeRequest) Append(b []byte) []byte { return append(b, m.Nonce[:]...) }

// TimeResponse answers a TimeRequest.
//
// Encoding (part of the wire format):
//
//	 0              16                 24
//	+--------------+------------------+
//	|  nonce (16)  | server time (8)  |
//	+--------------+------------------+
//
// The server time is in Unix nanoseconds, never negative.
type TimeResponse struct {
	Nonce      [NonceSize]byte
	ServerTime int64 // Unix nanoseconds
}

const timeResponseLen = NonceSize + 8

// ParseTimeResponse parses a frame body, which must hold exactly one
// TimeResponse.
func ParseTimeResponse(b []byte) (TimeResponse, int, error) {
	var m TimeResponse
	d := decoder{b: b}
	d.copy(m.Nonce[:])
	m.ServerTime = d.i64()
	if err := d.end(); err != nil {
		return TimeResponse{}, 0, err
	}
	if err := m.Check(); err != nil {
		return TimeResponse{}, 0, err
	}
	return m, len(b), nil
}

// Check reports whether the parser would accept m's encoding.
func (m TimeResponse) Check() error { return checkTime("server time", m.ServerTime) }

// Type returns TypeTimeResponse.
func (TimeResponse) Type() Type { return TypeTimeResponse }

// Len returns the encoded size.
func (m TimeResponse) Len() int { return timeResponseLen }

// Append appends the encoding of m to b.
func (m TimeResponse) Append(b []byte) []byte {
	b = append(b, m.Nonce[:]...)
	return binary.BigEndian.AppendUint64(b, uint64(m.ServerTime))
}
