package gateway

import (
	"github.com/tollgate/tollgate/wire"
)

// answerOfflineAnswer answers an air-gapped machine's activation request
// that a shop carries, for a license of the shop's own.
func answerOfflineAnswer(s *Server, f *from, out []byte, reqID uint32, req *wire.OfflineAnswerRequest) []byte {
	a, err := s.svc.AnswerOffline(&req.Request, f.shop.Name)
	if err != nil {
		return refusal(out, reqID, req.Nonce, err)
	}
	return wire.AppendFrame(out, reqID, wire.OfflineAnswerResponse{Nonce: req.Nonce, LicenseID: a.LicenseID, Lease: a.Lease})
}

// answerOfflineRelease imports an air-gapped machine's release proof that
// a shop carries, for a license of the shop's own.
func answerOfflineRelease(s *Server, f *from, out []byte, reqID uint32, req *wire.OfflineReleaseRequest) []byte {
	id, err := s.svc.ImportRelease(&req.Release, f.shop.Name)
	if err != nil {
		return refusal(out, reqID, req.Nonce, err)
	}
	return wire.AppendFrame(out, reqID, wire.OfflineReleaseResponse{Nonce: req.Nonce, LicenseID: id})
}
