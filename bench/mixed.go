package bench

import (
	"context"
	mrand "math/rand/v2"
	"sync"

	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/wire"
)

// runMixed: on each stream, each request is by Mix a validation, a
// handshake (a new connection of the stream's install), an activation of
// a fresh key on a new machine, or a deactivation of one of those.
func runMixed(ctx context.Context, cfg *Config, r *Result) (err error) {
	pool := cfg.Pool
	if pool == 0 {
		pool = int((cfg.Warmup+cfg.Duration).Seconds()*2000) + 1000
	}
	if cfg.Addr != "" {
		pool = len(cfg.Keys) - cfg.Licenses
	}
	t, err := prepare(ctx, cfg, need{keys: cfg.Licenses + pool})
	if err != nil {
		return err
	}
	defer closeTarget(t, &err)
	s, err := openSessions(ctx, t, cfg, channel.PatternIK)
	if err != nil {
		return err
	}
	defer s.close()
	ids, err := s.activate(ctx, cfg, t.card, t.keys[:cfg.Licenses])
	var mixes []*mixedEx
	rel := &release{}
	if cfg.Addr != "" {
		rel.fn = func(ctx context.Context) error {
			all := make([][][wire.LicenseIDSize]byte, len(ids))
			for i := range ids {
				all[i] = append(all[i], ids[i]...)
				if i < len(mixes) {
					all[i] = append(all[i], mixes[i].act.activated...)
				}
			}
			return s.deactivate(ctx, cfg, all)
		}
	}
	defer keepFirst(ctx, rel, &err)
	if err != nil {
		return err
	}
	if err := s.warm(ctx, cfg, ids); err != nil {
		return err
	}
	parts := share(t.keys[cfg.Licenses:], len(ids))
	mixes = make([]*mixedEx, len(ids))
	exs := make([]exchange, len(ids))
	for i := range ids {
		rng := newRand()
		val, hs := splitHandshakes(ids[i])
		mixes[i] = &mixedEx{
			mix: cfg.Mix, rnd: newMathRand(rng), val: newValidateEx(val, s.fps[i]), act: newActivateEx(parts[i], nil, t.card),
			deact: newDeactivateEx(nil), install: s.installs[i], card: t.cardOf(i / cfg.Streams), hs: hs, hsLocks: make([]sync.Mutex, len(hs)),
		}
		exs[i] = mixes[i]
	}
	pr, err := measure(ctx, cfg, t, s.load, exs, r)
	if err != nil || r.Interrupted {
		return err
	}
	for _, m := range mixes {
		if m.act.left() == 0 && cfg.Mix.Activate > 0 {
			r.note("some streams used up their fresh keys and validated instead of activating; raise --pool")
			break
		}
	}
	if err := rel.run(ctx); err != nil {
		return err
	}
	if cfg.Ceiling {
		req, resp := frameSizes(pr)
		if err := runCeiling(ctx, cfg, r, req, resp, wire.TypeValidateRequest); err != nil {
			return err
		}
		r.note("the ceiling sends the mix's mean frame sizes on the same streams; it makes no new connections")
	}
	return nil
}

// mixedEx mixes operations by weight: validations of the stream's
// licenses, handshakes (a new connection validating one of them), fresh
// keys activated on new machines, and deactivations of those.
type mixedEx struct {
	mix     Mix
	rnd     *mrand.Rand
	val     *validateEx
	act     *activateEx
	deact   *deactivateEx
	install channel.PrivateKey
	card    *wire.Card
	// hs are the licenses handshakes validate, none of them val's: a
	// handshake validates on a connection of its own, and only a lock
	// per license (hsLocks) keeps its counter in order with another's.
	hs      [][wire.LicenseIDSize]byte
	hsLocks []sync.Mutex
}

// splitHandshakes sets aside for handshakes an eighth of a stream's
// licenses (at least one, when it has two or more); the stream validates
// the rest.
func splitHandshakes(ids [][wire.LicenseIDSize]byte) (val, hs [][wire.LicenseIDSize]byte) {
	if len(ids) < 2 {
		return ids, nil
	}
	k := max(1, len(ids)/8)
	return ids[:len(ids)-k], ids[len(ids)-k:]
}

// Operations of mixedEx, by index; the tag's top byte.
const (
	opValidate = iota
	opHandshake
	opActivate
	opDeactivate
)

func (e *mixedEx) ops() []string { return []string{"validate", "handshake", "activate", "deactivate"} }

func (e *mixedEx) request(b []byte, id uint32) ([]byte, uint32, reqKind) {
	x := e.rnd.Float64() * e.mix.total()
	switch {
	case x < e.mix.Validate:
	case x < e.mix.Validate+e.mix.Handshake:
		if len(e.hs) > 0 {
			return b, opHandshake << 24, reqSide
		}
	case x < e.mix.Validate+e.mix.Handshake+e.mix.Activate:
		if e.act.left() > 0 {
			f, tag, kind := e.act.request(b, id)
			return f, opActivate<<24 | tag, kind
		}
	default:
		// Deactivate a license this stream activated during the run.
		if n := len(e.act.activated); n > 0 {
			lic := e.act.activated[n-1]
			e.act.activated = e.act.activated[:n-1]
			req := wire.DeactivateRequest{Nonce: nonceFor(e.deact.prefix, id), LicenseID: lic}
			return wire.AppendFrame(b, id, req), opDeactivate << 24, reqFrame
		}
	}
	f, _, kind := e.val.request(b, id)
	return f, opValidate << 24, kind
}

func (e *mixedEx) answer(id, tag uint32, typ wire.Type, body []byte) (int, string) {
	switch op := int(tag >> 24); op {
	case opActivate:
		_, s := e.act.answer(id, tag&0xffffff, typ, body)
		return op, s
	case opDeactivate:
		return op, checkDeactivate(e.deact.prefix, id, typ, body)
	}
	return opValidate, checkValidate(e.val.prefix, id, typ, body)
}

func (e *mixedEx) side(ctx context.Context, _ uint32) (int, string) {
	// hs is fixed once the phase starts; picking one at random from it
	// reads nothing request changes.
	j := mrand.IntN(len(e.hs))
	return opHandshake, oneValidation(ctx, e.card, e.install, e.hs[j], e.val.fp, &e.hsLocks[j])
}

func newMathRand(src *mrand.ChaCha8) *mrand.Rand { return mrand.New(src) }
