package wire

import (
	"errors"
	"strings"
	"testing"
)

var testOrderRequest = OrderRequest{Nonce: testNonce, OrderID: []byte("A-1001")}

func TestOrderRequest(t *testing.T) {
	testCodec(t, ParseOrderRequest, testOrderRequest, `
		000102030405060708090a0b0c0d0e0f  # nonce
		06 412d31303031                   # order id "A-1001"
	`)
}

func TestOrderRequestBounds(t *testing.T) {
	testBounds(t, ParseOrderRequest, testOrderRequest, []bound[OrderRequest]{
		{"order id 1 byte", func(m *OrderRequest) { m.OrderID = []byte("1") }, nil},
		{"order id 64 bytes", func(m *OrderRequest) { m.OrderID = repeat('o', MaxOrderIDLen) }, nil},
		{"order id empty", func(m *OrderRequest) { m.OrderID = nil }, ErrInvalidField},
		{"order id 65 bytes", func(m *OrderRequest) { m.OrderID = repeat('o', MaxOrderIDLen+1) }, ErrInvalidField},
		{"order id control", func(m *OrderRequest) { m.OrderID = []byte{'A', 0} }, ErrInvalidField},
		{"order id not ASCII", func(m *OrderRequest) { m.OrderID = []byte("é") }, ErrInvalidField},
	})
}

func testOrderResponse(t testing.TB) OrderResponse {
	return OrderResponse{Nonce: testNonce, Created: 0x67000000, Order: testMintRequest(t).AppendOrder(nil), Sealed: fakeSealed(3)}
}

func TestOrderResponse(t *testing.T) {
	testCodec(t, ParseOrderResponse, testOrderResponse(t), `
		000102030405060708090a0b0c0d0e0f  # nonce
		0000000067000000                  # created
		002a                              # 42 bytes of order:
		31414a5332                        #   product "1AJS2"
		0003                              #   count 3
		01 0001                           #   term: 1 year
		00000005                          #   seats 5
		0000000000000000                  #   expiry: none
		06 412d31303031                   #   order id "A-1001"
		02 06 6578706f7274 04 73796e63    #   entitlements "export", "sync"
		01                                                                # seal: HPKE X25519
		202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f  # enc
		`+strings.Repeat("c5", 3*KeySize+SealTagSize)+`                   # 3 keys sealed, tag
	`)
	o, err := ParseOrder(testOrderResponse(t).Order)
	if err != nil || string(o.OrderID) != "A-1001" || o.Count != 3 || o.Product != testProduct || !o.SameOrder(testMintRequest(t)) {
		t.Fatalf("ParseOrder = %+v, %v; want the test order", o, err)
	}
}

func TestOrderResponseBounds(t *testing.T) {
	order := func(edit func(m *MintRequest)) []byte {
		m := testMintRequest(t)
		edit(&m)
		return m.AppendOrder(nil)
	}
	testBounds(t, ParseOrderResponse, testOrderResponse(t), []bound[OrderResponse]{
		{"1 key", func(m *OrderResponse) {
			m.Order, m.Sealed = order(func(r *MintRequest) { r.Count = 1 }), fakeSealed(1)
		}, nil},
		{"created 0", func(m *OrderResponse) { m.Created = 0 }, nil},
		{"created negative", func(m *OrderResponse) { m.Created = -1 }, ErrInvalidField},
		{"order of 0 keys", func(m *OrderResponse) {
			m.Order, m.Sealed = order(func(r *MintRequest) { r.Count = 0 }), fakeSealed(0)
		}, ErrInvalidField},
		{"order id empty", func(m *OrderResponse) { m.Order = order(func(r *MintRequest) { r.OrderID = nil }) }, ErrInvalidField},
		{"product lower case", func(m *OrderResponse) { m.Order = order(func(r *MintRequest) { r.Product[0] = 'a' }) }, ErrInvalidField},
		{"unknown seal", func(m *OrderResponse) { m.Sealed = append([]byte{0x02}, fakeSealed(3)[1:]...) }, ErrInvalidField},
	})
	testBadBytes(t, ParseOrderResponse, []badBytes{
		{"no order", "000102030405060708090a0b0c0d0e0f 0000000067000000 0000", ErrShort},
		{"sealed keys short of the count", "000102030405060708090a0b0c0d0e0f 0000000067000000 002a" +
			"31414a5332 0003 010001 00000005 0000000000000000 06412d31303031 02066578706f72740473796e63" +
			"01 202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f" + strings.Repeat("c5", 2*KeySize+SealTagSize), ErrShort},
	})
	if _, err := ParseOrder(nil); !errors.Is(err, ErrShort) {
		t.Fatalf("ParseOrder(nil) = %v; want ErrShort", err)
	}
}
