package bench_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/bench"
)

// TestMintHTTP runs mint-http briefly on an embedded gateway: every batch
// size is ordered through the bridge and through the shop client, each
// with a ratio, and every activation's event reaches the webhook.
func TestMintHTTP(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts a gateway")
	}
	cfg := bench.Config{Scenario: bench.MintHTTP, Duration: 300 * time.Millisecond, Warmup: 50 * time.Millisecond,
		Conns: 2, Inflight: 2, Activations: 20}
	r, err := bench.Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	checkSane(t, r)
	m := r.MintHTTP
	if m == nil || len(m.Batches) != 3 {
		t.Fatalf("mint-http measured %+v; want batches of 1, 10 and 1,000", m)
	}
	for i, want := range []int{1, 10, 1000} {
		b := m.Batches[i]
		if b.Batch != want || b.Bridge.Orders == 0 || b.Direct.Orders == 0 || b.Ratio == nil || *b.Ratio <= 0 {
			t.Fatalf("batch %d: %+v", want, b)
		}
		if b.Bridge.KeysPerSec != b.Bridge.OrdersPerSec*float64(want) {
			t.Fatalf("batch %d: bridge %v keys/s for %v orders/s", want, b.Bridge.KeysPerSec, b.Bridge.OrdersPerSec)
		}
	}
	if r.Batch != 1000 || r.KeysPerSec == nil || r.Ratio == nil || r.Requests != m.Batches[2].Bridge.Orders {
		t.Fatalf("the result's figures are not the bridge's batches of 1,000: batch %d, %d orders", r.Batch, r.Requests)
	}
	w := m.Webhook
	if w == nil || w.Events != cfg.Activations || w.EventsPerSec <= 0 || w.DelayP50us <= 0 || w.DelayP99us < w.DelayP50us {
		t.Fatalf("webhook: %+v; want %d events with their delays", w, cfg.Activations)
	}
	if len(r.Targets) != 1 || r.Targets[0].Value == nil {
		t.Fatalf("targets %+v; want the ratio's", r.Targets)
	}
	var text strings.Builder
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"batch 1000", "webhook", "ratio"} {
		if !strings.Contains(text.String(), want) {
			t.Fatalf("text without %q:\n%s", want, text.String())
		}
	}
}
