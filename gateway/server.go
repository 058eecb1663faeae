// Package gateway is the Tollgate server around the license service: it
// accepts QUIC connections, runs Noise sessions on their streams, routes
// each request to the service (routes.go) and writes its answer; it serves
// the operator's admin socket and the metrics page, and knows the data
// directory's layout (layout.go) and the gateway's identity.
//
// It decides nothing itself (package service does), must never log a
// license key, and never answers before what it acknowledges is durable
// (see package store).
package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/store"
)

// Server is a running gateway.
type Server struct {
	cfg Config
	id  *Identity
	// transport is what new connections are served with: Noise keys and
	// certificates, switched by the admin's transport operations.
	transport *transportHolder
	st        *store.Store
	svc       *service.Service
	ln        *quic.Listener
	udp       net.PacketConn
	tr        *quic.Transport
	adm       *admission   // handshakes and connections by address (admission.go)
	shops     *shops       // the shop channel: IP lock, orders (shop.go)
	admin     *adminServer // the operator's admin socket, nil if it could not open (admin.go)

	stats     *stats       // what it did, for the operator (stats.go)
	metricsLn net.Listener // Config.MetricsListen, or nil
	metrics   *http.Server
	inflight  sync.WaitGroup // requests being answered off the read loops
	// drainMu orders goSlow's inflight.Add before shutdown's Wait: once
	// draining, a new slow request is not started (its connection is about
	// to close, and the client sends it again elsewhere or later).
	drainMu  sync.Mutex
	draining bool
	conns    sync.WaitGroup // connection goroutines
	mu       sync.Mutex
	open     map[*quic.Conn]struct{}
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
	st, err := OpenStore(cfg.Dir, StoreOptions{CacheEntries: cfg.CacheEntries, Now: cfg.Now, Logger: cfg.Logger, URL: cfg.Store, Migrate: true, Timeout: cfg.StoreTimeout})
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
	transport := &transportHolder{}
	transport.p.Store(transportOf(id))
	ln, err := tr.Listen(channel.ServerTLSConfigFunc(func(pin [32]byte, named bool) *tls.Certificate {
		return transport.load().choose(pin, named)
	}), cfg.Limits.QUICConfig())
	if err != nil {
		udp.Close()
		st.Close()
		return nil, fmt.Errorf("gateway: listen on %s: %w", cfg.Listen, err)
	}
	shops, err := newShops(st, cfg.Logger)
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
	serviceKeys := id.serviceKeys()
	// Offline files are opened with the keys new connections are served
	// with, which the transport operations switch.
	serviceKeys.NoiseKeys = func() [][32]byte { return transport.load().noiseKeys() }
	s := &Server{
		cfg: cfg, id: id, transport: transport, st: st, ln: ln, udp: udp, tr: tr, adm: adm, shops: shops, stats: stats, metricsLn: metricsLn,
		svc: service.New(service.Config{
			Store: st, Keys: serviceKeys, Now: cfg.Now, Log: cfg.Logger, DefaultLeaseSeconds: uint32(cfg.DefaultLease / time.Second),
			GuessBurst: cfg.KeyGuessBurst, GuessRefill: cfg.KeyGuessRefill,
			Flag:              service.FlagPolicy{MachinesPerSeat: cfg.FlagMachinesPerSeat, NetworksPerSeat: cfg.FlagNetworksPerSeat, WindowDays: cfg.FlagWindowDays},
			SelfServiceResets: cfg.SelfServiceResets,
			LeaseBatch:        max(cfg.LeaseBatch, 1), // zero: alone (Config.LeaseBatch)
		}),
		open: make(map[*quic.Conn]struct{}),
	}
	return s, nil
}

// Addr returns the address the gateway listens on.
func (s *Server) Addr() net.Addr { return s.udp.LocalAddr() }

// Store returns the gateway's store (for operator commands run in-process).
func (s *Server) Store() *store.Store { return s.st }

// Service returns the gateway's license service.
func (s *Server) Service() *service.Service { return s.svc }

// Identity returns the gateway's identity.
func (s *Server) Identity() *Identity { return s.id }

// Serve answers requests until ctx is done, then shuts down gracefully: it
// stops accepting, lets requests in flight finish (up to 10 s), closes the
// connections, flushes written-behind state and closes the store.
func (s *Server) Serve(ctx context.Context) error {
	s.cfg.Logger.Info("serving", "listen", s.Addr().String(), "data", s.cfg.Dir)
	s.admin = s.startAdmin()
	s.startMetrics()
	stopExpiring := s.startExpiring()
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
	stopExpiring()
	return errors.Join(err, s.shutdown())
}

func (s *Server) shutdown() error {
	s.cfg.Logger.Info("shutting down: no new connections; finishing requests in flight")
	s.ln.Close()
	done := make(chan struct{})
	s.drainMu.Lock()
	s.draining = true
	s.drainMu.Unlock()
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
	s.svc.Close()
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
		go s.serveStream(conn, stream, &wg)()
	}
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

// goSlow answers one request of c off its session's read loop
// (slowGroup.start), counted in inflight for shutdown; once the gateway is
// shutting down it starts none (the request gets no answer: its
// connection closes, and nothing of it was done).
func (s *Server) goSlow(c *caller, k reqKind, answer func(out []byte) []byte) {
	s.drainMu.Lock()
	if s.draining {
		s.drainMu.Unlock()
		return
	}
	s.inflight.Add(1)
	s.drainMu.Unlock()
	c.slow.start(func() {
		defer s.inflight.Done()
		out := answer(make([]byte, 0, 4096))
		s.stats.answered(k, out)
		c.sess.WriteFrame(out)
	})
}

func isClosed(err error) bool {
	var appErr *quic.ApplicationError
	var streamErr *quic.StreamError
	var idleErr *quic.IdleTimeoutError
	return errors.As(err, &appErr) || errors.As(err, &streamErr) || errors.As(err, &idleErr) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, context.Canceled)
}
