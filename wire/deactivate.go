package wire

import "fmt"

// DeactivateRequest releases this machine's activation of a license, so
// that its seat is free for another machine. With DeactivateCheckIn it is a
// floating license's check-in instead: the seat is free at once, and the
// install stays bound to the license, so that it checks a seat out again
// at its next start without the key.
//
// Encoding (part of the wire format):
//
//	 0              16                 32
//	+--------------+------------------+-------------+
//	|  nonce (16)  | license id (16)  | [flags (1)] |
//	+--------------+------------------+-------------+
//
// The flags byte is present only when not zero (a zero byte is
// ErrNonCanonical); unknown flags are ErrInvalidField. A client sends it
// only for a floating license, which earlier gateways never grant.
type DeactivateRequest struct {
	Nonce     [NonceSize]byte
	LicenseID [LicenseIDSize]byte
	Flags     uint8
}

// DeactivateRequest flags.
const (
	// DeactivateCheckIn: check a floating seat in (free it now, keep the
	// install's binding) rather than remove the activation.
	DeactivateCheckIn uint8 = 1 << 0

	deactivateKnownFlags = DeactivateCheckIn
)

// CheckIn reports whether m is a floating seat's check-in.
func (m DeactivateRequest) CheckIn() bool { return m.Flags&DeactivateCheckIn != 0 }

const deactivateRequestLen = NonceSize + LicenseIDSize

// ParseDeactivateRequest parses a frame body, which must hold exactly one
// DeactivateRequest.
func ParseDeactivateRequest(b []byte) (DeactivateRequest, int, error) {
	var m DeactivateRequest
	d := decoder{b: b}
	d.copy(m.Nonce[:])
	d.copy(m.LicenseID[:])
	if d.err == nil && d.off < len(d.b) {
		if m.Flags = d.u8(); m.Flags == 0 {
			return DeactivateRequest{}, 0, fmt.Errorf("%w: deactivate flags of zero (leave them out)", ErrNonCanonical)
		}
	}
	if err := d.end(); err != nil {
		return DeactivateRequest{}, 0, err
	}
	if err := m.Check(); err != nil {
		return DeactivateRequest{}, 0, err
	}
	return m, len(b), nil
}

// Check reports whether the parser would accept m's encoding: no unknown
// flags.
func (m DeactivateRequest) Check() error {
	if m.Flags&^deactivateKnownFlags != 0 {
		return fmt.Errorf("%w: deactivate flags %#x", ErrInvalidField, m.Flags)
	}
	return nil
}

// Type returns TypeDeactivateRequest.
func (DeactivateRequest) Type() Type { return TypeDeactivateRequest }

// Len returns the encoded size.
func (m DeactivateRequest) Len() int {
	if m.Flags != 0 {
		return deactivateRequestLen + 1
	}
	return deactivateRequestLen
}

// Append appends the encoding of m to b.
func (m DeactivateRequest) Append(b []byte) []byte {
	b = append(b, m.Nonce[:]...)
	b = append(b, m.LicenseID[:]...)
	if m.Flags != 0 {
		b = append(b, m.Flags)
	}
	return b
}

// DeactivateResponse answers a DeactivateRequest that succeeded: the
// activation is gone, durably.
//
// Encoding (part of the wire format):
//
//	 0              16
//	+--------------+
//	|  nonce (16)  |
//	+--------------+
type DeactivateResponse struct {
	Nonce [NonceSize]byte
}

const deactivateResponseLen = NonceSize

// ParseDeactivateResponse parses a frame body, which must hold exactly one
// DeactivateResponse.
func ParseDeactivateResponse(b []byte) (DeactivateResponse, int, error) {
	var m DeactivateResponse
	d := decoder{b: b}
	d.copy(m.Nonce[:])
	if err := d.end(); err != nil {
		return DeactivateResponse{}, 0, err
	}
	return m, len(b), nil
}

// Check reports whether the parser would accept m's encoding: always.
func (m DeactivateResponse) Check() error { return nil }

// Type returns TypeDeactivateResponse.
func (DeactivateResponse) Type() Type { return TypeDeactivateResponse }

// Len returns the encoded size.
func (m DeactivateResponse) Len() int { return deactivateResponseLen }

// Append appends the encoding of m to b.
func (m DeactivateResponse) Append(b []byte) []byte { return append(b, m.Nonce[:]...) }
