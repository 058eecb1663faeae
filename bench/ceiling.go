package bench

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"time"

	"github.com/tollgate/tollgate/wire"
)

// runCeiling runs the bare quic-go echo with cfg's shape and frames of
// reqLen and respLen bytes, closed loop, and reports it beside r.
func runCeiling(ctx context.Context, cfg *Config, r *Result, reqLen, respLen int, typ wire.Type) (err error) {
	e, err := startEcho(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if serr := e.c.stop(); err == nil {
			err = serr
		}
	}()
	s, err := openBare(ctx, e.tls(), cfg)
	if err != nil {
		return err
	}
	defer s.close()
	exs := make([]exchange, len(s.load.streams))
	for i := range exs {
		exs[i] = &echoEx{reqLen: reqLen, respLen: respLen, typ: typ}
	}
	var c0, c1, l0, l1 time.Duration
	pid, self := e.c.pid(), os.Getpid()
	pr, err := s.load.run(ctx, phaseConfig{
		name: "ceiling (bare quic-go)", exchanges: exs, warmup: cfg.Warmup, duration: cfg.Duration, progress: cfg.Progress,
		onStart: func() { c0, _ = procCPU(pid); l0, _ = procCPU(self) },
		onEnd:   func() { c1, _ = procCPU(pid); l1, _ = procCPU(self) },
	})
	if err != nil {
		return err
	}
	ceilingInto(r, pr, c1-c0, l1-l0)
	if r.OfferedRate == nil || r.Interrupted {
		return nil
	}
	// The scenario's result is an open loop's: the ceiling offers the same
	// rate too, so that its latency can be read beside the scenario's.
	rate := *r.OfferedRate
	opr, err := s.load.run(ctx, phaseConfig{
		name: fmt.Sprintf("ceiling open loop %.0f/s", rate), exchanges: exs, rate: rate, warmup: cfg.Warmup, duration: cfg.Duration, progress: cfg.Progress,
	})
	if err != nil {
		return err
	}
	r.CeilingOpenRequestsPerSec = ptr(opr.rps())
	r.CeilingOpenP50us, r.CeilingOpenP99us = ptr(usOf(opr.hist, 50)), ptr(usOf(opr.hist, 99))
	r.Interrupted = r.Interrupted || opr.interrupt
	return nil
}

// ceilingInto records the ceiling's phase in r and the ratio to it.
func ceilingInto(r *Result, pr *phaseResult, cpu, load time.Duration) {
	r.CeilingRequestsPerSec = ptr(pr.rps())
	r.CeilingP50us, r.CeilingP99us = ptr(usOf(pr.hist, 50)), ptr(usOf(pr.hist, 99))
	r.ceilingHist = pr.hist
	r.CeilingThroughput = pr.series
	if pr.requests > 0 && cpu > 0 {
		r.CeilingCPUUsPerReq = ptr(float64(cpu.Microseconds()) / float64(pr.requests))
	}
	if pr.requests > 0 && load > 0 {
		r.CeilingLoadCPUUsPerReq = ptr(float64(load.Microseconds()) / float64(pr.requests))
	}
	if len(pr.errors) > 0 {
		r.note("the ceiling had errors: %s", fmtErrors(pr.errors))
	}
	if c := pr.rps(); c > 0 {
		r.Ratio = ptr(closedRate(r) / c)
	}
	r.Interrupted = r.Interrupted || pr.interrupt
}

// frameSizes returns the plaintext frame sizes of a phase's requests and
// answers, for the ceiling to send the same bytes.
func frameSizes(pr *phaseResult) (req, resp int) { return pr.meanSizes() }

// validateSizes returns the frame sizes of a validation and its answer,
// for the ceilings of scenarios that do not measure them.
func validateSizes() (req, resp int) {
	fp := randomFingerprint(newRand())
	q := wire.AppendFrame(nil, 1, wire.ValidateRequest{Counter: 1, Fingerprint: fp})
	a := wire.AppendFrame(nil, 1, wire.ValidateResponse{Counter: 1, ServerTime: time.Now().Unix()})
	return len(q), len(a)
}

// runHandshakeCeiling: Conns at a time, a new QUIC connection to the echo
// server, one echo of a validation's size, the close.
func runHandshakeCeiling(ctx context.Context, cfg *Config, r *Result, req, resp int) (err error) {
	e, err := startEcho(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if serr := e.c.stop(); err == nil {
			err = serr
		}
	}()
	ld := &load{epoch: time.Now(), streams: []*stream{newStream(nil, cfg.Conns)}}
	ex := &echoHandshakeEx{srv: e.tls(), echo: echoEx{reqLen: req, respLen: resp, typ: wire.TypeValidateRequest}}
	var c0, c1, l0, l1 time.Duration
	pid, self := e.c.pid(), os.Getpid()
	pr, err := ld.run(ctx, phaseConfig{
		name: "ceiling (bare QUIC handshakes)", exchanges: []exchange{ex}, warmup: cfg.Warmup, duration: cfg.Duration, progress: cfg.Progress,
		onStart: func() { c0, _ = procCPU(pid); l0, _ = procCPU(self) },
		onEnd:   func() { c1, _ = procCPU(pid); l1, _ = procCPU(self) },
	})
	if err != nil {
		return err
	}
	ceilingInto(r, pr, c1-c0, l1-l0)
	return nil
}

// runCeilingAlone runs the ceiling by itself with validate's frame sizes.
func runCeilingAlone(ctx context.Context, cfg *Config, r *Result) error {
	q, a := validateSizes()
	if err := runCeiling(ctx, cfg, r, q, a, wire.TypeValidateRequest); err != nil {
		return err
	}
	r.RequestsPerSec = *r.CeilingRequestsPerSec
	h := r.ceilingHist
	r.hist = h
	r.P50us, r.P90us, r.P99us, r.P999us = usOf(h, 50), usOf(h, 90), usOf(h, 99), usOf(h, 99.9)
	r.MaxUs, r.MeanUs = float64(h.Max()), h.Mean()
	r.Requests = h.TotalCount()
	r.DurationS = cfg.Duration.Seconds()
	r.RequestBytes, r.ResponseBytes = recordSize(q), recordSize(a)
	r.Throughput = r.CeilingThroughput
	r.Ratio = nil
	r.note("no gateway: the bare quic-go echo alone, with validate's frame sizes; its CPU time is ceiling_cpu_us_per_req")
	return nil
}

// echoEx is the ceiling's exchange: frames of reqLen bytes answered by
// frames of respLen bytes, typed as the scenario's. A request's body
// starts with the length of the answer's body, which is all the echo
// server reads of it.
type echoEx struct {
	reqLen, respLen int
	typ             wire.Type
}

func (e *echoEx) ops() []string { return []string{"echo"} }

func (e *echoEx) request(b []byte, id uint32) ([]byte, uint32, reqKind) {
	n := max(e.reqLen, wire.HeaderSize+4)
	if cap(b) < n {
		b = make([]byte, 0, n)
	}
	b = b[:n]
	clear(b)
	b[0], b[1] = wire.ProtocolVersion, byte(e.typ)
	binary.BigEndian.PutUint32(b[2:], id)
	binary.BigEndian.PutUint32(b[6:], uint32(n-wire.HeaderSize))
	binary.BigEndian.PutUint32(b[10:], uint32(max(e.respLen-wire.HeaderSize, 0)))
	return b, 0, reqFrame
}

func (e *echoEx) answer(_, _ uint32, typ wire.Type, body []byte) (int, string) {
	if typ != e.typ+1 || len(body) != max(e.respLen-wire.HeaderSize, 0) {
		return 0, errBadAnswer
	}
	return 0, ""
}

func (e *echoEx) side(context.Context, uint32) (int, string) { return 0, errBadAnswer }

// echoHandshakeEx is the handshake scenario's ceiling: a new QUIC
// connection to the echo server, one echo, the close.
type echoHandshakeEx struct {
	srv  *tlsPin
	echo echoEx
}

func (e *echoHandshakeEx) ops() []string { return []string{"handshake"} }

func (e *echoHandshakeEx) request(b []byte, _ uint32) ([]byte, uint32, reqKind) {
	return b, 0, reqSide
}

func (e *echoHandshakeEx) answer(uint32, uint32, wire.Type, []byte) (int, string) {
	return 0, errBadAnswer
}

func (e *echoHandshakeEx) side(ctx context.Context, _ uint32) (int, string) {
	ctx, cancel := context.WithTimeout(ctx, sideTimeout)
	defer cancel()
	conn, err := dial(ctx, e.srv.addr, e.srv.pin)
	if err != nil {
		return 0, errDial
	}
	defer conn.CloseWithError(0, "done")
	str, err := conn.OpenStreamSync(ctx)
	if err != nil {
		return 0, errHandshake
	}
	bs := newBareStream(str)
	defer bs.Close()
	frame, _, _ := e.echo.request(nil, 1)
	return 0, roundTrip(ctx, bs, frame, func(typ wire.Type, body []byte) string {
		_, s := e.echo.answer(1, 0, typ, body)
		return s
	})
}
