package wire

import (
	"encoding/binary"
	"fmt"
)

// ValidateWantLease, in ValidateRequest.Flags, asks for a fresh lease even
// if the current one is not yet past half its life. Part of the wire
// format.
const ValidateWantLease uint8 = 1 << 0

// ValidateRequest asks whether an activated license is still good on this
// machine.
//
// Encoding (part of the wire format):
//
//	 0              16                 32             40      41
//	+--------------+------------------+--------------+-------+-------------+
//	|  nonce (16)  | license id (16)  | counter (8)  | flags | fingerprint |
//	+--------------+------------------+--------------+-------+-------------+
//
// The counter is the client's validation counter, echoed in the response.
// Flags other than ValidateWantLease must be zero (ErrNonCanonical), so a
// later flag is refused by this version rather than ignored.
type ValidateRequest struct {
	Nonce       [NonceSize]byte
	LicenseID   [LicenseIDSize]byte
	Counter     uint64
	Flags       uint8
	Fingerprint Fingerprint
}

const validateRequestFixed = NonceSize + LicenseIDSize + 8 + 1

// ParseValidateRequest parses a frame body, which must hold exactly one
// ValidateRequest.
func ParseValidateRequest(b []byte) (ValidateRequest, int, error) {
	var m ValidateRequest
	d := decoder{b: b}
	d.copy(m.Nonce[:])
	d.copy(m.LicenseID[:])
	m.Counter = d.u64()
	m.Flags = d.u8()
	m.Fingerprint = sub(&d, "fingerprint", ParseFingerprint)
	if err := d.end(); err != nil {
		return ValidateRequest{}, 0, err
	}
	if err := m.Check(); err != nil {
		return ValidateRequest{}, 0, err
	}
	return m, len(b), nil
}

// Check reports whether the parser would accept m's encoding.
func (m ValidateRequest) Check() error {
	if m.Flags&^ValidateWantLease != 0 {
		return fmt.Errorf("%w: validate flags %#02x", ErrNonCanonical, m.Flags)
	}
	return checkFingerprint(&m.Fingerprint)
}

// WantLease reports whether the ValidateWantLease flag is set.
func (m ValidateRequest) WantLease() bool { return m.Flags&ValidateWantLease != 0 }

// Type returns TypeValidateRequest.
func (ValidateRequest) Type() Type { return TypeValidateRequest }

// Len returns the encoded size.
func (m ValidateRequest) Len() int { return validateRequestFixed + m.Fingerprint.Len() }

// Append appends the encoding of m to b.
func (m ValidateRequest) Append(b []byte) []byte {
	b = append(b, m.Nonce[:]...)
	b = append(b, m.LicenseID[:]...)
	b = binary.BigEndian.AppendUint64(b, m.Counter)
	b = append(b, m.Flags)
	return m.Fingerprint.Append(b)
}

// ValidateResponse answers a ValidateRequest that was understood. A request
// that fails gets an ErrorResponse instead.
//
// Encoding (part of the wire format):
//
//	 0              16           18             26                 34            38        40
//	+--------------+------------+--------------+------------------+-------------+---------+-------+
//	|  nonce (16)  | status (2) | counter (8)  | server time (8)  | changed (4) | len (2) | lease |
//	+--------------+------------+--------------+------------------+-------------+---------+-------+
//	                                                                                       0..MaxLeaseSize
//
// Status is StatusOK or another status this version defines (a status the
// client does not know cannot be acted on here, so it is refused). Counter
// echoes the request's. Server time is in Unix seconds. Changed is as in
// ActivateResponse. The lease is empty when no fresh lease is sent.
type ValidateResponse struct {
	Nonce      [NonceSize]byte
	Status     Status
	Counter    uint64
	ServerTime int64 // Unix seconds
	Changed    uint32
	Lease      []byte // points into the input; empty for none
}

const validateResponseFixed = NonceSize + 2 + 8 + 8 + 4

// ParseValidateResponse parses a frame body, which must hold exactly one
// ValidateResponse. Lease points into b.
func ParseValidateResponse(b []byte) (ValidateResponse, int, error) {
	var m ValidateResponse
	d := decoder{b: b}
	d.copy(m.Nonce[:])
	m.Status = Status(d.u16())
	m.Counter = d.u64()
	m.ServerTime = d.i64()
	m.Changed = d.u32()
	m.Lease = d.bytes16()
	if err := d.end(); err != nil {
		return ValidateResponse{}, 0, err
	}
	if err := m.Check(); err != nil {
		return ValidateResponse{}, 0, err
	}
	return m, len(b), nil
}

// Check reports whether the parser would accept m's encoding.
func (m ValidateResponse) Check() error {
	if !m.Status.Known() {
		return fmt.Errorf("%w: validate status %d", ErrInvalidField, uint16(m.Status))
	}
	if err := checkTime("server time", m.ServerTime); err != nil {
		return err
	}
	if err := checkChanged(m.Changed); err != nil {
		return err
	}
	return checkLen("lease", len(m.Lease), 0, MaxLeaseSize)
}

// Type returns TypeValidateResponse.
func (ValidateResponse) Type() Type { return TypeValidateResponse }

// Len returns the encoded size.
func (m ValidateResponse) Len() int { return validateResponseFixed + 2 + len(m.Lease) }

// Append appends the encoding of m to b.
func (m ValidateResponse) Append(b []byte) []byte {
	b = append(b, m.Nonce[:]...)
	b = binary.BigEndian.AppendUint16(b, uint16(m.Status))
	b = binary.BigEndian.AppendUint64(b, m.Counter)
	b = binary.BigEndian.AppendUint64(b, uint64(m.ServerTime))
	b = binary.BigEndian.AppendUint32(b, m.Changed)
	b = binary.BigEndian.AppendUint16(b, uint16(len(m.Lease)))
	return append(b, m.Lease...)
}
