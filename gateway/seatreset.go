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
	return wire.AppendFrame(out, reqID, seatResetResponse(req.Nonce, &r))
}

// seatResetResponse is a reset as its answer tells it.
func seatResetResponse(nonce [wire.NonceSize]byte, r *service.SeatReset) wire.SeatResetResponse {
	return wire.SeatResetResponse{Nonce: nonce, Freed: uint32(r.Freed), SeatsUsed: uint32(len(r.State.Activations)),
		Seats: r.State.License.Seats, ResetsLeft: uint8(min(r.ResetsLeft, 255)), NextReset: r.NextReset}
}
