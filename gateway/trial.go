package gateway

import "github.com/tollgate/tollgate/wire"

// answerTrial answers a TrialRequest (app channel): the product's keyless
// trial for the session's install, or its refusal (TRIAL_USED, NO_TRIAL).
func answerTrial(s *Server, f *from, out []byte, reqID uint32, req *wire.TrialRequest) []byte {
	g, err := s.svc.StartTrial(req, &f.peer)
	if err != nil {
		return refusal(out, reqID, req.Nonce, err)
	}
	return wire.AppendFrame(out, reqID, wire.TrialResponse{Nonce: req.Nonce, LicenseID: g.LicenseID, Ends: g.Ends, Lease: g.Lease})
}
