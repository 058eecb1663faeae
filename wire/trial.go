package wire

import (
	"encoding/binary"
	"fmt"
)

// TrialRequest asks the gateway for a product's keyless trial on this
// machine: a license of the trial's days, minted for this install and
// returned as a signed lease. The install is the Noise session's static key,
// as for an ActivateRequest.
//
// Encoding (part of the wire format):
//
//	 0              16             21            21+f
//	+--------------+--------------+-------------+-----+----------+-----+-------------+
//	|  nonce (16)  | product (5)  | fingerprint | len | hostname | len | app version |
//	+--------------+--------------+-------------+-----+----------+-----+-------------+
//	                                f = 1+9n      u8    0..64      u8    0..32
//
// The product code is 5 characters of 0-9A-Z; the hostname is UTF-8
// without control characters, the app version printable ASCII, as in an
// ActivateRequest.
type TrialRequest struct {
	Nonce       [NonceSize]byte
	Product     [ProductSize]byte
	Fingerprint Fingerprint
	Hostname    []byte // points into the input
	AppVersion  []byte // points into the input
}

const trialRequestFixed = NonceSize + ProductSize

// ParseTrialRequest parses a frame body, which must hold exactly one
// TrialRequest. The returned slices point into b.
func ParseTrialRequest(b []byte) (TrialRequest, int, error) {
	var m TrialRequest
	d := decoder{b: b}
	d.copy(m.Nonce[:])
	d.copy(m.Product[:])
	m.Fingerprint = sub(&d, "fingerprint", ParseFingerprint)
	m.Hostname = d.bytes8()
	m.AppVersion = d.bytes8()
	if err := d.end(); err != nil {
		return TrialRequest{}, 0, err
	}
	if err := m.Check(); err != nil {
		return TrialRequest{}, 0, err
	}
	return m, len(b), nil
}

// Check reports whether the parser would accept m's encoding.
func (m TrialRequest) Check() error {
	if err := checkKeyChars("product code", m.Product[:]); err != nil {
		return err
	}
	return checkMachine(&m.Fingerprint, m.Hostname, m.AppVersion)
}

// Type returns TypeTrialRequest.
func (TrialRequest) Type() Type { return TypeTrialRequest }

// Len returns the encoded size.
func (m TrialRequest) Len() int {
	return trialRequestFixed + m.Fingerprint.Len() + 1 + len(m.Hostname) + 1 + len(m.AppVersion)
}

// Append appends the encoding of m to b.
func (m TrialRequest) Append(b []byte) []byte {
	b = append(b, m.Nonce[:]...)
	b = append(b, m.Product[:]...)
	b = m.Fingerprint.Append(b)
	b = append(b, byte(len(m.Hostname)))
	b = append(b, m.Hostname...)
	b = append(b, byte(len(m.AppVersion)))
	return append(b, m.AppVersion...)
}

// TrialResponse answers a TrialRequest that succeeded: the trial's license,
// when the trial ends, and its signed lease. A repeated request of the same
// install while its trial runs gets the same trial (license and end) again.
//
// Encoding (part of the wire format):
//
//	 0              16                 32              40          42
//	+--------------+------------------+---------------+-----------+-------------+
//	|  nonce (16)  | license id (16)  |  ends (i64)   |  len (2)  | lease (len) |
//	+--------------+------------------+---------------+-----------+-------------+
//	                                                                1..MaxLeaseSize
//
// Ends is Unix seconds, above zero: a trial always ends.
type TrialResponse struct {
	Nonce     [NonceSize]byte
	LicenseID [LicenseIDSize]byte
	Ends      int64
	Lease     []byte // points into the input
}

const trialResponseFixed = NonceSize + LicenseIDSize + 8

// ParseTrialResponse parses a frame body, which must hold exactly one
// TrialResponse. Lease points into b.
func ParseTrialResponse(b []byte) (TrialResponse, int, error) {
	var m TrialResponse
	d := decoder{b: b}
	d.copy(m.Nonce[:])
	d.copy(m.LicenseID[:])
	m.Ends = d.i64()
	m.Lease = d.bytes16()
	if err := d.end(); err != nil {
		return TrialResponse{}, 0, err
	}
	if err := m.Check(); err != nil {
		return TrialResponse{}, 0, err
	}
	return m, len(b), nil
}

// Check reports whether the parser would accept m's encoding.
func (m TrialResponse) Check() error {
	if m.Ends <= 0 {
		return fmt.Errorf("%w: trial end is not after 1970 (a trial always ends)", ErrInvalidField)
	}
	return checkLen("lease", len(m.Lease), 1, MaxLeaseSize)
}

// Type returns TypeTrialResponse.
func (TrialResponse) Type() Type { return TypeTrialResponse }

// Len returns the encoded size.
func (m TrialResponse) Len() int { return trialResponseFixed + 2 + len(m.Lease) }

// Append appends the encoding of m to b.
func (m TrialResponse) Append(b []byte) []byte {
	b = append(b, m.Nonce[:]...)
	b = append(b, m.LicenseID[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(m.Ends))
	b = binary.BigEndian.AppendUint16(b, uint16(len(m.Lease)))
	return append(b, m.Lease...)
}
