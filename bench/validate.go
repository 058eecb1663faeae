package bench

import (
	"context"

	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/wire"
)

// runValidate: Licenses licenses activated first, shared among the
// streams (each its own install and machine) and validated once more to
// warm the gateway's cache, then validated round robin: the hot path.
// Targets: throughput at least 0.90 of the ceiling's, the gateway's CPU
// per validation at most 1.3 times the echo server's per request; in an
// open loop at half the closed loop's throughput (RateFraction 0.5), p99
// under 2 ms and at most 1.2 times bare quic-go's at the same rate.
func runValidate(ctx context.Context, cfg *Config, r *Result) (err error) {
	t, err := prepare(ctx, cfg, need{keys: cfg.Licenses})
	if err != nil {
		return err
	}
	defer closeTarget(t, &err)
	v, err := startValidating(ctx, t, cfg)
	if err != nil {
		return err
	}
	defer v.finish(ctx, &err)
	pr, err := measure(ctx, cfg, t, v.s.load, v.exchanges(), r)
	if err != nil || r.Interrupted {
		return err
	}
	if err := v.rel.run(ctx); err != nil {
		return err
	}
	if cfg.Ceiling {
		req, resp := frameSizes(pr)
		if err := runCeiling(ctx, cfg, r, req, resp, wire.TypeValidateRequest); err != nil {
			return err
		}
	}
	note := ""
	if !cfg.Ceiling {
		note = "run with --ceiling"
	}
	// The echo server's CPU is its closed loop's: an open loop's CPU per
	// request is not comparable with it (each request goes alone).
	if r.OfferedRate == nil && r.GatewayCPUUsPerReq != nil && r.CeilingCPUUsPerReq != nil && *r.CeilingCPUUsPerReq > 0 {
		r.CPURatio = ptr(*r.GatewayCPUUsPerReq / *r.CeilingCPUUsPerReq)
	}
	half := cfg.RateFraction == 0.5
	if half && r.CeilingOpenP99us != nil && *r.CeilingOpenP99us > 0 {
		r.P99Ratio = ptr(r.P99us / *r.CeilingOpenP99us)
	}
	r.target("validate throughput / ceiling", ">= 0.90", r.Ratio, func(v float64) bool { return v >= 0.90 }, note)
	cpuNote := note
	switch {
	case cpuNote != "" || r.CPURatio != nil:
	case r.OfferedRate != nil:
		cpuNote = "closed loop only: run without --rate"
	default:
		cpuNote = "the gateway's or the echo server's CPU time was not measured"
	}
	r.target("gateway cpu per validation / echo server cpu per request", "<= 1.3", r.CPURatio, func(v float64) bool { return v <= 1.3 }, cpuNote)
	if half {
		r.target("validate p99 at half of max throughput, open loop (ms)", "< 2", ptr(r.P99us/1000), func(v float64) bool { return v < 2 }, "")
		r.target("validate p99 at half max / bare quic-go p99 at same rate", "<= 1.2", r.P99Ratio, func(v float64) bool { return v <= 1.2 }, note)
	} else {
		r.target("validate p99 at half of max throughput, open loop (ms)", "< 2", nil, nil, "run with --rate 0.5x")
		r.target("validate p99 at half max / bare quic-go p99 at same rate", "<= 1.2", nil, nil, "run with --rate 0.5x --ceiling")
	}
	return nil
}

// validateEx validates its licenses round robin, all activated by the
// stream's install key on the machine fp.
type validateEx struct {
	prefix   [8]byte
	licenses [][wire.LicenseIDSize]byte
	fp       wire.Fingerprint
	next     int
	limit    int // when not zero, the number of requests to send
	sent     int
}

func newValidateEx(licenses [][wire.LicenseIDSize]byte, fp wire.Fingerprint) *validateEx {
	return &validateEx{prefix: newPrefix(), licenses: licenses, fp: fp}
}

func (e *validateEx) ops() []string { return []string{"validate"} }

func (e *validateEx) request(b []byte, id uint32) ([]byte, uint32, reqKind) {
	if len(e.licenses) == 0 || e.limit > 0 && e.sent == e.limit {
		return b, 0, reqNone
	}
	e.sent++
	req := wire.ValidateRequest{Nonce: nonceFor(e.prefix, id), LicenseID: e.licenses[e.next], Counter: nextCounter(), Fingerprint: e.fp}
	e.next++
	if e.next == len(e.licenses) {
		e.next = 0
	}
	return wire.AppendFrame(b, id, req), 0, reqFrame
}

func (e *validateEx) answer(id, _ uint32, typ wire.Type, body []byte) (int, string) {
	return 0, checkValidate(e.prefix, id, typ, body)
}

func checkValidate(prefix [8]byte, id uint32, typ wire.Type, body []byte) string {
	if s := refusal(typ, wire.TypeValidateResponse, body); s != "" {
		return s
	}
	resp, _, err := wire.ParseValidateResponse(body)
	switch {
	case err != nil:
		return errBadAnswer
	case resp.Nonce != nonceFor(prefix, id):
		return errBadNonce
	case resp.Status != wire.StatusOK:
		return resp.Status.String()
	}
	return ""
}

func (e *validateEx) side(context.Context, uint32) (int, string) { return 0, errBadAnswer }

// validating is the start of the validation scenarios: sessions open,
// Licenses licenses activated on them (each stream its own install and
// machine) and validated to warm the gateway's cache.
type validating struct {
	s   *sessions
	ids [][][wire.LicenseIDSize]byte
	rel *release // frees the seats taken on a gateway started separately
}

// startValidating opens the sessions, activates and warms. On error it has
// freed what it took.
func startValidating(ctx context.Context, t *target, cfg *Config) (*validating, error) {
	s, err := openSessions(ctx, t, cfg, channel.PatternIK)
	if err != nil {
		return nil, err
	}
	v := &validating{s: s, rel: &release{}}
	v.ids, err = s.activate(ctx, cfg, t.card, t.keys[:cfg.Licenses])
	if cfg.Addr != "" {
		v.rel.fn = func(ctx context.Context) error { return s.deactivate(ctx, cfg, v.ids) }
	}
	if err == nil {
		err = s.warm(ctx, cfg, v.ids)
	}
	if err != nil {
		v.finish(ctx, &err)
		return nil, err
	}
	return v, nil
}

// exchanges returns one validation exchange per stream, fresh.
func (v *validating) exchanges() []exchange {
	exs := make([]exchange, len(v.ids))
	for i := range v.ids {
		exs[i] = newValidateEx(v.ids[i], v.s.fps[i])
	}
	return exs
}

// finish frees the seats (keeping the first error in *err) and closes
// the sessions.
func (v *validating) finish(ctx context.Context, err *error) {
	keepFirst(ctx, v.rel, err)
	v.s.close()
}
