package bench

import (
	"context"
	"sync"
	"time"

	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/wire"
)

// runHandshake: Conns at a time, a new QUIC connection, a new Noise IK
// session and one validation, as an app does at start-up. Target: at least
// 0.85 of the rate of bare QUIC handshakes with one echo each.
func runHandshake(ctx context.Context, cfg *Config, r *Result) (err error) {
	n := cfg.Conns
	if cfg.Addr != "" {
		n = min(n, len(cfg.Keys))
	}
	t, err := prepare(ctx, cfg, need{keys: n})
	if err != nil {
		return err
	}
	defer closeTarget(t, &err)
	ex := &handshakeEx{card: t.card, fp: randomFingerprint(newRand()), locks: make([]sync.Mutex, n)}
	var rel *release
	ex.installs, ex.licenses, rel, err = soloInstalls(ctx, cfg, t, n, ex.fp)
	defer keepFirst(ctx, rel, &err)
	if err != nil {
		return err
	}
	ld := &load{epoch: time.Now(), streams: []*stream{newStream(nil, cfg.Conns)}}
	if _, err := measure(ctx, cfg, t, ld, []exchange{ex}, r); err != nil || r.Interrupted {
		return err
	}
	q, a := validateSizes()
	r.RequestBytes, r.ResponseBytes = recordSize(q), recordSize(a)
	if err := rel.run(ctx); err != nil {
		return err
	}
	if cfg.Ceiling {
		if err := runHandshakeCeiling(ctx, cfg, r, q, a); err != nil {
			return err
		}
	}
	note := ""
	if !cfg.Ceiling {
		note = "run with --ceiling"
	}
	r.target("handshake rate / bare QUIC handshake rate", ">= 0.85", r.Ratio, func(v float64) bool { return v >= 0.85 }, note)
	return nil
}

// handshakeEx runs side operations only: each a new connection, a new
// Noise IK session of one of its installs, one validation, and the close,
// as an app does at start-up.
type handshakeEx struct {
	card     *wire.Card
	installs []channel.PrivateKey
	licenses [][wire.LicenseIDSize]byte // licenses[i] is activated by installs[i] on fp
	fp       wire.Fingerprint
	next     int
	locks    []sync.Mutex // one per install: its validations in counter order
}

func (e *handshakeEx) ops() []string { return []string{"handshake"} }

func (e *handshakeEx) request(b []byte, _ uint32) ([]byte, uint32, reqKind) {
	tag := uint32(e.next)
	e.next = (e.next + 1) % len(e.installs)
	return b, tag, reqSide
}

func (e *handshakeEx) answer(uint32, uint32, wire.Type, []byte) (int, string) {
	return 0, errBadAnswer
}

func (e *handshakeEx) side(ctx context.Context, tag uint32) (int, string) {
	return 0, oneValidation(ctx, e.card, e.installs[tag], e.licenses[tag], e.fp, &e.locks[tag])
}

// oneValidation dials the gateway, opens a session, validates once and
// closes: an app starting. The validation is ordered by mu (see ordered).
func oneValidation(ctx context.Context, card *wire.Card, install channel.PrivateKey, license [wire.LicenseIDSize]byte, fp wire.Fingerprint, mu *sync.Mutex) string {
	ctx, cancel := context.WithTimeout(ctx, sideTimeout)
	defer cancel()
	conn, err := dial(ctx, card.Address, card.TLSPin)
	if err != nil {
		return errDial
	}
	defer conn.CloseWithError(0, "done")
	sess, err := channel.OpenSession(ctx, conn, channel.Config{Pattern: channel.PatternIK, Static: install, RemoteStatic: card.NoiseKey})
	if err != nil {
		return errHandshake
	}
	defer sess.Close()
	prefix := newPrefix()
	const id = 1
	return ordered(mu, func(counter uint64) string {
		req := wire.ValidateRequest{Nonce: nonceFor(prefix, id), LicenseID: license, Counter: counter, Fingerprint: fp}
		return roundTrip(ctx, sess, wire.AppendFrame(nil, id, req), func(typ wire.Type, body []byte) string {
			return checkValidate(prefix, id, typ, body)
		})
	})
}
