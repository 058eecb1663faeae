package wire

import (
	"encoding/binary"
	"fmt"
)

// ErrorResponse answers any request that failed, with a Status the client
// can act on and a short message for people.
//
// Encoding (part of the wire format):
//
//	 0              16            18      19
//	+--------------+-------------+-------+-----------------+------------------+
//	|  nonce (16)  | status (2)  |  len  |  message (len)  | [retry at (8)]   |
//	+--------------+-------------+-------+-----------------+------------------+
//	                                       0..255            optional
//
// The retry-at time (Unix seconds, signed, > 0) is present only when the
// refusal knows when the same request may succeed (RetryAt, such as when
// a floating license's next seat frees up); a zero RetryAt is encoded by
// leaving the field out, never as zeros (ErrNonCanonical). Gateways send
// it only with refusals that earlier clients never meet (a floating
// license's NO_SEATS), so an earlier client's strict parser is not
// surprised by it.
//
// The status is never StatusOK. It may be a status this version does not
// know: statuses are only ever added, and a client shows an unknown one by
// number rather than losing the error. The message is UTF-8 plain text
// without control characters; it never holds a license key or a secret.
type ErrorResponse struct {
	Nonce   [NonceSize]byte
	Status  Status
	Message []byte // points into the input
	// RetryAt, when not zero, is when the request may succeed if sent
	// again (Unix seconds).
	RetryAt int64
}

const errorResponseFixed = NonceSize + 2

// ParseErrorResponse parses a frame body, which must hold exactly one
// ErrorResponse. Message points into b.
func ParseErrorResponse(b []byte) (ErrorResponse, int, error) {
	var m ErrorResponse
	d := decoder{b: b}
	d.copy(m.Nonce[:])
	m.Status = Status(d.u16())
	m.Message = d.bytes8()
	if d.err == nil && d.off < len(d.b) {
		if m.RetryAt = d.i64(); d.err == nil && m.RetryAt == 0 {
			return ErrorResponse{}, 0, fmt.Errorf("%w: error response retry-at of zero (leave it out)", ErrNonCanonical)
		}
	}
	if err := d.end(); err != nil {
		return ErrorResponse{}, 0, err
	}
	if err := m.Check(); err != nil {
		return ErrorResponse{}, 0, err
	}
	return m, len(b), nil
}

// Check reports whether the parser would accept m's encoding.
func (m ErrorResponse) Check() error {
	if m.Status == StatusOK {
		return fmt.Errorf("%w: error response with status OK", ErrInvalidField)
	}
	if err := checkLen("error message", len(m.Message), 0, MaxErrorMessageLen); err != nil {
		return err
	}
	if m.RetryAt < 0 {
		return fmt.Errorf("%w: error response retry-at before 1970", ErrInvalidField)
	}
	return checkText("error message", m.Message)
}

// Err returns the error the response carries. It copies the message.
func (m ErrorResponse) Err() *StatusError {
	return &StatusError{Status: m.Status, Message: string(m.Message), RetryAt: m.RetryAt}
}

// Type returns TypeErrorResponse.
func (ErrorResponse) Type() Type { return TypeErrorResponse }

// Len returns the encoded size.
func (m ErrorResponse) Len() int {
	n := errorResponseFixed + 1 + len(m.Message)
	if m.RetryAt != 0 {
		n += 8
	}
	return n
}

// Append appends the encoding of m to b.
func (m ErrorResponse) Append(b []byte) []byte {
	b = append(b, m.Nonce[:]...)
	b = binary.BigEndian.AppendUint16(b, uint16(m.Status))
	b = append(b, byte(len(m.Message)))
	b = append(b, m.Message...)
	if m.RetryAt != 0 {
		b = binary.BigEndian.AppendUint64(b, uint64(m.RetryAt))
	}
	return b
}
