package bridge

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/hang"
)

// TestLicenses: a key minted through the bridge is read, suspended,
// resumed, renewed and revoked through it, each answer the license's
// state afterwards; resuming a revoked key is 409 with REVOKED; a key no
// license of the shop has is 404 NOT_FOUND; a reset naming no seat is 400
// saying what to send.
func TestLicenses(t *testing.T) {
	t.Parallel()
	f := start(t, fixtureOpts{})
	a := f.do(t, "POST", "/v1/orders", order("L-1", 1, map[string]any{"seats": 3, "term": map[string]any{"months": 6}}))
	var o OrderResponse
	decode(t, a, &o)
	key := o.Keys[0]
	path := "/v1/licenses/" + key
	state := func(method, p string, body any, want string) License {
		t.Helper()
		a := f.do(t, method, p, body)
		if a.status != http.StatusOK {
			t.Fatalf("%s %s: %d %s", method, strings.ReplaceAll(p, key, "KEY"), a.status, a.body)
		}
		var l License
		decode(t, a, &l)
		if l.State != want {
			t.Fatalf("%s %s: state %q, want %q", method, strings.ReplaceAll(p, key, "KEY"), l.State, want)
		}
		if strings.Contains(string(a.body), key) {
			t.Fatalf("a license answer holds the whole key")
		}
		return l
	}
	l := state("GET", path, nil, "active")
	if l.Product != "1AJS2" || l.Seats != 3 || l.SeatsUsed != 0 || !l.Expiry.IsZero() || len(l.Activations) != 0 {
		t.Fatalf("license %+v", l)
	}
	state("POST", path+"/suspend", nil, "suspended")
	state("POST", path+"/resume", "{}", "active")
	state("POST", path+"/renew", map[string]any{"years": 1}, "active")
	state("POST", path+"/renew", nil, "active")
	state("POST", path+"/revoke", nil, "revoked")
	a = f.do(t, "POST", path+"/resume", nil)
	if p := a.problem(t); a.status != http.StatusConflict || p.GatewayStatus != "REVOKED" {
		t.Fatalf("resume of a revoked key: %d %s", a.status, a.body)
	}
	for _, c := range []struct {
		name, method, path string
		body               any
		status             int
		gateway, detail    string
	}{
		{"renew, term of two kinds", "POST", path + "/renew", map[string]any{"years": 1, "days": 3}, 400, "", "more than one"},
		{"suspend with a body", "POST", path + "/suspend", map[string]any{"why": "x"}, 400, "", `"why"`},
		{"reset naming no seat", "POST", path + "/reset", "{}", 400, "", `{"hostname": "..."}`},
		{"unknown operation", "POST", path + "/frobnicate", nil, 404, "", "openapi"},
		{"malformed key", "GET", "/v1/licenses/1AJS2-AAAAA", nil, 400, "", "well-formed"},
		{"another shop's or unknown key", "GET", "/v1/licenses/" + probeKey.Display(), nil, 404, "NOT_FOUND", "No license of this shop"},
		{"GET on an operation", "GET", path + "/revoke", nil, 405, "", "allowed: POST"},
	} {
		a := f.do(t, c.method, c.path, c.body)
		p := a.problem(t)
		if a.status != c.status || p.GatewayStatus != c.gateway || !strings.Contains(p.Detail, c.detail) {
			t.Errorf("%s: %d %s; want %d %q with %q", c.name, a.status, a.body, c.status, c.gateway, c.detail)
		}
		if strings.Contains(string(a.body), key) {
			t.Errorf("%s: the problem document holds the key", c.name)
		}
	}
}

// TestToken: with a token set, every endpoint but health refuses a
// request without it or with another, 401 with a problem document, and
// does nothing.
func TestToken(t *testing.T) {
	t.Parallel()
	f := start(t, fixtureOpts{token: "s3cret-token"})
	for _, tok := range []string{"", "wrong", "s3cret-tokenX"} {
		for _, r := range []struct{ method, path string }{{"POST", "/v1/orders"}, {"GET", "/v1/orders/T-1"}, {"GET", "/metrics"}, {"GET", "/v1/nothing"}} {
			a := f.doAs(t, tok, r.method, r.path, order("T-1", 1, nil))
			if a.problem(t); a.status != http.StatusUnauthorized || a.header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s %s with token %q: %d", r.method, r.path, tok, a.status)
			}
			if strings.Contains(string(a.body), "s3cret") {
				t.Errorf("the refusal names the token")
			}
		}
	}
	if n := f.licenses(t); n != 0 {
		t.Fatalf("%d licenses minted without the token", n)
	}
	if a := f.doAs(t, "", "GET", "/v1/health", nil); a.status != http.StatusOK {
		t.Fatalf("health without the token: %d %s", a.status, a.body)
	}
	if a := f.do(t, "POST", "/v1/orders", order("T-1", 1, nil)); a.status != http.StatusCreated {
		t.Fatalf("with the token: %d %s", a.status, a.body)
	}
}

// TestGatewayUnreachable: with the gateway stopped, an order is 503 with
// Retry-After and a sentence (no Go error), and health says 503.
func TestGatewayUnreachable(t *testing.T) {
	t.Parallel()
	f := start(t, fixtureOpts{})
	if a := f.do(t, "GET", "/v1/health", nil); a.status != http.StatusOK {
		t.Fatalf("health with the gateway up: %d %s", a.status, a.body)
	}
	var h HealthResponse
	decode(t, f.do(t, "GET", "/v1/health", nil), &h)
	if h.Gateway != "up" || h.LastAnswer.IsZero() {
		t.Fatalf("health %+v", h)
	}
	f.g.Stop()
	a := f.do(t, "POST", "/v1/orders", order("U-1", 1, nil))
	p := a.problem(t)
	if a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") == "" || p.GatewayStatus != "" {
		t.Fatalf("order with the gateway down: %d %s", a.status, a.body)
	}
	if strings.Contains(p.Detail, "clients:") || strings.Contains(p.Detail, "127.0.0.1") {
		t.Fatalf("the detail is a Go error: %s", p.Detail)
	}
	a = f.do(t, "GET", "/v1/health", nil)
	if a.problem(t); a.status != http.StatusServiceUnavailable {
		t.Fatalf("health with the gateway down: %d %s", a.status, a.body)
	}
}

// TestShopAddressRefused: a shop whose address the gateway does not
// allow gets the gateway's refusal, 403 SHOP_NOT_ALLOWED, and health
// says why it is down.
func TestShopAddressRefused(t *testing.T) {
	t.Parallel()
	f := start(t, fixtureOpts{networks: []string{"192.0.2.0/24"}})
	a := f.do(t, "POST", "/v1/orders", order("R-1", 1, nil))
	if p := a.problem(t); a.status != http.StatusForbidden || p.GatewayStatus != "SHOP_NOT_ALLOWED" {
		t.Fatalf("order from a refused address: %d %s", a.status, a.body)
	}
	a = f.do(t, "GET", "/v1/health", nil)
	if p := a.problem(t); a.status != http.StatusServiceUnavailable || p.GatewayStatus != "SHOP_NOT_ALLOWED" || !strings.Contains(p.Detail, "operator") {
		t.Fatalf("health of a refused shop: %d %s", a.status, a.body)
	}
}

// TestMetricsServed: /metrics counts requests by route pattern and
// status, never by path (a path may hold a key), and shows the gateway up.
func TestMetricsServed(t *testing.T) {
	t.Parallel()
	f := start(t, fixtureOpts{})
	var o OrderResponse
	decode(t, f.do(t, "POST", "/v1/orders", order("M-1", 1, nil)), &o)
	f.do(t, "GET", "/v1/licenses/"+o.Keys[0], nil)
	f.do(t, "POST", "/v1/orders", "{")
	f.do(t, "GET", "/v1/health", nil)
	a := f.do(t, "GET", "/metrics", nil)
	if a.status != http.StatusOK {
		t.Fatalf("/metrics: %d", a.status)
	}
	m := string(a.body)
	for _, want := range []string{
		`tollgate_bridge_requests_total{code="201",route="POST /v1/orders"} 1`,
		`tollgate_bridge_requests_total{code="400",route="POST /v1/orders"} 1`,
		`tollgate_bridge_requests_total{code="200",route="GET /v1/licenses/{key}"} 1`,
		`tollgate_bridge_request_duration_seconds_count{route="POST /v1/orders"} 2`,
		"tollgate_bridge_gateway_up 1",
		`tollgate_bridge_webhook_deliveries_total{result="failed"} 0`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(m, o.Keys[0]) || strings.Contains(m, o.Keys[0][6:17]) {
		t.Fatalf("/metrics holds a key")
	}
}

// TestHealthWatch: the background probes notice the gateway stopping
// without any request of the shop: health turns 503 and the gateway_up
// figure 0.
func TestHealthWatch(t *testing.T) {
	t.Parallel()
	f := start(t, fixtureOpts{healthEvery: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.bridge.Watch(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor := func(what, path, want string) {
		t.Helper()
		deadline := time.Now().Add(hang.Timeout(t))
		for !strings.Contains(string(f.do(t, "GET", path, nil).body), want) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %s never held %q", what, path, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor("gateway up", "/metrics", "tollgate_bridge_gateway_up 1")
	f.g.Stop()
	waitFor("gateway stopped", "/metrics", "tollgate_bridge_gateway_up 0")
	if a := f.do(t, "GET", "/v1/health", nil); a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") == "" {
		t.Fatalf("health with the gateway stopped: %d %s", a.status, a.body)
	}
}
