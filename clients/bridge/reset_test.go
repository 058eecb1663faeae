package bridge

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/wire"
)

// activateOn activates key over real QUIC from a new installation on the
// machine named host.
func (f *fixture) activateOn(t *testing.T, key keygen.Key, host string) {
	t.Helper()
	k, err := channel.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c, err := clients.New(clients.Config{Card: f.g.Card, InstallKey: k, Timeout: hang.Timeout(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fp := clients.Fingerprint("1AJS2", []clients.RawComponent{
		{Kind: wire.KindMachineID, Value: "machine-" + host}, {Kind: wire.KindMAC, Value: "mac-" + host}, {Kind: wire.KindDisk, Value: "disk-" + host}})
	if _, err := c.Activate(context.Background(), key, fp, host, "1.0"); err != nil {
		t.Fatalf("activate on %s: %v", host, err)
	}
}

// TestSeatResetSelfService: through the bridge and the shop channel over
// real QUIC, a customer frees the seat of a dead machine by its hostname,
// then every seat; the answers count the resets left; the fourth reset in
// 30 days is 429 RESET_LIMIT, saying when the next is possible and to
// contact the publisher, and frees nothing; a machine holding no seat is
// 404 NOT_ACTIVATED; a body naming no seat, or two ways, is 400.
func TestSeatResetSelfService(t *testing.T) {
	t.Parallel()
	f := start(t, fixtureOpts{})
	var o OrderResponse
	decode(t, f.do(t, "POST", "/v1/orders", order("R-1", 1, map[string]any{"seats": 3})), &o)
	key, err := keygen.ParseKey(o.Keys[0])
	if err != nil {
		t.Fatal(err)
	}
	path := "/v1/licenses/" + o.Keys[0] + "/reset"
	for _, h := range []string{"pc-1", "pc-2", "pc-3"} {
		f.activateOn(t, key, h)
	}
	reset := func(body any, left int) SeatResetResponse {
		t.Helper()
		a := f.do(t, "POST", path, body)
		if a.status != http.StatusOK {
			t.Fatalf("reset %v: %d %s", body, a.status, a.body)
		}
		var r SeatResetResponse
		decode(t, a, &r)
		if r.ResetsLeft != left || strings.Contains(string(a.body), o.Keys[0]) {
			t.Fatalf("reset %v: %s, want %d resets left and no key", body, a.body, left)
		}
		return r
	}
	if r := reset(map[string]any{"hostname": "pc-1"}, 2); r.Freed != 1 || r.SeatsUsed != 2 || r.Seats != 3 || !r.NextReset.IsZero() {
		t.Fatalf("the first reset: %+v", r)
	}
	a := f.do(t, "POST", path, map[string]any{"hostname": "pc-1"})
	if p := a.problem(t); a.status != http.StatusNotFound || p.GatewayStatus != "NOT_ACTIVATED" || !strings.Contains(p.Detail, `"pc-1"`) {
		t.Fatalf("a machine that holds no seat: %d %s", a.status, a.body)
	}
	for name, body := range map[string]any{"nothing": "{}", "both": map[string]any{"hostname": "pc-2", "all": true}, "unknown field": map[string]any{"machine": "pc-2"}} {
		if a := f.do(t, "POST", path, body); a.status != http.StatusBadRequest {
			t.Errorf("a body of %s: %d %s", name, a.status, a.body)
		}
	}

	before := time.Now()
	if r := reset(map[string]any{"all": true}, 1); r.Freed != 2 || r.SeatsUsed != 0 {
		t.Fatalf("every seat: %+v", r)
	}
	// Through the shop client directly: the last reset of the window.
	f.activateOn(t, key, "pc-4")
	r, err := f.shop.ResetSeat(context.Background(), key, "pc-4")
	if err != nil || r.Freed != 1 || r.ResetsLeft != 0 || r.NextReset.Before(before.Add(30*24*time.Hour-time.Minute)) {
		t.Fatalf("the third reset: %+v, %v; want none left and the next in 30 days", r, err)
	}

	f.activateOn(t, key, "pc-5")
	a = f.do(t, "POST", path, map[string]any{"hostname": "pc-5"})
	p := a.problem(t)
	if a.status != http.StatusTooManyRequests || p.GatewayStatus != "RESET_LIMIT" || p.Type != problemURN+"reset-limit" ||
		!strings.Contains(p.Detail, r.NextReset.Format("2006-01-02 15:04 UTC")) || !strings.Contains(p.Detail, "contact the publisher") {
		t.Fatalf("the fourth reset in 30 days: %d %s", a.status, a.body)
	}
	var se *wire.StatusError
	if _, err := f.shop.ResetSeat(context.Background(), key, "pc-5"); !errors.As(err, &se) || se.Status != wire.StatusResetLimit {
		t.Fatalf("the shop client past the limit: %v", err)
	}
	var l License
	decode(t, f.do(t, "GET", "/v1/licenses/"+o.Keys[0], nil), &l)
	if l.SeatsUsed != 1 || len(l.Activations) != 1 || l.Activations[0].Hostname != "pc-5" {
		t.Fatalf("a refused reset freed a seat: %+v", l)
	}
}
