package channel

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flynn/noise"
	"github.com/quic-go/quic-go"
	"github.com/tollgate/tollgate/internal/hang"
)

// openIK opens an IK session on conn; a zero lim.HandshakeTimeout means
// hang.Timeout.
func openIK(tb testing.TB, conn *quic.Conn, lim Limits) *Session {
	tb.Helper()
	s, err := OpenSession(hang.Context(tb), conn, Config{Static: clientKey, RemoteStatic: serverKey.Public(), Limits: slack(tb, lim)})
	if err != nil {
		tb.Fatalf("OpenSession: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// TestQUICRoundTrip runs two IK sessions on one connection and sends many
// frames of assorted sizes each way (the server echoes them).
func TestQUICRoundTrip(t *testing.T) {
	t.Parallel()
	ts := startServer(t, ServerConfig{Static: serverKey}, echo, nil)
	conn := ts.dial(t, Limits{})
	var wg sync.WaitGroup
	for k := range 2 {
		s := openIK(t, conn, Limits{})
		if got := s.RemoteStatic(); !got.Equal(serverKey.Public()) {
			t.Fatalf("client RemoteStatic = %v, want the server's key", got)
		}
		srv := <-ts.sessions
		if got := srv.RemoteStatic(); !got.Equal(clientKey.Public()) {
			t.Fatalf("server RemoteStatic = %v, want the client's install key", got)
		}
		if srv.Pattern() != PatternIK {
			t.Fatalf("server Pattern = %v, want IK", srv.Pattern())
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				want := frame(uint32(i), pattern(k*1000+i, (i*37)%1500))
				if err := s.WriteFrame(want); err != nil {
					t.Errorf("session %d: WriteFrame %d: %v", k, i, err)
					return
				}
				got, err := s.ReadFrame()
				if err != nil {
					t.Errorf("session %d: ReadFrame %d: %v", k, i, err)
					return
				}
				if !bytes.Equal(got, want) {
					t.Errorf("session %d: frame %d came back different (first difference at %d)", k, i, firstDiff(got, want))
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestQUICLargeFrame sends a 300 KB frame, which spans five Noise
// messages, and gets it back whole.
func TestQUICLargeFrame(t *testing.T) {
	t.Parallel()
	ts := startServer(t, ServerConfig{Static: serverKey}, echo, nil)
	s := openIK(t, ts.dial(t, Limits{}), Limits{})
	want := frame(7, pattern(3, 300_000))
	for range 2 {
		if err := s.WriteFrame(want); err != nil {
			t.Fatalf("WriteFrame: %v", err)
		}
		got, err := s.ReadFrame()
		if err != nil {
			t.Fatalf("ReadFrame: %v", err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("300 KB frame came back different (first difference at %d of %d)", firstDiff(got, want), len(want))
		}
	}
}

// TestQUICConcurrentWriters has eight goroutines write on one session; the
// echoes must come back whole, each writer's frames in its order.
func TestQUICConcurrentWriters(t *testing.T) {
	t.Parallel()
	ts := startServer(t, ServerConfig{Static: serverKey}, echo, nil)
	s := openIK(t, ts.dial(t, Limits{}), Limits{})
	const writers, each = 8, 100
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				// A few frames span two Noise messages, so that a torn
				// write would show.
				n := 50 + (i*13)%200
				if i%25 == 0 {
					n = 70_000
				}
				if err := s.WriteFrame(frame(uint32(w<<16|i), pattern(w*each+i, n))); err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
			}
		}()
	}
	next := make([]int, writers)
	for range writers * each {
		f, err := s.ReadFrame()
		if err != nil {
			t.Fatalf("ReadFrame: %v", err)
		}
		id := binary.BigEndian.Uint32(f[2:6])
		w, i := int(id>>16), int(id&0xffff)
		if w >= writers || i != next[w] {
			t.Fatalf("frame %d of writer %d out of order (want %d)", i, w, next[w])
		}
		next[w]++
		if !bytes.Equal(f[HeaderSize:], pattern(w*each+i, len(f)-HeaderSize)) {
			t.Fatalf("frame %d of writer %d corrupted", i, w)
		}
	}
	wg.Wait()
}

func TestQUICWrongServerKey(t *testing.T) {
	t.Parallel()
	ts := startServer(t, ServerConfig{Static: serverKey}, echo, nil)
	conn := ts.dial(t, Limits{})
	ctx := hang.Context(t)
	_, err := OpenSession(ctx, conn, Config{Static: clientKey, RemoteStatic: otherKey.Public(), Limits: slack(t, Limits{})})
	if !errors.Is(err, ErrHandshake) {
		t.Fatalf("OpenSession with the wrong server key: %v, want ErrHandshake", err)
	}
	if err := ts.serverErr(t); !errors.Is(err, ErrHandshake) || !strings.Contains(err.Error(), "message 1") {
		t.Fatalf("server: %v, want ErrHandshake naming message 1", err)
	}
	// The connection survives for a correct session.
	s := openIK(t, conn, Limits{})
	if err := s.WriteFrame(frame(1, nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReadFrame(); err != nil {
		t.Fatal(err)
	}
}

func TestQUICWrongPin(t *testing.T) {
	t.Parallel()
	ts := startServer(t, ServerConfig{Static: serverKey}, echo, nil)
	pin := ts.pin
	pin[0] ^= 1
	ctx := hang.Context(t)
	conn, err := Dial(ctx, ts.addr(), ClientTLSConfig(pin), slack(t, Limits{}))
	if err == nil {
		conn.CloseWithError(0, "")
		t.Fatal("Dial with the wrong pin succeeded")
	}
	if !errors.Is(err, ErrPinMismatch) || !strings.Contains(err.Error(), "does not match the card's pin") {
		t.Fatalf("Dial with the wrong pin: %v, want ErrPinMismatch", err)
	}
}

// TestQUICKK runs a shop session: the server finds the shop's key by the id
// in the preamble.
func TestQUICKK(t *testing.T) {
	t.Parallel()
	dh := &countingDH{DHFunc: noise.DH25519}
	var lookups []([KeyIDSize]byte)
	var mu sync.Mutex
	cfg := ServerConfig{Static: serverKey, dh: dh, Lookup: func(id [KeyIDSize]byte) (PublicKey, error) {
		mu.Lock()
		lookups = append(lookups, id)
		mu.Unlock()
		if id == shopKey.Public().ID() {
			return shopKey.Public(), nil
		}
		return PublicKey{}, &RefusedError{Code: 12}
	}}
	ts := startServer(t, cfg, echo, nil)
	conn := ts.dial(t, Limits{})
	ctx := hang.Context(t)
	s, err := OpenSession(ctx, conn, Config{Pattern: PatternKK, Static: shopKey, RemoteStatic: serverKey.Public(), Limits: slack(t, Limits{})})
	if err != nil {
		t.Fatalf("OpenSession KK: %v", err)
	}
	defer s.Close()
	srv := <-ts.sessions
	if srv.Pattern() != PatternKK || !srv.RemoteStatic().Equal(shopKey.Public()) {
		t.Fatalf("server session: pattern %v, remote %v; want KK with the shop's key", srv.Pattern(), srv.RemoteStatic())
	}
	want := frame(9, pattern(9, 500))
	if err := s.WriteFrame(want); err != nil {
		t.Fatal(err)
	}
	got, err := s.ReadFrame()
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("KK echo: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(lookups) != 1 || lookups[0] != shopKey.Public().ID() {
		t.Fatalf("lookups %x, want one with the shop's key id", lookups)
	}
	// The responder's KK work: es and ss reading message 1; a new
	// ephemeral key, ee and se writing message 2.
	if n := dh.n.Load(); n != 5 {
		t.Fatalf("server did %d X25519 operations, want 5", n)
	}
}

// TestQUICKKRefused checks the refusal path: the lookup refuses, the client
// gets the code, and the server did no Diffie-Hellman at all.
func TestQUICKKRefused(t *testing.T) {
	t.Parallel()
	dh := &countingDH{DHFunc: noise.DH25519}
	lookupErr := &RefusedError{Code: 12}
	called := make(chan [KeyIDSize]byte, 1)
	cfg := ServerConfig{Static: serverKey, dh: dh, Lookup: func(id [KeyIDSize]byte) (PublicKey, error) {
		called <- id
		return PublicKey{}, fmt.Errorf("address not allowed for this shop: %w", lookupErr)
	}}
	ts := startServer(t, cfg, echo, nil)
	conn := ts.dial(t, Limits{})
	ctx := hang.Context(t)
	_, err := OpenSession(ctx, conn, Config{Pattern: PatternKK, Static: shopKey, RemoteStatic: serverKey.Public(), Limits: slack(t, Limits{})})
	var re *RefusedError
	if !errors.As(err, &re) || re.Code != 12 || !errors.Is(err, ErrRefused) {
		t.Fatalf("OpenSession refused: %v, want *RefusedError with code 12", err)
	}
	if id := <-called; id != shopKey.Public().ID() {
		t.Fatalf("lookup got key id %x, want the shop's", id)
	}
	serr := ts.serverErr(t)
	if !errors.Is(serr, ErrRefused) || !errors.Is(serr, lookupErr) {
		t.Fatalf("server: %v, want ErrRefused wrapping the lookup's error", serr)
	}
	if n := dh.n.Load(); n != 0 {
		t.Fatalf("the server did %d X25519 operations on a refused session, want 0", n)
	}
}

// TestQUICHandshakeTimeout: a server that takes the stream and never
// answers costs the client HandshakeTimeout, not forever: the stream's
// deadline is set HandshakeTimeout ahead and ends the handshake.
func TestQUICHandshakeTimeout(t *testing.T) {
	t.Parallel()
	ts := startServer(t, ServerConfig{Static: serverKey}, nil, func(str *quic.Stream) {
		_, _ = io.Copy(io.Discard, str) // reads, never answers
	})
	conn := ts.dial(t, Limits{})
	ctx := hang.Context(t) // without the limit, only this would end the wait
	str, err := conn.OpenStreamSync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{deadlineStream: str}
	const timeout = 300 * time.Millisecond
	start := time.Now()
	_, err = clientHandshake(ctx, rec, Config{
		Static: clientKey, RemoteStatic: serverKey.Public(), Limits: Limits{HandshakeTimeout: timeout},
	})
	if !errors.Is(err, ErrHandshakeTimeout) || !strings.Contains(err.Error(), "reading message 2") {
		t.Fatalf("handshake against a silent server: %v, want ErrHandshakeTimeout reading message 2", err)
	}
	if ctx.Err() != nil {
		t.Fatalf("the handshake ran until the test's own deadline: %v", err)
	}
	wantDeadline(t, "QUIC stream", rec, start, timeout)

	// A cancelled context ends the handshake too, and says so.
	cctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err = OpenSession(cctx, conn, Config{Static: clientKey, RemoteStatic: serverKey.Public(), Limits: slack(t, Limits{})})
	if !errors.Is(err, ErrHandshake) || !errors.Is(err, context.Canceled) {
		t.Fatalf("OpenSession with a cancelled context: %v, want ErrHandshake wrapping context.Canceled", err)
	}
}

// TestQUICServerHandshakeTimeout: a client that opens a stream, sends a
// byte and stops costs the server HandshakeTimeout.
func TestQUICServerHandshakeTimeout(t *testing.T) {
	t.Parallel()
	ts := startServer(t, ServerConfig{Static: serverKey, Limits: Limits{HandshakeTimeout: 300 * time.Millisecond}}, nil, nil)
	conn := ts.dial(t, Limits{})
	str, err := conn.OpenStreamSync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer str.CancelWrite(0)
	if _, err := str.Write([]byte{ProtocolVersion}); err != nil {
		t.Fatal(err)
	}
	if err := ts.serverErr(t); !errors.Is(err, ErrHandshakeTimeout) || !strings.Contains(err.Error(), "preamble") {
		t.Fatalf("server: %v, want ErrHandshakeTimeout reading the preamble", err)
	}
}
