package gateway_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/gateway/adminapi"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/keygen/composite"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/wire"
)

// TestStats: the counters a running gateway answers on its admin socket
// follow what its sessions did, by kind of request and status; a stopped
// gateway has none and says so.
func TestStats(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	dir := g.srv.Identity().Dir
	keys := g.mint(t, 1, service.Spec{Seats: 1})
	ctx := context.Background()
	c := g.client(t)
	res, err := c.Activate(ctx, keys[0], machine(1), "host", "1.0")
	if err != nil {
		t.Fatal(err)
	}
	const valid = 25
	for i := range valid {
		if _, err := c.Validate(ctx, res.LicenseID, machine(1), uint64(i+1), false); err != nil {
			t.Fatal(err)
		}
	}
	other := g.client(t)
	_, err = other.Validate(ctx, res.LicenseID, machine(2), 1, false)
	wantStatus(t, err, wire.StatusNotActivated)
	if err := c.Deactivate(ctx, res.LicenseID); err != nil {
		t.Fatal(err)
	}
	// OK validations are tallied by their session and added at most a
	// second late, or when it ends.
	c.Close()
	var st map[string]int64
	for deadline := time.Now().Add(hang.Timeout(t)); ; {
		st = adminDo(t, dir, adminapi.OpStats, adminapi.None{}).Counters
		if st["answers_validate_ok"] >= valid || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for name, want := range map[string]int64{
		"answers_validate_ok":            valid,
		"answers_validate_not_activated": 1,
		"answers_activate_ok":            1,
		"answers_deactivate_ok":          1,
		"leases_signed":                  1,
	} {
		if st[name] != want {
			t.Errorf("%s = %d, want %d", name, st[name], want)
		}
	}
	if st["sessions_app"] < 2 || st["store_disk_bytes"] <= 0 || st["quic_handshakes_peak"] < 1 {
		t.Errorf("stats = %v", st)
	}
	if _, ok := st["answers_time_ok"]; ok {
		t.Error("a counter that is zero is listed")
	}

	// A session that fails its handshake is counted.
	conn, err := channel.Dial(ctx, g.card.Address, channel.ClientTLSConfig(g.card.TLSPin), slack(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseWithError(0, "")
	str, err := conn.OpenStreamSync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	str.Write([]byte{0xff, 0xff, 0xff, 0xff})
	str.Close()
	for deadline := time.Now().Add(hang.Timeout(t)); ; {
		st = adminDo(t, dir, adminapi.OpStats, adminapi.None{}).Counters
		if st["handshakes_failed"] >= 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st["handshakes_failed"] != 1 {
		t.Errorf("handshakes_failed = %d, want 1", st["handshakes_failed"])
	}
}

func TestStatsOfStoppedGateway(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := gateway.Init(dir, composite.MLDSA44Ed25519, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := adminCall(dir, adminapi.OpStats, adminapi.None{}); err == nil || !strings.Contains(err.Error(), "stopped") {
		t.Fatalf("stats of a stopped gateway: %v", err)
	}
}

// TestMetricsPage: with metrics_listen set, /metrics serves the counters
// in Prometheus's text format; nothing else is served there.
func TestMetricsPage(t *testing.T) {
	t.Parallel()
	g := startGateway(t, func(c *gateway.Config) { c.MetricsListen = "127.0.0.1:0" })
	keys := g.mint(t, 1, service.Spec{Seats: 1})
	c := g.client(t)
	if _, err := c.Activate(context.Background(), keys[0], machine(1), "host", "1.0"); err != nil {
		t.Fatal(err)
	}
	base := "http://" + g.srv.MetricsAddr().String()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, page := get("/metrics")
	for _, want := range []string{
		"# TYPE tollgate_answers_total counter\n",
		`tollgate_answers_total{kind="activate",status="OK"} 1` + "\n",
		`tollgate_sessions_opened_total{channel="app"} 1` + "\n",
		"tollgate_leases_signed_total 1\n",
		"# TYPE tollgate_store_disk_bytes gauge\n",
	} {
		if code != http.StatusOK || !strings.Contains(page, want) {
			t.Fatalf("/metrics (%d) lacks %q:\n%s", code, want, page)
		}
	}
	if strings.Count(page, "# TYPE tollgate_sessions_opened_total") != 1 {
		t.Fatal("a metric's TYPE line is repeated")
	}
	if code, _ := get("/"); code != http.StatusNotFound {
		t.Fatalf("/ answered %d", code)
	}
}

// TestMetricsListenRefused: an address the page cannot listen on stops the
// gateway from starting, with the address in the error.
func TestMetricsListenRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := gateway.Init(dir, composite.MLDSA44Ed25519, ""); err != nil {
		t.Fatal(err)
	}
	_, err := gateway.New(gateway.Config{Dir: dir, Listen: "127.0.0.1:0", MetricsListen: "192.0.2.1:9464"})
	if err == nil || !strings.Contains(err.Error(), "metrics_listen 192.0.2.1:9464") {
		t.Fatalf("New with an address not on this machine: %v", err)
	}
}
