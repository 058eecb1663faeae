package channel

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/tollgate/tollgate/internal/hang"
)

// boundedEcho starts a server whose sessions echo frames until ReadFrame
// fails, then report that error on the returned channel and close.
func boundedEcho(t *testing.T, lim Limits) (*testServer, <-chan error) {
	ended := make(chan error, 16)
	ts := startServer(t, ServerConfig{Static: serverKey, Limits: lim}, func(s *Session) {
		defer s.Close()
		for {
			f, err := s.ReadFrame()
			if err != nil {
				ended <- err
				return
			}
			if err := s.WriteFrame(f); err != nil {
				ended <- err
				return
			}
		}
	}, nil)
	return ts, ended
}

// waitEnded waits, hang-only, for the server session's end and returns
// its ReadFrame error.
func waitEnded(t *testing.T, ended <-chan error) error {
	t.Helper()
	select {
	case err := <-ended:
		return err
	case <-time.After(hang.Timeout(t)):
		t.Fatal("the server session is still open")
		return nil
	}
}

// waitEOF waits, hang-only, for the client session to see the server end
// the stream between frames.
func waitEOF(t *testing.T, s *Session) {
	t.Helper()
	got := make(chan error, 1)
	go func() {
		_, err := s.ReadFrame()
		got <- err
	}()
	select {
	case err := <-got:
		if !errors.Is(err, io.EOF) {
			t.Fatalf("client ReadFrame after the server ended the session: %v, want io.EOF", err)
		}
	case <-time.After(hang.Timeout(t)):
		t.Fatal("the client still sees the session open")
	}
}

// roundTrip sends a frame on s and checks that the echo comes back.
func roundTrip(t *testing.T, s *Session, id uint32) {
	t.Helper()
	want := frame(id, pattern(int(id), 40))
	if err := s.WriteFrame(want); err != nil {
		t.Fatalf("WriteFrame %d: %v", id, err)
	}
	got, err := s.ReadFrame()
	if err != nil || string(got) != string(want) {
		t.Fatalf("ReadFrame %d: %v (first difference at %d)", id, err, firstDiff(got, want))
	}
}

// TestQUICFrameTimeout performs the half-written frame attack on a
// responder's session over real QUIC: part of a frame, or of a Noise
// message, then silence while the connection is kept alive. The session
// ends with ErrFrameTimeout, the client sees the stream end, the
// connection stays up and the stream's slot is freed (one stream per
// connection, and a second session opens).
func TestQUICFrameTimeout(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		send func(t *testing.T, s *Session)
	}{
		{"5-byte header", func(t *testing.T, s *Session) {
			s.writePlain(t, frame(1, nil)[:5])
		}},
		{"a frame, then half a header", func(t *testing.T, s *Session) {
			roundTrip(t, s, 2)
			s.writePlain(t, frame(3, pattern(3, 100))[:5])
		}},
		{"header, body missing", func(t *testing.T, s *Session) {
			s.writePlain(t, frame(4, pattern(4, 100))[:HeaderSize+10])
		}},
		{"part of a Noise message", func(t *testing.T, s *Session) {
			f := frame(5, pattern(5, 100))
			msg := binary.BigEndian.AppendUint16(nil, uint16(len(f)+tagSize))
			binary.LittleEndian.PutUint64(s.wnonce[4:], s.sendN)
			msg = s.send.Seal(msg, s.wnonce[:], f, nil)
			if _, err := s.rw.Write(msg[:7]); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			lim := Limits{FrameTimeout: 200 * time.Millisecond, MaxStreamsPerConn: 1}
			ts, ended := boundedEcho(t, lim)
			conn := ts.dial(t, Limits{})
			s := openIK(t, conn, Limits{})
			tc.send(t, s)
			if err := waitEnded(t, ended); !errors.Is(err, ErrFrameTimeout) {
				t.Fatalf("server ReadFrame: %v, want ErrFrameTimeout", err)
			}
			waitEOF(t, s)
			if err := conn.Context().Err(); err != nil {
				t.Fatalf("the connection was closed (%v); only the session should be", context.Cause(conn.Context()))
			}
			roundTrip(t, openIK(t, conn, Limits{}), 6) // the only stream slot was freed
		})
	}
}

// TestQUICSlowFrameInTime: a frame that comes in pieces, but whole within
// FrameTimeout, is read; and the frame deadline is gone once it is, so a
// pause longer than FrameTimeout between frames is no timeout.
func TestQUICSlowFrameInTime(t *testing.T) {
	const timeout = 2 * time.Second
	ts, ended := boundedEcho(t, Limits{FrameTimeout: timeout})
	s := openIK(t, ts.dial(t, Limits{}), Limits{})
	f := frame(1, pattern(1, 300))
	for _, piece := range [][]byte{f[:5], f[5:100], f[100:]} {
		s.writePlain(t, piece)
		time.Sleep(20 * time.Millisecond)
	}
	if got, err := s.ReadFrame(); err != nil || string(got) != string(f) {
		t.Fatalf("ReadFrame of the echo: %v", err)
	}
	time.Sleep(timeout + timeout/4)
	roundTrip(t, s, 2)
	select {
	case err := <-ended:
		t.Fatalf("the server session ended: %v", err)
	default:
	}
}

// TestQUICSessionIdle: a responder's session that completes no frame for
// SessionIdleTimeout is ended with ErrSessionIdle, whether it never sent a
// request or has gone quiet after some; the connection stays up.
func TestQUICSessionIdle(t *testing.T) {
	for _, requests := range []int{0, 3} {
		// Three seconds: long enough that round trips on a loaded machine
		// do not leave the session idle between requests.
		ts, ended := boundedEcho(t, Limits{SessionIdleTimeout: 3 * time.Second, MaxStreamsPerConn: 1})
		conn := ts.dial(t, Limits{})
		s := openIK(t, conn, Limits{})
		for i := range requests {
			roundTrip(t, s, uint32(i))
		}
		if err := waitEnded(t, ended); !errors.Is(err, ErrSessionIdle) {
			t.Fatalf("%d requests: server ReadFrame: %v, want ErrSessionIdle", requests, err)
		}
		waitEOF(t, s)
		if err := conn.Context().Err(); err != nil {
			t.Fatalf("%d requests: the connection was closed (%v)", requests, context.Cause(conn.Context()))
		}
		roundTrip(t, openIK(t, conn, Limits{}), 9)
	}
}

// TestQUICSlowSteadyNotIdle: a session that sends complete requests
// slowly but steadily, well past SessionIdleTimeout in all, stays open.
func TestQUICSlowSteadyNotIdle(t *testing.T) {
	// Requests 200 ms apart against a 4 s bound: a loaded machine would
	// have to stall one round trip for 4 s to end the session.
	const idle, gap = 4 * time.Second, 200 * time.Millisecond
	ts, ended := boundedEcho(t, Limits{SessionIdleTimeout: idle, FrameTimeout: idle / 2})
	s := openIK(t, ts.dial(t, Limits{}), Limits{})
	for i := range 2 * int(idle/gap) {
		roundTrip(t, s, uint32(i))
		time.Sleep(gap)
	}
	select {
	case err := <-ended:
		t.Fatalf("a steady session was ended: %v", err)
	default:
	}
}

// TestQUICKeyExchange: the QUIC handshake between Dial and Listen
// negotiates X25519MLKEM768, and neither side agrees to a classical group
// alone.
func TestQUICKeyExchange(t *testing.T) {
	ts := startServer(t, ServerConfig{Static: serverKey}, echo, nil)
	conn := ts.dial(t, Limits{})
	if got := conn.ConnectionState().TLS.CurveID; got != tls.X25519MLKEM768 {
		t.Fatalf("negotiated %v, want X25519MLKEM768", got)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, curve := range []tls.CurveID{tls.X25519, tls.CurveP256} {
		conf := ClientTLSConfig(ts.pin)
		conf.CurvePreferences = []tls.CurveID{curve}
		c, err := quic.DialAddr(ctx, ts.addr(), conf, Limits{}.QUICConfig())
		if err == nil {
			c.CloseWithError(0, "")
			t.Fatalf("a client offering only %v got a connection", curve)
		}
		if !isTLSFailure(err) {
			t.Fatalf("a client offering only %v: %v, want a TLS handshake failure", curve, err)
		}
	}

	// And the client refuses a server that will not do the hybrid.
	cert, _, _, err := GenerateCertificate()
	if err != nil {
		t.Fatal(err)
	}
	srvConf := ServerTLSConfig(cert)
	srvConf.CurvePreferences = []tls.CurveID{tls.X25519}
	ln, err := quic.ListenAddr("127.0.0.1:0", srvConf, Limits{}.QUICConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if c, err := Dial(ctx, ln.Addr().String(), ClientTLSConfig(Pin(cert.Leaf)), Limits{}); err == nil {
		c.CloseWithError(0, "")
		t.Fatal("Dial agreed to a server offering only X25519")
	} else if !isTLSFailure(err) {
		t.Fatalf("Dial to an X25519-only server: %v, want a TLS handshake failure", err)
	}
}

// isTLSFailure reports whether err is a QUIC connection closed by a TLS
// alert, from either side.
func isTLSFailure(err error) bool {
	var te *quic.TransportError
	return errors.As(err, &te) && te.ErrorCode.IsCryptoError()
}
