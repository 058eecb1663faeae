package channel

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"

	"github.com/quic-go/quic-go"
)

// Dial opens a QUIC connection to a gateway. tlsConf is normally
// ClientTLSConfig(card.TLSPin) (with the card's next-tls-pin, if any): a
// server whose certificate matches none of the pins fails the dial with an error wrapping ErrPinMismatch. The
// connection sends keep-alives at half of limits.IdleTimeout. Open
// sessions on it with OpenSession; it may carry several at once.
func Dial(ctx context.Context, addr string, tlsConf *tls.Config, limits Limits) (*quic.Conn, error) {
	if err := limits.Validate(); err != nil {
		return nil, err
	}
	qc := limits.QUICConfig()
	qc.KeepAlivePeriod = limits.WithDefaults().IdleTimeout / 2
	conn, err := quic.DialAddr(ctx, addr, tlsConf, qc)
	if err != nil {
		return nil, fmt.Errorf("channel: dialing %s: %w", addr, err)
	}
	return conn, nil
}

// OpenSession opens a stream on conn and runs the initiator's handshake on
// it, bounded by ctx and cfg.Limits.HandshakeTimeout. On error the stream
// is reset; the connection stays open for other sessions. With
// cfg.NextRemoteStatic set, a handshake with RemoteStatic that fails other
// than by a refusal or a timeout (the gateway holds no longer, or not yet,
// that key) is tried once more with NextRemoteStatic on a new stream;
// Session.RemoteStatic says which key answered.
func OpenSession(ctx context.Context, conn *quic.Conn, cfg Config) (*Session, error) {
	sess, err := openSession(ctx, conn, cfg)
	if err == nil || cfg.NextRemoteStatic.IsZero() || cfg.NextRemoteStatic == cfg.RemoteStatic ||
		errors.Is(err, ErrRefused) || errors.Is(err, ErrHandshakeTimeout) || errors.Is(err, ErrConfig) || ctx.Err() != nil || conn.Context().Err() != nil {
		return sess, err
	}
	cfg.RemoteStatic, cfg.NextRemoteStatic = cfg.NextRemoteStatic, PublicKey{}
	sess, nextErr := openSession(ctx, conn, cfg)
	if nextErr != nil {
		return nil, fmt.Errorf("%w (and with the card's next key: %w)", err, nextErr)
	}
	return sess, nil
}

func openSession(ctx context.Context, conn *quic.Conn, cfg Config) (*Session, error) {
	str, err := conn.OpenStreamSync(ctx)
	if err != nil {
		return nil, fmt.Errorf("channel: opening a stream: %w", err)
	}
	return clientHandshake(ctx, str, cfg)
}

// Listen starts a QUIC listener for the gateway on addr, presenting cert,
// with limits' QUIC configuration. Accept connections, then streams, and
// run ServerHandshake on each stream.
func Listen(addr string, cert tls.Certificate, limits Limits) (*quic.Listener, error) {
	if err := limits.Validate(); err != nil {
		return nil, err
	}
	ln, err := quic.ListenAddr(addr, ServerTLSConfig(cert), limits.QUICConfig())
	if err != nil {
		return nil, fmt.Errorf("channel: listening on %s: %w", addr, err)
	}
	return ln, nil
}
