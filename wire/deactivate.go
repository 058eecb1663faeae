package wire

// DeactivateRequest releases this machine's activation of a license, so
// that its seat is free for another machine.
//
// Encoding (part of the wire format):
//
//	 0              16                 32
//	+--------------+------------------+
//	|  nonce (16)  | license id (16)  |
//	+--------------+------------------+
type DeactivateRequest struct {
	Nonce     [NonceSize]byte
	LicenseID [LicenseIDSize]byte
}

const deactivateRequestLen = NonceSize + LicenseIDSize

// ParseDeactivateRequest parses a frame body, which must hold exactly one
// DeactivateRequest.
func ParseDeactivateRequest(b []byte) (DeactivateRequest, int, error) {
	var m DeactivateRequest
	d := decoder{b: b}
	d.copy(m.Nonce[:])
	d.copy(m.LicenseID[:])
	if err := d.end(); err != nil {
		return DeactivateRequest{}, 0, err
	}
	return m, len(b), nil
}

// Check reports whether the parser would accept m's encoding: always.
func (m DeactivateRequest) Check() error { return nil }

// Type returns TypeDeactivateRequest.
func (DeactivateRequest) Type() Type { return TypeDeactivateRequest }

// Len returns the encoded size.
func (m DeactivateRequest) Len() int { return deactivateRequestLen }

// Append appends the encoding of m to b.
func (m DeactivateRequest) Append(b []byte) []byte {
	b = append(b, m.Nonce[:]...)
	return append(b, m.LicenseID[:]...)
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
