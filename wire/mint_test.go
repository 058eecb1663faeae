package wire

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"testing"
)

func testMintRequest(t testing.TB) MintRequest {
	return MintRequest{
		Nonce:   testNonce,
		OrderID: []byte("A-1001"),
		Product: testProduct,
		Count:   3,
		Spec: MintSpec{
			Term:         Term{Kind: TermYears, Value: 1},
			Seats:        5,
			Entitlements: mustEntitlements(t, "sync", "export"),
		},
	}
}

const goldenMintRequest = `
	000102030405060708090a0b0c0d0e0f  # nonce
	31414a5332                        # product "1AJS2"
	0003                              # count 3
	01 0001                           # term: 1 year
	00000005                          # seats 5
	0000000000000000                  # expiry: none
	06 412d31303031                   # order id "A-1001"
	02 06 6578706f7274 04 73796e63    # entitlements "export", "sync"
`

func TestMintRequest(t *testing.T) {
	testCodec(t, ParseMintRequest, testMintRequest(t), goldenMintRequest)
}

// maxEntitlementSet has MaxEntitlements names of MaxEntitlementLen bytes.
func maxEntitlementSet(t testing.TB) Entitlements {
	names := make([]string, MaxEntitlements)
	for i := range names {
		names[i] = string(repeat('a'+byte(i%26), MaxEntitlementLen-2)) + strconv.Itoa(10+i)
	}
	return mustEntitlements(t, names...)
}

func TestMintRequestBounds(t *testing.T) {
	big := maxEntitlementSet(t)
	testBounds(t, ParseMintRequest, testMintRequest(t), []bound[MintRequest]{
		{"count 1", func(m *MintRequest) { m.Count = 1 }, nil},
		{"count max", func(m *MintRequest) { m.Count = MaxMintCount }, nil},
		{"count 0", func(m *MintRequest) { m.Count = 0 }, ErrInvalidField},
		{"count max+1", func(m *MintRequest) { m.Count = MaxMintCount + 1 }, ErrInvalidField},
		{"product lower case", func(m *MintRequest) { m.Product[0] = 'a' }, ErrInvalidField},
		{"product zero", func(m *MintRequest) { m.Product = [ProductSize]byte{} }, ErrInvalidField},
		{"order id 1 byte", func(m *MintRequest) { m.OrderID = []byte("1") }, nil},
		{"order id 64 bytes", func(m *MintRequest) { m.OrderID = repeat('o', MaxOrderIDLen) }, nil},
		{"order id empty", func(m *MintRequest) { m.OrderID = nil }, ErrInvalidField},
		{"order id 65 bytes", func(m *MintRequest) { m.OrderID = repeat('o', MaxOrderIDLen+1) }, ErrInvalidField},
		{"order id printable", func(m *MintRequest) { m.OrderID = []byte(" !order#7/~") }, nil},
		{"order id newline", func(m *MintRequest) { m.OrderID = []byte("A-1\n") }, ErrInvalidField},
		{"order id non-ASCII", func(m *MintRequest) { m.OrderID = []byte("Auftrag-ä") }, ErrInvalidField},
		{"term default", func(m *MintRequest) { m.Spec.Term = Term{} }, nil},
		{"term perpetual", func(m *MintRequest) { m.Spec.Term = Term{Kind: TermPerpetual} }, nil},
		{"term default with value", func(m *MintRequest) { m.Spec.Term = Term{Kind: TermDefault, Value: 1} }, ErrNonCanonical},
		{"term years max", func(m *MintRequest) { m.Spec.Term = Term{TermYears, MaxTermYears} }, nil},
		{"term years max+1", func(m *MintRequest) { m.Spec.Term = Term{TermYears, MaxTermYears + 1} }, ErrInvalidField},
		{"term days 0", func(m *MintRequest) { m.Spec.Term = Term{TermDays, 0} }, ErrInvalidField},
		{"term kind 5", func(m *MintRequest) { m.Spec.Term = Term{Kind: 5} }, ErrInvalidField},
		{"seats max", func(m *MintRequest) { m.Spec.Seats = ^uint32(0) }, nil},
		{"expiry set", func(m *MintRequest) { m.Spec.Expiry = 1893456000 }, nil},
		{"expiry negative", func(m *MintRequest) { m.Spec.Expiry = -1 }, ErrInvalidField},
		{"no entitlements", func(m *MintRequest) { m.Spec.Entitlements = Entitlements{} }, nil},
		{"max entitlements", func(m *MintRequest) { m.Spec.Entitlements = big }, nil},
	})
}

func TestMintRequestBadBytes(t *testing.T) {
	head := "000102030405060708090a0b0c0d0e0f 31414a5332 0003 010001 00000005 0000000000000000 06 412d31303031 "
	testBadBytes(t, ParseMintRequest, []badBytes{
		{"entitlements out of order", head + "02 04 73796e63 06 6578706f7274", ErrNonCanonical},
		{"entitlement duplicate", head + "02 04 73796e63 04 73796e63", ErrNonCanonical},
		{"entitlement upper case", head + "01 04 53796e63", ErrInvalidField},
		{"entitlements count 33", head + "21", ErrInvalidField},
		{"entitlements missing", head, ErrShort},
		{"entitlements then trailing", head + "00 00", ErrTrailing},
	})
}

func TestMintRequestSameOrder(t *testing.T) {
	a := testMintRequest(t)
	wantOrder := unhex(t, goldenMintRequest)[NonceSize:]
	if got := a.AppendOrder(nil); !bytes.Equal(got, wantOrder) {
		t.Fatalf("AppendOrder differs from the golden encoding after the nonce at byte %d", firstDiff(got, wantOrder))
	}
	retry := testMintRequest(t)
	retry.Nonce[0] ^= 0xff // a retry carries a fresh nonce
	retry.OrderID = []byte("A-1001")
	if !a.SameOrder(retry) || !bytes.Equal(a.AppendOrder(nil), retry.AppendOrder(nil)) {
		t.Fatalf("a retry with a new nonce is not the same order")
	}
	for _, c := range []struct {
		name string
		edit func(m *MintRequest)
	}{
		{"order id", func(m *MintRequest) { m.OrderID = []byte("A-1002") }},
		{"product", func(m *MintRequest) { m.Product[4] = '3' }},
		{"count", func(m *MintRequest) { m.Count++ }},
		{"term kind", func(m *MintRequest) { m.Spec.Term.Kind = TermMonths }},
		{"term value", func(m *MintRequest) { m.Spec.Term.Value = 2 }},
		{"seats", func(m *MintRequest) { m.Spec.Seats = 0 }},
		{"expiry", func(m *MintRequest) { m.Spec.Expiry = 1 }},
		{"entitlement dropped", func(m *MintRequest) { m.Spec.Entitlements = mustEntitlements(t, "export") }},
		{"entitlement renamed", func(m *MintRequest) { m.Spec.Entitlements = mustEntitlements(t, "export", "synd") }},
	} {
		b := testMintRequest(t)
		c.edit(&b)
		if a.SameOrder(b) || b.SameOrder(a) {
			t.Errorf("%s differs, yet SameOrder is true", c.name)
		}
		if bytes.Equal(a.AppendOrder(nil), b.AppendOrder(nil)) {
			t.Errorf("%s differs, yet AppendOrder is the same", c.name)
		}
	}
}

// mintKeys returns n distinct canonical keys back to back.
func mintKeys(n int) []byte {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	keys := make([]byte, 0, n*KeySize)
	for i := range n {
		k := testKey
		for j, v := 0, i; j < 4; j, v = j+1, v/36 {
			k[KeySize-1-j] = alphabet[v%36]
		}
		keys = append(keys, k[:]...)
	}
	return keys
}

// fakeSealed returns bytes laid out as n sealed keys (seal byte,
// encapsulated key 0x20..0x3f, ciphertext of 0xc5): enough for the codec,
// which checks the layout only.
func fakeSealed(n int) []byte {
	b := []byte{SealHPKEX25519}
	for i := range SealEncSize {
		b = append(b, 0x20+byte(i))
	}
	return append(b, bytes.Repeat([]byte{0xc5}, n*KeySize+SealTagSize)...)
}

var testMintResponse = MintResponse{
	Nonce:   testNonce,
	OrderID: []byte("A-1001"),
	Count:   2,
	Sealed:  fakeSealed(2),
}

func TestMintResponse(t *testing.T) {
	testCodec(t, ParseMintResponse, testMintResponse, `
		000102030405060708090a0b0c0d0e0f                                  # nonce
		06 412d31303031                                                   # order id "A-1001"
		0002                                                              # 2 keys
		01                                                                # seal: HPKE X25519
		202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f  # enc
		`+strings.Repeat("c5", 2*KeySize+SealTagSize)+`                   # 2 keys sealed, tag
	`)
}

func TestMintResponseBounds(t *testing.T) {
	testBounds(t, ParseMintResponse, testMintResponse, []bound[MintResponse]{
		{"1 key", func(m *MintResponse) { m.Count, m.Sealed = 1, fakeSealed(1) }, nil},
		{"max keys", func(m *MintResponse) { m.Count, m.Sealed = MaxMintCount, fakeSealed(MaxMintCount) }, nil},
		{"no keys", func(m *MintResponse) { m.Count, m.Sealed = 0, fakeSealed(0) }, ErrInvalidField},
		{"max+1 keys", func(m *MintResponse) { m.Count, m.Sealed = MaxMintCount+1, fakeSealed(MaxMintCount+1) }, ErrInvalidField},
		{"unknown seal", func(m *MintResponse) { m.Sealed = append([]byte{0x02}, fakeSealed(2)[1:]...) }, ErrInvalidField},
		{"seal zero", func(m *MintResponse) { m.Sealed = append([]byte{0x00}, fakeSealed(2)[1:]...) }, ErrInvalidField},
		{"order id 64 bytes", func(m *MintResponse) { m.OrderID = repeat('o', MaxOrderIDLen) }, nil},
		{"order id empty", func(m *MintResponse) { m.OrderID = nil }, ErrInvalidField},
		{"order id 65 bytes", func(m *MintResponse) { m.OrderID = repeat('o', MaxOrderIDLen+1) }, ErrInvalidField},
		{"order id control", func(m *MintResponse) { m.OrderID = []byte{'A', 0} }, ErrInvalidField},
	})
	for _, c := range []struct {
		name   string
		sealed []byte
	}{
		{"one key short", fakeSealed(1)},
		{"one key long", fakeSealed(3)},
		{"a byte short", fakeSealed(2)[:SealedKeysLen(2)-1]},
		{"none", nil},
	} {
		m := testMintResponse
		m.Sealed = c.sealed
		if err := m.Check(); !errors.Is(err, ErrInvalidField) {
			t.Errorf("Check with %s of sealed keys = %v, want ErrInvalidField", c.name, err)
		}
	}
}

func TestMintResponseBadBytes(t *testing.T) {
	head := "000102030405060708090a0b0c0d0e0f 06 412d31303031 "
	sealed1 := hex.EncodeToString(fakeSealed(1))
	testBadBytes(t, ParseMintResponse, []badBytes{
		{"count beyond data", head + "0002" + sealed1, ErrShort},
		{"count below data", head + "0001" + sealed1 + strings.Repeat("c5", KeySize), ErrTrailing},
		{"count 0", head + "0000" + hex.EncodeToString(fakeSealed(0)), ErrInvalidField},
		{"count 0xffff", head + "ffff", ErrShort},
		{"count 10001", head + "2711" + hex.EncodeToString(fakeSealed(10001)), ErrInvalidField},
		{"seal 2", head + "0001" + "02" + sealed1[2:], ErrInvalidField},
	})
}

func TestMintKeys(t *testing.T) {
	keys := mintKeys(MaxMintCount)
	seen := make(map[string]bool)
	for i := 0; i < len(keys); i += KeySize {
		seen[string(keys[i:i+KeySize])] = true
	}
	if len(seen) != MaxMintCount || checkKeyChars("keys", keys) != nil {
		t.Fatalf("mintKeys made %d distinct keys, want %d canonical ones", len(seen), MaxMintCount)
	}
}
