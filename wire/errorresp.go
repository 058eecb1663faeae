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
//	+--------------+-------------+-------+-----------------+
//	|  nonce (16)  | status (2)  |  len  |  message (len)  |
//	+--------------+-------------+-------+-----------------+
//	                                       0..255
//
// The status is never StatusOK. It may be a status this version does not
// know: statuses are only ever added, and a client shows an unknown one by
// number rather than losing the error. The message is UTF-8 plain text
// without control characters; it never holds a license key or a secret.
type ErrorResponse struct {
	Nonce   [NonceSize]byte
	Status  Status
	Message []byte // points into the input
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
	return checkText("error message", m.Message)
}

// Err returns the error the response carries. It copies the message.
func (m ErrorResponse) Err() *StatusError {
	return &StatusError{Status: m.Status, Message: string(m.Message)}
}

// Type returns TypeErrorResponse.
func (ErrorResponse) Type() Type { return TypeErrorResponse }

// Len returns the encoded size.
func (m ErrorResponse) Len() int { return errorResponseFixed + 1 + len(m.Message) }

// Append appends the encoding of m to b.
func (m ErrorResponse) Append(b []byte) []byte {
	b = append(b, m.Nonce[:]...)
	b = binary.BigEndian.AppendUint16(b, uint16(m.Status))
	b = append(b, byte(len(m.Message)))
	return append(b, m.Message...)
}
