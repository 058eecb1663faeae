package wire

import (
	"encoding/binary"
	"fmt"
)

// ActivateRequest asks the gateway to activate a license key on this
// machine and to return a signed lease.
//
// Encoding (part of the wire format):
//
//	 0              16                  46            46+f
//	+--------------+-------------------+-------------+-----+----------+-----+-------------+
//	|  nonce (16)  | license key (30)  | fingerprint | len | hostname | len | app version |
//	+--------------+-------------------+-------------+-----+----------+-----+-------------+
//	                                     f = 1+9n      u8    0..64      u8    0..32
//
//	then, only for a plug-in's key, its base license:
//	+------------------------+
//	|  base license id (16)  |
//	+------------------------+
//
// The key is in canonical form (0-9A-Z, no dashes); its check character is
// not verified here but by the gateway. The hostname is UTF-8 without
// control characters, the app version printable ASCII. The base license
// id is present or absent as a whole (16 bytes or none after the app
// version) and is never all zeros: the zero id is "absent", which has one
// encoding, the shorter one.
type ActivateRequest struct {
	Nonce       [NonceSize]byte
	Key         [KeySize]byte // a secret: never print or log it
	Fingerprint Fingerprint
	Hostname    []byte // points into the input
	AppVersion  []byte // points into the input
	// Base, when not zero, is the license of the plug-in's base product
	// that this install holds: the gateway activates a plug-in's key only
	// beside it (BASE_MISSING otherwise).
	Base [LicenseIDSize]byte
}

const activateRequestFixed = NonceSize + KeySize

// ParseActivateRequest parses a frame body, which must hold exactly one
// ActivateRequest. The returned slices point into b.
func ParseActivateRequest(b []byte) (ActivateRequest, int, error) {
	var m ActivateRequest
	d := decoder{b: b}
	d.copy(m.Nonce[:])
	d.copy(m.Key[:])
	m.Fingerprint = sub(&d, "fingerprint", ParseFingerprint)
	m.Hostname = d.bytes8()
	m.AppVersion = d.bytes8()
	if d.err == nil && len(b)-d.off == LicenseIDSize {
		d.copy(m.Base[:])
		if m.Base == ([LicenseIDSize]byte{}) {
			return ActivateRequest{}, 0, fmt.Errorf("%w: base license id of zeros: absent is no field", ErrNonCanonical)
		}
	}
	if err := d.end(); err != nil {
		return ActivateRequest{}, 0, err
	}
	if err := m.Check(); err != nil {
		return ActivateRequest{}, 0, err
	}
	return m, len(b), nil
}

// Check reports whether the parser would accept m's encoding.
func (m ActivateRequest) Check() error {
	if err := checkKeyChars("license key", m.Key[:]); err != nil {
		return err
	}
	return checkMachine(&m.Fingerprint, m.Hostname, m.AppVersion)
}

// Type returns TypeActivateRequest.
func (ActivateRequest) Type() Type { return TypeActivateRequest }

// Len returns the encoded size.
func (m ActivateRequest) Len() int {
	n := activateRequestFixed + m.Fingerprint.Len() + 1 + len(m.Hostname) + 1 + len(m.AppVersion)
	if m.Base != ([LicenseIDSize]byte{}) {
		n += LicenseIDSize
	}
	return n
}

// Append appends the encoding of m to b.
func (m ActivateRequest) Append(b []byte) []byte {
	b = append(b, m.Nonce[:]...)
	b = append(b, m.Key[:]...)
	b = m.Fingerprint.Append(b)
	b = append(b, byte(len(m.Hostname)))
	b = append(b, m.Hostname...)
	b = append(b, byte(len(m.AppVersion)))
	b = append(b, m.AppVersion...)
	if m.Base != ([LicenseIDSize]byte{}) {
		b = append(b, m.Base[:]...)
	}
	return b
}

// ActivateResponse answers an ActivateRequest that succeeded.
//
// Encoding (part of the wire format):
//
//	 0              16                 32            36          38
//	+--------------+------------------+-------------+-----------+----------------+
//	|  nonce (16)  | license id (16)  | changed (4) |  len (2)  | lease (len)    |
//	+--------------+------------------+-------------+-----------+----------------+
//	                                                              1..MaxLeaseSize
//
// Changed has bit k set for each fingerprint kind k that differs from the
// fingerprint on record (zero for a first activation); bit 0 is never set.
// The lease is an encoded signed lease, opaque to the frame codec.
type ActivateResponse struct {
	Nonce     [NonceSize]byte
	LicenseID [LicenseIDSize]byte
	Changed   uint32
	Lease     []byte // points into the input
}

const activateResponseFixed = NonceSize + LicenseIDSize + 4

// ParseActivateResponse parses a frame body, which must hold exactly one
// ActivateResponse. Lease points into b.
func ParseActivateResponse(b []byte) (ActivateResponse, int, error) {
	var m ActivateResponse
	d := decoder{b: b}
	d.copy(m.Nonce[:])
	d.copy(m.LicenseID[:])
	m.Changed = d.u32()
	m.Lease = d.bytes16()
	if err := d.end(); err != nil {
		return ActivateResponse{}, 0, err
	}
	if err := m.Check(); err != nil {
		return ActivateResponse{}, 0, err
	}
	return m, len(b), nil
}

// Check reports whether the parser would accept m's encoding.
func (m ActivateResponse) Check() error {
	if err := checkChanged(m.Changed); err != nil {
		return err
	}
	return checkLen("lease", len(m.Lease), 1, MaxLeaseSize)
}

// Type returns TypeActivateResponse.
func (ActivateResponse) Type() Type { return TypeActivateResponse }

// Len returns the encoded size.
func (m ActivateResponse) Len() int { return activateResponseFixed + 2 + len(m.Lease) }

// Append appends the encoding of m to b.
func (m ActivateResponse) Append(b []byte) []byte {
	b = append(b, m.Nonce[:]...)
	b = append(b, m.LicenseID[:]...)
	b = binary.BigEndian.AppendUint32(b, m.Changed)
	b = binary.BigEndian.AppendUint16(b, uint16(len(m.Lease)))
	return append(b, m.Lease...)
}
