package channel

import (
	"fmt"
	"time"

	"github.com/quic-go/quic-go"
)

// Defaults for the zero values of Limits' fields.
const (
	DefaultHandshakeTimeout  = 5 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
	DefaultMaxStreamsPerConn = 16
	DefaultMaxMessages       = 1 << 40
	DefaultFrameTimeout      = 10 * time.Second
	DefaultSessionIdle       = 5 * time.Minute

	// MaxMessagesCeiling bounds Limits.MaxMessages, far below the 2^64-1
	// nonces Noise allows, so that no count can overflow.
	MaxMessagesCeiling = 1 << 62
)

// Limits bounds what a peer may make a session or connection cost. Each
// field's zero value means its default; WithDefaults fills them in and
// Validate refuses the rest of the nonsense.
type Limits struct {
	// HandshakeTimeout bounds the QUIC handshake (as its idle timeout) and
	// the Noise handshake on each stream. Zero means 5 seconds.
	HandshakeTimeout time.Duration
	// IdleTimeout closes a QUIC connection with no traffic for this long.
	// Dial sends keep-alives at half of it. Zero means 60 seconds.
	IdleTimeout time.Duration
	// MaxStreamsPerConn is how many streams, hence sessions, a peer may
	// have open at once on one connection. Zero means 16.
	MaxStreamsPerConn int
	// MaxFrameSize is the largest frame body a session reads or writes.
	// It may lower the protocol's MaxFrameSize, never raise it. Zero means
	// MaxFrameSize (1 MiB).
	MaxFrameSize int
	// MaxMessages is the nonce ceiling: the number of Noise transport
	// messages a session sends, and receives, before it refuses to go on
	// with ErrNonceCeiling. Zero means 2^40.
	MaxMessages uint64
	// FrameTimeout bounds, on the responder's sessions, how long a frame
	// may take to arrive once its first byte has: a peer that sends part
	// of a frame, or of a Noise message, and then stops has its session
	// ended with ErrFrameTimeout. Zero means 10 seconds.
	FrameTimeout time.Duration
	// SessionIdleTimeout ends, with ErrSessionIdle, a responder's session
	// that has received no complete frame (no request) for this long, even
	// while the QUIC connection is kept alive. It is enforced in quarters:
	// a session goes between 1 and 1.25 times this long without a request
	// before it is ended, never less. Zero means 5 minutes.
	SessionIdleTimeout time.Duration
}

// WithDefaults returns l with every zero field set to its default.
func (l Limits) WithDefaults() Limits {
	if l.HandshakeTimeout == 0 {
		l.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if l.IdleTimeout == 0 {
		l.IdleTimeout = DefaultIdleTimeout
	}
	if l.MaxStreamsPerConn == 0 {
		l.MaxStreamsPerConn = DefaultMaxStreamsPerConn
	}
	if l.MaxFrameSize == 0 {
		l.MaxFrameSize = MaxFrameSize
	}
	if l.MaxMessages == 0 {
		l.MaxMessages = DefaultMaxMessages
	}
	if l.FrameTimeout == 0 {
		l.FrameTimeout = DefaultFrameTimeout
	}
	if l.SessionIdleTimeout == 0 {
		l.SessionIdleTimeout = DefaultSessionIdle
	}
	return l
}

// Validate reports an error wrapping ErrLimits for a negative duration or
// count, a frame size above MaxFrameSize or a nonce ceiling above
// MaxMessagesCeiling. Zero fields are valid: they mean the default.
func (l Limits) Validate() error {
	switch {
	case l.HandshakeTimeout < 0:
		return fmt.Errorf("%w: negative HandshakeTimeout", ErrLimits)
	case l.IdleTimeout < 0:
		return fmt.Errorf("%w: negative IdleTimeout", ErrLimits)
	case l.MaxStreamsPerConn < 0:
		return fmt.Errorf("%w: negative MaxStreamsPerConn", ErrLimits)
	case l.MaxFrameSize < 0 || l.MaxFrameSize > MaxFrameSize:
		return fmt.Errorf("%w: MaxFrameSize %d outside 0 to %d", ErrLimits, l.MaxFrameSize, MaxFrameSize)
	case l.MaxMessages > MaxMessagesCeiling:
		return fmt.Errorf("%w: MaxMessages above 2^62", ErrLimits)
	case l.FrameTimeout < 0:
		return fmt.Errorf("%w: negative FrameTimeout", ErrLimits)
	case l.SessionIdleTimeout < 0:
		return fmt.Errorf("%w: negative SessionIdleTimeout", ErrLimits)
	}
	return nil
}

// QUICConfig returns the QUIC configuration for l, for a listener: at most
// MaxStreamsPerConn bidirectional streams per connection and no
// unidirectional ones, the idle and handshake timeouts, and no keep-alives
// (Dial adds them for clients). l should be valid.
func (l Limits) QUICConfig() *quic.Config {
	d := l.WithDefaults()
	return &quic.Config{
		HandshakeIdleTimeout:  d.HandshakeTimeout,
		MaxIdleTimeout:        d.IdleTimeout,
		MaxIncomingStreams:    int64(d.MaxStreamsPerConn),
		MaxIncomingUniStreams: -1,
	}
}
