package wire

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// MintRequest asks the gateway, on behalf of a shop, for Count new license
// keys of a product. The order id makes it idempotent: the same order id
// with the same order returns the keys minted the first time, and with a
// different order fails with StatusOrderConflict.
//
// Encoding (part of the wire format):
//
//	 0              16             21           23          26           30
//	+--------------+--------------+------------+-----------+------------+
//	|  nonce (16)  | product (5)  | count (2)  | term (3)  | seats (4)  |
//	+--------------+--------------+------------+-----------+------------+
//	 30             38      39             39+len
//	+--------------+-------+--------------+--------------+
//	| expiry (8)   |  len  |   order id   | entitlements |
//	+--------------+-------+--------------+--------------+
//	                 u8      1..64
//
// The product is a product code (0-9A-Z); count is 1 to MaxMintCount; the
// term is a Term; seats is the seat count of each license, 0 for the
// product's default; expiry is an absolute license expiry in Unix seconds,
// 0 for none; the order id is printable ASCII; entitlements are encoded as
// described at Entitlements.
type MintRequest struct {
	Nonce   [NonceSize]byte
	OrderID []byte // points into the input
	Product [ProductSize]byte
	Count   uint16
	Spec    MintSpec
}

// MintSpec is what each license of an order grants.
type MintSpec struct {
	Term         Term
	Seats        uint32 // 0 for the product's default
	Expiry       int64  // Unix seconds; 0 for none
	Entitlements Entitlements
}

const mintRequestFixed = NonceSize + ProductSize + 2 + termLen + 4 + 8

// ParseMintRequest parses a frame body, which must hold exactly one
// MintRequest. OrderID and Spec.Entitlements point into b.
func ParseMintRequest(b []byte) (MintRequest, int, error) {
	var m MintRequest
	d := decoder{b: b}
	d.copy(m.Nonce[:])
	d.order(&m)
	if err := d.end(); err != nil {
		return MintRequest{}, 0, err
	}
	if err := m.Check(); err != nil {
		return MintRequest{}, 0, err
	}
	return m, len(b), nil
}

// order reads the order's canonical bytes (AppendOrder) into m.
func (d *decoder) order(m *MintRequest) {
	d.copy(m.Product[:])
	m.Count = d.u16()
	m.Spec.Term = d.term()
	m.Spec.Seats = d.u32()
	m.Spec.Expiry = d.i64()
	m.OrderID = d.bytes8()
	m.Spec.Entitlements = sub(d, "entitlements", ParseEntitlements)
}

// Check reports whether the parser would accept m's encoding.
// (Entitlements are valid by construction.)
func (m MintRequest) Check() error {
	if err := checkKeyChars("product", m.Product[:]); err != nil {
		return err
	}
	if m.Count < 1 || m.Count > MaxMintCount {
		return fmt.Errorf("%w: mint count %d not in 1..%d", ErrInvalidField, m.Count, MaxMintCount)
	}
	if err := m.Spec.Term.Check(); err != nil {
		return err
	}
	if err := checkTime("expiry", m.Spec.Expiry); err != nil {
		return err
	}
	if err := checkLen("order id", len(m.OrderID), 1, MaxOrderIDLen); err != nil {
		return err
	}
	return checkPrintable("order id", m.OrderID)
}

// SameOrder reports whether m and o place the same order: every field but
// the nonce, which is fresh on each attempt, is equal. The gateway uses it
// to tell a retry from a conflicting reuse of an order id.
func (m MintRequest) SameOrder(o MintRequest) bool {
	return bytes.Equal(m.OrderID, o.OrderID) &&
		m.Product == o.Product &&
		m.Count == o.Count &&
		m.Spec.Term == o.Spec.Term &&
		m.Spec.Seats == o.Spec.Seats &&
		m.Spec.Expiry == o.Spec.Expiry &&
		m.Spec.Entitlements.Equal(o.Spec.Entitlements)
}

// AppendOrder appends the order's canonical bytes, the encoding of m
// without its nonce, to b. Two requests place the same order exactly when
// these bytes are equal, so a gateway can store them with the order and
// compare a retry after a restart.
func (m MintRequest) AppendOrder(b []byte) []byte {
	b = append(b, m.Product[:]...)
	b = binary.BigEndian.AppendUint16(b, m.Count)
	b = m.Spec.Term.append(b)
	b = binary.BigEndian.AppendUint32(b, m.Spec.Seats)
	b = binary.BigEndian.AppendUint64(b, uint64(m.Spec.Expiry))
	b = append(b, byte(len(m.OrderID)))
	b = append(b, m.OrderID...)
	return m.Spec.Entitlements.Append(b)
}

// Type returns TypeMintRequest.
func (MintRequest) Type() Type { return TypeMintRequest }

// Len returns the encoded size.
func (m MintRequest) Len() int {
	return mintRequestFixed + 1 + len(m.OrderID) + m.Spec.Entitlements.Len()
}

// Append appends the encoding of m to b.
func (m MintRequest) Append(b []byte) []byte {
	b = append(b, m.Nonce[:]...)
	return m.AppendOrder(b)
}

// MintResponse answers a MintRequest with the keys of the order, sealed to
// the shop (see SealKeys): only the shop's private key opens them, and a
// retry of the order gets the same sealed bytes.
//
// Encoding (part of the wire format):
//
//	 0              16      17             17+len      19+len
//	+--------------+-------+--------------+-----------+------------------------------------+
//	|  nonce (16)  |  len  |   order id   | count (2) | sealed keys (SealedKeysLen(count)) |
//	+--------------+-------+--------------+-----------+------------------------------------+
//	                 u8      1..64          1..MaxMintCount
//
// The order id echoes the request's; the sealed keys are the seal byte,
// the encapsulated key and count keys encrypted, count × 30 + 49 bytes.
// At MaxMintCount keys the body is about 300 KB, well under MaxFrameSize.
type MintResponse struct {
	Nonce   [NonceSize]byte
	OrderID []byte // points into the input
	Count   uint16
	// Sealed is the order's Count keys sealed to the shop, laid out as
	// SealKeys makes them. It points into the input.
	Sealed []byte
}

// ParseMintResponse parses a frame body, which must hold exactly one
// MintResponse. OrderID and Sealed point into b.
func ParseMintResponse(b []byte) (MintResponse, int, error) {
	var m MintResponse
	d := decoder{b: b}
	d.copy(m.Nonce[:])
	m.OrderID = d.bytes8()
	m.Count = d.u16()
	m.Sealed = d.take(SealedKeysLen(int(m.Count)))
	if err := d.end(); err != nil {
		return MintResponse{}, 0, err
	}
	if err := m.Check(); err != nil {
		return MintResponse{}, 0, err
	}
	return m, len(b), nil
}

// Check reports whether the parser would accept m's encoding.
func (m MintResponse) Check() error {
	if err := checkLen("order id", len(m.OrderID), 1, MaxOrderIDLen); err != nil {
		return err
	}
	if err := checkPrintable("order id", m.OrderID); err != nil {
		return err
	}
	if m.Count < 1 || m.Count > MaxMintCount {
		return fmt.Errorf("%w: %d keys not in 1..%d", ErrInvalidField, m.Count, MaxMintCount)
	}
	if len(m.Sealed) != SealedKeysLen(int(m.Count)) {
		return fmt.Errorf("%w: %d bytes of sealed keys for %d keys", ErrInvalidField, len(m.Sealed), m.Count)
	}
	return checkSealed(m.Sealed)
}

// Type returns TypeMintResponse.
func (MintResponse) Type() Type { return TypeMintResponse }

// Len returns the encoded size.
func (m MintResponse) Len() int { return NonceSize + 1 + len(m.OrderID) + 2 + len(m.Sealed) }

// Append appends the encoding of m to b.
func (m MintResponse) Append(b []byte) []byte {
	b = append(b, m.Nonce[:]...)
	b = append(b, byte(len(m.OrderID)))
	b = append(b, m.OrderID...)
	b = binary.BigEndian.AppendUint16(b, m.Count)
	return append(b, m.Sealed...)
}
