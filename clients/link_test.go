package clients

import (
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/wire"
)

// timeServer is a gateway stand-in on real loopback QUIC that answers
// time requests, built from the channel package as the gateway is, with
// the limits it is given. The n-th stream (from 1) goes to hook if it is
// set and takes it.
type timeServer struct {
	card                     *wire.Card
	conns, streams, sessions atomic.Int32
	sessionsEnded            chan error
	hook                     func(n int32, str *quic.Stream, sess func() *channel.Session) bool
	ln                       *quic.Listener
	wg                       sync.WaitGroup
	cancel                   context.CancelFunc
	mu                       sync.Mutex
	open                     []*quic.Conn
	serverKey, client        channel.PrivateKey
}

func startTimeServer(t *testing.T, lim channel.Limits, hook func(n int32, str *quic.Stream, sess func() *channel.Session) bool) *timeServer {
	t.Helper()
	cert, _, _, err := channel.GenerateCertificate()
	if err != nil {
		t.Fatal(err)
	}
	ts := &timeServer{sessionsEnded: make(chan error, 16), hook: hook}
	if ts.serverKey, err = channel.GenerateKey(rand.Reader); err != nil {
		t.Fatal(err)
	}
	if ts.client, err = channel.GenerateKey(rand.Reader); err != nil {
		t.Fatal(err)
	}
	if ts.ln, err = channel.Listen("127.0.0.1:0", cert, lim); err != nil {
		t.Fatal(err)
	}
	pin, err := channel.CertificatePin(cert)
	if err != nil {
		t.Fatal(err)
	}
	ts.card = &wire.Card{Address: ts.ln.Addr().String(), NoiseKey: ts.serverKey.Public(), TLSPin: pin}
	ctx, cancel := context.WithCancel(context.Background())
	ts.cancel = cancel
	ts.wg.Add(1)
	go func() {
		defer ts.wg.Done()
		for {
			conn, err := ts.ln.Accept(ctx)
			if err != nil {
				return
			}
			ts.conns.Add(1)
			ts.mu.Lock()
			ts.open = append(ts.open, conn)
			ts.mu.Unlock()
			ts.wg.Add(1)
			go func() {
				defer ts.wg.Done()
				for {
					str, err := conn.AcceptStream(ctx)
					if err != nil {
						return
					}
					ts.wg.Add(1)
					go func() {
						defer ts.wg.Done()
						ts.serve(str, lim)
					}()
				}
			}()
		}
	}()
	t.Cleanup(func() {
		cancel()
		ts.mu.Lock()
		for _, c := range ts.open {
			c.CloseWithError(0, "")
		}
		ts.mu.Unlock()
		ts.ln.Close()
		ts.wg.Wait()
	})
	return ts
}

func (ts *timeServer) serve(str *quic.Stream, lim channel.Limits) {
	defer str.Close()
	handshake := func() *channel.Session {
		sess, err := channel.ServerHandshake(str, channel.ServerConfig{Static: ts.serverKey, Limits: lim})
		if err != nil {
			return nil
		}
		ts.sessions.Add(1)
		return sess
	}
	if n := ts.streams.Add(1); ts.hook != nil && ts.hook(n, str, handshake) {
		return
	}
	sess := handshake()
	if sess == nil {
		return
	}
	var out []byte
	for {
		frame, err := sess.ReadFrame()
		if err != nil {
			ts.sessionsEnded <- err
			return
		}
		hdr, n, err := wire.ParseHeader(frame)
		if err != nil {
			return
		}
		req, _, err := wire.ParseTimeRequest(frame[n:])
		if err != nil {
			return
		}
		out = wire.AppendFrame(out[:0], hdr.RequestID, wire.TimeResponse{Nonce: req.Nonce, ServerTime: time.Now().UnixNano()})
		if err := sess.WriteFrame(out); err != nil {
			return
		}
	}
}

// TestLinkReopensIdleSession: the gateway ends a session idle for
// SessionIdleTimeout while the client's keep-alives hold the connection;
// the client's next request opens a new session, on the same connection,
// and is answered.
func TestLinkReopensIdleSession(t *testing.T) {
	// A second: long enough for the first request to come in time on a
	// loaded machine.
	ts := startTimeServer(t, channel.Limits{SessionIdleTimeout: time.Second}, nil)
	c, err := New(Config{Card: ts.card, InstallKey: ts.client, Timeout: hang.Timeout(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if _, err := c.ServerTime(ctx); err != nil {
		t.Fatalf("first request: %v", err)
	}
	select {
	case err := <-ts.sessionsEnded:
		if !errors.Is(err, channel.ErrSessionIdle) {
			t.Fatalf("the server session ended with %v, want ErrSessionIdle", err)
		}
	case <-time.After(hang.Timeout(t)):
		t.Fatal("the idle session was not ended")
	}
	if _, err := c.ServerTime(ctx); err != nil {
		t.Fatalf("request after the gateway ended the idle session: %v", err)
	}
	if s, k := ts.sessions.Load(), ts.conns.Load(); s != 2 || k != 1 {
		t.Fatalf("%d sessions on %d connections, want 2 on 1", s, k)
	}
}

// TestLinkResendsUnreadRequest: a request that reaches the gateway as it
// ends the session, unread, is sent again on a new session and answered,
// rather than failed.
func TestLinkResendsUnreadRequest(t *testing.T) {
	// The first session stops reading as soon as the first byte of a
	// request arrives, and ends, as the gateway's idle bound does when a
	// request comes at the last moment.
	cut := make(chan error, 1)
	ts := startTimeServer(t, channel.Limits{}, func(n int32, str *quic.Stream, handshake func() *channel.Session) bool {
		if n != 1 || handshake() == nil {
			return n == 1
		}
		var b [1]byte
		_, err := str.Read(b[:]) // not a request yet: one byte of its Noise message
		str.CancelRead(channel.StreamCodeDone)
		cut <- err
		return true
	})
	c, err := New(Config{Card: ts.card, InstallKey: ts.client, Timeout: hang.Timeout(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.ServerTime(context.Background()); err != nil {
		t.Fatalf("request cut by the end of its session: %v", err)
	}
	if err := <-cut; err != nil {
		t.Fatalf("the first session read no byte of the request: %v", err)
	}
	if s, k := ts.sessions.Load(), ts.conns.Load(); s != 2 || k != 1 {
		t.Fatalf("%d sessions on %d connections, want 2 on 1", s, k)
	}
}

// TestLinkRedialsDeadConnection: when a session cannot be opened on the
// connection the client kept, it dials a new one and the request is
// answered.
func TestLinkRedialsDeadConnection(t *testing.T) {
	// The second stream, the first after the idle session ended, is
	// reset unanswered, as by a gateway that lost the connection's state.
	ts := startTimeServer(t, channel.Limits{SessionIdleTimeout: time.Second}, func(n int32, str *quic.Stream, _ func() *channel.Session) bool {
		if n == 2 {
			str.CancelRead(channel.StreamCodeAborted)
			str.CancelWrite(channel.StreamCodeAborted)
		}
		return n == 2
	})
	c, err := New(Config{Card: ts.card, InstallKey: ts.client, Timeout: hang.Timeout(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if _, err := c.ServerTime(ctx); err != nil {
		t.Fatalf("first request: %v", err)
	}
	select {
	case <-ts.sessionsEnded:
	case <-time.After(hang.Timeout(t)):
		t.Fatal("the idle session was not ended")
	}
	if _, err := c.ServerTime(ctx); err != nil {
		t.Fatalf("request after the kept connection failed a handshake: %v", err)
	}
	if s, k := ts.sessions.Load(), ts.conns.Load(); s != 2 || k != 2 {
		t.Fatalf("%d sessions on %d connections, want 2 on 2", s, k)
	}
}
