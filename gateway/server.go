// Package gateway is the Tollgate server: it accepts QUIC connections,
// runs Noise sessions on their streams, decides activations, validations
// and deactivations, and keeps what it decided in the store.
//
// It must never log a license key, and never answer before what it
// acknowledges is durable (see package store).
package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// Server is a running gateway.
type Server struct {
	cfg   Config
	id    *Identity
	st    *store.Store
	h     *handler
	ln    *quic.Listener
	udp   net.PacketConn
	tr    *quic.Transport
	adm   *admission   // handshakes and connections by address (admission.go)
	shops *shops       // the shop channel: IP lock, orders (shop.go)
	admin *adminServer // the operator's admin socket, nil if it could not open (admin.go)

	stats     *stats       // what it did, for the operator (stats.go)
	metricsLn net.Listener // Config.MetricsListen, or nil
	metrics   *http.Server
	inflight  sync.WaitGroup // requests being answered
	conns     sync.WaitGroup // connection goroutines
	mu        sync.Mutex
	open      map[*quic.Conn]struct{}
}

// New opens the identity and the store in cfg.Dir and binds the listener;
// Serve then answers requests.
func New(cfg Config) (*Server, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	for _, w := range cfg.warnings {
		cfg.Logger.Warn(w)
	}
	if err := checkDataDir(cfg.Dir); err != nil {
		return nil, err
	}
	id, err := LoadIdentity(cfg.Dir)
	if err != nil {
		return nil, err
	}
	st, err := OpenStore(cfg.Dir, StoreOptions{CacheEntries: cfg.CacheEntries, Now: cfg.Now, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	udpAddr, err := net.ResolveUDPAddr("udp", cfg.Listen)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("%w: listen address %q: %w", ErrConfig, cfg.Listen, err)
	}
	udp, err := net.ListenUDP("udp", udpAddr)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("gateway: listen on %s: %w", cfg.Listen, err)
	}
	adm := newAdmission(cfg.Admission)
	tr := &quic.Transport{Conn: udp, VerifySourceAddress: adm.verify, ConnContext: adm.connContext}
	ln, err := tr.Listen(channel.ServerTLSConfig(id.TLS), cfg.Limits.QUICConfig())
	if err != nil {
		udp.Close()
		st.Close()
		return nil, fmt.Errorf("gateway: listen on %s: %w", cfg.Listen, err)
	}
	shops, err := newShops(cfg.Dir, st, cfg.Logger)
	if err != nil {
		ln.Close()
		udp.Close()
		st.Close()
		return nil, err
	}
	var metricsLn net.Listener
	if cfg.MetricsListen != "" {
		if metricsLn, err = net.Listen("tcp", cfg.MetricsListen); err != nil {
			shops.close()
			ln.Close()
			udp.Close()
			st.Close()
			return nil, fmt.Errorf("gateway: metrics_listen %s: %w", cfg.MetricsListen, err)
		}
	}
	stats := newStats(cfg.Now())
	s := &Server{
		cfg: cfg, id: id, st: st, ln: ln, udp: udp, tr: tr, adm: adm, shops: shops, stats: stats, metricsLn: metricsLn,
		h: &handler{st: st, id: id, now: cfg.Now, log: cfg.Logger, defaultLease: cfg.DefaultLeaseSeconds, stats: stats,
			guesses: newGuessLimiter(cfg.KeyGuessBurst, time.Duration(cfg.KeyGuessRefillSeconds)*time.Second),
			flag:    flagPolicy{machines: cfg.FlagMachinesPerSeat, networks: cfg.FlagNetworksPerSeat, windowDays: cfg.FlagWindowDays}},
		open: make(map[*quic.Conn]struct{}),
	}
	s.h.clones = newCloneFlagger(s.h)
	return s, nil
}

// Addr returns the address the gateway listens on.
func (s *Server) Addr() net.Addr { return s.udp.LocalAddr() }

// Store returns the gateway's store (for operator commands run in-process).
func (s *Server) Store() *store.Store { return s.st }

// Identity returns the gateway's identity.
func (s *Server) Identity() *Identity { return s.id }

// Serve answers requests until ctx is done, then shuts down gracefully: it
// stops accepting, lets requests in flight finish (up to 10 s), closes the
// connections, flushes written-behind state and closes the store.
func (s *Server) Serve(ctx context.Context) error {
	s.cfg.Logger.Info("serving", "listen", s.Addr().String(), "data", s.cfg.Dir)
	s.admin = s.startAdmin()
	s.startMetrics()
	acceptErr := make(chan error, 1)
	go func() {
		for {
			conn, err := s.ln.Accept(context.Background())
			if err != nil {
				acceptErr <- err
				return
			}
			s.adm.establish(conn.Context())
			s.track(conn, true)
			s.conns.Add(1)
			go s.serveConn(conn)
		}
	}()
	var err error
	select {
	case <-ctx.Done():
	case err = <-acceptErr:
		err = fmt.Errorf("gateway: accept: %w", err)
	}
	return errors.Join(err, s.shutdown())
}

func (s *Server) shutdown() error {
	s.cfg.Logger.Info("shutting down: no new connections; finishing requests in flight")
	s.ln.Close()
	done := make(chan struct{})
	go func() { s.inflight.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		s.cfg.Logger.Warn("requests still in flight after 10s; closing anyway")
	}
	s.mu.Lock()
	for c := range s.open {
		c.CloseWithError(0, "gateway shutting down")
	}
	s.mu.Unlock()
	s.conns.Wait()
	s.h.clones.close()
	s.tr.Close()
	s.udp.Close()
	if s.admin != nil {
		s.admin.close()
	}
	if s.metrics != nil {
		// Shutdown, not Close: a page being written reads the store.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if s.metrics.Shutdown(ctx) != nil {
			s.metrics.Close()
		}
		cancel()
	}
	s.shops.close()
	err := s.st.Close()
	if err == nil {
		s.cfg.Logger.Info("stopped cleanly")
	}
	return err
}

func (s *Server) track(c *quic.Conn, add bool) {
	s.mu.Lock()
	if add {
		s.open[c] = struct{}{}
	} else {
		delete(s.open, c)
	}
	s.mu.Unlock()
}

func (s *Server) serveConn(conn *quic.Conn) {
	defer s.conns.Done()
	defer s.track(conn, false)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		stream, err := conn.AcceptStream(conn.Context())
		if err != nil {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.serveStream(conn, stream)
		}()
	}
}

// serveStream runs one Noise session. Validations and time requests are
// answered inline, in order; activations, deactivations and validations that
// need a new lease wait on an fsync or a signature, so they run in their own
// goroutine and answer when done (request ids tie answers to requests).
//
// A KK session is a shop's: the shop is looked up by its key id and its
// source address checked against its networks before any Diffie-Hellman
// (shops.lookup), and the session is served by serveShop.
func (s *Server) serveStream(conn *quic.Conn, stream *quic.Stream) {
	defer stream.Close()
	sess, err := channel.ServerHandshake(stream, channel.ServerConfig{
		Static: s.id.Noise, Lookup: s.shops.lookup(conn.RemoteAddr()), Limits: s.cfg.Limits,
	})
	if err != nil {
		stream.CancelRead(0)
		s.stats.failedHandshakes.Add(1)
		s.cfg.Logger.Debug("handshake failed", "err", err)
		return
	}
	s.stats.openSessions.Add(1)
	defer s.stats.openSessions.Add(-1)
	if sess.Pattern() == channel.PatternKK {
		s.stats.shopSessions.Add(1)
		s.serveShop(sess)
		return
	}
	s.stats.appSessions.Add(1)
	p := newPeer(sess.RemoteStatic(), guessAddr(conn.RemoteAddr()))
	var slow slowGroup
	defer slow.wg.Wait()
	var valid validTally
	defer func() { valid.flush(s.stats, 0) }()
	var out []byte // grows to the largest answer; idle sessions hold none
	for {
		frame, err := sess.ReadFrame()
		if err != nil {
			if !isClosed(err) {
				s.cfg.Logger.Debug("session ended", "err", err)
			}
			return
		}
		hdr, n, err := wire.ParseHeader(frame)
		if err != nil {
			// A frame we cannot parse leaves the stream out of step: answer
			// what we can and end the session.
			nonce, _ := wire.PeekNonce(frame[min(len(frame), wire.HeaderSize):])
			st := wire.StatusOf(err)
			out = appendError(out[:0], hdr.RequestID, nonce, st, "unreadable frame")
			s.stats.answered(kindOther, out)
			sess.WriteFrame(out)
			return
		}
		body := frame[n:]
		out = out[:0]
		now := s.cfg.Now().Unix()
		switch hdr.Type {
		case wire.TypeValidateRequest:
			req, _, err := wire.ParseValidateRequest(body)
			if err != nil {
				out = s.badRequest(out, hdr.RequestID, body, err)
				break
			}
			var needSlow bool
			if out, needSlow = s.h.validate(out, hdr.RequestID, &req, &p, now); needSlow {
				// req's slices point into the frame buffer: copy the body.
				b := append([]byte(nil), body...)
				s.goSlow(&slow, sess, kindValidate, func(out []byte) []byte {
					req, _, _ := wire.ParseValidateRequest(b)
					return s.h.validateSlow(out, hdr.RequestID, &req, &p)
				})
				continue
			}
		case wire.TypeTimeRequest:
			req, _, err := wire.ParseTimeRequest(body)
			if err != nil {
				out = s.badRequest(out, hdr.RequestID, body, err)
				break
			}
			out = s.h.serverTime(out, hdr.RequestID, &req)
		case wire.TypeActivateRequest:
			if _, _, err := wire.ParseActivateRequest(body); err != nil {
				out = s.badRequest(out, hdr.RequestID, body, err)
				break
			}
			b := append([]byte(nil), body...)
			s.goSlow(&slow, sess, kindActivate, func(out []byte) []byte {
				req, _, _ := wire.ParseActivateRequest(b)
				return s.h.activate(out, hdr.RequestID, &req, &p)
			})
			continue
		case wire.TypeDeactivateRequest:
			req, _, err := wire.ParseDeactivateRequest(body)
			if err != nil {
				out = s.badRequest(out, hdr.RequestID, body, err)
				break
			}
			s.goSlow(&slow, sess, kindDeactivate, func(out []byte) []byte {
				return s.h.deactivate(out, hdr.RequestID, &req, &p)
			})
			continue
		default:
			nonce, _ := wire.PeekNonce(body)
			out = appendError(out, hdr.RequestID, nonce, wire.StatusBadRequest, "this request is not served on the app channel")
		}
		if hdr.Type == wire.TypeValidateRequest {
			valid.count(s.stats, out, now)
		} else {
			s.stats.answered(kindOf(hdr.Type), out)
		}
		if err := sess.WriteFrame(out); err != nil {
			return
		}
	}
}

func (s *Server) badRequest(out []byte, reqID uint32, body []byte, err error) []byte {
	nonce, _ := wire.PeekNonce(body)
	return appendError(out, reqID, nonce, wire.StatusOf(err), "malformed request")
}

// maxSlowPerSession bounds the requests of one session being answered off
// its read loop (activations, leases, mints, key operations: each waits on
// a signature or an fsync). Past it the read loop waits for one to finish,
// and QUIC's flow control holds the peer back: a client pipelining
// thousands of activations gets them answered at the gateway's pace
// instead of a goroutine and a buffer each.
const maxSlowPerSession = 64

// slowGroup is the requests of one session being answered off its read loop.
type slowGroup struct {
	wg  sync.WaitGroup
	sem chan struct{} // made on first use: an idle session holds none
}

// start runs fn on its own goroutine, waiting first while the group has
// maxSlowPerSession of them running.
func (g *slowGroup) start(fn func()) {
	if g.sem == nil {
		g.sem = make(chan struct{}, maxSlowPerSession)
	}
	g.sem <- struct{}{}
	g.wg.Add(1)
	go func() {
		defer func() { <-g.sem }()
		defer g.wg.Done()
		fn()
	}()
}

// goSlow answers one request of sess off its read loop (slowGroup.start).
func (s *Server) goSlow(g *slowGroup, sess *channel.Session, k reqKind, answer func(out []byte) []byte) {
	s.inflight.Add(1)
	g.start(func() {
		defer s.inflight.Done()
		out := answer(make([]byte, 0, 4096))
		s.stats.answered(k, out)
		sess.WriteFrame(out)
	})
}

func isClosed(err error) bool {
	var appErr *quic.ApplicationError
	var streamErr *quic.StreamError
	var idleErr *quic.IdleTimeoutError
	return errors.As(err, &appErr) || errors.As(err, &streamErr) || errors.As(err, &idleErr) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, context.Canceled)
}
