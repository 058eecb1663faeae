package clients

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/wire"
)

// link is one QUIC connection to the gateway with one Noise session on it,
// dialed on first use and again after it is lost, and the requests in
// flight on it, told apart by request id. When the gateway ends the
// session but not the connection (it ends sessions idle for
// Limits.SessionIdleTimeout, 5 minutes by default, and a long-running app
// validates rarely), the next request opens a new session on the same
// connection, and a request the gateway had not read when it ended the
// session is sent again on the new one. A Client is a link with the IK
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
	l.conn = nil
	l.endSessionLocked(err)
}

// endSessionLocked forgets the session, keeping the connection, and fails
// the requests waiting on it with err.
func (l *link) endSessionLocked(err error) {
	if l.sess != nil {
		l.sess.Close()
	}
	l.sess = nil
	for id, ch := range l.pending {
		ch <- response{err: err}
		delete(l.pending, id)
	}
}

// errUnread fails a request whose session the gateway ended before reading
// it: the gateway answers every request it has read before it ends a
// session, so one still unanswered when the session ends cleanly (or whose
// writing the gateway refused) was never read, and may be sent again.
var errUnread = fmt.Errorf("%w: the gateway ended the session before reading the request", ErrConnection)

// session returns the open session, opening one when there is none: on
// the connection if it is still up, else (or if that fails) on a new one.
func (l *link) session(ctx context.Context) (*channel.Session, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sess != nil {
		return l.sess, nil
	}
	if l.conn != nil && l.conn.Context().Err() != nil {
		l.conn.CloseWithError(0, "connection lost")
		l.conn = nil
	}
	if l.conn != nil {
		sess, err := l.openLocked(ctx) // closes the connection on failure
		var se *wire.StatusError
		if err == nil || errors.As(err, &se) || ctx.Err() != nil {
			return sess, err
		}
		// The connection may have died unnoticed: dial afresh.
	}
	conn, err := channel.Dial(ctx, l.addr, channel.ClientTLSConfig(l.pin), l.noise.Limits)
	if err != nil {
		return nil, classifyDial(err)
	}
	l.conn = conn
	return l.openLocked(ctx)
}

// openLocked opens a session on l.conn; on failure it closes the
// connection.
func (l *link) openLocked(ctx context.Context) (*channel.Session, error) {
	sess, err := channel.OpenSession(ctx, l.conn, l.noise)
	if err != nil {
		l.conn.CloseWithError(0, "handshake failed")
		l.conn = nil
		var re *channel.RefusedError
		if l.noise.Pattern == channel.PatternKK && errors.As(err, &re) {
			// The gateway refused a shop before any cryptography: an
			// unknown shop key, or an address outside the shop's networks.
			return nil, &wire.StatusError{Status: wire.Status(re.Code), Message: "the gateway refused this shop's connection"}
		}
		return nil, fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	l.sess = sess
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
			if errors.Is(err, io.EOF) {
				// The gateway ended the session between frames, an idle
				// one perhaps; the connection may serve the next.
				l.endSessionLocked(errUnread)
			} else {
				l.dropLocked(fmt.Errorf("%w: %w", ErrConnection, err))
			}
		}
		l.mu.Unlock()
		return
	}
}

// roundTrip sends one request and waits for its answer. An error response
// is returned as its *wire.StatusError. A request the gateway did not read
// before ending its session is sent once more, on a new session.
func (l *link) roundTrip(ctx context.Context, m wire.Message) (response, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, l.timeout)
		defer cancel()
	}
	r, err := l.try(ctx, m)
	if errors.Is(err, errUnread) && ctx.Err() == nil {
		r, err = l.try(ctx, m)
	}
	return r, err
}

// try sends m once, on the open session or a new one.
func (l *link) try(ctx context.Context, m wire.Message) (response, error) {
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
		// The gateway's STOP_SENDING: it stopped reading the session
		// before this request, and the connection may serve the next.
		var se *quic.StreamError
		stopped := errors.As(err, &se) && se.Remote
		l.mu.Lock()
		delete(l.pending, id)
		switch {
		case l.sess != sess:
		case stopped:
			l.endSessionLocked(errUnread)
		default:
			l.dropLocked(fmt.Errorf("%w: %w", ErrConnection, err))
		}
		l.mu.Unlock()
		select {
		case r := <-ch:
			// The session had ended meanwhile (closing it broke the
			// write), and this is why.
			if r.err != nil {
				return response{}, r.err
			}
		default:
		}
		if stopped {
			return response{}, errUnread
		}
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
