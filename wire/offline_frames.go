package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// offlineMaxBodyLen returns the largest body of the offline frame types.
func offlineMaxBodyLen(t Type) int {
	switch t {
	case TypeOfflineAnswerRequest:
		return NonceSize + 2 + maxOfflineRequestLen
	case TypeOfflineAnswerResponse:
		return offlineAnswerResponseFixed + 2 + MaxLeaseSize
	case TypeOfflineReleaseRequest:
		return NonceSize + OfflineReleaseLen
	case TypeOfflineReleaseResponse:
		return NonceSize + LicenseIDSize
	}
	return 0
}

// OfflineAnswerRequest asks the gateway, on the shop channel, to answer an
// air-gapped machine's activation request for a license the shop minted
// (a customer portal that takes the request file).
//
// Encoding (part of the wire format):
//
//	 0              16          18
//	+--------------+-----------+---------------------------+
//	|  nonce (16)  |  len (2)  | activation request (len)  |
//	+--------------+-----------+---------------------------+
//
// The activation request is an encoded OfflineRequest (not armored),
// parsed as strictly as ParseOfflineRequest does.
type OfflineAnswerRequest struct {
	Nonce   [NonceSize]byte
	Request OfflineRequest
}

// ParseOfflineAnswerRequest parses a frame body, which must hold exactly
// one OfflineAnswerRequest. The request's slices point into b.
func ParseOfflineAnswerRequest(b []byte) (OfflineAnswerRequest, int, error) {
	var m OfflineAnswerRequest
	d := decoder{b: b}
	d.copy(m.Nonce[:])
	raw := d.bytes16()
	if err := d.end(); err != nil {
		return OfflineAnswerRequest{}, 0, err
	}
	r, _, err := ParseOfflineRequest(raw)
	if err != nil {
		if errors.Is(err, ErrUnsupportedVersion) {
			// The frame is of this version; the file it carries is not.
			err = fmt.Errorf("%w: an activation request of a version this gateway does not read", ErrInvalidField)
		} else if !errors.Is(err, ErrShort) {
			err = fmt.Errorf("%w (activation request)", err)
		}
		return OfflineAnswerRequest{}, 0, err
	}
	m.Request = r
	return m, len(b), nil
}

// Check reports whether the parser would accept m's encoding.
func (m OfflineAnswerRequest) Check() error { return m.Request.Check() }

// Type returns TypeOfflineAnswerRequest.
func (OfflineAnswerRequest) Type() Type { return TypeOfflineAnswerRequest }

// Len returns the encoded size.
func (m OfflineAnswerRequest) Len() int { return NonceSize + 2 + m.Request.Len() }

// Append appends the encoding of m to b.
func (m OfflineAnswerRequest) Append(b []byte) []byte {
	b = append(b, m.Nonce[:]...)
	b = binary.BigEndian.AppendUint16(b, uint16(m.Request.Len()))
	return m.Request.Append(b)
}

// OfflineAnswerResponse answers an OfflineAnswerRequest that succeeded:
// the license activated for the request's install and machine, and its
// lease (the lease's nonce is the activation request's), which the
// customer carries back to the machine.
//
// Encoding (part of the wire format):
//
//	 0              16                 32          34
//	+--------------+------------------+-----------+----------------+
//	|  nonce (16)  | license id (16)  |  len (2)  | lease (len)    |
//	+--------------+------------------+-----------+----------------+
//	                                                1..MaxLeaseSize
type OfflineAnswerResponse struct {
	Nonce     [NonceSize]byte
	LicenseID [LicenseIDSize]byte
	Lease     []byte // an encoded signed lease; parsed, it points into the input
}

const offlineAnswerResponseFixed = NonceSize + LicenseIDSize

// ParseOfflineAnswerResponse parses a frame body, which must hold exactly
// one OfflineAnswerResponse. Lease points into b.
func ParseOfflineAnswerResponse(b []byte) (OfflineAnswerResponse, int, error) {
	var m OfflineAnswerResponse
	d := decoder{b: b}
	d.copy(m.Nonce[:])
	d.copy(m.LicenseID[:])
	m.Lease = d.bytes16()
	if err := d.end(); err != nil {
		return OfflineAnswerResponse{}, 0, err
	}
	if err := m.Check(); err != nil {
		return OfflineAnswerResponse{}, 0, err
	}
	return m, len(b), nil
}

// Check reports whether the parser would accept m's encoding.
func (m OfflineAnswerResponse) Check() error {
	return checkLen("lease", len(m.Lease), 1, MaxLeaseSize)
}

// Type returns TypeOfflineAnswerResponse.
func (OfflineAnswerResponse) Type() Type { return TypeOfflineAnswerResponse }

// Len returns the encoded size.
func (m OfflineAnswerResponse) Len() int { return offlineAnswerResponseFixed + 2 + len(m.Lease) }

// Append appends the encoding of m to b.
func (m OfflineAnswerResponse) Append(b []byte) []byte {
	b = append(b, m.Nonce[:]...)
	b = append(b, m.LicenseID[:]...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(m.Lease)))
	return append(b, m.Lease...)
}

// OfflineReleaseRequest asks the gateway, on the shop channel, to import
// an air-gapped machine's release proof and free its seat of a license
// the shop minted.
//
// Encoding (part of the wire format):
//
//	 0              16
//	+--------------+----------------------------------------+
//	|  nonce (16)  | release proof (OfflineReleaseLen)      |
//	+--------------+----------------------------------------+
type OfflineReleaseRequest struct {
	Nonce   [NonceSize]byte
	Release OfflineRelease
}

// ParseOfflineReleaseRequest parses a frame body, which must hold exactly
// one OfflineReleaseRequest.
func ParseOfflineReleaseRequest(b []byte) (OfflineReleaseRequest, int, error) {
	var m OfflineReleaseRequest
	if len(b) < NonceSize {
		return m, 0, ErrShort
	}
	copy(m.Nonce[:], b)
	r, _, err := ParseOfflineRelease(b[NonceSize:])
	if err != nil {
		if errors.Is(err, ErrUnsupportedVersion) {
			err = fmt.Errorf("%w: a release proof of a version this gateway does not read", ErrInvalidField)
		} else if !errors.Is(err, ErrShort) && !errors.Is(err, ErrTrailing) {
			err = fmt.Errorf("%w (release proof)", err)
		}
		return OfflineReleaseRequest{}, 0, err
	}
	m.Release = r
	return m, len(b), nil
}

// Check reports whether the parser would accept m's encoding.
func (m OfflineReleaseRequest) Check() error { return m.Release.Check() }

// Type returns TypeOfflineReleaseRequest.
func (OfflineReleaseRequest) Type() Type { return TypeOfflineReleaseRequest }

// Len returns the encoded size.
func (m OfflineReleaseRequest) Len() int { return NonceSize + OfflineReleaseLen }

// Append appends the encoding of m to b.
func (m OfflineReleaseRequest) Append(b []byte) []byte {
	b = append(b, m.Nonce[:]...)
	return m.Release.Append(b)
}

// OfflineReleaseResponse answers an OfflineReleaseRequest that succeeded:
// the seat of the license is free, durably.
//
// Encoding (part of the wire format):
//
//	 0              16                 32
//	+--------------+------------------+
//	|  nonce (16)  | license id (16)  |
//	+--------------+------------------+
type OfflineReleaseResponse struct {
	Nonce     [NonceSize]byte
	LicenseID [LicenseIDSize]byte
}

// ParseOfflineReleaseResponse parses a frame body, which must hold
// exactly one OfflineReleaseResponse.
func ParseOfflineReleaseResponse(b []byte) (OfflineReleaseResponse, int, error) {
	var m OfflineReleaseResponse
	d := decoder{b: b}
	d.copy(m.Nonce[:])
	d.copy(m.LicenseID[:])
	if err := d.end(); err != nil {
		return OfflineReleaseResponse{}, 0, err
	}
	return m, len(b), nil
}

// Check reports whether the parser would accept m's encoding: always.
func (m OfflineReleaseResponse) Check() error { return nil }

// Type returns TypeOfflineReleaseResponse.
func (OfflineReleaseResponse) Type() Type { return TypeOfflineReleaseResponse }

// Len returns the encoded size.
func (m OfflineReleaseResponse) Len() int { return NonceSize + LicenseIDSize }

// Append appends the encoding of m to b.
func (m OfflineReleaseResponse) Append(b []byte) []byte {
	b = append(b, m.Nonce[:]...)
	return append(b, m.LicenseID[:]...)
}
