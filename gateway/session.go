package gateway

import (
	"net/netip"

	"github.com/quic-go/quic-go"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// caller is one Noise session as its routes see it: who sends its
// requests, and those being answered off the read loop.
type caller struct {
	sess  *channel.Session
	from  from                    // who sends the request being read
	keyID [channel.KeyIDSize]byte // a shop session's key id
	addr  netip.Addr              // a shop session's source address
	slow  slowGroup               // requests answered off the read loop
	valid validTally              // OK validations not yet counted
}

// from is who sent a request: an app's install, or the shop as it was
// looked up for this request (channelRoutes.admit). A request answered
// off the read loop keeps a copy.
type from struct {
	peer service.Peer // an app session's install and address
	shop *store.Shop  // a shop session's shop
}

// serveStream runs one Noise session on stream. A KK session is a shop's:
// the shop is looked up by its key id and its source address checked
// against its networks before any Diffie-Hellman (shops.lookup); every
// other session is an app's. Both are served by serveSession, each with
// its channel's routes.
func (s *Server) serveStream(conn *quic.Conn, stream *quic.Stream) {
	defer stream.Close()
	t := s.transport.load()
	sess, err := channel.ServerHandshake(stream, channel.ServerConfig{
		Static: t.noise, Others: t.others, Lookup: s.shops.lookup(conn.RemoteAddr()), Limits: s.cfg.Limits,
	})
	if err != nil {
		stream.CancelRead(0)
		s.stats.failedHandshakes.Add(1)
		s.cfg.Logger.Debug("handshake failed", "err", err)
		return
	}
	s.stats.openSessions.Add(1)
	defer s.stats.openSessions.Add(-1)
	c := &caller{sess: sess}
	if sess.Pattern() == channel.PatternKK {
		s.stats.shopSessions.Add(1)
		c.keyID = sess.RemoteStatic().ID()
		c.addr, _ = addrOf(conn.RemoteAddr())
		s.serveSession(c, &shopChannel)
		return
	}
	s.stats.appSessions.Add(1)
	c.from.peer = service.NewPeer(sess.RemoteStatic(), guessAddr(conn.RemoteAddr()))
	s.serveSession(c, &appChannel)
}

// serveSession is the one read loop of every session: it reads a frame,
// parses its header, admits the request (ch.admit), and hands the body to
// the route of its type, which parses it once, asks the service, and
// appends the answer (or answers it off the loop: route.answer). Answers
// to validations and time requests go out in order; the others when they
// are done, tied to their request by its id.
func (s *Server) serveSession(c *caller, ch *channelRoutes) {
	defer c.slow.wg.Wait()
	defer func() { c.valid.flush(s.stats, 0) }()
	var out []byte // grows to the largest answer; idle sessions hold none
	for {
		frame, err := c.sess.ReadFrame()
		if err != nil {
			if !isClosed(err) {
				s.cfg.Logger.Debug(ch.name+" session ended", "err", err)
			}
			return
		}
		hdr, n, err := wire.ParseHeader(frame)
		if err != nil {
			// A frame we cannot parse leaves the stream out of step: answer
			// what we can and end the session.
			nonce, _ := wire.PeekNonce(frame[min(len(frame), wire.HeaderSize):])
			out = appendError(out[:0], hdr.RequestID, nonce, wire.StatusOf(err), "unreadable frame")
			s.stats.answered(kindOther, out)
			c.sess.WriteFrame(out)
			return
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
				return
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
				continue
			}
			if r.kind == kindValidate {
				c.valid.count(s.stats, out, now)
			} else {
				s.stats.answered(r.kind, out)
			}
		}
		if err := c.sess.WriteFrame(out); err != nil {
			return
		}
	}
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
