package gateway

import (
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/wire"
)

// ReloadShops makes the running gateway see changes made to the shops in
// its store (registrations, removals) on the next shop handshake.
func (s *Server) ReloadShops() error { return s.shops.reload() }

// serveShop runs a shop's session: MINT and key operations, each answered
// off the read loop (they wait on an fsync), tied to their request by id.
// App requests are refused with StatusBadRequest. The shop is looked up
// again for each request, so a shop removed meanwhile is refused.
func (s *Server) serveShop(sess *channel.Session) {
	keyID := sess.RemoteStatic().ID()
	var slow slowGroup
	defer slow.wg.Wait()
	out := make([]byte, 0, 256)
	for {
		frame, err := sess.ReadFrame()
		if err != nil {
			if !isClosed(err) {
				s.cfg.Logger.Debug("shop session ended", "err", err)
			}
			return
		}
		hdr, n, err := wire.ParseHeader(frame)
		if err != nil {
			nonce, _ := wire.PeekNonce(frame[min(len(frame), wire.HeaderSize):])
			out = appendError(out[:0], hdr.RequestID, nonce, wire.StatusOf(err), "unreadable frame")
			s.stats.answered(kindOther, out)
			sess.WriteFrame(out)
			return
		}
		body := frame[n:]
		out = out[:0]
		sh := s.shops.byKeyID(keyID)
		if sh == nil {
			nonce, _ := wire.PeekNonce(body)
			out = appendError(out, hdr.RequestID, nonce, wire.StatusShopNotAllowed, "this shop is no longer registered")
			s.stats.answered(kindOf(hdr.Type), out)
			sess.WriteFrame(out)
			return
		}
		switch hdr.Type {
		case wire.TypeMintRequest:
			if _, _, err := wire.ParseMintRequest(body); err != nil {
				out = s.badRequest(out, hdr.RequestID, body, err)
				break
			}
			b := append([]byte(nil), body...)
			s.goSlow(&slow, sess, kindMint, func(out []byte) []byte {
				req, _, _ := wire.ParseMintRequest(b)
				return s.h.mint(out, hdr.RequestID, &req, sh, s.shops)
			})
			continue
		case wire.TypeKeyOpRequest:
			req, _, err := wire.ParseKeyOpRequest(body)
			if err != nil {
				out = s.badRequest(out, hdr.RequestID, body, err)
				break
			}
			s.goSlow(&slow, sess, kindKeyOp, func(out []byte) []byte {
				return s.h.keyOp(out, hdr.RequestID, &req, sh)
			})
			continue
		default:
			nonce, _ := wire.PeekNonce(body)
			out = appendError(out, hdr.RequestID, nonce, wire.StatusBadRequest, "this request is not served on the shop channel")
		}
		s.stats.answered(kindOf(hdr.Type), out)
		if err := sess.WriteFrame(out); err != nil {
			return
		}
	}
}
