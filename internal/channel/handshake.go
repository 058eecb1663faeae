package channel

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/flynn/noise"
)

// Protocol constants. Part of the wire format.
const (
	// ALPN is the TLS application protocol of a Tollgate QUIC connection.
	ALPN = "tollgate/1"
	// ProtocolVersion is the channel version in the preamble and the
	// prologue; a responder refuses any other.
	ProtocolVersion = 1
	// ProtocolIK is the full Noise protocol name for app sessions: the app
	// knows the gateway's static key from its card.
	ProtocolIK = "Noise_IK_25519_ChaChaPoly_BLAKE2s"
	// ProtocolKK is the full Noise protocol name for shop sessions: each
	// side knows the other's static key in advance.
	ProtocolKK = "Noise_KK_25519_ChaChaPoly_BLAKE2s"

	// MaxMessageSize is the largest Noise message, set by the Noise spec
	// and by the 2-byte length in front of each message.
	MaxMessageSize = 65535
	// HeaderSize is the size of a frame header, equal to wire.HeaderSize.
	// The body length is its last four bytes, big-endian.
	HeaderSize = 10
	// MaxFrameSize is the largest frame body, equal to wire.MaxFrameSize.
	// A whole frame is at most HeaderSize+MaxFrameSize bytes.
	MaxFrameSize = 1 << 20

	// prologueLabel opens the prologue; the preamble follows it.
	prologueLabel = "tollgate/1 v1"
	// tagSize is the ChaChaPoly authentication tag.
	tagSize = 16
	// maxChunk is the most plaintext one transport message carries.
	maxChunk = MaxMessageSize - tagSize
	// lengthOffset is where a frame header holds its body length.
	lengthOffset = 6
	// dhLen is the size of an X25519 public key on the wire.
	dhLen = 32
)

// Pattern names a Noise handshake pattern. The values are part of the wire
// format (the preamble carries one).
type Pattern uint8

// Patterns.
const (
	PatternIK Pattern = 1 // apps: Noise_IK; the responder learns the initiator's key
	PatternKK Pattern = 2 // shops: Noise_KK; the responder looks the initiator's key up by id
)

// String returns "IK", "KK" or "Pattern(n)".
func (p Pattern) String() string {
	switch p {
	case PatternIK:
		return "IK"
	case PatternKK:
		return "KK"
	}
	return "Pattern(" + strconv.Itoa(int(p)) + ")"
}

func (p Pattern) noise() noise.HandshakePattern {
	if p == PatternKK {
		return noise.HandshakeKK
	}
	return noise.HandshakeIK
}

// Handshake message sizes: each carries an empty payload, so they have one
// size each, and a message of any other size is refused unread.
func (p Pattern) msg1Len() int {
	if p == PatternKK {
		return dhLen + tagSize // -> e, es, ss: e, then the payload's tag
	}
	return dhLen + dhLen + tagSize + tagSize // -> e, es, s, ss: e, encrypted s, the payload's tag
}

const msg2Len = dhLen + tagSize // <- e, ee, se: e, then the payload's tag

// The preamble is what the initiator sends in the clear before Noise
// message 1, and the prologue binds it into the handshake.
//
// Encoding (part of the wire format):
//
//	 0         1         2                           10
//	+---------+---------+---------------------------+
//	| version | pattern | key id (8 bytes, KK only) |
//	+---------+---------+---------------------------+
//
// The responder reads it first and may refuse before any Diffie-Hellman
// by answering, instead of message 2:
//
//	 0                   2                   4
//	+-------------------+-------------------+
//	|  zero length (2)  |  status code (2)  |
//	+-------------------+-------------------+
//
// A zero length cannot begin a Noise message, so the two answers cannot be
// confused. The stream runs inside QUIC's TLS, so the key id is hidden from
// the network; only the gateway sees it.
const (
	preambleIK     = 2
	preambleKK     = 2 + KeyIDSize
	maxPreamble    = preambleKK
	refusalSize    = 4
	maxPrologueLen = len(prologueLabel) + maxPreamble
)

// Config configures the initiator of a session.
type Config struct {
	// Pattern is PatternIK for apps, PatternKK for shops. Zero means IK.
	Pattern Pattern
	// Static is this side's static key: an app's per-install key or a
	// shop's key. Required.
	Static PrivateKey
	// RemoteStatic is the gateway's static key, from the card. Required.
	RemoteStatic PublicKey
	// NextRemoteStatic, if not zero, is a second static key the gateway
	// may hold: the card's next-noise-key, during a rotation of the
	// gateway's transport identity. OpenSession tries it, on a new
	// stream, when the handshake with RemoteStatic fails other than by a
	// refusal or a timeout. ClientHandshake ignores it (one stream, one
	// try). Session.RemoteStatic says which key the session is with.
	NextRemoteStatic PublicKey
	// Limits bound the session. The zero value means the defaults.
	Limits Limits
	// Rand is the source of ephemeral keys. Nil means crypto/rand.
	Rand io.Reader
}

func (c Config) check() error {
	switch {
	case c.Pattern != 0 && c.Pattern != PatternIK && c.Pattern != PatternKK:
		return fmt.Errorf("%w: unknown pattern %v", ErrConfig, c.Pattern)
	case c.Static.IsZero():
		return fmt.Errorf("%w: no static key", ErrConfig)
	case c.RemoteStatic.IsZero():
		return fmt.Errorf("%w: no remote static key", ErrConfig)
	}
	return c.Limits.Validate()
}

// ServerConfig configures the responder.
type ServerConfig struct {
	// Static is the gateway's static key. Required.
	Static PrivateKey
	// Others are further static keys the responder accepts, tried in
	// order after Static when message 1 does not authenticate with it:
	// the gateway's previous (or announced next) key during a rotation of
	// its transport identity. A wrong key costs the responder one more
	// Diffie-Hellman for IK (message 1's first tag fails), two for KK;
	// nothing, with none set.
	Others []PrivateKey
	// Lookup, if set, accepts KK sessions: it is called with the
	// initiator's key id before any Diffie-Hellman (the gateway applies the
	// shop's IP lock there) and returns the shop's key. An error refuses
	// the session: a *RefusedError sends its code, any other error sends
	// status 14 (server error). Nil refuses every KK session. It runs on
	// the handshake's goroutine and the handshake deadline does not
	// interrupt it, so it should answer from memory.
	Lookup func(keyID [KeyIDSize]byte) (PublicKey, error)
	// Limits bound the session. The zero value means the defaults.
	Limits Limits
	// Rand is the source of ephemeral keys. Nil means crypto/rand.
	Rand io.Reader

	// dh replaces X25519 in tests, which count its operations to prove a
	// refusal does none. Nil means x25519DH (dh.go).
	dh noise.DHFunc
}

func (c ServerConfig) suite(s *staticPair, peer PublicKey) noise.CipherSuite {
	if c.dh == nil {
		return newSuite(s, peer)
	}
	return noise.NewCipherSuite(c.dh, noise.CipherChaChaPoly, noise.HashBLAKE2s)
}

func prologue(buf *[maxPrologueLen]byte, preamble []byte) []byte {
	return append(append(buf[:0], prologueLabel...), preamble...)
}

// ClientHandshake runs the initiator's side of a handshake on rw and
// returns the session. For KK it first sends the id of its static key. The
// handshake is bounded by cfg.Limits.HandshakeTimeout: through rw's
// SetDeadline if it has one (a *quic.Stream, a net.Conn), else by closing
// rw when time is up. On error rw is closed; a refusal is a *RefusedError.
func ClientHandshake(rw io.ReadWriteCloser, cfg Config) (*Session, error) {
	return clientHandshake(context.Background(), rw, cfg)
}

// ServerHandshakeIK runs the responder's side of an IK handshake on rw: the
// initiator is an app, whose per-install key Session.RemoteStatic returns.
// A KK preamble is refused with status 16 (bad request).
func ServerHandshakeIK(rw io.ReadWriteCloser, static PrivateKey, limits Limits) (*Session, error) {
	return serverHandshake(rw, ServerConfig{Static: static, Limits: limits}, true)
}

// ServerHandshakeKK runs the responder's side of a KK handshake on rw: the
// initiator is a shop, whose key lookup returns from its key id before any
// Diffie-Hellman (see ServerConfig.Lookup). An IK preamble is refused with
// status 16 (bad request).
func ServerHandshakeKK(rw io.ReadWriteCloser, static PrivateKey, lookup func(keyID [KeyIDSize]byte) (PublicKey, error), limits Limits) (*Session, error) {
	if lookup == nil {
		rw.Close()
		return nil, fmt.Errorf("%w: KK needs a lookup function", ErrConfig)
	}
	return serverHandshake(rw, ServerConfig{Static: static, Lookup: lookup, Limits: limits}, false)
}

// ServerHandshake runs the responder's side of whichever handshake the
// initiator's preamble names: IK always, KK if cfg.Lookup is set. Use
// Session.Pattern to tell an app from a shop.
func ServerHandshake(rw io.ReadWriteCloser, cfg ServerConfig) (*Session, error) {
	return serverHandshake(rw, cfg, true)
}

func clientHandshake(ctx context.Context, rw io.ReadWriteCloser, cfg Config) (*Session, error) {
	if err := cfg.check(); err != nil {
		rw.Close()
		return nil, err
	}
	if cfg.Pattern == 0 {
		cfg.Pattern = PatternIK
	}
	lim := cfg.Limits.WithDefaults()
	g := startGuard(ctx, rw, lim.HandshakeTimeout)
	sp := staticOf(cfg.Static)
	pub := sp.pub

	var pre [maxPreamble]byte
	pre[0], pre[1] = ProtocolVersion, byte(cfg.Pattern)
	preamble := pre[:preambleIK]
	if cfg.Pattern == PatternKK {
		id := pub.ID()
		preamble = append(preamble, id[:]...)
	}
	var pbuf [maxPrologueLen]byte
	hs, err := noise.NewHandshakeState(noise.Config{
		CipherSuite:   newSuite(sp, cfg.RemoteStatic),
		Random:        cfg.Rand,
		Pattern:       cfg.Pattern.noise(),
		Initiator:     true,
		Prologue:      prologue(&pbuf, preamble),
		StaticKeypair: noise.DHKey{Private: cfg.Static[:], Public: pub[:]},
		PeerStatic:    cfg.RemoteStatic[:],
	})
	if err != nil {
		return nil, g.fail("starting", err)
	}

	// IK: -> e, es, s, ss
	// KK: -> e, es, ss
	// The preamble and message 1 go in one write: one packet, no round trip.
	out := make([]byte, 0, maxPreamble+2+PatternIK.msg1Len())
	out = append(out, preamble...)
	out = append(out, 0, 0)
	out, _, _, err = hs.WriteMessage(out, nil)
	if err != nil {
		return nil, g.fail("building message 1", err)
	}
	binary.BigEndian.PutUint16(out[len(preamble):], uint16(len(out)-len(preamble)-2))
	if _, err := rw.Write(out); err != nil {
		return nil, g.fail("writing message 1", err)
	}

	// <- e, ee, se
	var in [2 + msg2Len]byte
	msg, err := readHandshakeMessage(rw, in[:], msg2Len, true)
	if err != nil {
		return nil, g.fail("reading message 2", err)
	}
	_, send, recv, err := hs.ReadMessage(nil, msg)
	if err != nil || send == nil || recv == nil {
		return nil, g.fail("message 2", errors.New("does not authenticate"))
	}
	if err := g.stop(); err != nil {
		return nil, err
	}
	return newSession(rw, cfg.Pattern, cfg.RemoteStatic, lim, send, recv)
}

func serverHandshake(rw io.ReadWriteCloser, cfg ServerConfig, allowIK bool) (*Session, error) {
	if cfg.Static.IsZero() {
		rw.Close()
		return nil, fmt.Errorf("%w: no static key", ErrConfig)
	}
	if err := cfg.Limits.Validate(); err != nil {
		rw.Close()
		return nil, err
	}
	lim := cfg.Limits.WithDefaults()
	g := startGuard(context.Background(), rw, lim.HandshakeTimeout)

	var pre [maxPreamble]byte
	if _, err := io.ReadFull(rw, pre[:preambleIK]); err != nil {
		return nil, g.fail("reading the preamble", err)
	}
	if pre[0] != ProtocolVersion {
		return nil, g.refuse(codeUnsupportedVersion, fmt.Errorf("%w: peer speaks version %d", ErrHandshake, pre[0]))
	}
	pattern := Pattern(pre[1])
	preamble := pre[:preambleIK]
	var peer PublicKey
	switch {
	case pattern == PatternIK && allowIK:
	case pattern == PatternKK && cfg.Lookup != nil:
		if _, err := io.ReadFull(rw, pre[preambleIK:preambleKK]); err != nil {
			return nil, g.fail("reading the key id", err)
		}
		preamble = pre[:preambleKK]
		id := [KeyIDSize]byte(pre[preambleIK:preambleKK])
		// The lookup comes before any Diffie-Hellman, indeed before the
		// handshake state exists: it is where the gateway applies the
		// shop's IP lock, so a refused or unknown shop costs a table
		// lookup and nothing more.
		k, err := cfg.Lookup(id)
		if err != nil {
			code := uint16(codeServerError)
			var re *RefusedError
			if errors.As(err, &re) {
				code = re.Code
			}
			return nil, g.refuse(code, fmt.Errorf("%w: %w", ErrRefused, err))
		}
		if k.ID() != id {
			return nil, g.refuse(codeServerError, fmt.Errorf("%w: lookup returned a key with another id", ErrConfig))
		}
		peer = k
	default:
		return nil, g.refuse(codeBadRequest, fmt.Errorf("%w: pattern %v not accepted here", ErrHandshake, pattern))
	}

	// IK: -> e, es, s, ss
	// KK: -> e, es, ss
	var in [2 + 2*dhLen + 2*tagSize]byte
	msg, err := readHandshakeMessage(rw, in[:], pattern.msg1Len(), false)
	if err != nil {
		return nil, g.fail("reading message 1", err)
	}
	var (
		hs   *noise.HandshakeState
		pbuf [maxPrologueLen]byte
	)
	for i := 0; i <= len(cfg.Others); i++ {
		static := cfg.Static
		if i > 0 {
			static = cfg.Others[i-1]
			if static.IsZero() {
				continue
			}
		}
		sp := staticOf(static)
		ncfg := noise.Config{
			CipherSuite:   cfg.suite(sp, peer),
			Random:        cfg.Rand,
			Pattern:       pattern.noise(),
			Prologue:      prologue(&pbuf, preamble),
			StaticKeypair: noise.DHKey{Private: static[:], Public: sp.pub[:]},
		}
		if pattern == PatternKK {
			ncfg.PeerStatic = peer[:]
		}
		h, err := noise.NewHandshakeState(ncfg)
		if err != nil {
			return nil, g.fail("starting", err)
		}
		// ReadMessage reads msg without changing it: the next key, if
		// any, tries the same bytes.
		if _, _, _, err := h.ReadMessage(nil, msg); err == nil {
			hs = h
			break
		}
	}
	if hs == nil {
		return nil, g.fail("message 1", errors.New("does not authenticate"))
	}
	if pattern == PatternIK {
		peer = PublicKey(hs.PeerStatic())
	}

	// <- e, ee, se
	out := make([]byte, 2, 2+msg2Len)
	out, recv, send, err := hs.WriteMessage(out, nil)
	if err == nil && (send == nil || recv == nil) {
		err = errors.New("the handshake did not complete")
	}
	if err != nil {
		return nil, g.fail("building message 2", err)
	}
	binary.BigEndian.PutUint16(out, uint16(len(out)-2))
	if _, err := rw.Write(out); err != nil {
		return nil, g.fail("writing message 2", err)
	}
	if err := g.stop(); err != nil {
		return nil, err
	}
	sess, err := newSession(rw, pattern, peer, lim, send, recv)
	if err != nil {
		return nil, err
	}
	sess.enforce(lim)
	return sess, nil
}

// readHandshakeMessage reads one length-prefixed handshake message of
// exactly want bytes into buf and returns it. On the initiator (refusable)
// a zero length announces a refusal, returned as a *RefusedError.
func readHandshakeMessage(r io.Reader, buf []byte, want int, refusable bool) ([]byte, error) {
	if _, err := io.ReadFull(r, buf[:2]); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint16(buf))
	if n == 0 && refusable {
		if _, err := io.ReadFull(r, buf[:2]); err != nil {
			return nil, fmt.Errorf("reading the refusal code: %w", err)
		}
		return nil, &RefusedError{Code: binary.BigEndian.Uint16(buf)}
	}
	if n != want {
		return nil, fmt.Errorf("length %d, want %d", n, want)
	}
	if _, err := io.ReadFull(r, buf[:n]); err != nil {
		return nil, err
	}
	return buf[:n], nil
}

// guard bounds a handshake in time. With a stream that has SetDeadline it
// sets the deadline (and moves it to the past if ctx is cancelled);
// otherwise a timer closes the stream. Every way out of a handshake goes
// through fail, refuse or stop.
type guard struct {
	ctx    context.Context
	rw     io.ReadWriteCloser
	dl     deadliner // nil if rw has no deadlines
	timer  *time.Timer
	cancel func() bool // stops the context.AfterFunc
	fired  atomic.Bool // the timer closed rw
}

type deadliner interface{ SetDeadline(time.Time) error }

func startGuard(ctx context.Context, rw io.ReadWriteCloser, timeout time.Duration) *guard {
	g := &guard{ctx: ctx, rw: rw}
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if dl, ok := rw.(deadliner); ok && dl.SetDeadline(deadline) == nil {
		g.dl = dl
		g.cancel = context.AfterFunc(ctx, func() { _ = dl.SetDeadline(time.Unix(1, 0)) })
		return g
	}
	g.timer = time.AfterFunc(time.Until(deadline), func() {
		g.fired.Store(true)
		abort(rw)
	})
	g.cancel = context.AfterFunc(ctx, func() { abort(rw) })
	return g
}

// release disarms the guard; it reports false if the guard went off.
func (g *guard) release() bool {
	ok := g.cancel()
	if g.dl != nil {
		_ = g.dl.SetDeadline(time.Time{})
	}
	if g.timer != nil && !g.timer.Stop() {
		ok = false
	}
	return ok
}

// stop ends a successful handshake; it fails if the guard went off at the
// last moment, since rw may then be closed or past its deadline.
func (g *guard) stop() error {
	if g.release() {
		return nil
	}
	return g.fail("finishing", os.ErrDeadlineExceeded)
}

// fail ends a failed handshake: it closes rw and says which step failed,
// as ErrHandshakeTimeout if time ran out.
func (g *guard) fail(step string, err error) error {
	g.release()
	abort(g.rw)
	var re *RefusedError
	switch {
	case errors.As(err, &re):
		return re
	case g.ctx.Err() != nil:
		return fmt.Errorf("%w: %s: %w", ErrHandshake, step, context.Cause(g.ctx))
	case g.fired.Load() || errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("%w: %s: %w", ErrHandshakeTimeout, step, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrHandshake, step, err)
}

// refuse sends a refusal with code, closes rw and returns err. It runs
// before any handshake state exists, so before any Diffie-Hellman.
func (g *guard) refuse(code uint16, err error) error {
	var b [refusalSize]byte
	binary.BigEndian.PutUint16(b[2:], code)
	_, _ = g.rw.Write(b[:]) // the refusal is a courtesy: the peer may be gone
	g.release()
	closeStream(g.rw)
	return err
}
