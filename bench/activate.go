package bench

import (
	"context"
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/keygen/composite"
	"github.com/tollgate/tollgate/wire"
)

// runActivate: each request activates a fresh key from a fresh machine on
// a long-lived session (a durable write and a lease signature each), then
// lease signing alone is measured on every core with the gateway stopped.
// An embedded gateway is loaded twice, each time a new one: first signing
// each lease alone (lease_batch 1), then as cfg.GatewayLeaseBatch says
// (64 by default), whose figures are r's; the first run's rate, p99 and
// CPU go beside them. Targets: at least 0.6 of signing alone (the
// shipped gateway, batched), and, with batching, at least twice the rate
// of one signature per lease and twice signing alone.
func runActivate(ctx context.Context, cfg *Config, r *Result) (err error) {
	batch := cfg.GatewayLeaseBatch
	if batch == 0 {
		batch = wire.MaxLeaseBatch
	}
	if cfg.Addr == "" {
		r.LeaseBatch = batch
	}
	if cfg.Addr == "" && batch != 1 {
		one := *cfg
		one.GatewayLeaseBatch = 1
		one.GatewayCPUProfile = "" // the profile is of the batched run
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, "activate with one signature per lease (lease_batch 1), then with lease_batch %d\n", batch)
		}
		or := &Result{Errors: map[string]int64{}}
		if _, _, err := activateLoad(ctx, &one, or); err != nil || or.Interrupted || ctx.Err() != nil {
			r.Interrupted = r.Interrupted || or.Interrupted
			return err
		}
		r.UnbatchedPerSec, r.UnbatchedP99us, r.UnbatchedCPUUsPerReq = ptr(or.RequestsPerSec), ptr(or.P99us), or.GatewayCPUUsPerReq
		defer func() {
			// After the batched run, which sets r.Errors.
			for k, v := range or.Errors {
				r.Errors["one signature per lease: "+k] += v
			}
		}()
		for _, n := range or.Notes {
			r.note("one signature per lease: %s", n)
		}
	}
	batched := *cfg
	if cfg.Addr == "" {
		batched.GatewayLeaseBatch = batch // the gateway's own default is 1
	}
	pr, scheme, err := activateLoad(ctx, &batched, r)
	if err != nil || r.Interrupted {
		return err
	}
	if cfg.Addr != "" {
		r.note("signing alone was measured while the gateway at %s kept running", cfg.Addr)
	}
	if cfg.Progress != nil {
		fmt.Fprintf(cfg.Progress, "lease signing alone (%v, %d goroutines) for %v\n", scheme, r.Machine.CPUs, cfg.Duration)
	}
	sign, err := signRate(ctx, scheme, cfg.Duration)
	if err != nil {
		return err
	}
	r.SignPerSec = ptr(sign)
	if sign > 0 {
		r.SignRatio = ptr(closedRate(r) / sign)
	}
	if r.UnbatchedPerSec != nil && *r.UnbatchedPerSec > 0 {
		r.BatchRatio = ptr(closedRate(r) / *r.UnbatchedPerSec)
	}
	if cfg.Ceiling {
		req, resp := frameSizes(pr)
		if err := runCeiling(ctx, cfg, r, req, resp, wire.TypeActivateRequest); err != nil {
			return err
		}
	}
	r.target("activate / lease signing alone", ">= 0.6", r.SignRatio, func(v float64) bool { return v >= 0.6 }, "")
	if r.LeaseBatch != 1 {
		note := ""
		if r.BatchRatio == nil {
			note = "needs an embedded gateway"
		}
		r.target("activate batched / one signature per lease", ">= 2", r.BatchRatio, func(v float64) bool { return v >= 2 }, note)
		r.target("activate batched / lease signing alone", ">= 2", r.SignRatio, func(v float64) bool { return v >= 2 }, "")
	}
	return nil
}

// activateLoad loads a gateway (a new embedded one, or cfg.Addr) with
// activations as cfg says, fills r, and stops the embedded gateway. It
// returns the measured phase and the scheme of the gateway's lease key.
func activateLoad(ctx context.Context, cfg *Config, r *Result) (pr *phaseResult, scheme composite.Scheme, err error) {
	pool := cfg.Pool
	if pool == 0 {
		pool = int((cfg.Warmup+cfg.Duration).Seconds()*20000) + 1000
	}
	t, err := prepare(ctx, cfg, need{keys: pool})
	if err != nil {
		return nil, 0, err
	}
	defer closeTarget(t, &err)
	s, err := openSessions(ctx, t, cfg, channel.PatternIK)
	if err != nil {
		return nil, 0, err
	}
	defer s.close()
	parts := share(t.keys, len(s.load.streams))
	acts := make([]*activateEx, len(parts))
	exs := make([]exchange, len(parts))
	for i, p := range parts {
		acts[i] = newActivateEx(p, nil, t.card)
		exs[i] = acts[i]
	}
	rel := &release{}
	if cfg.Addr != "" {
		rel.fn = func(ctx context.Context) error {
			ids := make([][][wire.LicenseIDSize]byte, len(acts))
			for i, a := range acts {
				ids[i] = a.activated
			}
			return s.deactivate(ctx, cfg, ids)
		}
	}
	defer keepFirst(ctx, rel, &err)
	pr, err = measure(ctx, cfg, t, s.load, exs, r)
	if err != nil || r.Interrupted {
		return pr, 0, err
	}
	var leases, alone int
	var sigs float64
	for _, a := range acts {
		leases, alone, sigs = leases+len(a.activated), alone+a.alone, sigs+a.sigs
	}
	if sigs > 0 {
		r.LeasesPerSignature, r.LeasesAlone = ptr(float64(leases)/sigs), ptr(float64(alone)/float64(leases))
	}
	if err := rel.run(ctx); err != nil {
		return pr, 0, err
	}
	s.close()
	// The gateway stops before anything else is measured: its background
	// work (Pebble compactions after the burst of writes) would otherwise
	// share the CPUs with it.
	if err := t.close(); err != nil {
		return pr, 0, err
	}
	scheme = cfg.Scheme
	if len(t.card.LeaseKeys) > 0 {
		scheme = t.card.LeaseKeys[0].Scheme()
	}
	return pr, scheme, nil
}

// activateEx activates its keys once each. With fp set every activation
// presents that machine (setup: the licenses are validated from it later)
// and ids records each key's license id; otherwise each activation is a
// new machine. It verifies the first lease it gets against the card.
type activateEx struct {
	prefix    [8]byte
	keys      []keygen.Key
	fp        *wire.Fingerprint
	rng       *mrand.ChaCha8
	card      *wire.Card
	next      int
	verified  bool
	ids       [][wire.LicenseIDSize]byte // by key index, setup only
	activated [][wire.LicenseIDSize]byte // in the order answered
	// sigs counts the signatures behind the leases answered: 1 for a
	// lease signed alone, 1/n for a lease of a batch of n; alone counts
	// the leases signed alone.
	sigs  float64
	alone int
}

func newActivateEx(keys []keygen.Key, fp *wire.Fingerprint, card *wire.Card) *activateEx {
	e := &activateEx{prefix: newPrefix(), keys: keys, fp: fp, rng: newRand(), card: card}
	if fp != nil {
		e.ids = make([][wire.LicenseIDSize]byte, len(keys))
	}
	return e
}

func (e *activateEx) ops() []string { return []string{"activate"} }

func (e *activateEx) left() int { return len(e.keys) - e.next }

func (e *activateEx) request(b []byte, id uint32) ([]byte, uint32, reqKind) {
	if e.next == len(e.keys) {
		return b, 0, reqNone
	}
	req := wire.ActivateRequest{Nonce: nonceFor(e.prefix, id), Key: e.keys[e.next], Hostname: []byte("bench-host"), AppVersion: []byte("1.0.0")}
	if e.fp != nil {
		req.Fingerprint = *e.fp
	} else {
		req.Fingerprint = randomFingerprint(e.rng)
	}
	tag := uint32(e.next)
	e.next++
	return wire.AppendFrame(b, id, req), tag, reqFrame
}

func (e *activateEx) answer(id, tag uint32, typ wire.Type, body []byte) (int, string) {
	if s := refusal(typ, wire.TypeActivateResponse, body); s != "" {
		return 0, s
	}
	resp, _, err := wire.ParseActivateResponse(body)
	if err != nil {
		return 0, errBadAnswer
	}
	if resp.Nonce != nonceFor(e.prefix, id) {
		return 0, errBadNonce
	}
	if !e.verified {
		// One lease per stream is checked in full: signature, license,
		// nonce. Checking every one would spend the load generator's
		// CPU, shared with the gateway, on the client's work.
		l, err := wire.VerifyLease(resp.Lease, e.card.LeaseKeys)
		if err != nil || l.LicenseID != resp.LicenseID || l.Nonce != resp.Nonce {
			return 0, errBadLease
		}
		e.verified = true
	}
	if l, _, err := wire.ParseLease(resp.Lease); err != nil {
		return 0, errBadLease
	} else if l.Proof.Size == 0 {
		e.sigs++
		e.alone++
	} else {
		e.sigs += 1 / float64(l.Proof.Size)
	}
	if e.ids != nil {
		e.ids[tag] = resp.LicenseID
	}
	e.activated = append(e.activated, resp.LicenseID)
	return 0, ""
}

func (e *activateEx) side(context.Context, uint32) (int, string) { return 0, errBadAnswer }

// sampleLease is a lease as the gateway signs one at activation: a level-1
// lease of a one-year license, a three-component fingerprint.
func sampleLease() wire.Lease {
	now := time.Now().Unix()
	l := wire.Lease{Issued: now, LeaseExpiry: now + 7*86400, LicenseExpiry: now + 365*86400, Level: 1, Counter: 1, ServerTime: now}
	rand.Read(l.LicenseID[:])
	rand.Read(l.InstallKeyHash[:])
	rand.Read(l.Nonce[:])
	copy(l.Product[:], "1AJS2")
	l.Fingerprint = randomFingerprint(newRand())
	return l
}

// signRate measures lease signing alone: wire.SignLease with a new key of
// scheme on one goroutine per CPU for d, in this process. It returns
// leases signed per second.
func signRate(ctx context.Context, scheme composite.Scheme, d time.Duration) (float64, error) {
	key, err := composite.GenerateKey(scheme, rand.Reader)
	if err != nil {
		return 0, fmt.Errorf("bench: signing key: %w", err)
	}
	var n atomic.Int64
	var stop atomic.Bool
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	start := time.Now()
	for range runtime.NumCPU() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := sampleLease()
			for !stop.Load() {
				if _, err := wire.SignLease(&l, key); err != nil {
					failed.CompareAndSwap(nil, &err)
					return
				}
				n.Add(1)
			}
		}()
	}
	t := time.NewTimer(d)
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	t.Stop()
	stop.Store(true)
	wg.Wait()
	elapsed := time.Since(start)
	if e := failed.Load(); e != nil {
		return 0, fmt.Errorf("bench: signing: %w", *e)
	}
	return float64(n.Load()) / elapsed.Seconds(), nil
}
