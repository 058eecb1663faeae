package gateway

import (
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/wire"
)

// answerSeatReset answers a shop's self-service seat reset: the seats
// freed, the license's seats afterwards and its resets left, or the
// refusal (RESET_LIMIT past the limit, with when the next is possible).
// The service has committed the change before it returns.
func answerSeatReset(s *Server, f *from, out []byte, reqID uint32, req *wire.SeatResetRequest) []byte {
	r, err := s.svc.SeatReset(req, f.shop)
	if err != nil {
		return refusal(out, reqID, req.Nonce, err)
	}
	return wire.AppendFrame(out, reqID, seatResetResponse(req.Nonce, &r, s.cfg.Now().Unix()))
}

// seatResetResponse is a reset as its answer tells it.
// A floating license's seats in use are those checked out now, not its
// bindings.
func seatResetResponse(nonce [wire.NonceSize]byte, r *service.SeatReset, now int64) wire.SeatResetResponse {
	used := service.SeatsInUse(&r.State.License, r.State.Activations, now)
	return wire.SeatResetResponse{Nonce: nonce, Freed: uint32(r.Freed), SeatsUsed: used,
		Seats: r.State.License.Seats, ResetsLeft: uint8(min(r.ResetsLeft, 255)), NextReset: r.NextReset}
}
