package channel

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/flynn/noise"
	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/wire"
)

// defaultSuite is flynn/noise's X25519, ChaChaPoly and BLAKE2s: what
// newSuite must equal, but for its faster X25519.
var defaultSuite = noise.NewCipherSuite(noise.DH25519, noise.CipherChaChaPoly, noise.HashBLAKE2s)

func TestProtocolNames(t *testing.T) {
	t.Parallel()
	suite := string(defaultSuite.Name())
	if got := string(newSuite(staticOf(PrivateKey{1}), PublicKey{}).Name()); got != suite {
		t.Errorf("handshake suite %q, want %q", got, suite)
	}
	if got := "Noise_" + noise.HandshakeIK.Name + "_" + suite; got != ProtocolIK {
		t.Errorf("IK protocol name %q, constant %q", got, ProtocolIK)
	}
	if got := "Noise_" + noise.HandshakeKK.Name + "_" + suite; got != ProtocolKK {
		t.Errorf("KK protocol name %q, constant %q", got, ProtocolKK)
	}
}

// TestWireConstants keeps this package's copies of wire's numbers true.
func TestWireConstants(t *testing.T) {
	t.Parallel()
	if HeaderSize != wire.HeaderSize || MaxFrameSize != wire.MaxFrameSize {
		t.Errorf("HeaderSize %d, MaxFrameSize %d; wire has %d, %d", HeaderSize, MaxFrameSize, wire.HeaderSize, wire.MaxFrameSize)
	}
	codes := []struct {
		ours uint16
		want wire.Status
	}{
		{codeServerError, wire.StatusServerError},
		{codeUnsupportedVersion, wire.StatusUnsupportedVersion},
		{codeBadRequest, wire.StatusBadRequest},
	}
	for _, c := range codes {
		if c.ours != uint16(c.want) {
			t.Errorf("refusal code %d, want wire's %v (%d)", c.ours, c.want, c.want)
		}
	}
	// The frame header's body length is where the channel reads it.
	f := frame(1, make([]byte, 20))
	h, n, err := wire.ParseHeader(f)
	if err != nil || n != HeaderSize || h.Length != 20 {
		t.Errorf("wire.ParseHeader of a test frame: %+v, %d, %v", h, n, err)
	}
}

// rawRefusal sends a preamble by hand and returns the refusal code the
// server answers with, and the server's error.
func rawRefusal(t *testing.T, preamble []byte, handshake func(io.ReadWriteCloser) error) (uint16, error) {
	t.Helper()
	a, b := memConnPair()
	done := make(chan error, 1)
	go func() { done <- handshake(b) }()
	if _, err := a.Write(preamble); err != nil {
		t.Fatal(err)
	}
	var r [refusalSize]byte
	if _, err := io.ReadFull(a, r[:]); err != nil {
		t.Fatalf("reading the refusal: %v", err)
	}
	if binary.BigEndian.Uint16(r[:2]) != 0 {
		t.Fatalf("the answer is not a refusal")
	}
	if n, err := a.Read(r[:]); n != 0 || err != io.EOF {
		t.Fatalf("after the refusal: %d bytes, %v; want the stream closed", n, err)
	}
	return binary.BigEndian.Uint16(r[2:]), <-done
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	lookupShop := func([KeyIDSize]byte) (PublicKey, error) { return shopKey.Public(), nil }
	lim := slack(t, Limits{})
	ik := func(rw io.ReadWriteCloser) error { _, err := ServerHandshakeIK(rw, serverKey, lim); return err }
	kk := func(rw io.ReadWriteCloser) error {
		_, err := ServerHandshakeKK(rw, serverKey, lookupShop, lim)
		return err
	}
	both := func(rw io.ReadWriteCloser) error {
		_, err := ServerHandshake(rw, ServerConfig{Static: serverKey, Limits: lim})
		return err
	}
	id := shopKey.Public().ID()
	kkPre := append([]byte{ProtocolVersion, byte(PatternKK)}, id[:]...)
	tests := []struct {
		name      string
		preamble  []byte
		handshake func(io.ReadWriteCloser) error
		code      uint16
		want      error
	}{
		{"version 2", []byte{2, byte(PatternIK)}, ik, 15, ErrHandshake},
		{"version 0", []byte{0, byte(PatternIK)}, both, 15, ErrHandshake},
		{"unknown pattern", []byte{ProtocolVersion, 9}, both, 16, ErrHandshake},
		{"KK to an IK-only server", kkPre, ik, 16, ErrHandshake},
		{"KK to a server without lookup", kkPre, both, 16, ErrHandshake},
		{"IK to a KK-only server", []byte{ProtocolVersion, byte(PatternIK)}, kk, 16, ErrHandshake},
		{"lookup returns another key", append([]byte{ProtocolVersion, byte(PatternKK)}, make([]byte, KeyIDSize)...), kk, 14, ErrConfig},
		{"lookup fails plainly", kkPre, func(rw io.ReadWriteCloser) error {
			_, err := ServerHandshakeKK(rw, serverKey, func([KeyIDSize]byte) (PublicKey, error) {
				return PublicKey{}, errors.New("database down")
			}, lim)
			return err
		}, 14, ErrRefused},
	}
	for _, tc := range tests {
		code, err := rawRefusal(t, tc.preamble, tc.handshake)
		if code != tc.code {
			t.Errorf("%s: refusal code %d, want %d", tc.name, code, tc.code)
		}
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: server error %v, want %v", tc.name, err, tc.want)
		}
	}
}

// TestClientSeesRefusal: the initiator turns a refusal into a RefusedError.
func TestClientSeesRefusal(t *testing.T) {
	t.Parallel()
	a, b := memConnPair()
	lim := slack(t, Limits{})
	go func() { _, _ = ServerHandshakeIK(b, serverKey, lim) }()
	_, err := ClientHandshake(a, Config{Pattern: PatternKK, Static: shopKey, RemoteStatic: serverKey.Public(), Limits: lim})
	var re *RefusedError
	if !errors.As(err, &re) || re.Code != 16 {
		t.Fatalf("KK to an IK server: %v, want RefusedError 16", err)
	}
}

// TestHandshakeMessageLength: a message 1 of the wrong length is refused
// unread, whatever it holds.
func TestHandshakeMessageLength(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 95, 97, 65535} {
		a, b := memConnPair()
		done := make(chan error, 1)
		go func() { _, err := ServerHandshakeIK(b, serverKey, slack(t, Limits{})); done <- err }()
		msg := []byte{ProtocolVersion, byte(PatternIK), byte(n >> 8), byte(n)}
		a.Write(append(msg, make([]byte, n)...))
		if err := <-done; !errors.Is(err, ErrHandshake) || !strings.Contains(err.Error(), "length") {
			t.Errorf("message 1 of %d bytes: %v, want ErrHandshake about its length", n, err)
		}
	}
}

// TestPrologueBindsPreamble: a preamble changed in transit (here, a KK key
// id swapped for another registered shop's) fails the handshake even when
// the responder knows the key.
func TestPrologueBindsPreamble(t *testing.T) {
	t.Parallel()
	a, b := memConnPair()
	other := otherKey.Public()
	lookup := func(id [KeyIDSize]byte) (PublicKey, error) {
		for _, k := range []PublicKey{shopKey.Public(), other} {
			if k.ID() == id {
				return k, nil
			}
		}
		return PublicKey{}, &RefusedError{Code: 12}
	}
	done := make(chan error, 1)
	lim := slack(t, Limits{})
	go func() { _, err := ServerHandshakeKK(b, serverKey, lookup, lim); done <- err }()
	// A man in the middle rewrites the key id, leaving message 1 alone.
	mitm := &rewriter{ReadWriteCloser: a, f: func(p []byte) {
		id := other.ID()
		copy(p[2:2+KeyIDSize], id[:])
	}}
	_, err := ClientHandshake(mitm, Config{Pattern: PatternKK, Static: shopKey, RemoteStatic: serverKey.Public(), Limits: lim})
	if err == nil {
		t.Fatal("handshake succeeded with a rewritten preamble")
	}
	if err := <-done; !errors.Is(err, ErrHandshake) {
		t.Fatalf("server: %v, want ErrHandshake", err)
	}
}

// rewriter applies f to the first write.
type rewriter struct {
	io.ReadWriteCloser
	f    func([]byte)
	done bool
}

func (r *rewriter) Write(p []byte) (int, error) {
	if !r.done {
		r.done = true
		p = bytes.Clone(p)
		r.f(p)
	}
	return r.ReadWriteCloser.Write(p)
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	for _, cfg := range []Config{
		{RemoteStatic: serverKey.Public()},
		{Static: clientKey},
		{Pattern: 3, Static: clientKey, RemoteStatic: serverKey.Public()},
		{Static: clientKey, RemoteStatic: serverKey.Public(), Limits: Limits{MaxFrameSize: MaxFrameSize + 1}},
	} {
		a, _ := memConnPair()
		if _, err := ClientHandshake(a, cfg); !errors.Is(err, ErrConfig) && !errors.Is(err, ErrLimits) {
			t.Errorf("ClientHandshake(%+v): %v, want ErrConfig or ErrLimits", cfg.Pattern, err)
		}
		if !a.closed.Load() {
			t.Errorf("the stream was left open after a config error")
		}
	}
	a, _ := memConnPair()
	if _, err := ServerHandshake(a, ServerConfig{}); !errors.Is(err, ErrConfig) {
		t.Errorf("ServerHandshake without a key: %v, want ErrConfig", err)
	}
	if _, err := ServerHandshakeKK(a, serverKey, nil, Limits{}); !errors.Is(err, ErrConfig) {
		t.Errorf("ServerHandshakeKK without lookup: %v, want ErrConfig", err)
	}
}

// TestHandshakeTimeoutStreams: the handshake is bounded both on a stream
// with deadlines (net.Pipe: the deadline set is HandshakeTimeout from the
// start) and on one without (memConn, closed by a timer).
func TestHandshakeTimeoutStreams(t *testing.T) {
	t.Parallel()
	const timeout = 100 * time.Millisecond
	lim := Limits{HandshakeTimeout: timeout}
	a, b := net.Pipe()
	defer a.Close()
	rb := &recorder{deadlineStream: b}
	start := time.Now()
	if _, err := ServerHandshakeIK(rb, serverKey, lim); !errors.Is(err, ErrHandshakeTimeout) {
		t.Errorf("net.Pipe: %v, want ErrHandshakeTimeout", err)
	}
	wantDeadline(t, "net.Pipe", rb, start, timeout)
	// Without deadlines only the guard's timer can end the wait (nothing
	// writes to d), so ErrHandshakeTimeout proves it fired; it runs to the
	// same deadline as the one checked above.
	c, d := memConnPair()
	defer c.Close()
	if _, err := ServerHandshakeIK(d, serverKey, lim); !errors.Is(err, ErrHandshakeTimeout) {
		t.Errorf("memConn: %v, want ErrHandshakeTimeout", err)
	}
	// A silent server, seen from the client over memConn (no deadlines).
	e, _ := memConnPair()
	if _, err := ClientHandshake(e, Config{Static: clientKey, RemoteStatic: serverKey.Public(), Limits: lim}); !errors.Is(err, ErrHandshakeTimeout) {
		t.Errorf("client against a silent peer: %v, want ErrHandshakeTimeout", err)
	}
}

// TestHandshakeDeadlineCleared: after a handshake on a stream with
// deadlines, the session is not left with the handshake's deadline: each
// side set one for the handshake and has none in force afterwards.
func TestHandshakeDeadlineCleared(t *testing.T) {
	t.Parallel()
	a, b := net.Pipe()
	ra, rb := &recorder{deadlineStream: a}, &recorder{deadlineStream: b}
	lim := Limits{HandshakeTimeout: hang.Timeout(t)}
	cli, srv := handshakePair(t, ra, rb, lim, lim)
	defer cli.Close()
	defer srv.Close()
	for _, side := range []struct {
		name string
		r    *recorder
	}{{"client", ra}, {"server", rb}} {
		calls, read, write := side.r.state()
		if len(calls) == 0 || calls[0].to.IsZero() {
			t.Fatalf("%s: the handshake set no deadline (calls %v), so this test checks nothing", side.name, calls)
		}
		if !read.IsZero() || !write.IsZero() {
			t.Fatalf("%s: after the handshake the stream keeps a read deadline %v and a write deadline %v; want none",
				side.name, read, write)
		}
	}
	go cli.WriteFrame(frame(1, nil))
	if _, err := srv.ReadFrame(); err != nil {
		t.Fatalf("ReadFrame after the handshake: %v", err)
	}
}

// TestKKImpostor: an initiator that names a registered shop's key id, and
// even claims its public key, but holds another private key gets no
// session: the server cannot authenticate message 1 and says nothing more.
func TestKKImpostor(t *testing.T) {
	t.Parallel()
	impostor, err := GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	lookup := func(id [KeyIDSize]byte) (PublicKey, error) {
		if id != shopKey.Public().ID() {
			return PublicKey{}, &RefusedError{Code: 12}
		}
		return shopKey.Public(), nil
	}
	client, server := net.Pipe()
	defer client.Close()
	done := make(chan error, 1)
	go func() {
		_, err := ServerHandshakeKK(server, serverKey, lookup, slack(t, Limits{}))
		done <- err
	}()
	id := shopKey.Public().ID()
	preamble := append([]byte{ProtocolVersion, byte(PatternKK)}, id[:]...)
	var pbuf [maxPrologueLen]byte
	pub, spub := shopKey.Public(), serverKey.Public()
	hs, err := noise.NewHandshakeState(noise.Config{
		CipherSuite: defaultSuite, Pattern: PatternKK.noise(), Initiator: true,
		Prologue:      prologue(&pbuf, preamble),
		StaticKeypair: noise.DHKey{Private: impostor[:], Public: pub[:]},
		PeerStatic:    spub[:],
	})
	if err != nil {
		t.Fatal(err)
	}
	msg, _, _, err := hs.WriteMessage(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := append(preamble, byte(len(msg)>>8), byte(len(msg)))
	go client.Write(append(out, msg...))
	if err := <-done; !errors.Is(err, ErrHandshake) {
		t.Fatalf("server: %v, want ErrHandshake", err)
	}
	client.SetReadDeadline(time.Now().Add(time.Second))
	if n, _ := client.Read(make([]byte, 64)); n != 0 {
		t.Fatalf("the server answered an impostor with %d bytes", n)
	}
}

// TestX25519MatchesNoise checks the handshake's X25519 against flynn/noise's
// DH25519: the same public keys from the same random bytes, the same shared
// secrets for static and ephemeral keys (the static-static one kept for a
// peer known in advance included), and the same refusal of low-order
// points, in their canonical and non-canonical encodings.
func TestX25519MatchesNoise(t *testing.T) {
	t.Parallel()
	for i := range 20 {
		seed := bytes.Repeat([]byte{byte(i + 1)}, 64)
		want, err := noise.DH25519.GenerateKeypair(bytes.NewReader(seed))
		if err != nil {
			t.Fatal(err)
		}
		static, err := GenerateKey(bytes.NewReader(bytes.Repeat([]byte{byte(100 + i)}, 32)))
		if err != nil {
			t.Fatal(err)
		}
		peer, _ := noise.DH25519.GenerateKeypair(rand.Reader)
		sp := &staticPair{priv: static, pub: static.Public()}
		if wantPub, _ := noise.DH25519.DH(static[:], basepoint[:]); !bytes.Equal(sp.pub[:], wantPub) {
			t.Fatalf("key %d: public key differs from DH25519's", i)
		}
		d := &x25519DH{static: sp, peer: PublicKey(peer.Public)}
		got, err := d.GenerateKeypair(bytes.NewReader(seed))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Private, want.Private) || !bytes.Equal(got.Public, want.Public) {
			t.Fatalf("key %d: generated pair differs from DH25519's", i)
		}
		other, _ := noise.DH25519.GenerateKeypair(rand.Reader)
		// static with peer twice: computed, then kept; with another key
		// than the peer: computed, and the kept one stays.
		for _, pair := range [][2][]byte{
			{got.Private, peer.Public}, {static[:], peer.Public}, {static[:], peer.Public}, {peer.Private, peer.Public},
			{static[:], other.Public}, {got.Private, other.Public}, {static[:], peer.Public},
		} {
			a, err := d.DH(pair[0], pair[1])
			if err != nil {
				t.Fatal(err)
			}
			b, err := noise.DH25519.DH(pair[0], pair[1])
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a, b) {
				t.Fatalf("key %d: shared secret differs from DH25519's", i)
			}
		}
		if c := sp.ss.Load(); c == nil || c.peer != PublicKey(peer.Public) {
			t.Fatalf("key %d: the static-static secret with the peer is not kept", i)
		}
		for _, low := range lowOrderPoints {
			if _, err := noise.DH25519.DH(got.Private, low[:]); err == nil {
				t.Fatalf("DH25519 accepts low-order point %x: the list is wrong", low)
			}
			if _, err := d.DH(got.Private, low[:]); err == nil {
				t.Fatalf("low-order point %x was accepted", low)
			}
			// The same point as the peer known in advance: not kept either.
			ld := &x25519DH{static: sp, peer: PublicKey(low)}
			if _, err := ld.DH(static[:], low[:]); err == nil {
				t.Fatalf("low-order point %x was accepted as the known peer", low)
			}
		}
	}
	if _, err := (&x25519DH{}).DH(make([]byte, 31), make([]byte, 32)); err == nil {
		t.Fatal("a 31-byte key was accepted")
	}
}

var basepoint = [32]byte{9}

// lowOrderPoints are the encodings of points of small order (RFC 7748,
// section 6.1's check; Bernstein's list), whose product with any scalar
// is all zeros: 0, 1, the two points of order 8, p-1, the non-canonical
// p and p+1, and 0 and 1 with the top bit set, which X25519 ignores.
var lowOrderPoints = func() [][32]byte {
	points := []string{
		"0000000000000000000000000000000000000000000000000000000000000000",
		"0100000000000000000000000000000000000000000000000000000000000000",
		"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
		"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"0000000000000000000000000000000000000000000000000000000000000080",
		"0100000000000000000000000000000000000000000000000000000000000080",
	}
	out := make([][32]byte, len(points))
	for i, h := range points {
		if _, err := hex.Decode(out[i][:], []byte(h)); err != nil {
			panic(err)
		}
	}
	return out
}()
