package gateway

import (
	"net/netip"
	"sync"

	"github.com/quic-go/quic-go"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// caller is one Noise session as its routes see it: who sends its
// requests, and those being answered off the read loop.
type caller struct {
	sess   *channel.Session
	ch     *channelRoutes          // the session's channel: the app's or the shop's
	stream *quic.Stream            // the session's stream, closed when it ends
	done   *sync.WaitGroup         // the connection's sessions (serveConn)
	out    []byte                  // answers are made here; it grows to the largest
	from   from                    // who sends the request being read
	keyID  [channel.KeyIDSize]byte // a shop session's key id
	addr   netip.Addr              // a shop session's source address
	slow   slowGroup               // requests answered off the read loop
	valid  validTally              // OK validations not yet counted
}

// from is who sent a request: an app's install, or the shop as it was
// looked up for this request (channelRoutes.admit). A request answered
// off the read loop keeps a copy.
type from struct {
	peer service.Peer // an app session's install and address
	shop *store.Shop  // a shop session's shop
}

// serveStream returns the goroutine that runs one Noise session on
// stream. A KK session is a shop's: the shop is looked up by its key id
// and its source address checked against its networks before any
// Diffie-Hellman (shops.lookup); every other session is an app's. Both are
// served by the same read loop, which hands each frame to serveFrame with
// its channel's routes; done tells serveConn the session has ended.
//
// What is on the goroutine's stack while the session waits for a frame is
// what an idle session's stack costs: the garbage collector halves a
// goroutine's stack while it uses less than a quarter of it (counting the
// runtime's 800-byte reserve), so a wait that takes less than 1,248 bytes
// keeps a 4 KB stack where one that takes more keeps 8 KB, whatever the
// handshake and the requests grew it to. Hence the handshake and the
// caller's setup in openSession, each frame in serveFrame and the end in
// streamEnded, none of them on the stack during the wait; the loop calls
// them with few arguments (the caller reserves their spill space) and
// defers nothing; and serveStream returns the goroutine's function rather
// than being it, so that the goroutine starts in the loop (a go statement
// with arguments starts in a wrapper, one more frame). BENCHMARKS.md,
// idle memory.
func (s *Server) serveStream(conn *quic.Conn, stream *quic.Stream, done *sync.WaitGroup) func() {
	return func() {
		c := s.openSession(conn, stream, done)
		if c == nil {
			return
		}
		for {
			frame, err := c.sess.ReadFrame()
			if err != nil {
				s.sessionEnded(c, err)
				break
			}
			if !s.serveFrame(c, frame) {
				break
			}
		}
		// Not deferred: a defer's record would take stack during the
		// wait. A panic ends the process anyway.
		s.streamEnded(c)
	}
}

// streamEnded ends serveStream: once the session's requests answered off
// the read loop are done (and its validations counted), the stream is
// closed and serveConn told.
//
//go:noinline
func (s *Server) streamEnded(c *caller) {
	c.valid.flush(s.stats, 0)
	c.slow.wg.Wait()
	s.stats.openSessions.Add(-1)
	c.stream.Close()
	c.done.Done()
}

// openSession runs the responder's handshake on stream and returns the
// session's caller, or nil if the handshake failed: then it has counted
// and logged the failure, closed the stream (its reading side cancelled)
// and told done.
//
//go:noinline
func (s *Server) openSession(conn *quic.Conn, stream *quic.Stream, done *sync.WaitGroup) *caller {
	t := s.transport.load()
	sess, err := channel.ServerHandshake(stream, channel.ServerConfig{
		Static: t.noise, Others: t.others, Lookup: s.shops.lookup(conn.RemoteAddr()), Limits: s.cfg.Limits,
	})
	if err != nil {
		stream.CancelRead(0)
		s.stats.failedHandshakes.Add(1)
		s.cfg.Logger.Debug("handshake failed", "err", err)
		stream.Close()
		done.Done()
		return nil
	}
	s.stats.openSessions.Add(1)
	c := &caller{sess: sess, stream: stream, done: done}
	if sess.Pattern() == channel.PatternKK {
		s.stats.shopSessions.Add(1)
		c.keyID = sess.RemoteStatic().ID()
		c.addr, _ = addrOf(conn.RemoteAddr())
		c.ch = &shopChannel
		return c
	}
	s.stats.appSessions.Add(1)
	c.from.peer = service.NewPeer(sess.RemoteStatic(), guessAddr(conn.RemoteAddr()))
	c.ch = &appChannel
	return c
}

// sessionEnded logs why a session's read loop ended, unless it was closed.
//
//go:noinline
func (s *Server) sessionEnded(c *caller, err error) {
	if !isClosed(err) {
		s.cfg.Logger.Debug(c.ch.name+" session ended", "err", err)
	}
}

// serveFrame answers one frame read by serveStream: it parses its header,
// admits the request (ch.admit), and hands the body to the route of its
// type, which parses it once, asks the service, and appends the answer (or
// answers it off the loop: route.answer). Answers to validations and time
// requests go out in order; the others when they are done, tied to their
// request by its id. The answer is made in c.out. It returns false when
// the session must end.
//
//go:noinline
func (s *Server) serveFrame(c *caller, frame []byte) bool {
	ch, out := c.ch, c.out
	hdr, n, err := wire.ParseHeader(frame)
	if err != nil {
		// A frame we cannot parse leaves the stream out of step: answer
		// what we can and end the session.
		nonce, _ := wire.PeekNonce(frame[min(len(frame), wire.HeaderSize):])
		out = appendError(out[:0], hdr.RequestID, nonce, wire.StatusOf(err), "unreadable frame")
		s.stats.answered(kindOther, out)
		c.sess.WriteFrame(out)
		return false
	}
	body := frame[n:]
	now := s.cfg.Now().Unix()
	if ch.admit != nil {
		if err := ch.admit(s, c); err != nil {
			// The caller may no longer use this channel: say why, and end.
			nonce, _ := wire.PeekNonce(body)
			out = refusal(out[:0], hdr.RequestID, nonce, err)
			s.stats.answered(kindOf(hdr.Type), out)
			c.sess.WriteFrame(out)
			return false
		}
	}
	r := ch.routes[hdr.Type]
	if r.answer == nil {
		nonce, _ := wire.PeekNonce(body)
		out = appendError(out[:0], hdr.RequestID, nonce, wire.StatusBadRequest, "this request is not served on the "+ch.name+" channel")
		s.stats.answered(kindOf(hdr.Type), out)
	} else {
		var inline bool
		if out, inline = r.answer(s, c, out[:0], hdr.RequestID, body, now); !inline {
			c.out = out
			return true
		}
		if r.kind == kindValidate {
			c.valid.count(s.stats, out, now)
		} else {
			s.stats.answered(r.kind, out)
		}
	}
	c.out = out
	return c.sess.WriteFrame(out) == nil
}

// badRequest answers a request whose body does not parse.
func (s *Server) badRequest(out []byte, reqID uint32, body []byte, err error) []byte {
	nonce, _ := wire.PeekNonce(body)
	return appendError(out, reqID, nonce, wire.StatusOf(err), "malformed request")
}

// appendError appends an ErrorResponse frame answering nonce.
func appendError(out []byte, reqID uint32, nonce [wire.NonceSize]byte, st wire.Status, msg string) []byte {
	return wire.AppendFrame(out, reqID, wire.ErrorResponse{Nonce: nonce, Status: st, Message: []byte(msg)})
}

// refusal appends the ErrorResponse answering nonce with err's status,
// and when the request may succeed, when the refusal knows it (a floating
// license's seats all held).
func refusal(out []byte, reqID uint32, nonce [wire.NonceSize]byte, err error) []byte {
	st, msg, _ := service.StatusOf(err)
	return wire.AppendFrame(out, reqID, wire.ErrorResponse{Nonce: nonce, Status: st, Message: []byte(msg), RetryAt: service.RetryAt(err)})
}
