package bridge

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/wire"
)

// HealthResponse answers GET /v1/health while the gateway answers.
type HealthResponse struct {
	Gateway    string    `json:"gateway"` // "up"
	LastAnswer time.Time `json:"last_answer"`
}

// errProbeUnanswered is a probe that ended without an answer or an error
// of the shop channel (its context ended first).
var errProbeUnanswered = errors.New("bridge: the gateway did not answer the probe")

// probeKey is the key the health probe asks the status of: a well-formed
// key of product 00000 that no shop sold, so the gateway's answer, NOT_FOUND,
// proves the session works end to end without touching a license.
var probeKey = func() keygen.Key {
	k, err := keygen.Mint(keygen.ProductCode{'0', '0', '0', '0', '0'}, zeros{})
	if err != nil {
		panic("bridge: the probe key: " + err.Error())
	}
	return k
}()

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// health is what the bridge knows of the gateway: when it last answered,
// and the last failure since.
type health struct {
	shop         Shop
	every, probe time.Duration
	metrics      *Metrics

	mu      sync.Mutex
	lastOK  time.Time
	failure error // nil while the gateway answers
	known   bool  // a probe or request has told
}

func newHealth(shop Shop, every, probe time.Duration, m *Metrics) *health {
	return &health{shop: shop, every: every, probe: probe, metrics: m}
}

// saw records the outcome of a request on the shop channel: an answer,
// a refusal included, shows the gateway up; a failure to reach it, down.
// SHOP_NOT_ALLOWED tells nothing by itself (a product the shop may not
// sell, or the shop's address refused): the probes decide.
func (h *health) saw(err error) {
	var se *wire.StatusError
	if errors.As(err, &se) && se.Status == wire.StatusShopNotAllowed {
		return
	}
	if errors.As(err, &se) {
		err = nil
	}
	h.record(err)
}

func (h *health) record(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.known, h.failure = true, err
	if err == nil {
		h.lastOK = time.Now()
		h.metrics.gatewayUp.Set(1)
	} else {
		h.metrics.gatewayUp.Set(0)
	}
}

// check asks the gateway the probe key's status and records the outcome:
// NOT_FOUND (or any other answer but SHOP_NOT_ALLOWED) is up.
func (h *health) check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, h.probe)
	defer cancel()
	_, err := h.shop.KeyOp(ctx, probeKey, wire.KeyOpStatus, wire.Term{})
	var se *wire.StatusError
	switch {
	case errors.As(err, &se) && se.Status != wire.StatusShopNotAllowed:
		err = nil
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		err = errProbeUnanswered
	}
	h.record(err)
	return err
}

// watch probes until ctx ends: every h.every while the gateway answers,
// from 1 s doubling up to h.every while it does not.
func (h *health) watch(ctx context.Context) {
	backoff := time.Second
	for {
		wait := h.every
		if h.check(ctx) != nil {
			wait, backoff = min(backoff, h.every), min(2*backoff, h.every)
		} else {
			backoff = time.Second
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// state returns when the gateway last answered, the failure since, if
// any, and whether a probe or request has told anything yet.
func (h *health) state() (lastOK time.Time, failure error, known bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lastOK, h.failure, h.known
}

// getHealth answers 200 while the gateway answered within the last two
// probe periods and nothing failed since, else 503. Before anything told,
// it probes once itself.
func (s *Server) getHealth(w http.ResponseWriter, r *http.Request) {
	lastOK, failure, known := s.health.state()
	if !known {
		s.health.check(r.Context())
		lastOK, failure, _ = s.health.state()
	}
	if failure == nil && time.Since(lastOK) <= 2*s.health.every+s.health.probe {
		writeJSON(w, http.StatusOK, HealthResponse{Gateway: "up", LastAnswer: lastOK.UTC().Truncate(time.Second)})
		return
	}
	p := Problem{Status: http.StatusServiceUnavailable, Type: "gateway-down", Title: "The gateway does not answer the bridge", RetryAfter: 5,
		Detail: "The license gateway has not answered the bridge recently; orders and key operations fail until it does."}
	var se *wire.StatusError
	if errors.As(failure, &se) {
		p.GatewayStatus = se.Status.String()
		p.Detail = "The gateway refuses the shop's connection: " + sentence(se) + " Ask the gateway's operator to allow this server's address for the shop."
	} else if failure != nil {
		p.Detail = problemOf(failure, "", time.Now()).Detail
	}
	writeProblem(w, p)
}
