package bench_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/bench"
	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/internal/pgtest"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/keygen/composite"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// TestMain lets the test binary serve as the benchmark's child processes
// (the embedded gateway, the echo server).
func TestMain(m *testing.M) {
	bench.RunChildIfRequested()
	os.Exit(m.Run())
}

// small is a load small enough for the race detector on two cores: 600 ms
// of measurement after 100 ms of warmup, two connections.
func small(s bench.Scenario) bench.Config {
	return bench.Config{
		Scenario: s, Duration: 600 * time.Millisecond, Warmup: 100 * time.Millisecond,
		Conns: 2, Streams: 1, Inflight: 4, Licenses: 16, Pool: 3000, Batch: 200, Sessions: 30,
	}
}

// jsonFields returns r as the JSON object tollgate-bench --json prints.
func jsonFields(t *testing.T, r *bench.Result) map[string]any {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// checkSane fails unless r answered requests, without errors, with
// ordered percentiles and the fields every result has.
func checkSane(t *testing.T, r *bench.Result) map[string]any {
	t.Helper()
	if r.Requests <= 0 || r.RequestsPerSec <= 0 {
		t.Fatalf("%s: %d requests, %.1f/s: nothing measured", r.Scenario, r.Requests, r.RequestsPerSec)
	}
	if len(r.Errors) > 0 {
		t.Fatalf("%s: errors %v", r.Scenario, r.Errors)
	}
	ps := []float64{r.P50us, r.P90us, r.P99us, r.P999us, r.MaxUs}
	for i := 1; i < len(ps); i++ {
		if ps[i] < ps[i-1] {
			t.Fatalf("%s: percentiles out of order: p50..max = %v", r.Scenario, ps)
		}
	}
	if r.P50us <= 0 {
		t.Fatalf("%s: p50 %v µs", r.Scenario, r.P50us)
	}
	m := jsonFields(t, r)
	for _, k := range []string{"scenario", "requests_per_sec", "p50_us", "p90_us", "p99_us", "p999_us", "max_us", "errors",
		"ceiling_requests_per_sec", "ratio", "gateway_cpu_us_per_req", "targets", "machine"} {
		if _, ok := m[k]; !ok {
			t.Errorf("%s: JSON has no %q", r.Scenario, k)
		}
	}
	if m["scenario"] != r.Scenario {
		t.Errorf("JSON scenario %v, want %s", m["scenario"], r.Scenario)
	}
	return m
}

func TestScenariosEmbedded(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts gateways")
	}
	ctx := context.Background()
	for _, s := range []bench.Scenario{bench.Validate, bench.Activate, bench.Handshake, bench.Mint, bench.Mixed, bench.Ceiling, bench.IdleMemory} {
		t.Run(string(s), func(t *testing.T) {
			t.Parallel()
			cfg := small(s)
			cfg.Ceiling = s == bench.Validate || s == bench.Handshake
			r, err := bench.Run(ctx, cfg)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			m := checkSane(t, r)
			if r.Mode != "embedded" {
				t.Errorf("mode %q", r.Mode)
			}
			onLinux := runtime.GOOS == "linux"
			if onLinux && s != bench.Ceiling && r.GatewayCPUUsPerReq == nil {
				t.Errorf("the embedded gateway's CPU time was not measured")
			}
			if cfg.Ceiling {
				if r.CeilingRequestsPerSec == nil || *r.CeilingRequestsPerSec <= 0 || r.Ratio == nil || *r.Ratio <= 0 {
					t.Errorf("--ceiling measured no ceiling: %v, ratio %v", m["ceiling_requests_per_sec"], m["ratio"])
				}
				if s == bench.Validate && onLinux && (r.CPURatio == nil || *r.CPURatio <= 0 || m["cpu_ratio"] == nil) {
					t.Errorf("validate --ceiling: no cpu ratio (%v)", m["cpu_ratio"])
				}
			} else if s != bench.Ceiling && s != bench.IdleMemory && m["ceiling_requests_per_sec"] != nil {
				t.Errorf("a ceiling without --ceiling")
			}
			switch s {
			case bench.Activate:
				if r.SignPerSec == nil || *r.SignPerSec <= 0 || r.SignRatio == nil {
					t.Errorf("signing alone not measured")
				}
				// Loaded twice: one signature per lease, then batched.
				if r.LeaseBatch != 64 || r.UnbatchedPerSec == nil || *r.UnbatchedPerSec <= 0 || r.UnbatchedP99us == nil || *r.UnbatchedP99us <= 0 ||
					r.BatchRatio == nil || *r.BatchRatio != r.RequestsPerSec / *r.UnbatchedPerSec {
					t.Errorf("activate: lease batch %d, one signature per lease %v, p99 %v, ratio %v", r.LeaseBatch, m["unbatched_requests_per_sec"], m["unbatched_p99_us"], m["batch_ratio"])
				}
				if r.LeasesPerSignature == nil || *r.LeasesPerSignature < 1 || r.LeasesAlone == nil || *r.LeasesAlone > 1 {
					t.Errorf("activate: leases per signature %v, alone %v", m["leases_per_signature"], m["leases_alone_share"])
				}
				for _, f := range []string{"lease_batch", "unbatched_requests_per_sec", "unbatched_p99_us", "batch_ratio", "leases_per_signature", "leases_alone_share"} {
					if m[f] == nil {
						t.Errorf("activate: JSON without %s", f)
					}
				}
				names := map[string]bool{}
				for _, tg := range r.Targets {
					names[tg.Name] = tg.Value != nil
				}
				if !names["activate batched / one signature per lease"] || !names["activate batched / lease signing alone"] {
					t.Errorf("activate: targets %v", r.Targets)
				}
			case bench.Mint:
				if r.Batch != cfg.Batch || r.KeysPerSec == nil || *r.KeysPerSec != r.RequestsPerSec*float64(cfg.Batch) {
					t.Errorf("mint: batch %d, keys/s %v", r.Batch, m["keys_per_sec"])
				}
			case bench.Mixed:
				if r.Ops["validate"].Requests == 0 {
					t.Errorf("mixed validated nothing: %v", r.Ops)
				}
			case bench.IdleMemory:
				if r.Sessions != cfg.Sessions || r.Requests != int64(cfg.Sessions) {
					t.Errorf("idle-memory opened %d of %d sessions", r.Requests, cfg.Sessions)
				}
				if onLinux && (r.GatewayRSSPerSession == nil || r.CeilingRSSPerConn == nil || r.Ratio == nil) {
					t.Errorf("idle-memory measured no memory: %v %v", m["gateway_rss_per_session_bytes"], m["ceiling_rss_per_conn_bytes"])
				}
			}
			if len(r.Targets) == 0 && s != bench.Mixed && s != bench.Ceiling {
				t.Errorf("no target reported")
			}
		})
	}
}

func TestOpenLoop(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts a gateway")
	}
	cfg := small(bench.Validate)
	cfg.RateFraction = 0.5
	cfg.Ceiling = true
	r, err := bench.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkSane(t, r)
	if r.Loop != "open" || r.OfferedRate == nil || r.MaxRequestsPerSec == nil {
		t.Fatalf("loop %q, offered %v, max %v", r.Loop, r.OfferedRate, r.MaxRequestsPerSec)
	}
	if got, want := *r.OfferedRate, *r.MaxRequestsPerSec/2; got < want*0.99 || got > want*1.01 {
		t.Fatalf("offered %.0f/s, want half of %.0f/s", got, *r.MaxRequestsPerSec)
	}
	// An open loop sends on schedule: it cannot answer much more than it
	// offers. How much of it a loaded machine answers is its speed, not
	// this test's business.
	if r.RequestsPerSec > *r.OfferedRate*1.2 {
		t.Fatalf("answered %.0f/s of %.0f/s offered", r.RequestsPerSec, *r.OfferedRate)
	}
	found := 0
	for _, tg := range r.Targets {
		if strings.Contains(tg.Name, "p99 at half") && tg.Value != nil {
			found++
		}
	}
	if found != 2 || r.P99Ratio == nil || r.CeilingOpenP99us == nil {
		t.Errorf("the p99-at-half-throughput targets (alone and over bare quic-go's) were not both judged: %+v", r.Targets)
	}
}

// TestPostgresNodes runs validate, activate, mint and mixed on two
// embedded gateways sharing a PostgreSQL database.
func TestPostgresNodes(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts gateways")
	}
	pgtest.Server(t)
	for _, s := range []bench.Scenario{bench.Validate, bench.Activate, bench.Mint, bench.Mixed} {
		t.Run(string(s), func(t *testing.T) {
			t.Parallel()
			cfg := small(s)
			cfg.Store, cfg.Nodes = pgtest.URL(t), 2
			r, err := bench.Run(hang.Context(t), cfg)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			m := checkSane(t, r)
			if r.Store != "postgresql" || r.Nodes != 2 || m["store"] != "postgresql" {
				t.Errorf("store %q, %d nodes (JSON %v), want postgresql and 2", r.Store, r.Nodes, m["store"])
			}
			if runtime.GOOS == "linux" && r.GatewayCPUUsPerReq == nil {
				t.Errorf("the gateways' CPU time was not measured")
			}
			var text bytes.Buffer
			r.WriteText(&text)
			if !strings.Contains(text.String(), "postgresql store, 2 nodes") {
				t.Errorf("the summary does not name the store and nodes:\n%s", text.String())
			}
		})
	}
}

// TestRevokeDelay revokes a few licenses through one node and finds each
// refused by the other.
func TestRevokeDelay(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts gateways")
	}
	cfg := bench.Config{Scenario: bench.RevokeDelay, Store: pgtest.URL(t), Revocations: 5}
	r, err := bench.Run(hang.Context(t), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if r.Requests != 5 || r.Nodes != 2 || r.P50us <= 0 || r.MaxUs < r.P99us || r.P99us < r.P50us {
		t.Fatalf("%d revocations on %d nodes, p50 %v µs, p99 %v µs, max %v µs", r.Requests, r.Nodes, r.P50us, r.P99us, r.MaxUs)
	}
	if r.StaleValidations == nil || *r.StaleValidationsMax > *r.StaleValidations {
		t.Errorf("stale validations %v, at most %v", r.StaleValidations, r.StaleValidationsMax)
	}
	if len(r.Targets) != 1 || r.Targets[0].Value == nil {
		t.Errorf("the revocation target was not judged: %+v", r.Targets)
	}
}

// runningGateway starts a gateway in this process, as an operator would
// run one apart from the benchmark, with keys minted and a shop
// registered.
func runningGateway(t *testing.T, keys int) (addr string, card *wire.Card, ks []keygen.Key, shop channel.PrivateKey) {
	t.Helper()
	dir := t.TempDir()
	if _, err := gateway.Init(dir, composite.MLDSA44Ed25519, "127.0.0.1:7443"); err != nil {
		t.Fatal(err)
	}
	srv, err := gateway.New(gateway.Config{Dir: dir, Listen: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	if _, err := service.LoadDemoCatalogue(srv.Store()); err != nil {
		t.Fatal(err)
	}
	p, _ := keygen.ParseProductCode("1AJS2")
	if ks, err = service.MintKeys(srv.Store(), srv.Identity().Hasher, p, keys, service.Spec{Seats: 1}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if shop, err = channel.GenerateKey(rand.Reader); err != nil {
		t.Fatal(err)
	}
	err = srv.Store().AddShop(store.Shop{Name: "test-shop", PublicKey: shop.Public(), Networks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		Products: []string{"1AJS2"}, Created: time.Now().Unix()})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.ReloadShops(); err != nil {
		t.Fatal(err)
	}
	c := *srv.Identity().Card
	return srv.Addr().String(), &c, ks, shop
}

// TestAgainstRunningGateway runs scenarios with --addr and --card against
// a gateway the benchmark did not start, over real loopback.
func TestAgainstRunningGateway(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts a gateway")
	}
	addr, card, keys, shop := runningGateway(t, 24)
	ctx := context.Background()
	cfg := small(bench.Validate)
	cfg.Licenses = 0
	cfg.Addr, cfg.Card, cfg.Keys, cfg.PID = addr, card, keys, os.Getpid()
	r, err := bench.Run(ctx, cfg)
	if err != nil {
		t.Fatalf("validate: %v", err)
	}
	checkSane(t, r)
	if r.Mode != "addr" {
		t.Errorf("mode %q", r.Mode)
	}
	if runtime.GOOS == "linux" && r.GatewayCPUUsPerReq == nil {
		t.Errorf("the gateway's pid was given but its CPU time was not measured")
	}

	// The first run freed the seats it took: the same keys serve again.
	// Without a pid, nothing of the gateway process is measured.
	cfg.PID = 0
	r, err = bench.Run(ctx, cfg)
	if err != nil {
		t.Fatalf("validate again with the same keys: %v", err)
	}
	m := checkSane(t, r)
	if m["gateway_cpu_us_per_req"] != nil || m["gateway_rss_bytes"] != nil {
		t.Errorf("gateway CPU or memory reported without its pid: %v %v", m["gateway_cpu_us_per_req"], m["gateway_rss_bytes"])
	}

	mint := small(bench.Mint)
	mint.Addr, mint.Card, mint.ShopKey = addr, card, shop
	if r, err = bench.Run(ctx, mint); err != nil {
		t.Fatalf("mint: %v", err)
	}
	checkSane(t, r)

	hs := small(bench.Handshake)
	hs.Addr, hs.Card, hs.Keys = addr, card, keys[:4]
	if r, err = bench.Run(ctx, hs); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	checkSane(t, r)
}

// TestFlood runs the flood scenario small: validations measured without
// and with a flood of Initials from loopback addresses, the flood's rate
// and the gateway's memory reported, both targets judged. Whether they are
// met is the machine's business, not this test's.
func TestFlood(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts a gateway")
	}
	cfg := small(bench.Flood)
	cfg.FloodRate, cfg.FloodSources = 2000, 4
	r, err := bench.Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	m := checkSane(t, r)
	if r.UnfloodedRequestsPerSec == nil || *r.UnfloodedRequestsPerSec <= 0 || r.Ratio == nil {
		t.Errorf("validations without the flood not measured: %v, ratio %v", m["unflooded_requests_per_sec"], m["ratio"])
	}
	if r.FloodSentPerSec == nil || *r.FloodSentPerSec <= 0 || r.FloodSources < 1 || r.FloodDefence == "" {
		t.Errorf("the flood was not reported: %v Initials/s from %d addresses, defence %q", m["flood_sent_per_sec"], r.FloodSources, r.FloodDefence)
	}
	if runtime.GOOS == "linux" {
		for _, k := range []string{"gateway_rss_base_bytes", "gateway_rss_peak_bytes", "gateway_rss_after_bytes"} {
			if v, ok := m[k].(float64); !ok || v <= 0 {
				t.Errorf("%s: %v", k, m[k])
			}
		}
	}
	if len(r.Targets) != 2 || r.Targets[0].Value == nil && runtime.GOOS == "linux" || r.Targets[1].Value == nil {
		t.Errorf("targets %+v", r.Targets)
	}
}

func TestReport(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts an echo server")
	}
	cfg := small(bench.Ceiling)
	cfg.Duration = 500 * time.Millisecond
	r, err := bench.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := bench.WriteReport(&b, []*bench.Result{r}); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if !strings.HasPrefix(page, "<!DOCTYPE html>") || strings.Count(page, "<svg") != 2 || !strings.Contains(page, "<polyline") {
		t.Fatalf("the report lacks its two charts:\n%.500s", page)
	}
	for _, ext := range []string{"<script", "<link", "src=", "url(", "https://"} {
		if strings.Contains(page, ext) {
			t.Errorf("the report loads something from elsewhere (%q)", ext)
		}
	}
	if n := strings.Count(page, "http://"); n != strings.Count(page, `xmlns="http://www.w3.org/2000/svg"`) {
		t.Errorf("the report names an address other than the SVG namespace")
	}
}

func TestConfigErrors(t *testing.T) {
	ctx := context.Background()
	for _, c := range []bench.Config{
		{Scenario: "nope"},
		{Scenario: bench.Validate, Streams: 2, Inflight: 3},
		{Scenario: bench.Validate, Addr: "127.0.0.1:1"},
		{Scenario: bench.Validate, PID: 1},
		{Scenario: bench.Validate, Rate: 10, RateFraction: 0.5},
		{Scenario: bench.Mint, Batch: 10001},
		{Scenario: bench.Validate, Conns: -1},
		{Scenario: bench.Validate, Nodes: 2},
		{Scenario: bench.RevokeDelay},
		{Scenario: bench.RevokeDelay, Store: "postgres://u@127.0.0.1:1/x", Nodes: 1},
		{Scenario: bench.Validate, Store: "host=127.0.0.1 dbname=x"},
		{Scenario: bench.Handshake, Store: "postgres://u@127.0.0.1:1/x", Nodes: 2},
		{Scenario: bench.Activate, GatewayLeaseBatch: 65},
		{Scenario: bench.Activate, GatewayLeaseBatch: -1},
	} {
		if _, err := bench.Run(ctx, c); !errors.Is(err, bench.ErrConfig) {
			t.Errorf("%+v: got %v, want ErrConfig", c, err)
		}
	}
}
