package clients

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
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
//
// The card may list several addresses, gateways of one deployment sharing
// one identity: a new connection goes to the address that answered last
// (the card's first until one has), then to the others in card order, each
// dial given headStart alone before the next starts beside it (dialAny).
type link struct {
	addrs     []string          // the card's addresses, or the override alone
	pins      [][32]byte        // the card's tls-pin, then its next-tls-pin if any
	noise     channel.Config    // pattern, static keys and limits of the session
	timeout   time.Duration     // for a request whose context has no deadline
	headStart time.Duration     // how long a dial runs alone before the next address is dialed too
	dialed    func(addr string) // called as each dial starts; a test hook, nil otherwise

	// heard counts the frames the gateway sent on the current
	// connection: a request that times out with none heard since it was
	// sent drops the connection (try).
	heard atomic.Uint64

	mu      sync.Mutex
	last    int // index in addrs of the address that answered last
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

// dialHeadStart is how long a dial runs alone before the next address of
// the card is dialed beside it: the Connection Attempt Delay of Happy
// Eyeballs (RFC 8305, section 5), whose recommended 250 ms is longer than
// a QUIC handshake takes to a gateway that is up, and short enough that a
// dead first address costs a user little.
const dialHeadStart = 250 * time.Millisecond

// newLink returns a link to the gateway of card, at addr if it is not
// empty (the caller's override), else at the card's addresses.
func newLink(card *wire.Card, addr string, noise channel.Config, timeout time.Duration) *link {
	addrs := card.Addresses()
	if addr != "" {
		addrs = []string{addr}
	}
	// With a card that announces the gateway's next transport identity,
	// either key and either certificate is the gateway's (wire.Card).
	noise.RemoteStatic, noise.NextRemoteStatic = card.NoiseKey, card.NextNoiseKey
	return &link{addrs: addrs, pins: card.TLSPins(), noise: noise, timeout: timeout, headStart: dialHeadStart, pending: make(map[uint32]chan response)}
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
	conn, err := l.dialAny(ctx)
	if err != nil {
		return nil, err
	}
	l.conn = conn
	return l.openLocked(ctx)
}

// dialResult is the outcome of one dial of dialAny.
type dialResult struct {
	i    int // index in l.addrs
	conn *quic.Conn
	err  error // channel.Dial's error, which names the address
}

// dialAny connects to one of l.addrs, in order l.last first, then the
// others in card order, Happy-Eyeballs style (RFC 8305): each dial runs
// alone for l.headStart, then the next starts beside it, and at once when
// one fails; the first connection up wins, records its address as l.last,
// and the others are cancelled (or closed, if they come up meanwhile).
// Each dial is bounded by ctx only: a black-holed address costs a head
// start, not the request's budget. When every dial fails it returns the
// first error that is not ErrUnreachable (the gateway of another card,
// say), else ErrUnreachable naming how many addresses were tried; with one
// address, that address's error as it is. l.mu is held.
func (l *link) dialAny(ctx context.Context) (*quic.Conn, error) {
	order := make([]int, 0, len(l.addrs))
	order = append(order, l.last)
	for i := range l.addrs {
		if i != l.last {
			order = append(order, i)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make(chan dialResult, len(order))
	tlsConf := channel.ClientTLSConfig(l.pins[0], l.pins[1:]...)
	started, running := 0, 0
	start := func() {
		i := order[started]
		started++
		running++
		if l.dialed != nil {
			l.dialed(l.addrs[i])
		}
		go func() {
			conn, err := channel.Dial(ctx, l.addrs[i], tlsConf, l.noise.Limits)
			results <- dialResult{i: i, conn: conn, err: err}
		}()
	}
	start()
	next := time.NewTimer(l.headStart)
	defer next.Stop()
	var first, other error // the first failure, and the first not ErrUnreachable
	for running > 0 {
		select {
		case r := <-results:
			running--
			if r.err == nil {
				l.last = r.i
				go closeLosers(results, running)
				return r.conn, nil
			}
			if first == nil {
				first = r.err
			}
			if err := classifyDial(r.err); other == nil && !errors.Is(err, ErrUnreachable) {
				other = err
			}
			if started < len(order) && ctx.Err() == nil {
				start()
				next.Reset(l.headStart)
			}
		case <-next.C:
			if started < len(order) && ctx.Err() == nil {
				start()
				next.Reset(l.headStart)
			}
		}
	}
	switch {
	case len(l.addrs) == 1:
		return nil, classifyDial(first)
	case other != nil:
		return nil, fmt.Errorf("%w (%d of the card's %d addresses tried)", other, started, len(l.addrs))
	}
	return nil, fmt.Errorf("%w: %d of the card's %d addresses tried, none answered; first failure: %w", ErrUnreachable, started, len(l.addrs), first)
}

// closeLosers closes the connections of the n dials still running when
// another won, as they end (their context is cancelled).
func closeLosers(results <-chan dialResult, n int) {
	for ; n > 0; n-- {
		if r := <-results; r.conn != nil {
			r.conn.CloseWithError(0, "another address answered first")
		}
	}
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
	if k := sess.RemoteStatic(); !l.noise.NextRemoteStatic.IsZero() && k.Equal(l.noise.NextRemoteStatic) {
		// The gateway switched to the card's next key: try it first from
		// now on.
		l.noise.RemoteStatic, l.noise.NextRemoteStatic = l.noise.NextRemoteStatic, l.noise.RemoteStatic
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
				l.heard.Add(1)
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
	heard := l.heard.Load()
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
		if l.sess == sess && l.heard.Load() == heard {
			// The gateway has said nothing since this request went out: it
			// may be gone (killed, its address unreachable), which QUIC
			// would notice only at its idle timeout. The next request dials
			// again, and may reach another of the card's gateways.
			l.dropLocked(fmt.Errorf("%w: the license server did not answer in time", ErrTimeout))
		}
		l.mu.Unlock()
		return response{}, fmt.Errorf("%w: %w", ErrTimeout, ctx.Err())
	}
}
