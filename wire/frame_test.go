package wire

import (
	"errors"
	"strings"
	"testing"
)

func TestParseHeader(t *testing.T) {
	golden := unhex(t, `
		01        # version 1
		03        # type ValidateRequest
		deadbeef  # request id
		00000096  # body length 150
	`)
	want := Header{Type: TypeValidateRequest, RequestID: 0xdeadbeef, Length: 150}
	h, n, err := ParseHeader(golden)
	if err != nil || n != HeaderSize || h != want {
		t.Fatalf("ParseHeader = %+v, %d, %v; want %+v, %d, nil", h, n, err, want, HeaderSize)
	}
	if got := want.Append(nil); string(got) != string(golden) || want.Len() != HeaderSize {
		t.Fatalf("Append = %x, want %x", got, golden)
	}
	// A header is read from a stream buffer: what follows is the body.
	if h, n, err := ParseHeader(append(golden, 0xaa, 0xbb)); err != nil || n != HeaderSize || h != want {
		t.Fatalf("ParseHeader with body after it = %+v, %d, %v", h, n, err)
	}
	for i := range HeaderSize {
		if h, n, err := ParseHeader(golden[:i]); !errors.Is(err, ErrShort) || n != 0 || h != (Header{}) {
			t.Errorf("prefix of %d bytes: %+v, %d, %v; want ErrShort", i, h, n, err)
		}
	}
	if a := testing.AllocsPerRun(100, func() { _, _, _ = ParseHeader(golden) }); a != 0 {
		t.Errorf("ParseHeader: %v allocations", a)
	}
	buf := make([]byte, 0, HeaderSize)
	if a := testing.AllocsPerRun(100, func() { _ = want.Append(buf[:0]) }); a != 0 {
		t.Errorf("Append: %v allocations", a)
	}
}

func TestParseHeaderErrors(t *testing.T) {
	for _, c := range []struct {
		name, hex string
		want      error
	}{
		{"version 0", "00 03 00000000 00000000", ErrUnsupportedVersion},
		{"version 2", "02 03 00000000 00000000", ErrUnsupportedVersion},
		// A future version is refused from its first byte, not misread
		// or reported as truncated.
		{"version 2, short", "02", ErrUnsupportedVersion},
		{"version 2, unknown type", "02 ee 00000000 00000000", ErrUnsupportedVersion},
		{"type 0", "01 00 00000000 00000000", ErrUnknownType},
		{"type 0x7e", "01 7e 00000000 00000000", ErrUnknownType},
		{"type 0x7e", "01 7e 00000000 00000000", ErrUnknownType},
		{"type 0xff", "01 ff 00000000 00000000", ErrUnknownType},
		{"unknown type, huge", "01 80 00000000 ffffffff", ErrUnknownType},
		{"length max+1 for MintResponse", "01 0a 00000000 00100001", ErrTooLarge},
		{"length 4 GiB", "01 0a 00000000 ffffffff", ErrTooLarge},
		{"ValidateRequest of 151 bytes", "01 03 00000000 00000097", ErrTooLarge},
		{"TimeRequest of 17 bytes", "01 07 00000000 00000011", ErrTooLarge},
	} {
		t.Run(c.name, func(t *testing.T) {
			h, n, err := ParseHeader(unhex(t, c.hex))
			if !errors.Is(err, c.want) || n != 0 || h != (Header{}) {
				t.Fatalf("ParseHeader = %+v, %d, %v; want %v", h, n, err, c.want)
			}
		})
	}
}

// largest returns the largest valid message of each type.
func largest(t testing.TB) []Message {
	fp := fullFingerprint()
	var msg []byte
	for range MaxErrorMessageLen / 3 {
		msg = append(msg, "€"...)
	}
	return []Message{
		ActivateRequest{Key: testKey, Fingerprint: fp, Hostname: repeat('h', MaxHostnameLen), AppVersion: repeat('v', MaxAppVersionLen), Base: testLicenseID},
		ActivateResponse{Lease: repeat(0xaa, MaxLeaseSize)},
		ValidateRequest{Fingerprint: fp},
		ValidateResponse{Lease: repeat(0xaa, MaxLeaseSize)},
		DeactivateRequest{Flags: DeactivateCheckIn},
		DeactivateResponse{},
		TimeRequest{},
		TimeResponse{},
		MintRequest{OrderID: repeat('o', MaxOrderIDLen), Product: testProduct, Count: MaxMintCount,
			Spec: MintSpec{Entitlements: maxEntitlementSet(t)}},
		MintResponse{OrderID: repeat('o', MaxOrderIDLen), Count: MaxMintCount, Sealed: fakeSealed(MaxMintCount)},
		KeyOpRequest{Op: KeyOpStatus, Key: testKey},
		SeatResetRequest{Key: testKey, Hostname: repeat('h', MaxHostnameLen)},
		SeatResetResponse{Freed: 1, Seats: 1, NextReset: 1},
		KeyStatusResponse{Product: testProduct, Activations: maxActivationList(t)},
		ErrorResponse{Status: StatusServerError, Message: msg, RetryAt: 1},
		EventsRequest{Max: MaxEvents},
		EventsResponse{Events: maxEventList(t)},
		OrderRequest{OrderID: repeat('o', MaxOrderIDLen)},
		OrderResponse{Order: MintRequest{OrderID: repeat('o', MaxOrderIDLen), Product: testProduct, Count: MaxMintCount,
			Spec: MintSpec{Entitlements: maxEntitlementSet(t)}}.AppendOrder(nil), Sealed: fakeSealed(MaxMintCount)},
		OfflineAnswerRequest{Request: OfflineRequest{Product: testProduct, InstallKey: [InstallKeySize]byte{1}, Created: 1,
			Fingerprint: fp, Hostname: repeat('h', MaxHostnameLen), AppVersion: repeat('v', MaxAppVersionLen)}},
		OfflineAnswerResponse{Lease: repeat(0xaa, MaxLeaseSize)},
		OfflineReleaseRequest{Release: OfflineRelease{InstallKey: [InstallKeySize]byte{1}, LeaseIssued: 1, Created: 1}},
		OfflineReleaseResponse{},
		TrialRequest{Product: testProduct, Fingerprint: fp, Hostname: repeat('h', MaxHostnameLen), AppVersion: repeat('v', MaxAppVersionLen)},
		TrialResponse{Ends: 1, Lease: repeat(0xaa, MaxLeaseSize)},
	}
}

// TestMaxBodyLen checks the per-type limits that ParseHeader enforces
// against the largest message of each type, so that a layout change that
// forgets the limit cannot make valid messages unsendable.
func TestMaxBodyLen(t *testing.T) {
	seen := map[Type]bool{}
	for _, m := range largest(t) {
		seen[m.Type()] = true
		if err := m.Check(); err != nil {
			t.Errorf("%v: largest message does not Check: %v", m.Type(), err)
		}
		if m.Len() != maxBodyLen(m.Type()) {
			t.Errorf("%v: largest message has %d bytes, maxBodyLen says %d", m.Type(), m.Len(), maxBodyLen(m.Type()))
		}
		if m.Len() > MaxFrameSize {
			t.Errorf("%v: largest message exceeds MaxFrameSize", m.Type())
		}
		frame := AppendFrame(nil, 1, m)
		if _, _, err := ParseHeader(frame); err != nil {
			t.Errorf("%v: header of the largest frame: %v", m.Type(), err)
		}
	}
	for typ := range 256 {
		if Type(typ).Known() != seen[Type(typ)] {
			t.Errorf("type %v: known %v, but has a largest message: %v", Type(typ), Type(typ).Known(), seen[Type(typ)])
		}
		if !Type(typ).Known() && maxBodyLen(Type(typ)) != 0 {
			t.Errorf("unknown type %v has a body limit", Type(typ))
		}
	}
}

func TestTypeString(t *testing.T) {
	for typ, want := range map[Type]string{
		TypeActivateRequest:   "ActivateRequest",
		TypeKeyStatusResponse: "KeyStatusResponse",
		TypeErrorResponse:     "ErrorResponse",
		0:                     "Type(0x0)",
		TypeTrialRequest:      "TrialRequest",
		0x7e:                  "Type(0x7e)",
		0xff:                  "Type(0xff)",
	} {
		if got := typ.String(); got != want {
			t.Errorf("Type(%d).String() = %q, want %q", uint8(typ), got, want)
		}
	}
}

func TestPeekNonce(t *testing.T) {
	body := append(testNonce[:], 1, 2, 3)
	if n, ok := PeekNonce(body); !ok || n != testNonce {
		t.Fatalf("PeekNonce = %x, %v", n, ok)
	}
	if n, ok := PeekNonce(body[:NonceSize-1]); ok || n != ([NonceSize]byte{}) {
		t.Fatalf("PeekNonce of a short body = %x, %v", n, ok)
	}
}

func TestTermCheck(t *testing.T) {
	for _, c := range []struct {
		term Term
		want error
	}{
		{Term{TermDefault, 0}, nil},
		{Term{TermDefault, 1}, ErrNonCanonical},
		{Term{TermPerpetual, 0}, nil},
		{Term{TermPerpetual, 5}, ErrNonCanonical},
		{Term{TermYears, 0}, ErrInvalidField},
		{Term{TermYears, 1}, nil},
		{Term{TermYears, MaxTermYears}, nil},
		{Term{TermYears, MaxTermYears + 1}, ErrInvalidField},
		{Term{TermMonths, 0}, ErrInvalidField},
		{Term{TermMonths, 1}, nil},
		{Term{TermMonths, MaxTermMonths}, nil},
		{Term{TermMonths, MaxTermMonths + 1}, ErrInvalidField},
		{Term{TermDays, 0}, ErrInvalidField},
		{Term{TermDays, 1}, nil},
		{Term{TermDays, MaxTermDays}, nil},
		{Term{TermDays, MaxTermDays + 1}, ErrInvalidField},
		{Term{TermDays, 0xffff}, ErrInvalidField},
		{Term{5, 0}, ErrInvalidField},
		{Term{0xff, 1}, ErrInvalidField},
	} {
		if err := c.term.Check(); !errors.Is(err, c.want) {
			t.Errorf("%v %d: Check() = %v, want %v", c.term.Kind, c.term.Value, err, c.want)
		}
	}
	if TermMonths.String() != "months" || TermKind(9).String() != "TermKind(9)" {
		t.Errorf("TermKind.String: %q, %q", TermMonths.String(), TermKind(9).String())
	}
}

// TestErrorsKeepKeysOut checks that an error about a license key says
// where it is wrong, never what the key is.
func TestErrorsKeepKeysOut(t *testing.T) {
	m := testKeyOpRequest
	m.Key[29] = 'z'
	enc := m.Append(nil)
	_, _, err := ParseKeyOpRequest(enc)
	if !errors.Is(err, ErrInvalidField) {
		t.Fatalf("err = %v, want ErrInvalidField", err)
	}
	msg := err.Error()
	for i := 0; i+6 <= KeySize; i++ {
		if strings.Contains(msg, string(m.Key[i:i+6])) {
			t.Fatalf("error message holds part of the key")
		}
	}
}

// TestStatusOfParseErrors checks that every parse error maps to the status
// a gateway sends back for it.
func TestStatusOfParseErrors(t *testing.T) {
	_, _, err := ParseHeader([]byte{2})
	if StatusOf(err) != StatusUnsupportedVersion {
		t.Errorf("StatusOf(%v) = %v", err, StatusOf(err))
	}
	for _, body := range [][]byte{nil, repeat('x', 17), append(testNonce[:], 0, 6, 1, 0x0a)} {
		_, _, err := ParseErrorResponse(body)
		if err == nil || StatusOf(err) != StatusBadRequest {
			t.Errorf("StatusOf(%v) = %v, want BAD_REQUEST", err, StatusOf(err))
		}
	}
}
