// Package bridge is the shop's local HTTP/JSON bridge to the Tollgate shop
// channel: a web shop written in any language places orders and manages
// the keys it sold with plain HTTP requests on loopback, and the bridge
// speaks Noise KK over QUIC to the gateway for it (tollgate-shop serve).
// It also follows the shop's event stream and posts each event, signed, to
// the shop's webhooks (Deliverer).
//
// Every refusal is an RFC 9457 problem document (Problem) carrying the
// gateway's status name when the gateway refused. License keys appear only
// in the answers that hand them over (an order's keys) and in the request
// paths the shop itself sends; never in logs, metrics or problem
// documents.
package bridge

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/wire"
)

// Shop is what the bridge needs of the shop channel; *clients.ShopClient
// is one. Its methods must be safe for concurrent use.
type Shop interface {
	Mint(ctx context.Context, orderID, product string, count int, spec clients.MintSpec) ([]keygen.Key, error)
	KeyOp(ctx context.Context, key keygen.Key, op wire.KeyOp, term wire.Term) (*clients.KeyStatus, error)
	Order(ctx context.Context, orderID string) (*clients.Order, error)
	ResetSeat(ctx context.Context, key keygen.Key, hostname string) (*clients.SeatReset, error)
	EventSource
	OfflineShop
}

// EventSource is the shop's event stream: the events after sequence number
// after, at most max of them, oldest first.
type EventSource interface {
	Events(ctx context.Context, after uint64, max int) ([]clients.Event, error)
}

// Config configures a Server.
type Config struct {
	// Shop is the shop channel. Required.
	Shop Shop
	// Token, when not empty, is the bearer token every request but
	// GET /v1/health must carry (Authorization: Bearer TOKEN).
	Token string
	// Logger receives one line per refused or failed request (method,
	// route pattern, status; never a path, which may hold a key). Nil
	// discards.
	Logger *slog.Logger
	// Metrics is where the server's figures go; nil makes a new set.
	Metrics *Metrics
	// HealthEvery is how often the gateway is probed while it answers
	// (zero: 15 s); while it does not, probes back off from 1 s to it.
	HealthEvery time.Duration
	// ProbeTimeout bounds one probe (zero: 10 s).
	ProbeTimeout time.Duration
}

// MaxBody is the largest request body the bridge reads (64 KiB); a larger
// one is answered 413.
const MaxBody = 64 << 10

// Server serves the bridge's HTTP API. Create it with New, serve
// Handler, and run Watch for the health probes.
type Server struct {
	shop    Shop
	token   string
	log     *slog.Logger
	metrics *Metrics
	health  *health
	mux     *http.ServeMux

	mu   sync.Mutex
	seen seenOrders // the orders this process answered, for 201 against 200
}

// New returns a server for cfg.
func New(cfg Config) *Server {
	s := &Server{shop: cfg.Shop, token: cfg.Token, log: cfg.Logger, metrics: cfg.Metrics}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.metrics == nil {
		s.metrics = NewMetrics()
	}
	every, probe := cfg.HealthEvery, cfg.ProbeTimeout
	if every <= 0 {
		every = 15 * time.Second
	}
	if probe <= 0 {
		probe = 10 * time.Second
	}
	s.health = newHealth(cfg.Shop, every, probe, s.metrics)
	s.mux = http.NewServeMux()
	allowed := map[string][]string{}
	for _, rt := range s.routes() {
		h := s.instrument(rt.Pattern(), rt.handle)
		if rt.Path != "/v1/health" {
			h = s.authorize(h)
		}
		s.mux.Handle(rt.Pattern(), h)
		allowed[rt.Path] = append(allowed[rt.Path], rt.Method)
	}
	// A known path asked with another method: 405, as a problem document.
	for path, methods := range allowed {
		allow := strings.Join(methods, ", ")
		s.mux.Handle(path, s.instrument("other", s.authorize(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			writeProblem(w, Problem{Status: http.StatusMethodNotAllowed, Type: "method-not-allowed", Title: "Method not allowed",
				Detail: r.Method + " is not allowed here; allowed: " + allow + "."})
		})))
	}
	s.mux.Handle("/", s.instrument("other", s.authorize(notFound)))
	return s
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.mux }

// Metrics returns the server's figures.
func (s *Server) Metrics() *Metrics { return s.metrics }

// Watch probes the gateway until ctx ends: every HealthEvery while it
// answers, backing off from 1 s while it does not.
func (s *Server) Watch(ctx context.Context) { s.health.watch(ctx) }

// authorize refuses a request without the bearer token, when one is set.
func (s *Server) authorize(h http.HandlerFunc) http.HandlerFunc {
	if s.token == "" {
		return h
	}
	want := []byte("Bearer " + s.token)
	return func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="tollgate-shop"`)
			writeProblem(w, Problem{Status: http.StatusUnauthorized, Type: "unauthorized", Title: "Unauthorized",
				Detail: "This bridge requires its bearer token: send Authorization: Bearer TOKEN (the content of the bridge's --token-file)."})
			return
		}
		h(w, r)
	}
}

// notFound answers a path the bridge does not serve. (A license's reset
// is served: the customer's self-service reset, postSeatReset.)
func notFound(w http.ResponseWriter, r *http.Request) {
	p := Problem{Status: http.StatusNotFound, Type: "not-found", Title: "Not found",
		Detail: "No such endpoint; 'tollgate-shop openapi' describes the bridge's API."}
	writeProblem(w, p)
}

// seenOrders remembers the order ids this process answered, up to
// maxSeen of them (the oldest forgotten first).
type seenOrders struct {
	set  map[string]struct{}
	ring []string
	next int
}

const maxSeen = 1 << 16

// add records id and reports whether it was recorded before.
func (o *seenOrders) add(id string) bool {
	if _, ok := o.set[id]; ok {
		return true
	}
	if o.set == nil {
		o.set, o.ring = make(map[string]struct{}), make([]string, maxSeen)
	}
	if old := o.ring[o.next]; old != "" {
		delete(o.set, old)
	}
	o.ring[o.next], o.next = id, (o.next+1)%maxSeen
	o.set[id] = struct{}{}
	return false
}
