package bench

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/wire"
)

// sessions is a pipelined load's connections and streams: Noise sessions
// to a gateway, or bare streams to the echo server.
type sessions struct {
	load     *load
	conns    []*quic.Conn
	installs []channel.PrivateKey // each stream's static key
	fps      []wire.Fingerprint   // each stream's machine
}

// dialParallel bounds how many connections are dialled at once while a
// load is set up.
const dialParallel = 16

// openSessions dials cfg.Conns connections to the gateway (to its nodes in
// turn) and opens cfg.Streams Noise sessions on each: IK sessions each
// with its own new install key and machine, or KK sessions of the shop
// keys, one shop per connection in turn.
func openSessions(ctx context.Context, t *target, cfg *Config, pattern channel.Pattern) (*sessions, error) {
	return openStreams(ctx, cfg, t.addr, t.card.TLSPin, func(c int, conn *quic.Conn) (framer, channel.PrivateKey, error) {
		key := channel.PrivateKey{}
		if pattern == channel.PatternKK {
			key = t.shopKeys[c%len(t.shopKeys)]
		} else {
			var err error
			if key, err = channel.GenerateKey(rand.Reader); err != nil {
				return nil, key, err
			}
		}
		sess, err := channel.OpenSession(ctx, conn, channel.Config{Pattern: pattern, Static: key, RemoteStatic: t.card.NoiseKey})
		if err != nil {
			return nil, key, fmt.Errorf("%w: opening a %v session: %w", ErrSetup, pattern, err)
		}
		return sess, key, nil
	})
}

// openBare opens the same shape of load on the echo server: bare streams.
func openBare(ctx context.Context, srv *tlsPin, cfg *Config) (*sessions, error) {
	return openStreams(ctx, cfg, func(int) string { return srv.addr }, srv.pin, func(_ int, conn *quic.Conn) (framer, channel.PrivateKey, error) {
		str, err := conn.OpenStreamSync(ctx)
		if err != nil {
			return nil, channel.PrivateKey{}, fmt.Errorf("%w: opening a stream: %w", ErrSetup, err)
		}
		return newBareStream(str), channel.PrivateKey{}, nil
	})
}

// openStreams dials cfg.Conns connections, connection c to addr(c), and
// opens cfg.Streams streams on each with open.
func openStreams(ctx context.Context, cfg *Config, addr func(c int) string, pin [32]byte, open func(c int, conn *quic.Conn) (framer, channel.PrivateKey, error)) (*sessions, error) {
	n := cfg.Conns * cfg.Streams
	per := cfg.Inflight / cfg.Streams
	s := &sessions{
		load:     &load{epoch: time.Now(), streams: make([]*stream, n)},
		conns:    make([]*quic.Conn, cfg.Conns),
		installs: make([]channel.PrivateKey, n),
		fps:      make([]wire.Fingerprint, n),
	}
	rng := newRand()
	for i := range s.fps {
		s.fps[i] = randomFingerprint(rng)
	}
	var mu sync.Mutex
	var first error
	sem := make(chan struct{}, dialParallel)
	var wg sync.WaitGroup
	for c := range cfg.Conns {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			err := func() error {
				conn, err := dial(ctx, addr(c), pin)
				if err != nil {
					return fmt.Errorf("%w: %w", ErrSetup, err)
				}
				s.conns[c] = conn
				for k := range cfg.Streams {
					i := c*cfg.Streams + k
					f, key, err := open(c, conn)
					if err != nil {
						return err
					}
					s.load.streams[i], s.installs[i] = newStream(f, per), key
				}
				return nil
			}()
			if err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if first != nil {
		s.close()
		return nil, first
	}
	return s, nil
}

// close ends every stream and connection.
func (s *sessions) close() {
	for _, st := range s.load.streams {
		if st != nil && st.f != nil {
			st.f.Close()
		}
	}
	for _, c := range s.conns {
		if c != nil {
			c.CloseWithError(0, "benchmark done")
		}
	}
}

// share splits keys among n streams: stream i gets every n-th, from i.
func share[T any](items []T, n int) [][]T {
	out := make([][]T, n)
	for j, it := range items {
		out[j%n] = append(out[j%n], it)
	}
	return out
}

// activate activates keys, shared among the streams, each stream from its
// own install and machine, and returns each stream's license ids.
func (s *sessions) activate(ctx context.Context, cfg *Config, card *wire.Card, keys []keygen.Key) ([][][wire.LicenseIDSize]byte, error) {
	parts := share(keys, len(s.load.streams))
	exs := make([]exchange, len(parts))
	acts := make([]*activateEx, len(parts))
	for i, p := range parts {
		acts[i] = newActivateEx(p, &s.fps[i], card)
		exs[i] = acts[i]
	}
	pr, err := s.load.run(ctx, phaseConfig{
		name: fmt.Sprintf("setup: activating %d", len(keys)), exchanges: exs, progress: cfg.Progress, maxWait: 10 * time.Minute,
	})
	// The licenses activated so far, failed or not, so that a run against
	// a running gateway can free them.
	ids := make([][][wire.LicenseIDSize]byte, len(parts))
	for i, a := range acts {
		ids[i] = a.activated
	}
	switch {
	case err != nil:
		return ids, fmt.Errorf("%w: activating the licenses: %w", ErrSetup, err)
	case pr.interrupt:
		return ids, ctx.Err()
	case len(pr.errors) > 0:
		return ids, fmt.Errorf("%w: activating the licenses: %s (keys must exist with a free seat)", ErrSetup, fmtErrors(pr.errors))
	}
	for i, a := range acts {
		ids[i] = a.ids // in key order, as the streams validate them
	}
	return ids, nil
}

// teardownTimeout bounds freeing the seats a run took, which goes on
// after the run is interrupted.
const teardownTimeout = 2 * time.Minute

// release frees, once, the seats a run against a running gateway took: on
// the normal path where the run says, and otherwise (a failure, Ctrl-C)
// when the run returns, with a context of its own.
type release struct {
	fn   func(ctx context.Context) error
	done bool
}

func (r *release) run(ctx context.Context) error {
	if r.done || r.fn == nil {
		return nil
	}
	r.done = true
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), teardownTimeout)
	defer cancel()
	return r.fn(ctx)
}

// keepFirst runs rel and keeps its error if *err has none.
func keepFirst(ctx context.Context, rel *release, err *error) {
	if rerr := rel.run(ctx); rerr != nil && *err == nil {
		*err = rerr
	}
}

// warm validates each stream's licenses twice, so that a validation
// phase measures the gateway's hot path (its cache) from its first second:
// the gateway caches an activation when it is first validated, not when it
// is made, and reading one from Pebble costs it a hundred times more.
func (s *sessions) warm(ctx context.Context, cfg *Config, ids [][][wire.LicenseIDSize]byte) error {
	exs := make([]exchange, len(ids))
	total := 0
	for i, l := range ids {
		ex := newValidateEx(l, s.fps[i])
		ex.limit = 2 * len(l)
		exs[i] = ex
		total += len(l)
	}
	pr, err := s.load.run(ctx, phaseConfig{
		name: fmt.Sprintf("setup: warming %d", total), exchanges: exs, progress: cfg.Progress, maxWait: 10 * time.Minute,
	})
	if err != nil {
		return fmt.Errorf("%w: validating the licenses: %w", ErrSetup, err)
	}
	if len(pr.errors) > 0 {
		return fmt.Errorf("%w: validating the licenses: %s", ErrSetup, fmtErrors(pr.errors))
	}
	return nil
}

// deactivate frees the seats of each stream's licenses, from the install
// that holds them: a benchmark against a running gateway leaves its keys
// as it found them.
func (s *sessions) deactivate(ctx context.Context, cfg *Config, ids [][][wire.LicenseIDSize]byte) error {
	exs := make([]exchange, len(ids))
	total := 0
	for i, l := range ids {
		exs[i] = newDeactivateEx(l)
		total += len(l)
	}
	pr, err := s.load.run(ctx, phaseConfig{
		name: fmt.Sprintf("teardown: deactivating %d", total), exchanges: exs, progress: cfg.Progress, maxWait: 10 * time.Minute,
	})
	if err != nil {
		return fmt.Errorf("%w: deactivating: %w", ErrSetup, err)
	}
	if len(pr.errors) > 0 {
		return fmt.Errorf("%w: deactivating: %s", ErrSetup, fmtErrors(pr.errors))
	}
	return nil
}

// soloSessions runs fn on one session per install, one after the other,
// on one connection: for the few licenses the handshake and idle-memory
// scenarios activate.
func soloSessions(ctx context.Context, t *target, installs []channel.PrivateKey, fn func(i int, f framer) error) error {
	conn, err := dial(ctx, t.card.Address, t.card.TLSPin)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSetup, err)
	}
	defer conn.CloseWithError(0, "setup done")
	for i, k := range installs {
		sess, err := channel.OpenSession(ctx, conn, channel.Config{Pattern: channel.PatternIK, Static: k, RemoteStatic: t.card.NoiseKey})
		if err != nil {
			return fmt.Errorf("%w: %w", ErrSetup, err)
		}
		err = fn(i, sess)
		sess.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// activateOne activates key from install's session f on machine fp.
func activateOne(ctx context.Context, f framer, key keygen.Key, fp wire.Fingerprint, card *wire.Card) ([wire.LicenseIDSize]byte, error) {
	ex := newActivateEx([]keygen.Key{key}, &fp, card)
	frame, tag, _ := ex.request(nil, 1)
	ctx, cancel := context.WithTimeout(ctx, sideTimeout)
	defer cancel()
	st := roundTrip(ctx, f, frame, func(typ wire.Type, body []byte) string {
		_, s := ex.answer(1, tag, typ, body)
		return s
	})
	f.SetReadDeadline(time.Time{})
	if st != "" {
		return [wire.LicenseIDSize]byte{}, fmt.Errorf("%w: activating a license: %s (keys must exist with a free seat)", ErrSetup, st)
	}
	return ex.ids[0], nil
}

// deactivateSolo frees the licenses activateOne activated, each from its
// install; a zero id was never activated.
func deactivateSolo(ctx context.Context, t *target, installs []channel.PrivateKey, licenses [][wire.LicenseIDSize]byte) error {
	var ks []channel.PrivateKey
	var ls [][wire.LicenseIDSize]byte
	for i, l := range licenses {
		if l != ([wire.LicenseIDSize]byte{}) {
			ks, ls = append(ks, installs[i]), append(ls, l)
		}
	}
	if len(ls) == 0 {
		return nil
	}
	return soloSessions(ctx, t, ks, func(i int, f framer) error { return deactivateOne(ctx, f, ls[i]) })
}

// deactivateOne frees license's seat held by the install of session f.
func deactivateOne(ctx context.Context, f framer, license [wire.LicenseIDSize]byte) error {
	prefix := newPrefix()
	req := wire.DeactivateRequest{Nonce: nonceFor(prefix, 1), LicenseID: license}
	ctx, cancel := context.WithTimeout(ctx, sideTimeout)
	defer cancel()
	st := roundTrip(ctx, f, wire.AppendFrame(nil, 1, req), func(typ wire.Type, body []byte) string {
		return checkDeactivate(prefix, 1, typ, body)
	})
	if st != "" {
		return fmt.Errorf("%w: deactivating: %s", ErrSetup, st)
	}
	return nil
}

// soloInstalls makes n install keys and activates t.keys[i] for install i,
// each on its own session, all with fingerprint fp. The release it returns
// frees those seats on a running gateway (--addr), activations that failed
// half way included; the caller defers keepFirst with it.
func soloInstalls(ctx context.Context, cfg *Config, t *target, n int, fp wire.Fingerprint) ([]channel.PrivateKey, [][wire.LicenseIDSize]byte, *release, error) {
	installs, licenses := make([]channel.PrivateKey, n), make([][wire.LicenseIDSize]byte, n)
	rel := &release{}
	for i := range installs {
		k, err := channel.GenerateKey(rand.Reader)
		if err != nil {
			return nil, nil, rel, err
		}
		installs[i] = k
	}
	if cfg.Addr != "" {
		rel.fn = func(ctx context.Context) error { return deactivateSolo(ctx, t, installs, licenses) }
	}
	err := soloSessions(ctx, t, installs, func(i int, f framer) error {
		var err error
		licenses[i], err = activateOne(ctx, f, t.keys[i], fp, t.card)
		return err
	})
	return installs, licenses, rel, err
}
