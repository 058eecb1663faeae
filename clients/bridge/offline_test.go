package bridge

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/wire"
)

// airMachine opens an installation whose card's only address is never
// routed: it never talks to the gateway.
func airMachine(t *testing.T, card *wire.Card, id string) *clients.Licensee {
	t.Helper()
	c := *card
	c.SetAddresses([]string{"192.0.2.1:7443"})
	l, err := clients.OpenLicensee(clients.LicenseeConfig{Card: &c, Product: "1AJS2", StateDir: filepath.Join(t.TempDir(), "state"),
		Explicit: "air-" + id, Hostname: "air-" + id, Timeout: hang.Timeout(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// TestOfflineEndpoints: a customer portal answers an air-gapped machine's
// request through POST /v1/offline/answer and imports its release through
// POST /v1/offline/release, over the shop channel to a real gateway; the
// refusals are problem documents with the gateway's status: the seat rules
// (409 NO_SEATS, 404 NOT_ACTIVATED), another gateway's request (422
// REQUEST_MISMATCH), another shop's license (404), a file that is not one
// (400).
func TestOfflineEndpoints(t *testing.T) {
	t.Parallel()
	f := start(t, fixtureOpts{})
	key := f.g.Mint(t, "1AJS2", 1, service.Spec{Seats: 1, Shop: "acme"})[0]
	m := airMachine(t, f.g.Card, "1")
	req, err := m.RequestOffline(key)
	if err != nil {
		t.Fatal(err)
	}
	a := f.do(t, "POST", "/v1/offline/answer", OfflineAnswerRequest{Request: string(req)})
	if a.status != http.StatusOK {
		t.Fatalf("answer: %d %s", a.status, a.body)
	}
	var ans OfflineAnswerResponse
	if err := json.Unmarshal(a.body, &ans); err != nil || len(ans.LicenseID) != 32 {
		t.Fatalf("answer body: %v %s", err, a.body)
	}
	if d := m.ImportLease([]byte(ans.Lease)); !d.Allowed {
		t.Fatalf("import: %s %s", d.Reason, d.Message)
	}
	if d := m.CheckOffline(); !d.Allowed {
		t.Fatalf("check offline: %s", d.Reason)
	}

	second := airMachine(t, f.g.Card, "2")
	req2, err := second.RequestOffline(key)
	if err != nil {
		t.Fatal(err)
	}
	if p := f.do(t, "POST", "/v1/offline/answer", OfflineAnswerRequest{Request: string(req2)}).problem(t); p.Status != http.StatusConflict || p.GatewayStatus != "NO_SEATS" {
		t.Fatalf("second machine: %+v", p)
	}
	other := *f.g.Card
	var nk channel.PrivateKey
	copy(nk[:], strings.Repeat("k", 32))
	other.NoiseKey = nk.Public()
	req3, err := airMachine(t, &other, "3").RequestOffline(key)
	if err != nil {
		t.Fatal(err)
	}
	if p := f.do(t, "POST", "/v1/offline/answer", OfflineAnswerRequest{Request: string(req3)}).problem(t); p.Status != http.StatusUnprocessableEntity || p.GatewayStatus != "REQUEST_MISMATCH" {
		t.Fatalf("another gateway's request: %+v", p)
	}
	foreign := f.g.Mint(t, "1AJS2", 1, service.Spec{})[0]
	req4, err := airMachine(t, f.g.Card, "4").RequestOffline(foreign)
	if err != nil {
		t.Fatal(err)
	}
	if p := f.do(t, "POST", "/v1/offline/answer", OfflineAnswerRequest{Request: string(req4)}).problem(t); p.Status != http.StatusNotFound {
		t.Fatalf("another shop's license: %+v", p)
	}
	if p := f.do(t, "POST", "/v1/offline/answer", OfflineAnswerRequest{Request: "not a request"}).problem(t); p.Status != http.StatusBadRequest {
		t.Fatalf("junk: %+v", p)
	}
	if p := f.do(t, "POST", "/v1/offline/answer", map[string]string{}).problem(t); p.Status != http.StatusBadRequest {
		t.Fatalf("no request: %+v", p)
	}

	proof, err := m.ReleaseOffline()
	if err != nil {
		t.Fatal(err)
	}
	r := f.do(t, "POST", "/v1/offline/release", OfflineReleaseRequest{Release: string(proof)})
	var rel OfflineReleaseResponse
	if r.status != http.StatusOK || json.Unmarshal(r.body, &rel) != nil || !rel.Released || rel.LicenseID != ans.LicenseID {
		t.Fatalf("release: %d %s", r.status, r.body)
	}
	if p := f.do(t, "POST", "/v1/offline/release", OfflineReleaseRequest{Release: string(proof)}).problem(t); p.Status != http.StatusNotFound || p.GatewayStatus != "NOT_ACTIVATED" {
		t.Fatalf("released twice: %+v", p)
	}
	// The seat is free: the second machine's request is answered now.
	if a := f.do(t, "POST", "/v1/offline/answer", OfflineAnswerRequest{Request: string(req2)}); a.status != http.StatusOK {
		t.Fatalf("second machine after the release: %d %s", a.status, a.body)
	}
}
