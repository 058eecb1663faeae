package bridge

import (
	"context"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/wire"
)

// OfflineShop answers air-gapped machines' files on the shop channel
// (clients.ShopClient's AnswerOffline and ReleaseOffline).
type OfflineShop interface {
	AnswerOffline(ctx context.Context, request []byte) (*clients.OfflineAnswer, error)
	ReleaseOffline(ctx context.Context, proof []byte) ([wire.LicenseIDSize]byte, error)
}

// OfflineAnswerRequest is the body of POST /v1/offline/answer: the text
// of the activation request file an air-gapped machine wrote
// (tollgate-client request), as the customer uploaded it to the portal.
type OfflineAnswerRequest struct {
	Request string `json:"request"`
}

// OfflineAnswerResponse answers POST /v1/offline/answer: the license
// activated and the lease file (armored text) for the customer to carry
// back and install (tollgate-client import).
type OfflineAnswerResponse struct {
	LicenseID string `json:"license_id"`
	Lease     string `json:"lease"`
}

// OfflineReleaseRequest is the body of POST /v1/offline/release: the text
// of the release proof an air-gapped machine wrote (tollgate-client
// release).
type OfflineReleaseRequest struct {
	Release string `json:"release"`
}

// OfflineReleaseResponse answers POST /v1/offline/release: the license
// whose seat on that machine is free now.
type OfflineReleaseResponse struct {
	LicenseID string `json:"license_id"`
	Released  bool   `json:"released"`
}

// postOfflineAnswer has the gateway answer an air-gapped machine's
// activation request, for a license of this shop.
func (s *Server) postOfflineAnswer(w http.ResponseWriter, r *http.Request) {
	var req OfflineAnswerRequest
	if p, ok := decodeJSON(w, r, &req, false); !ok {
		writeProblem(w, p)
		return
	}
	if req.Request == "" {
		writeProblem(w, badRequest("Send the activation request file's text as \"request\"."))
		return
	}
	ans, err := s.shop.AnswerOffline(r.Context(), []byte(req.Request))
	s.health.saw(err)
	if err != nil {
		writeProblem(w, problemOf(err, "license", time.Now()))
		return
	}
	writeJSON(w, http.StatusOK, OfflineAnswerResponse{LicenseID: hex.EncodeToString(ans.LicenseID[:]), Lease: string(ans.Lease)})
}

// postOfflineRelease has the gateway import an air-gapped machine's
// release proof, for a license of this shop.
func (s *Server) postOfflineRelease(w http.ResponseWriter, r *http.Request) {
	var req OfflineReleaseRequest
	if p, ok := decodeJSON(w, r, &req, false); !ok {
		writeProblem(w, p)
		return
	}
	if req.Release == "" {
		writeProblem(w, badRequest("Send the release proof file's text as \"release\"."))
		return
	}
	id, err := s.shop.ReleaseOffline(r.Context(), []byte(req.Release))
	s.health.saw(err)
	if err != nil {
		writeProblem(w, problemOf(err, "license", time.Now()))
		return
	}
	writeJSON(w, http.StatusOK, OfflineReleaseResponse{LicenseID: hex.EncodeToString(id[:]), Released: true})
}
