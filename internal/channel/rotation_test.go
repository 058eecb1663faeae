package channel

import (
	"context"
	"crypto/tls"
	"errors"
	"sync"
	"testing"

	"github.com/flynn/noise"
	"github.com/quic-go/quic-go"
	"github.com/tollgate/tollgate/internal/hang"
)

// TestServerOtherStatics checks that a responder holding a second static
// key (ServerConfig.Others) accepts IK and KK initiators of either key,
// with one more X25519 operation for the second (two for KK), and still refuses a
// third key.
func TestServerOtherStatics(t *testing.T) {
	t.Parallel()
	dh := &countingDH{DHFunc: noise.DH25519}
	cfg := ServerConfig{Static: serverKey, Others: []PrivateKey{otherKey}, dh: dh,
		Lookup: func(id [KeyIDSize]byte) (PublicKey, error) { return shopKey.Public(), nil }}
	ts := startServer(t, cfg, echo, nil)
	conn := ts.dial(t, Limits{})
	ctx := hang.Context(t)
	for _, tc := range []struct {
		name    string
		pattern Pattern
		static  PrivateKey
		remote  PrivateKey
		dhs     int64
	}{
		{"IK current", PatternIK, clientKey, serverKey, 5},
		{"IK other", PatternIK, clientKey, otherKey, 6},
		{"KK current", PatternKK, shopKey, serverKey, 5},
		{"KK other", PatternKK, shopKey, otherKey, 7}, // es and ss before the wrong key fails
	} {
		dh.n.Store(0)
		s, err := OpenSession(ctx, conn, Config{Pattern: tc.pattern, Static: tc.static, RemoteStatic: tc.remote.Public(), Limits: slack(t, Limits{})})
		if err != nil {
			t.Fatalf("%s: OpenSession: %v", tc.name, err)
		}
		<-ts.sessions
		if err := s.WriteFrame(frame(1, nil)); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if _, err := s.ReadFrame(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		s.Close()
		if n := dh.n.Load(); n != tc.dhs {
			t.Errorf("%s: server did %d X25519 operations, want %d", tc.name, n, tc.dhs)
		}
	}
	_, err := OpenSession(ctx, conn, Config{Static: clientKey, RemoteStatic: testKey(9).Public(), Limits: slack(t, Limits{})})
	if !errors.Is(err, ErrHandshake) {
		t.Fatalf("a key the server does not hold: %v, want ErrHandshake", err)
	}
	if err := ts.serverErr(t); !errors.Is(err, ErrHandshake) {
		t.Fatalf("server: %v", err)
	}
}

// TestOpenSessionNextRemoteStatic checks the initiator's side of a
// rotation: a card's next key is tried when the gateway no longer holds
// the card's current one, and not at all when it does.
func TestOpenSessionNextRemoteStatic(t *testing.T) {
	t.Parallel()
	ts := startServer(t, ServerConfig{Static: otherKey}, echo, nil)
	conn := ts.dial(t, Limits{})
	ctx := hang.Context(t)
	s, err := OpenSession(ctx, conn, Config{Static: clientKey, RemoteStatic: serverKey.Public(), NextRemoteStatic: otherKey.Public(), Limits: slack(t, Limits{})})
	if err != nil {
		t.Fatalf("OpenSession with the gateway's key as the next: %v", err)
	}
	defer s.Close()
	if !s.RemoteStatic().Equal(otherKey.Public()) {
		t.Fatalf("session with %v, want the next key", s.RemoteStatic())
	}
	<-ts.sessions
	if err := ts.serverErr(t); !errors.Is(err, ErrHandshake) {
		t.Fatalf("the first try: server %v, want a failed handshake", err)
	}
	// Neither key: both tries fail, the error says so.
	_, err = OpenSession(ctx, conn, Config{Static: clientKey, RemoteStatic: serverKey.Public(), NextRemoteStatic: testKey(9).Public(), Limits: slack(t, Limits{})})
	if !errors.Is(err, ErrHandshake) {
		t.Fatalf("neither key: %v, want ErrHandshake", err)
	}
}

// TestTLSPinServerName checks that a gateway holding two certificates
// presents the one whose pin the client names, the default to a client
// that names none or an unknown pin, and that a client accepts either of
// its pins.
func TestTLSPinServerName(t *testing.T) {
	t.Parallel()
	a, _, _, err := GenerateCertificate()
	if err != nil {
		t.Fatal(err)
	}
	b, _, _, err := GenerateCertificate()
	if err != nil {
		t.Fatal(err)
	}
	pa, pb := Pin(a.Leaf), Pin(b.Leaf)
	if got, ok := ParsePinServerName(PinServerName(pa)); !ok || got != pa {
		t.Fatal("PinServerName does not parse back")
	}
	for _, bad := range []string{"", "gateway.example.com", PinServerName(pa)[1:], "A" + PinServerName(pa)[1:], PinServerName(pa) + "."} {
		if _, ok := ParsePinServerName(bad); ok {
			t.Errorf("ParsePinServerName(%q) accepted", bad)
		}
	}
	var mu sync.Mutex
	var asked []bool
	conf := ServerTLSConfigFunc(func(pin [32]byte, named bool) *tls.Certificate {
		mu.Lock()
		asked = append(asked, named)
		mu.Unlock()
		if named && pin == pb {
			return &b
		}
		return &a
	})
	lim := slack(t, Limits{})
	ln, err := quic.ListenAddr("127.0.0.1:0", conf, lim.QUICConfig())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(hang.Context(t))
	t.Cleanup(func() { cancel(); ln.Close() })
	go func() {
		for {
			c, err := ln.Accept(ctx)
			if err != nil {
				return
			}
			go func() { <-ctx.Done(); c.CloseWithError(0, "") }()
		}
	}()
	got := func(tc *tls.Config) ([32]byte, error) {
		conn, err := Dial(ctx, ln.Addr().String(), tc, lim)
		if err != nil {
			return [32]byte{}, err
		}
		defer conn.CloseWithError(0, "")
		return Pin(conn.ConnectionState().TLS.PeerCertificates[0]), nil
	}
	if p, err := got(ClientTLSConfig(pb)); err != nil || p != pb {
		t.Fatalf("naming b: %v, pin b %v", err, p == pb)
	}
	if p, err := got(ClientTLSConfig(pa, pb)); err != nil || p != pa {
		t.Fatalf("naming a: %v, pin a %v", err, p == pa)
	}
	// An unknown first pin: the default (a), accepted as the second pin.
	var unknown [32]byte
	unknown[0] = 1
	if p, err := got(ClientTLSConfig(unknown, pa)); err != nil || p != pa {
		t.Fatalf("naming an unknown pin, accepting a: %v", err)
	}
	// Only b accepted, the server presents a: refused.
	if _, err := got(ClientTLSConfig(unknown, pb)); !errors.Is(err, ErrPinMismatch) {
		t.Fatalf("accepting only pins the server does not present: %v, want ErrPinMismatch", err)
	}
	// A client built before rotation names no pin (here: a host name).
	old := ClientTLSConfig(pa)
	old.ServerName = "gateway.example.com"
	if p, err := got(old); err != nil || p != pa {
		t.Fatalf("naming no pin: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(asked) == 0 || asked[len(asked)-1] {
		t.Fatalf("the last client named a pin: %v", asked)
	}
}
