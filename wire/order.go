package wire

import (
	"encoding/binary"
	"fmt"
)

// OrderRequest asks the gateway, on behalf of a shop, for one of its
// orders by id: what a retry of the order's mint would answer, without
// the shop having to know the order's request.
//
// Encoding (part of the wire format):
//
//	 0              16      17
//	+--------------+-------+--------------+
//	|  nonce (16)  |  len  |   order id   |
//	+--------------+-------+--------------+
//	                 u8      1..64
//
// The order id is printable ASCII, as a MintRequest's.
type OrderRequest struct {
	Nonce   [NonceSize]byte
	OrderID []byte // points into the input
}

// ParseOrderRequest parses a frame body, which must hold exactly one
// OrderRequest. OrderID points into b.
func ParseOrderRequest(b []byte) (OrderRequest, int, error) {
	var m OrderRequest
	d := decoder{b: b}
	d.copy(m.Nonce[:])
	m.OrderID = d.bytes8()
	if err := d.end(); err != nil {
		return OrderRequest{}, 0, err
	}
	if err := m.Check(); err != nil {
		return OrderRequest{}, 0, err
	}
	return m, len(b), nil
}

// Check reports whether the parser would accept m's encoding.
func (m OrderRequest) Check() error {
	if err := checkLen("order id", len(m.OrderID), 1, MaxOrderIDLen); err != nil {
		return err
	}
	return checkPrintable("order id", m.OrderID)
}

// Type returns TypeOrderRequest.
func (OrderRequest) Type() Type { return TypeOrderRequest }

// Len returns the encoded size.
func (m OrderRequest) Len() int { return NonceSize + 1 + len(m.OrderID) }

// Append appends the encoding of m to b.
func (m OrderRequest) Append(b []byte) []byte {
	b = append(b, m.Nonce[:]...)
	b = append(b, byte(len(m.OrderID)))
	return append(b, m.OrderID...)
}

// OrderResponse answers an OrderRequest with the order as the gateway
// holds it: its canonical bytes (MintRequest.AppendOrder: product, count,
// term, seats, expiry, order id, entitlements), when it was placed, and
// its keys sealed to the shop exactly as its MintResponse carried them.
// The shop opens them (OpenKeys) with the canonical bytes given here,
// which the seal binds: keys sealed for another order do not open.
//
// Encoding (part of the wire format):
//
//	 0              16             24          26          26+n
//	+--------------+--------------+-----------+-----------+------------------------------------+
//	|  nonce (16)  | created (8)  |  len (2)  |   order   | sealed keys (SealedKeysLen(count)) |
//	+--------------+--------------+-----------+-----------+------------------------------------+
//
// created is Unix seconds; the order is the canonical bytes of a valid
// MintRequest (ParseOrder); count is the order's.
type OrderResponse struct {
	Nonce   [NonceSize]byte
	Created int64
	Order   []byte // canonical order bytes; points into the input
	Sealed  []byte // points into the input
}

// maxOrderLen is the largest canonical order.
const maxOrderLen = mintRequestFixed - NonceSize + 1 + MaxOrderIDLen + maxEntitlementsLen

// ParseOrder parses an order's canonical bytes (MintRequest.AppendOrder)
// as strictly as ParseMintRequest parses a request, and returns the
// request with a zero nonce. Its OrderID and Entitlements point into
// order.
func ParseOrder(order []byte) (MintRequest, error) {
	var m MintRequest
	d := decoder{b: order}
	d.order(&m)
	if err := d.end(); err != nil {
		return MintRequest{}, fmt.Errorf("order: %w", err)
	}
	if err := m.Check(); err != nil {
		return MintRequest{}, fmt.Errorf("order: %w", err)
	}
	return m, nil
}

// ParseOrderResponse parses a frame body, which must hold exactly one
// OrderResponse. Order and Sealed point into b.
func ParseOrderResponse(b []byte) (OrderResponse, int, error) {
	var m OrderResponse
	d := decoder{b: b}
	d.copy(m.Nonce[:])
	m.Created = d.i64()
	m.Order = d.bytes16()
	if d.err == nil {
		// The order says how many keys are sealed after it.
		o, err := ParseOrder(m.Order)
		if err != nil {
			return OrderResponse{}, 0, err
		}
		m.Sealed = d.take(SealedKeysLen(int(o.Count)))
	}
	if err := d.end(); err != nil {
		return OrderResponse{}, 0, err
	}
	if err := m.Check(); err != nil {
		return OrderResponse{}, 0, err
	}
	return m, len(b), nil
}

// Check reports whether the parser would accept m's encoding.
func (m OrderResponse) Check() error {
	if err := checkTime("order created", m.Created); err != nil {
		return err
	}
	if err := checkLen("order", len(m.Order), 1, maxOrderLen); err != nil {
		return err
	}
	o, err := ParseOrder(m.Order)
	if err != nil {
		return err
	}
	if len(m.Sealed) != SealedKeysLen(int(o.Count)) {
		return fmt.Errorf("%w: %d bytes of sealed keys for %d keys", ErrInvalidField, len(m.Sealed), o.Count)
	}
	return checkSealed(m.Sealed)
}

// Type returns TypeOrderResponse.
func (OrderResponse) Type() Type { return TypeOrderResponse }

// Len returns the encoded size.
func (m OrderResponse) Len() int { return NonceSize + 8 + 2 + len(m.Order) + len(m.Sealed) }

// Append appends the encoding of m to b.
func (m OrderResponse) Append(b []byte) []byte {
	b = append(b, m.Nonce[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(m.Created))
	b = binary.BigEndian.AppendUint16(b, uint16(len(m.Order)))
	b = append(b, m.Order...)
	return append(b, m.Sealed...)
}
