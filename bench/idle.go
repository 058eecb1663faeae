package bench

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/wire"
)

// Idle-memory parameters.
const (
	// idleInstalls is how many installs (each with one activated license)
	// the idle sessions belong to.
	idleInstalls = 16
	// connsPerSocket is how many idle connections share one UDP socket of
	// the load generator, so that 10,000 of them do not need 10,000 file
	// descriptors. The server sees a connection per connection id either
	// way.
	connsPerSocket = 1000
	// idleSettle is how long 10,000 sessions sit idle before memory is
	// read; fewer sit proportionally less, at least a fifth of a second.
	idleSettle = 2 * time.Second
	// idleOpenTries bounds the tries to open one idle session.
	idleOpenTries = 3
)

// idleHold keeps the idle connections a phase opened.
type idleHold struct {
	mu    sync.Mutex
	conns []*quic.Conn
	fs    []framer
	trs   []*quic.Transport
	count int
}

func (h *idleHold) transport(i int) *quic.Transport { return h.trs[(i/connsPerSocket)%len(h.trs)] }

func (h *idleHold) keep(c *quic.Conn, f framer) {
	h.mu.Lock()
	h.conns = append(h.conns, c)
	h.fs = append(h.fs, f)
	h.mu.Unlock()
}

func (h *idleHold) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, f := range h.fs {
		f.Close()
	}
	for _, c := range h.conns {
		c.CloseWithError(0, "benchmark done")
	}
	for _, t := range h.trs {
		t.Close()
		t.Conn.Close()
	}
	h.conns, h.fs, h.trs = nil, nil, nil
}

func newIdleHold(n int) (*idleHold, error) {
	h := &idleHold{count: n}
	for range (n + connsPerSocket - 1) / connsPerSocket {
		udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			h.close()
			return nil, fmt.Errorf("%w: %w", ErrSetup, err)
		}
		h.trs = append(h.trs, &quic.Transport{Conn: udp})
	}
	return h, nil
}

// idleQUICConfig is the client's QUIC configuration, as channel.Dial
// makes it: the channel's limits, keep-alives at half the idle timeout.
func idleQUICConfig() *quic.Config {
	qc := channel.Limits{}.QUICConfig()
	qc.KeepAlivePeriod = channel.Limits{}.WithDefaults().IdleTimeout / 2
	return qc
}

// idleOpenEx opens idle sessions as side operations, count in all: a
// connection, a session of one of the installs, one validation, and then
// it keeps them open.
type idleOpenEx struct {
	hold   *idleHold
	addr   *net.UDPAddr
	pin    [32]byte
	opened int
	// Gateway sessions; nil installs means bare streams to the echo
	// server, each with one echo.
	card     *wire.Card
	installs []channel.PrivateKey
	licenses [][wire.LicenseIDSize]byte
	locks    []sync.Mutex // one per install: its validations in counter order
	fp       wire.Fingerprint
	echo     echoEx
	retried  retries
}

func (e *idleOpenEx) ops() []string { return []string{"open"} }

func (e *idleOpenEx) request(b []byte, _ uint32) ([]byte, uint32, reqKind) {
	if e.opened == e.hold.count {
		return b, 0, reqNone
	}
	e.opened++
	return b, uint32(e.opened - 1), reqSide
}

func (e *idleOpenEx) answer(uint32, uint32, wire.Type, []byte) (int, string) { return 0, errBadAnswer }

// side opens one session. An open that fails is tried again, up to
// idleOpenTries in all, and counted in retried: one lost handshake in ten
// thousand on a loaded machine would otherwise leave the run without its
// figure (the result notes how many were opened again, and why).
func (e *idleOpenEx) side(ctx context.Context, tag uint32) (int, string) {
	var st string
	for try := 1; ; try++ {
		if st = e.open(ctx, tag); st == "" || try == idleOpenTries || ctx.Err() != nil {
			return 0, st
		}
		e.retried.add(st)
	}
}

// retries counts the failed opens that were tried again, by status.
type retries struct {
	mu sync.Mutex
	by map[string]int64
	n  int
}

func (r *retries) add(st string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.by == nil {
		r.by = make(map[string]int64)
	}
	r.by[st]++
	r.n++
}

// note adds to res a note of the opens tried again, if there were any.
func (r *retries) note(res *Result, what string, of int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n > 0 {
		res.note("%d of %d %s failed and were opened again: %s", r.n, of, what, fmtErrors(r.by))
	}
}

func (e *idleOpenEx) open(ctx context.Context, tag uint32) string {
	ctx, cancel := context.WithTimeout(ctx, sideTimeout)
	defer cancel()
	conn, err := e.hold.transport(int(tag)).Dial(ctx, e.addr, channel.ClientTLSConfig(e.pin), idleQUICConfig())
	if err != nil {
		return errDial
	}
	var f framer
	var st string
	if e.installs != nil {
		i := int(tag) % len(e.installs)
		sess, err := channel.OpenSession(ctx, conn, channel.Config{Pattern: channel.PatternIK, Static: e.installs[i], RemoteStatic: e.card.NoiseKey})
		if err != nil {
			conn.CloseWithError(0, "handshake failed")
			return errHandshake
		}
		prefix := newPrefix()
		f = sess
		st = ordered(&e.locks[i], func(counter uint64) string {
			req := wire.ValidateRequest{Nonce: nonceFor(prefix, 1), LicenseID: e.licenses[i], Counter: counter, Fingerprint: e.fp}
			return roundTrip(ctx, f, wire.AppendFrame(nil, 1, req), func(typ wire.Type, body []byte) string {
				return checkValidate(prefix, 1, typ, body)
			})
		})
	} else {
		str, err := conn.OpenStreamSync(ctx)
		if err != nil {
			conn.CloseWithError(0, "stream failed")
			return errHandshake
		}
		f = newBareStream(str)
		frame, _, _ := e.echo.request(nil, 1)
		st = roundTrip(ctx, f, frame, func(typ wire.Type, body []byte) string {
			_, s := e.echo.answer(1, 0, typ, body)
			return s
		})
	}
	if st != "" {
		f.Close()
		conn.CloseWithError(0, "round trip failed")
		return st
	}
	f.SetReadDeadline(time.Time{})
	e.hold.keep(conn, f)
	return ""
}

// holdIdle opens ex.hold.count sessions (cfg.Conns at a time), lets them
// sit, and returns the phase that opened them and the server's RSS before
// and after, as measured by rss after free (which may be nil).
// cpuPerOpen, when the server's CPU time is known, is its CPU time per
// session opened.
func holdIdle(ctx context.Context, cfg *Config, name string, ex *idleOpenEx, free func() error, rss func() (int64, bool), cpu func() (time.Duration, bool)) (pr *phaseResult, before, after int64, ok bool, cpuPerOpen *float64, err error) {
	if free != nil {
		if err := free(); err != nil {
			return nil, 0, 0, false, nil, err
		}
	}
	before, ok0 := rss()
	var c0, c1 time.Duration
	var okc0, okc1 bool
	ld := &load{epoch: time.Now(), streams: []*stream{newStream(nil, cfg.Conns)}}
	pr, err = ld.run(ctx, phaseConfig{name: name, exchanges: []exchange{ex}, progress: cfg.Progress, maxWait: 30 * time.Minute,
		onStart: func() { c0, okc0 = cpu() }, onEnd: func() { c1, okc1 = cpu() }})
	if okc0 && okc1 && pr != nil && pr.requests > 0 {
		cpuPerOpen = ptr(float64((c1 - c0).Microseconds()) / float64(pr.requests))
	}
	if err != nil || pr.interrupt {
		return pr, 0, 0, false, cpuPerOpen, err
	}
	if len(pr.errors) > 0 {
		return pr, 0, 0, false, cpuPerOpen, fmt.Errorf("%w: opening idle sessions: %s", ErrBroken, fmtErrors(pr.errors))
	}
	settle := max(200*time.Millisecond, min(idleSettle, idleSettle*time.Duration(ex.hold.count)/10000))
	select {
	case <-time.After(settle):
	case <-ctx.Done():
		return pr, 0, 0, false, cpuPerOpen, nil
	}
	if free != nil {
		if err := free(); err != nil {
			return pr, 0, 0, false, cpuPerOpen, err
		}
	}
	after, ok1 := rss()
	return pr, before, after, ok0 && ok1, cpuPerOpen, nil
}

// runIdle: Sessions sessions opened (Conns at a time), each with one
// validation, then left idle; the gateway's RSS per session, collected
// garbage aside, against a bare quic-go server's per idle connection with
// one echo, in the same run. Target: at most 1.10 times.
func runIdle(ctx context.Context, cfg *Config, r *Result) (err error) {
	n := idleInstalls
	if cfg.Addr != "" {
		n = min(n, len(cfg.Keys))
	}
	t, err := prepare(ctx, cfg, need{keys: n})
	if err != nil {
		return err
	}
	defer closeTarget(t, &err)
	udpAddr, err := net.ResolveUDPAddr("udp", t.card.Address)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	hold, err := newIdleHold(cfg.Sessions)
	if err != nil {
		return err
	}
	defer hold.close()
	ex := &idleOpenEx{hold: hold, addr: udpAddr, pin: t.card.TLSPin, card: t.card, fp: randomFingerprint(newRand())}
	var rel *release
	ex.installs, ex.licenses, rel, err = soloInstalls(ctx, cfg, t, n, ex.fp)
	ex.locks = make([]sync.Mutex, n)
	defer keepFirst(ctx, rel, &err)
	if err != nil {
		return err
	}
	var free func() error
	if t.gw != nil {
		free = t.gw.freeMemory
	} else if t.pid != 0 {
		r.note("a gateway started separately cannot be asked to collect its garbage: its RSS includes garbage")
	}
	r.Sessions = cfg.Sessions
	pr, before, after, ok, cpu, err := holdIdle(ctx, cfg, fmt.Sprintf("opening %d gateway sessions", cfg.Sessions), ex, free, t.rss, t.cpu)
	if err != nil || pr == nil || pr.interrupt {
		return err
	}
	r.fill(pr)
	ex.retried.note(r, "gateway session opens", cfg.Sessions)
	if cpu != nil {
		r.GatewayCPUUsPerReq = cpu
		r.GatewayCPUCores = ptr(*cpu * float64(pr.requests) / 1e6 / pr.elapsed.Seconds())
	}
	r.GatewaySessionsOpenedSec = ptr(pr.rps())
	q, a := validateSizes()
	r.RequestBytes, r.ResponseBytes = recordSize(q), recordSize(a)
	if ok {
		r.GatewayRSSBaseBytes, r.GatewayRSSBytes = ptr(before), ptr(after)
		r.GatewayRSSPerSession = ptr(float64(after-before) / float64(cfg.Sessions))
	}
	hold.close()
	if err := rel.run(ctx); err != nil {
		return err
	}

	// The same against a bare quic-go server, in this run.
	e, err := startEcho(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if serr := e.c.stop(); err == nil {
			err = serr
		}
	}()
	eaddr, err := net.ResolveUDPAddr("udp", e.c.addr)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrChild, err)
	}
	bare, err := newIdleHold(cfg.Sessions)
	if err != nil {
		return err
	}
	defer bare.close()
	bex := &idleOpenEx{hold: bare, addr: eaddr, pin: e.c.pin, echo: echoEx{reqLen: q, respLen: a, typ: wire.TypeValidateRequest}}
	epid := e.c.pid()
	bpr, bbefore, bafter, bok, bcpu, err := holdIdle(ctx, cfg, fmt.Sprintf("opening %d bare connections", cfg.Sessions), bex, e.c.freeMemory,
		func() (int64, bool) { b, err := procRSS(epid); return b, err == nil },
		func() (time.Duration, bool) { d, err := procCPU(epid); return d, err == nil })
	if err != nil || bpr == nil || bpr.interrupt {
		return err
	}
	bex.retried.note(r, "bare connection opens", cfg.Sessions)
	r.CeilingCPUUsPerReq = bcpu
	r.CeilingOpenPerSec = ptr(bpr.rps())
	r.CeilingRequestsPerSec = ptr(bpr.rps())
	r.CeilingP50us, r.CeilingP99us = ptr(usOf(bpr.hist, 50)), ptr(usOf(bpr.hist, 99))
	r.ceilingHist = bpr.hist
	if bok {
		r.CeilingRSSBaseBytes, r.CeilingRSSBytes = ptr(bbefore), ptr(bafter)
		r.CeilingRSSPerConn = ptr(float64(bafter-bbefore) / float64(cfg.Sessions))
	}
	if r.GatewayRSSPerSession != nil && r.CeilingRSSPerConn != nil && *r.CeilingRSSPerConn > 0 {
		r.Ratio = ptr(*r.GatewayRSSPerSession / *r.CeilingRSSPerConn)
	}
	note := ""
	switch {
	case cfg.Sessions < 10000:
		note = fmt.Sprintf("measured with %d sessions; the target is for 10,000", cfg.Sessions)
	case r.Ratio == nil:
		note = "the gateway's memory is not measured: give its pid (--pid)"
	}
	r.target("gateway RSS per idle session / bare quic-go per idle connection", "<= 1.10", r.Ratio, func(v float64) bool { return v <= 1.10 }, note)
	return nil
}
