package wire

import (
	"bytes"
	"errors"
	"testing"
)

// anyParser turns a typed parser into one the fuzz targets can index by
// type.
func anyParser[M Message](parse func([]byte) (M, int, error)) func([]byte) (Message, int, error) {
	return func(b []byte) (Message, int, error) { return parse(b) }
}

var parsers = map[Type]func([]byte) (Message, int, error){
	TypeActivateRequest:    anyParser(ParseActivateRequest),
	TypeActivateResponse:   anyParser(ParseActivateResponse),
	TypeValidateRequest:    anyParser(ParseValidateRequest),
	TypeValidateResponse:   anyParser(ParseValidateResponse),
	TypeDeactivateRequest:  anyParser(ParseDeactivateRequest),
	TypeDeactivateResponse: anyParser(ParseDeactivateResponse),
	TypeTimeRequest:        anyParser(ParseTimeRequest),
	TypeTimeResponse:       anyParser(ParseTimeResponse),
	TypeMintRequest:        anyParser(ParseMintRequest),
	TypeMintResponse:       anyParser(ParseMintResponse),
	TypeKeyOpRequest:       anyParser(ParseKeyOpRequest),
	TypeKeyStatusResponse:  anyParser(ParseKeyStatusResponse),
	TypeErrorResponse:      anyParser(ParseErrorResponse),
	TypeEventsRequest:      anyParser(ParseEventsRequest),
	TypeEventsResponse:     anyParser(ParseEventsResponse),
	TypeOrderRequest:       anyParser(ParseOrderRequest),
	TypeOrderResponse:      anyParser(ParseOrderResponse),

	TypeOfflineAnswerRequest:   anyParser(ParseOfflineAnswerRequest),
	TypeOfflineAnswerResponse:  anyParser(ParseOfflineAnswerResponse),
	TypeOfflineReleaseRequest:  anyParser(ParseOfflineReleaseRequest),
	TypeOfflineReleaseResponse: anyParser(ParseOfflineReleaseResponse),
	TypeTrialRequest:           anyParser(ParseTrialRequest),
	TypeTrialResponse:          anyParser(ParseTrialResponse),
	TypeSeatResetRequest:       anyParser(ParseSeatResetRequest),
	TypeSeatResetResponse:      anyParser(ParseSeatResetResponse),
}

// seedMessages returns valid messages of every type: the golden ones and
// the largest ones.
func seedMessages(tb testing.TB) []Message {
	vr := testValidateResponse
	vr.Lease = []byte{1, 2, 3}
	vr.Changed = 1 << KindCPU
	return append([]Message{
		testActivateRequest,
		testPluginActivateRequest(),
		testSeatResetRequest,
		SeatResetRequest{Nonce: testNonce, Key: testKey, Flags: SeatResetAll},
		testSeatResetResponse,
		testActivateResponse,
		testValidateRequest,
		testValidateResponse,
		vr,
		DeactivateRequest{Nonce: testNonce, LicenseID: testLicenseID},
		DeactivateResponse{Nonce: testNonce},
		TimeRequest{Nonce: testNonce},
		testTimeResponse,
		testMintRequest(tb),
		testMintResponse,
		testKeyOpRequest,
		testKeyStatusResponse(tb),
		testErrorResponse,
		testEventsRequest,
		testEventsResponse(tb),
		EventsResponse{Nonce: testNonce},
		testOrderRequest,
		testOrderResponse(tb),
		OfflineAnswerRequest{Nonce: testNonce, Request: testOfflineRequest(tb)},
		OfflineAnswerResponse{Nonce: testNonce, LicenseID: testLicenseID, Lease: []byte{1, 2, 3}},
		OfflineReleaseRequest{Nonce: testNonce, Release: testOfflineRelease(tb)},
		OfflineReleaseResponse{Nonce: testNonce, LicenseID: testLicenseID},
		testTrialRequest,
		testTrialResponse,
	}, largest(tb)...)
}

// FuzzParseMessage parses a body of the type given by the first byte of
// the input. On success the message must Check, have Len equal to the body
// size, and Append back to exactly the body; on failure the parser must
// return the zero message, n = 0, and one of the package's errors.
func FuzzParseMessage(f *testing.F) {
	for _, m := range seedMessages(f) {
		if m.Len() > 4096 {
			// Large seeds make every new input that the fuzzer finds
			// slow to minimize; the largest messages are unit-tested
			// (TestMaxBodyLen), and mutating length fields reaches the
			// same checks.
			continue
		}
		f.Add(append([]byte{byte(m.Type())}, m.Append(nil)...))
	}
	many := MintResponse{Nonce: testNonce, OrderID: []byte("A-1001"), Count: 20, Sealed: fakeSealed(20)}
	f.Add(append([]byte{byte(TypeMintResponse)}, many.Append(nil)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 1 {
			return
		}
		parse, ok := parsers[Type(data[0])]
		if !ok {
			return
		}
		body := data[1:]
		m, n, err := parse(body)
		if err != nil {
			if n != 0 || !isZero(m) {
				t.Fatalf("error %v with n = %d and a non-zero message", err, n)
			}
			if StatusOf(err) != StatusBadRequest {
				t.Fatalf("error %v is not a parse error", err)
			}
			return
		}
		if m.Type() != Type(data[0]) {
			t.Fatalf("parser for %v returned a %v", Type(data[0]), m.Type())
		}
		if n != len(body) || m.Len() != n {
			t.Fatalf("n = %d, Len() = %d, body has %d bytes", n, m.Len(), len(body))
		}
		if err := m.Check(); err != nil {
			t.Fatalf("parsed message fails Check: %v", err)
		}
		prefix := []byte("prefix")
		if enc := m.Append(prefix[:len(prefix):len(prefix)]); !bytes.Equal(enc[len(prefix):], body) || !bytes.Equal(enc[:len(prefix)], prefix) {
			t.Fatalf("Append does not give back the body: differs at byte %d", firstDiff(enc[len(prefix):], body))
		}
		frame := AppendFrame(nil, 42, m)
		h, hn, err := ParseHeader(frame)
		if err != nil || hn != HeaderSize || h.Type != m.Type() || int(h.Length) != n {
			t.Fatalf("header of the frame: %+v, %v", h, err)
		}
	})
}

// FuzzParseHeader checks that a header parses only when valid, reads
// exactly HeaderSize bytes, and appends back to the bytes it read.
func FuzzParseHeader(f *testing.F) {
	for _, m := range seedMessages(f) {
		f.Add(AppendFrame(nil, 0x01020304, m)[:HeaderSize])
	}
	f.Add([]byte{2, 3, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{1, 0xa, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		h, n, err := ParseHeader(data)
		if err != nil {
			if n != 0 || h != (Header{}) {
				t.Fatalf("error %v with n = %d and header %+v", err, n, h)
			}
			if len(data) > 0 && data[0] != ProtocolVersion && !errors.Is(err, ErrUnsupportedVersion) {
				t.Fatalf("version %d gave %v, want ErrUnsupportedVersion", data[0], err)
			}
			return
		}
		if n != HeaderSize || !h.Type.Known() || h.Length > MaxFrameSize || int(h.Length) > maxBodyLen(h.Type) {
			t.Fatalf("accepted %+v, n = %d", h, n)
		}
		if enc := h.Append(nil); !bytes.Equal(enc, data[:n]) {
			t.Fatalf("Append = %x, input %x", enc, data[:n])
		}
	})
}

// FuzzParseEntitlements checks that a parsed set appends back to the
// bytes read, yields Count names in strictly ascending order, and that
// NewEntitlements of those names gives an Equal set.
func FuzzParseEntitlements(f *testing.F) {
	f.Add([]byte{0})
	f.Add(mustEntitlements(f, "sync", "export", "a.b_c-9").Append(nil))
	f.Add(maxEntitlementSet(f).Append(nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, n, err := ParseEntitlements(data)
		if err != nil {
			if n != 0 || !isZero(e) {
				t.Fatalf("error %v with n = %d and a non-zero set", err, n)
			}
			return
		}
		if enc := e.Append(nil); !bytes.Equal(enc, data[:n]) || e.Len() != n {
			t.Fatalf("Append = %x, input %x", enc, data[:n])
		}
		var names []string
		for name := range e.All() {
			if len(names) > 0 && names[len(names)-1] >= string(name) {
				t.Fatalf("names not strictly ascending")
			}
			names = append(names, string(name))
		}
		if len(names) != e.Count() {
			t.Fatalf("All yields %d names, Count() = %d", len(names), e.Count())
		}
		built, err := NewEntitlements(names...)
		if err != nil || !built.Equal(e) {
			t.Fatalf("NewEntitlements of the parsed names: %v", err)
		}
		for _, name := range names {
			if !e.Has(name) {
				t.Fatalf("Has(%q) = false", name)
			}
		}
	})
}
