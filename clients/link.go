package clients

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/wire"
)

// link is one QUIC connection to the gateway with one Noise session on it,
// dialed on first use and again after it is lost, and the requests in
// flight on it, told apart by request id. A Client is a link with the IK
// pattern and the install key; a ShopClient one with KK and the shop key.
// Its methods are safe for concurrent use.
type link struct {
	addr    string
	pin     [32]byte
	noise   channel.Config // pattern, static keys and limits of the session
	timeout time.Duration  // for a request whose context has no deadline

	mu      sync.Mutex
	conn    *quic.Conn
	sess    *channel.Session
	pending map[uint32]chan response
	nextID  uint32
}

type response struct {
	typ  wire.Type
	body []byte
	err  error
}

func newLink(card *wire.Card, addr string, noise channel.Config, timeout time.Duration) *link {
	if addr == "" {
		addr = card.Address
	}
	noise.RemoteStatic = card.NoiseKey
	return &link{addr: addr, pin: card.TLSPin, noise: noise, timeout: timeout, pending: make(map[uint32]chan response)}
}

// close ends the connection. Requests in flight fail with ErrClosed.
func (l *link) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dropLocked(ErrClosed)
}

func (l *link) dropLocked(err error) {
	if l.conn != nil {
		l.conn.CloseWithError(0, "client closed")
	}
	l.conn, l.sess = nil, nil
	for id, ch := range l.pending {
		ch <- response{err: err}
		delete(l.pending, id)
	}
}

// session returns the open session, dialing when there is none.
func (l *link) session(ctx context.Context) (*channel.Session, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sess != nil {
		return l.sess, nil
	}
	conn, err := channel.Dial(ctx, l.addr, channel.ClientTLSConfig(l.pin), l.noise.Limits)
	if err != nil {
		return nil, classifyDial(err)
	}
	sess, err := channel.OpenSession(ctx, conn, l.noise)
	if err != nil {
		conn.CloseWithError(0, "handshake failed")
		var re *channel.RefusedError
		if l.noise.Pattern == channel.PatternKK && errors.As(err, &re) {
			// The gateway refused a shop before any cryptography: an
			// unknown shop key, or an address outside the shop's networks.
			return nil, &wire.StatusError{Status: wire.Status(re.Code), Message: "the gateway refused this shop's connection"}
		}
		return nil, fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	l.conn, l.sess = conn, sess
	go l.readLoop(sess)
	return sess, nil
}

// readLoop hands each answer on sess to the request waiting for it, until
// the session fails.
func (l *link) readLoop(sess *channel.Session) {
	for {
		frame, err := sess.ReadFrame()
		if err == nil {
			var hdr wire.Header
			var n int
			hdr, n, err = wire.ParseHeader(frame)
			if err == nil {
				l.mu.Lock()
				ch, ok := l.pending[hdr.RequestID]
				delete(l.pending, hdr.RequestID)
				l.mu.Unlock()
				if ok {
					ch <- response{typ: hdr.Type, body: append([]byte(nil), frame[n:]...)}
				}
				continue
			}
		}
		l.mu.Lock()
		if l.sess == sess {
			l.dropLocked(fmt.Errorf("%w: %w", ErrConnection, err))
		}
		l.mu.Unlock()
		return
	}
}

// roundTrip sends one request and waits for its answer. An error response
// is returned as its *wire.StatusError.
func (l *link) roundTrip(ctx context.Context, m wire.Message) (response, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, l.timeout)
		defer cancel()
	}
	sess, err := l.session(ctx)
	if err != nil {
		return response{}, err
	}
	ch := make(chan response, 1)
	l.mu.Lock()
	if l.sess != sess {
		l.mu.Unlock()
		return response{}, fmt.Errorf("%w: connection lost", ErrConnection)
	}
	l.nextID++
	id := l.nextID
	l.pending[id] = ch
	l.mu.Unlock()
	if err := sess.WriteFrame(wire.AppendFrame(nil, id, m)); err != nil {
		l.mu.Lock()
		delete(l.pending, id)
		if l.sess == sess {
			l.dropLocked(fmt.Errorf("%w: %w", ErrConnection, err))
		}
		l.mu.Unlock()
		return response{}, fmt.Errorf("%w: %w", ErrConnection, err)
	}
	select {
	case r := <-ch:
		if r.err != nil {
			return r, r.err
		}
		if r.typ == wire.TypeErrorResponse {
			er, _, err := wire.ParseErrorResponse(r.body)
			if err != nil {
				return r, fmt.Errorf("%w: %w", ErrProtocol, err)
			}
			return r, er.Err()
		}
		return r, nil
	case <-ctx.Done():
		l.mu.Lock()
		delete(l.pending, id)
		l.mu.Unlock()
		return response{}, fmt.Errorf("%w: %w", ErrTimeout, ctx.Err())
	}
}
