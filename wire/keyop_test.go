package wire

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

var testKeyOpRequest = KeyOpRequest{
	Nonce: testNonce,
	Op:    KeyOpRenew,
	Term:  Term{Kind: TermMonths, Value: 12},
	Key:   testKey,
}

func TestKeyOpRequest(t *testing.T) {
	testCodec(t, ParseKeyOpRequest, testKeyOpRequest, `
		000102030405060708090a0b0c0d0e0f                              # nonce
		04                                                            # op: renew
		02 000c                                                       # term: 12 months
		31414a5332303132333435363738394142434445464748494a4b4c4d4e4f  # license key
	`)
}

func TestKeyOpRequestBounds(t *testing.T) {
	cases := []bound[KeyOpRequest]{
		{"renew by default term", func(m *KeyOpRequest) { m.Term = Term{} }, nil},
		{"renew perpetual", func(m *KeyOpRequest) { m.Term = Term{Kind: TermPerpetual} }, nil},
		{"renew 0 months", func(m *KeyOpRequest) { m.Term.Value = 0 }, ErrInvalidField},
		{"renew 121 months", func(m *KeyOpRequest) { m.Term.Value = MaxTermMonths + 1 }, ErrInvalidField},
		{"renew 365 days", func(m *KeyOpRequest) { m.Term = Term{TermDays, MaxTermDays} }, nil},
		{"renew 366 days", func(m *KeyOpRequest) { m.Term = Term{TermDays, MaxTermDays + 1} }, ErrInvalidField},
		{"op 0", func(m *KeyOpRequest) { m.Op, m.Term = 0, Term{} }, ErrInvalidField},
		{"op 6", func(m *KeyOpRequest) { m.Op, m.Term = KeyOpStatus+1, Term{} }, ErrInvalidField},
		{"key with space", func(m *KeyOpRequest) { m.Key[29] = ' ' }, ErrInvalidField},
	}
	for _, op := range []KeyOp{KeyOpSuspend, KeyOpResume, KeyOpRevoke, KeyOpStatus} {
		cases = append(cases,
			bound[KeyOpRequest]{op.String(), func(m *KeyOpRequest) { m.Op, m.Term = op, Term{} }, nil},
			bound[KeyOpRequest]{op.String() + " with a term", func(m *KeyOpRequest) { m.Op = op }, ErrNonCanonical},
			bound[KeyOpRequest]{op.String() + " with a term value", func(m *KeyOpRequest) { m.Op, m.Term = op, Term{Value: 1} }, ErrNonCanonical},
		)
	}
	testBounds(t, ParseKeyOpRequest, testKeyOpRequest, cases)
}

func TestKeyOpString(t *testing.T) {
	for op, want := range map[KeyOp]string{KeyOpSuspend: "suspend", KeyOpStatus: "status", 0: "KeyOp(0)", 9: "KeyOp(9)"} {
		if got := op.String(); got != want {
			t.Errorf("KeyOp(%d).String() = %q, want %q", uint8(op), got, want)
		}
	}
}

func testKeyStatusResponse(t testing.TB) KeyStatusResponse {
	m := KeyStatusResponse{
		Nonce:     testNonce,
		Status:    StatusSuspended,
		Product:   testProduct,
		Seats:     2,
		SeatsUsed: 1,
		Activated: 1700000000,
	}
	if err := m.Activations.Add(Activation{Hostname: []byte("host-1"), LastSeen: 1700000100}); err != nil {
		t.Fatalf("Add: %v", err)
	}
	return m
}

const goldenKeyStatusResponse = `
	000102030405060708090a0b0c0d0e0f  # nonce
	0003                              # status SUSPENDED
	31414a5332                        # product "1AJS2"
	00000002                          # seats 2
	00000001                          # seats used 1
	000000006553f100                  # activated 1700000000
	0000000000000000                  # expiry: none
	01                                # 1 activation:
	000000006553f164 06 686f73742d31  #   last seen 1700000100, hostname "host-1"
`

func TestKeyStatusResponse(t *testing.T) {
	testCodec(t, ParseKeyStatusResponse, testKeyStatusResponse(t), goldenKeyStatusResponse)
}

// maxActivationList has MaxActivations activations with the longest hostnames.
func maxActivationList(t testing.TB) Activations {
	var l Activations
	for i := range MaxActivations {
		if err := l.Add(Activation{Hostname: repeat('a'+byte(i%26), MaxHostnameLen), LastSeen: int64(i)}); err != nil {
			t.Fatalf("Add %d: %v", i, err)
		}
	}
	return l
}

func TestKeyStatusResponseBounds(t *testing.T) {
	full := maxActivationList(t)
	testBounds(t, ParseKeyStatusResponse, testKeyStatusResponse(t), []bound[KeyStatusResponse]{
		{"status OK", func(m *KeyStatusResponse) { m.Status = StatusOK }, nil},
		{"status revoked", func(m *KeyStatusResponse) { m.Status = StatusRevoked }, nil},
		{"status expired", func(m *KeyStatusResponse) { m.Status = StatusExpired }, nil},
		{"status not found", func(m *KeyStatusResponse) { m.Status = StatusNotFound }, ErrInvalidField},
		{"status unknown", func(m *KeyStatusResponse) { m.Status = 999 }, ErrInvalidField},
		{"product with dash", func(m *KeyStatusResponse) { m.Product[2] = '-' }, ErrInvalidField},
		{"never activated", func(m *KeyStatusResponse) { m.Activated = 0 }, nil},
		{"activated negative", func(m *KeyStatusResponse) { m.Activated = -5 }, ErrInvalidField},
		{"expiry set", func(m *KeyStatusResponse) { m.Expiry = 1893456000 }, nil},
		{"expiry negative", func(m *KeyStatusResponse) { m.Expiry = -1 << 63 }, ErrInvalidField},
		{"seats max", func(m *KeyStatusResponse) { m.Seats, m.SeatsUsed = ^uint32(0), ^uint32(0) }, nil},
		{"no activations", func(m *KeyStatusResponse) { m.Activations = Activations{} }, nil},
		{"max activations", func(m *KeyStatusResponse) { m.Activations = full }, nil},
	})
}

func TestKeyStatusResponseBadBytes(t *testing.T) {
	head := "000102030405060708090a0b0c0d0e0f 0000 31414a5332 00000002 00000001 000000006553f100 0000000000000000 "
	testBadBytes(t, ParseKeyStatusResponse, []badBytes{
		{"hostname 65 bytes", head + "01 0000000000000001 41" + strings.Repeat("61", 65), ErrInvalidField},
		{"hostname control", head + "01 0000000000000001 02 610a", ErrInvalidField},
		{"hostname bad UTF-8", head + "01 0000000000000001 02 61c0", ErrInvalidField},
		{"last seen negative", head + "01 8000000000000000 00", ErrInvalidField},
		{"count beyond data", head + "02 0000000000000001 00", ErrShort},
		{"count below data", head + "01 0000000000000001 00 0000000000000001 00", ErrTrailing},
	})
}

func TestActivations(t *testing.T) {
	var l Activations
	want := []Activation{
		{Hostname: []byte("host-1"), LastSeen: 1},
		{Hostname: nil, LastSeen: 0},
		{Hostname: []byte("Büro"), LastSeen: 1 << 40},
	}
	for _, a := range want {
		if err := l.Add(a); err != nil {
			t.Fatalf("Add: %v", err)
		}
	}
	check := func(name string, l Activations) {
		t.Helper()
		if l.Count() != len(want) {
			t.Fatalf("%s: Count() = %d, want %d", name, l.Count(), len(want))
		}
		i := 0
		for a := range l.All() {
			if !bytes.Equal(a.Hostname, want[i].Hostname) || a.LastSeen != want[i].LastSeen {
				t.Fatalf("%s: activation %d = %q, %d", name, i, a.Hostname, a.LastSeen)
			}
			i++
		}
		if i != len(want) {
			t.Fatalf("%s: All yields %d activations, want %d", name, i, len(want))
		}
	}
	check("built", l)

	enc := l.Append(nil)
	if len(enc) != l.Len() {
		t.Fatalf("Len() = %d, encoding has %d bytes", l.Len(), len(enc))
	}
	p, n, err := parseActivations(enc)
	if err != nil || n != len(enc) {
		t.Fatalf("parseActivations: %d, %v", n, err)
	}
	check("parsed", p)
	if a := testing.AllocsPerRun(100, func() {
		for a := range p.All() {
			_ = a
		}
	}); a != 0 {
		t.Errorf("All: %v allocations", a)
	}

	// Adding to a parsed list must not write into the input.
	saved := bytes.Clone(enc)
	if err := p.Add(Activation{Hostname: []byte("x"), LastSeen: 2}); err != nil {
		t.Fatalf("Add to parsed list: %v", err)
	}
	if !bytes.Equal(enc, saved) {
		t.Fatalf("Add to a parsed list changed the input")
	}
	if p.Count() != 4 || l.Count() != 3 {
		t.Fatalf("counts after Add: %d, %d", p.Count(), l.Count())
	}
}

func TestActivationsAddErrors(t *testing.T) {
	full := maxActivationList(t)
	if err := full.Add(Activation{}); !errors.Is(err, ErrInvalidField) {
		t.Fatalf("Add to a full list = %v, want ErrInvalidField", err)
	}
	if full.Count() != MaxActivations {
		t.Fatalf("failed Add changed the count to %d", full.Count())
	}
	for name, a := range map[string]Activation{
		"hostname 65 bytes":  {Hostname: repeat('h', MaxHostnameLen+1)},
		"hostname control":   {Hostname: []byte("a\tb")},
		"hostname bad UTF-8": {Hostname: []byte{0xff}},
		"negative last seen": {Hostname: []byte("a"), LastSeen: -1},
	} {
		var l Activations
		if err := l.Add(a); !errors.Is(err, ErrInvalidField) {
			t.Errorf("%s: Add = %v, want ErrInvalidField", name, err)
		}
		if l.Count() != 0 || l.Len() != 1 {
			t.Errorf("%s: failed Add changed the list", name)
		}
	}
}
