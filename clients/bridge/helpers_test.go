package bridge

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/gateway/gatewaytest"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/store"
)

// fixture is a real gateway with the demo catalogue, a shop registered
// on it, and a bridge for that shop served on loopback.
type fixture struct {
	g      *gatewaytest.Gateway
	shop   *clients.ShopClient
	bridge *Server
	url    string
	token  string
}

type fixtureOpts struct {
	networks []string // the shop's networks; default 127.0.0.0/8
	quota    uint32
	token    string
	// healthEvery, when not zero, is the health probes' period.
	healthEvery time.Duration
}

func start(t *testing.T, o fixtureOpts) *fixture {
	t.Helper()
	g := gatewaytest.Start(t)
	if _, err := service.LoadDemoCatalogue(g.Server.Store()); err != nil {
		t.Fatal(err)
	}
	k, err := channel.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if o.networks == nil {
		o.networks = []string{"127.0.0.0/8"}
	}
	// 9ZZZZ is a product the shop may sell that is not in the catalogue.
	sh := store.Shop{Name: "acme", PublicKey: k.Public(), Products: []string{"1AJS2", "9ZZZZ"}, DailyQuota: o.quota}
	for _, n := range o.networks {
		sh.Networks = append(sh.Networks, netip.MustParsePrefix(n))
	}
	if err := g.Server.Store().AddShop(sh); err != nil {
		t.Fatal(err)
	}
	if err := g.Server.ReloadShops(); err != nil {
		t.Fatal(err)
	}
	c, err := clients.NewShop(clients.ShopConfig{Card: g.Card, ShopKey: k, Timeout: hang.Timeout(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	shop := c
	b := New(Config{Shop: shop, Token: o.token, HealthEvery: o.healthEvery})
	srv := httptest.NewServer(b.Handler())
	t.Cleanup(srv.Close)
	return &fixture{g: g, shop: shop, bridge: b, url: srv.URL, token: o.token}
}

// answer is an HTTP answer, read whole.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// problem decodes the answer as a problem document, failing the test if
// it is not one.
func (a answer) problem(t *testing.T) Problem {
	t.Helper()
	if ct := a.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("status %d with Content-Type %q, want application/problem+json: %s", a.status, ct, a.body)
	}
	var p Problem
	dec := json.NewDecoder(bytes.NewReader(a.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("problem document: %v: %s", err, a.body)
	}
	if p.Status != a.status || !strings.HasPrefix(p.Type, problemURN) || p.Title == "" || p.Detail == "" {
		t.Fatalf("incomplete problem document for status %d: %s", a.status, a.body)
	}
	return p
}

// do sends a request to the bridge with the fixture's token (if any).
func (f *fixture) do(t *testing.T, method, path string, body any) answer {
	t.Helper()
	return f.doAs(t, f.token, method, path, body)
}

func (f *fixture) doAs(t *testing.T, token, method, path string, body any) answer {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		js, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(js)
	}
	ctx, cancel := context.WithTimeout(context.Background(), hang.Timeout(t))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, f.url+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, b}
}

// decode decodes an answer's JSON body into v, refusing unknown fields.
func decode(t *testing.T, a answer, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(a.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("answer %d: %v: %s", a.status, err, a.body)
	}
}

// licenses counts the shop's licenses in the gateway's store.
func (f *fixture) licenses(t *testing.T) int {
	t.Helper()
	ls, _, err := f.g.Server.Store().Licenses(store.LicenseQuery{Shop: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	return len(ls)
}
