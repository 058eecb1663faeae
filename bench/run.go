package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// Run runs one scenario and returns what it measured. A Result comes back
// with an error when the run measured something before it failed; a run
// stopped by ctx returns its Result marked Interrupted and no error.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	r := &Result{
		Scenario: string(cfg.Scenario), Mode: "embedded", Conns: cfg.Conns, Streams: cfg.Streams, Inflight: cfg.Inflight,
		Loop: "closed", Errors: map[string]int64{}, Machine: thisMachine(), Targets: []Target{}, Throughput: []float64{},
	}
	if cfg.Addr != "" {
		r.Mode = "addr"
	} else if cfg.Scenario != Ceiling {
		r.Store, r.Nodes = "pebble", cfg.Nodes
		if cfg.Store != "" {
			r.Store = "postgresql"
		}
	}
	var err error
	switch cfg.Scenario {
	case Validate:
		err = runValidate(ctx, &cfg, r)
	case Activate:
		err = runActivate(ctx, &cfg, r)
	case Handshake:
		err = runHandshake(ctx, &cfg, r)
	case Mint:
		err = runMint(ctx, &cfg, r)
	case Mixed:
		err = runMixed(ctx, &cfg, r)
	case Ceiling:
		err = runCeilingAlone(ctx, &cfg, r)
	case IdleMemory:
		err = runIdle(ctx, &cfg, r)
	case Flood:
		err = runFlood(ctx, &cfg, r)
	case RevokeDelay:
		err = runRevokeDelay(ctx, &cfg, r)
	case MintHTTP:
		err = runMintHTTP(ctx, &cfg, r)
	}
	if ctx.Err() != nil {
		r.Interrupted = true
		return r, nil
	}
	return r, err
}

// closeTarget stops an embedded gateway, keeping the first error. A run
// that failed gets the end of each node's log (warnings and errors: why a
// gateway refused, with licenses named by id, never by key).
func closeTarget(t *target, err *error) {
	if *err != nil && !errors.Is(*err, ErrChild) {
		for i, c := range append([]*child{t.gw}, t.others...) {
			if c == nil {
				continue
			}
			if note := c.tail.note(); note != "" {
				*err = fmt.Errorf("%w\nnode %d%s", *err, i+1, note)
			}
		}
	}
	if cerr := t.close(); cerr != nil && *err == nil {
		*err = cerr
	}
}

// measure runs exs on ld as cfg says (closed loop, open loop at a rate, or
// a closed loop then an open one at a fraction of its throughput), fills r
// with the last phase, and the gateway's CPU time and memory when t knows
// its process.
func measure(ctx context.Context, cfg *Config, t *target, ld *load, exs []exchange, r *Result) (*phaseResult, error) {
	profiling := false
	self := os.Getpid()
	var load *float64
	phase := func(name string, rate float64) (*phaseResult, *float64, *float64, error) {
		var c0, c1, l0, l1 time.Duration
		var ok0, ok1 bool
		pr, err := ld.run(ctx, phaseConfig{
			name: name, exchanges: exs, rate: rate, warmup: cfg.Warmup, duration: cfg.Duration, progress: cfg.Progress,
			onStart: func() {
				if (cfg.GatewayCPUProfile != "" || cfg.GatewayTrace != "") && t.gw != nil && !profiling {
					profiling = true
					if err := t.gw.startProfile(); err != nil {
						r.note("the gateway's CPU profile did not start: %v", err)
					}
				}
				c0, ok0 = t.cpu()
				l0, _ = procCPU(self)
			},
			onEnd: func() {
				c1, ok1 = t.cpu()
				l1, _ = procCPU(self)
			},
		})
		if err != nil {
			return pr, nil, nil, err
		}
		load = nil
		if pr.requests > 0 && l1 > 0 {
			load = ptr(float64((l1 - l0).Microseconds()) / float64(pr.requests))
		}
		if !ok0 || !ok1 || pr.requests == 0 {
			return pr, nil, nil, nil
		}
		cpu := c1 - c0
		return pr, ptr(float64(cpu.Microseconds()) / float64(pr.requests)), ptr(cpu.Seconds() / pr.elapsed.Seconds()), nil
	}
	var pr *phaseResult
	var perReq, cores *float64
	var err error
	switch {
	case cfg.RateFraction > 0:
		pr, _, _, err = phase(string(cfg.Scenario)+" closed loop", 0)
		if err != nil || pr.interrupt {
			break
		}
		r.MaxRequestsPerSec = ptr(pr.rps())
		rate := pr.rps() * cfg.RateFraction
		if rate <= 0 {
			return pr, fmt.Errorf("%w: the closed loop answered nothing", ErrBroken)
		}
		r.Loop, r.OfferedRate = "open", ptr(rate)
		pr, perReq, cores, err = phase(fmt.Sprintf("%s open loop %.0f/s", cfg.Scenario, rate), rate)
	case cfg.Rate > 0:
		r.Loop, r.OfferedRate = "open", ptr(cfg.Rate)
		pr, perReq, cores, err = phase(fmt.Sprintf("%s open loop %.0f/s", cfg.Scenario, cfg.Rate), cfg.Rate)
	default:
		pr, perReq, cores, err = phase(string(cfg.Scenario), 0)
	}
	if pr != nil {
		r.fill(pr)
		r.GatewayCPUUsPerReq, r.GatewayCPUCores, r.LoadCPUUsPerReq = perReq, cores, load
		if b, ok := t.rss(); ok {
			r.GatewayRSSBytes = ptr(b)
		}
		if pr.extended {
			r.note("nothing was answered within the %v window on this machine: the window ran on to %.1f s, until answers came", cfg.Duration, pr.elapsed.Seconds())
		}
		if pr.exhausted {
			more := "raise --pool"
			if cfg.Addr != "" {
				more = "give more keys (--keys)"
			}
			r.note("the run used up its fresh keys after %.1f s of the window; %s", pr.elapsed.Seconds(), more)
		}
	}
	if t.pid == 0 {
		r.note("the gateway's CPU time and memory are not measured: give its pid (--pid)")
	}
	return pr, err
}

// closedRate is the throughput the ceiling is compared with: the closed
// loop's, measured first when the result is an open loop's.
func closedRate(r *Result) float64 {
	if r.MaxRequestsPerSec != nil {
		return *r.MaxRequestsPerSec
	}
	return r.RequestsPerSec
}
