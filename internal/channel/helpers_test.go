package channel

import (
	"context"
	"crypto/tls"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flynn/noise"
	"github.com/quic-go/quic-go"
	"github.com/tollgate/tollgate/internal/hang"
)

// memPipe is one direction of an in-memory stream with an unbounded
// buffer: writes never block, reads block until data or close. Unlike
// net.Pipe a goroutine can write and then read its own peer's data, which
// the allocation tests and benchmarks need; it has no deadlines, so a
// handshake over it is bounded by the guard's timer.
type memPipe struct {
	mu     sync.Mutex
	cond   sync.Cond
	buf    []byte
	off    int
	closed bool
	writes int
}

func newMemPipe() *memPipe {
	p := &memPipe{}
	p.cond.L = &p.mu
	return p
}

func (p *memPipe) write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return 0, io.ErrClosedPipe
	}
	if p.off == len(p.buf) {
		p.buf, p.off = p.buf[:0], 0
	}
	p.buf = append(p.buf, b...)
	p.writes++
	p.cond.Broadcast()
	return len(b), nil
}

func (p *memPipe) read(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.off == len(p.buf) && !p.closed {
		p.cond.Wait()
	}
	if p.off == len(p.buf) {
		return 0, io.EOF
	}
	n := copy(b, p.buf[p.off:])
	p.off += n
	return n, nil
}

func (p *memPipe) close() {
	p.mu.Lock()
	p.closed = true
	p.cond.Broadcast()
	p.mu.Unlock()
}

// tamper applies f to the bytes written and not yet read.
func (p *memPipe) tamper(f func([]byte)) {
	p.mu.Lock()
	f(p.buf[p.off:])
	p.mu.Unlock()
}

type memConn struct {
	r, w   *memPipe
	closed atomic.Bool
}

func memConnPair() (*memConn, *memConn) {
	a, b := newMemPipe(), newMemPipe()
	return &memConn{r: a, w: b}, &memConn{r: b, w: a}
}

func (c *memConn) Read(b []byte) (int, error)  { return c.r.read(b) }
func (c *memConn) Write(b []byte) (int, error) { return c.w.write(b) }
func (c *memConn) Close() error {
	c.closed.Store(true)
	c.w.close()
	c.r.close()
	return nil
}

// slack returns l with a zero HandshakeTimeout raised to hang.Timeout, for
// tests whose subject is not the handshake's time limit: the default of 5 s
// is a production setting, not one a test should race against.
func slack(tb testing.TB, l Limits) Limits {
	if l.HandshakeTimeout == 0 {
		l.HandshakeTimeout = hang.Timeout(tb)
	}
	return l
}

// deadlineStream is a stream with deadlines: a net.Conn, a *quic.Stream.
type deadlineStream interface {
	io.ReadWriteCloser
	SetDeadline(time.Time) error
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
}

// deadlineCall is one deadline set on a recorder: when, and to what.
type deadlineCall struct {
	at, to time.Time
}

// recorder passes everything to its stream and keeps the deadlines set on
// it, so that tests check which deadline the code chose instead of how
// long it took to reach it.
type recorder struct {
	deadlineStream
	mu          sync.Mutex
	calls       []deadlineCall // SetDeadline only
	read, write time.Time      // the deadlines in force
}

func (r *recorder) SetDeadline(t time.Time) error {
	r.mu.Lock()
	r.calls = append(r.calls, deadlineCall{at: time.Now(), to: t})
	r.read, r.write = t, t
	r.mu.Unlock()
	return r.deadlineStream.SetDeadline(t)
}

func (r *recorder) SetReadDeadline(t time.Time) error {
	r.mu.Lock()
	r.read = t
	r.mu.Unlock()
	return r.deadlineStream.SetReadDeadline(t)
}

func (r *recorder) SetWriteDeadline(t time.Time) error {
	r.mu.Lock()
	r.write = t
	r.mu.Unlock()
	return r.deadlineStream.SetWriteDeadline(t)
}

// state returns the SetDeadline calls so far and the deadlines in force.
func (r *recorder) state() (calls []deadlineCall, read, write time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]deadlineCall(nil), r.calls...), r.read, r.write
}

// wantDeadline checks that the first deadline set on r is timeout from the
// moment it was set: no earlier than from start (when the handshake was
// called), no later than from the call itself. It holds however slowly the
// machine runs, and fails if another limit (the default, say) was used.
func wantDeadline(tb testing.TB, what string, r *recorder, start time.Time, timeout time.Duration) {
	tb.Helper()
	calls, _, _ := r.state()
	if len(calls) == 0 {
		tb.Fatalf("%s: no deadline was set on the stream", what)
	}
	c := calls[0]
	if c.to.Before(start.Add(timeout)) || c.to.After(c.at.Add(timeout)) {
		tb.Fatalf("%s: deadline set %v after the call, for %v after it; want %v after the moment it was set",
			what, c.at.Sub(start), c.to.Sub(start), timeout)
	}
}

// Fixed keys, so that tests are exact.
func testKey(seed byte) PrivateKey {
	var k PrivateKey
	for i := range k {
		k[i] = seed + byte(i)
	}
	return k
}

var (
	serverKey = testKey(1)
	clientKey = testKey(2)
	shopKey   = testKey(3)
	otherKey  = testKey(4)
)

// handshakePair runs an IK handshake over rwc/rws and returns both ends. A
// zero HandshakeTimeout in a limit means hang.Timeout (see slack).
func handshakePair(tb testing.TB, rwc, rws io.ReadWriteCloser, cliLim, srvLim Limits) (cli, srv *Session) {
	tb.Helper()
	type result struct {
		s   *Session
		err error
	}
	done := make(chan result, 1)
	go func() {
		s, err := ServerHandshakeIK(rws, serverKey, slack(tb, srvLim))
		done <- result{s, err}
	}()
	cli, err := ClientHandshake(rwc, Config{Static: clientKey, RemoteStatic: serverKey.Public(), Limits: slack(tb, cliLim)})
	if err != nil {
		tb.Fatalf("ClientHandshake: %v", err)
	}
	r := <-done
	if r.err != nil {
		tb.Fatalf("ServerHandshakeIK: %v", r.err)
	}
	return cli, r.s
}

// memPair returns an IK session pair over an in-memory stream, and the
// stream's two directions (client to server, server to client).
func memPair(tb testing.TB, cliLim, srvLim Limits) (cli, srv *Session, up, down *memPipe) {
	a, b := memConnPair()
	cli, srv = handshakePair(tb, a, b, cliLim, srvLim)
	return cli, srv, a.w, b.w
}

// frame builds a frame with the given body: version 1, type 3, request id
// id, then the body length.
func frame(id uint32, body []byte) []byte {
	f := make([]byte, HeaderSize, HeaderSize+len(body))
	f[0], f[1] = 1, 3
	f[2], f[3], f[4], f[5] = byte(id>>24), byte(id>>16), byte(id>>8), byte(id)
	n := len(body)
	f[6], f[7], f[8], f[9] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
	return append(f, body...)
}

// pattern returns n bytes of a pattern seeded by seed.
func pattern(seed, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(seed*31 + i*7 + i>>8)
	}
	return b
}

// countingDH counts X25519 operations, key generation included.
type countingDH struct {
	noise.DHFunc
	n atomic.Int64
}

func (c *countingDH) GenerateKeypair(r io.Reader) (noise.DHKey, error) {
	c.n.Add(1)
	return c.DHFunc.GenerateKeypair(r)
}

func (c *countingDH) DH(priv, pub []byte) ([]byte, error) {
	c.n.Add(1)
	return c.DHFunc.DH(priv, pub)
}

// testServer is a gateway stand-in on real loopback QUIC: it accepts
// connections and streams, runs the handshake and hands each session to
// handle (or each raw stream, if raw is set). A zero
// cfg.Limits.HandshakeTimeout means hang.Timeout for the Noise handshakes;
// the QUIC handshake always has hang.Timeout, so that a test of a short
// Noise limit does not race the QUIC handshake against it.
type testServer struct {
	ln       *quic.Listener
	cert     tls.Certificate
	pin      [32]byte
	errs     chan error
	sessions chan *Session
	wg       sync.WaitGroup
}

func startServer(tb testing.TB, cfg ServerConfig, handle func(*Session), raw func(*quic.Stream)) *testServer {
	tb.Helper()
	cert, _, _, err := GenerateCertificate()
	if err != nil {
		tb.Fatal(err)
	}
	cfg.Limits = slack(tb, cfg.Limits)
	quicLim := cfg.Limits
	quicLim.HandshakeTimeout = hang.Timeout(tb)
	ln, err := Listen("127.0.0.1:0", cert, quicLim)
	if err != nil {
		tb.Fatal(err)
	}
	ts := &testServer{ln: ln, cert: cert, pin: Pin(cert.Leaf), errs: make(chan error, 64), sessions: make(chan *Session, 64)}
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var conns []*quic.Conn
	ts.wg.Add(1)
	go func() {
		defer ts.wg.Done()
		for {
			conn, err := ln.Accept(ctx)
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
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
						if raw != nil {
							raw(str)
							return
						}
						s, err := ServerHandshake(str, cfg)
						if err != nil {
							ts.errs <- err
							return
						}
						ts.sessions <- s
						if handle != nil {
							handle(s)
						}
					}()
				}
			}()
		}
	}()
	tb.Cleanup(func() {
		cancel()
		mu.Lock()
		for _, c := range conns {
			c.CloseWithError(0, "")
		}
		mu.Unlock()
		ln.Close()
		ts.wg.Wait()
	})
	return ts
}

func (ts *testServer) addr() string { return ts.ln.Addr().String() }

// dial connects to ts with the right pin and closes the connection when
// the test ends. A zero lim.HandshakeTimeout means hang.Timeout.
func (ts *testServer) dial(tb testing.TB, lim Limits) *quic.Conn {
	tb.Helper()
	conn, err := Dial(hang.Context(tb), ts.addr(), ClientTLSConfig(ts.pin), slack(tb, lim))
	if err != nil {
		tb.Fatalf("Dial: %v", err)
	}
	tb.Cleanup(func() { conn.CloseWithError(0, "") })
	return conn
}

// serverErr waits for the server's handshake error.
func (ts *testServer) serverErr(tb testing.TB) error {
	tb.Helper()
	select {
	case err := <-ts.errs:
		return err
	case <-time.After(hang.Timeout(tb)):
		tb.Fatal("the server reported no handshake error")
		return nil
	}
}

// echo sends every frame back until the stream ends.
func echo(s *Session) {
	defer s.Close()
	for {
		f, err := s.ReadFrame()
		if err != nil {
			return
		}
		if err := s.WriteFrame(f); err != nil {
			return
		}
	}
}

// firstDiff returns the offset of the first byte where a and b differ.
// Tests report it instead of printing frames.
func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
