package bridge

import (
	"net/http"

	"github.com/tollgate/tollgate/wire"
)

// Route is one endpoint the bridge serves.
type Route struct {
	Method, Path string
	handle       http.HandlerFunc
}

// Pattern is the route as http.ServeMux writes it: "POST /v1/orders".
func (rt Route) Pattern() string { return rt.Method + " " + rt.Path }

// Routes lists the endpoints the bridge serves, the API its OpenAPI
// document describes.
func Routes() []Route { return (&Server{}).routes() }

func (s *Server) routes() []Route {
	return []Route{
		{"POST", "/v1/orders", s.postOrder},
		{"GET", "/v1/orders/{order_id}", s.getOrder},
		{"GET", "/v1/licenses/{key}", s.keyOp(wire.KeyOpStatus)},
		{"POST", "/v1/licenses/{key}/suspend", s.keyOp(wire.KeyOpSuspend)},
		{"POST", "/v1/licenses/{key}/resume", s.keyOp(wire.KeyOpResume)},
		{"POST", "/v1/licenses/{key}/revoke", s.keyOp(wire.KeyOpRevoke)},
		{"POST", "/v1/licenses/{key}/renew", s.keyOp(wire.KeyOpRenew)},
		{"POST", "/v1/offline/answer", s.postOfflineAnswer},
		{"POST", "/v1/offline/release", s.postOfflineRelease},
		{"POST", "/v1/licenses/{key}/reset", s.postSeatReset},
		{"GET", "/v1/health", s.getHealth},
		{"GET", "/metrics", s.getMetrics},
	}
}

// getMetrics serves the figures in Prometheus's text format.
func (s *Server) getMetrics(w http.ResponseWriter, r *http.Request) {
	s.metrics.handler.ServeHTTP(w, r)
}
