package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/clients/bridge"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/wire"
)

// MintHTTPFigures is what mint-http measured: the same orders through the shop's
// HTTP bridge and through the Go shop client, batch size by batch size,
// and the bridge's webhook delivery.
type MintHTTPFigures struct {
	// Bridge says which bridge was measured.
	Bridge  string          `json:"bridge"`
	Batches []MintHTTPBatch `json:"batches"`
	Webhook *WebhookFigures `json:"webhook"`
}

// MintHTTPBatch is one batch size: orders through the bridge, orders
// through the shop client, and the ratio of their keys per second.
type MintHTTPBatch struct {
	Batch  int      `json:"batch"`
	Bridge MintPath `json:"bridge"`
	Direct MintPath `json:"direct"`
	Ratio  *float64 `json:"ratio"` // bridge keys/s over direct keys/s; null when direct minted nothing
	hist   [2]*hdrhistogram.Histogram
}

// MintPath is one way of placing orders, over its window.
type MintPath struct {
	Orders       int64   `json:"orders"`
	DurationS    float64 `json:"duration_s"`
	OrdersPerSec float64 `json:"orders_per_sec"`
	KeysPerSec   float64 `json:"keys_per_sec"`
	P50us        float64 `json:"p50_us"`
	P99us        float64 `json:"p99_us"`
}

// WebhookFigures is the webhook delivery of Activations activations: the
// events delivered a second, from the first activation's answer to the
// last event's 2xx, and the delay from each activation's answer to its
// event's 2xx.
type WebhookFigures struct {
	Events       int     `json:"events"`
	EventsPerSec float64 `json:"events_per_sec"`
	DelayP50us   float64 `json:"delay_p50_us"`
	DelayP99us   float64 `json:"delay_p99_us"`
	DelayMaxUs   float64 `json:"delay_max_us"`
}

// mintHTTPBatches are the batch sizes mint-http measures.
var mintHTTPBatches = []int{1, 10, 1000}

// runMintHTTP: one shop (registered for the embedded gateway) places
// orders of 1, 10 and 1,000 keys, Inflight at a time for Duration each
// (two halves of it, in the order direct, bridge, bridge, direct),
// through an in-process bridge.Server on a loopback HTTP listener (POST
// /v1/orders, JSON) and through the Go shop client (Mint) the bridge
// itself uses, on the same connection to the gateway; the ratio is the
// bridge's keys per second over the client's. Then Activations fresh keys
// are activated, Conns at a time, while a bridge.Deliverer with
// tollgate-shop serve's settings posts each event to a webhook receiver
// on loopback. Target: a ratio of at least 0.8 for batches of 1,000.
func runMintHTTP(ctx context.Context, cfg *Config, r *Result) (err error) {
	t, err := prepare(ctx, cfg, need{shops: 1})
	if err != nil {
		return err
	}
	defer closeTarget(t, &err)
	shop, err := clients.NewShop(clients.ShopConfig{Card: t.cardOf(0), ShopKey: t.shopKeys[0], Timeout: sideTimeout})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSetup, err)
	}
	defer shop.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSetup, err)
	}
	hs := &http.Server{Handler: bridge.New(bridge.Config{Shop: shop}).Handler(), ReadHeaderTimeout: sideTimeout}
	go hs.Serve(ln)
	defer hs.Close()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Inflight}, Timeout: sideTimeout}
	defer hc.CloseIdleConnections()
	orders := "http://" + ln.Addr().String() + "/v1/orders"

	var run [4]byte
	rand.Read(run[:])
	prefix := "bench-http-" + hex.EncodeToString(run[:])
	viaBridge := func(ctx context.Context, id string, batch int) error {
		return postOrder(ctx, hc, orders, bridge.OrderRequest{OrderID: id, Product: cfg.Product, Count: batch})
	}
	direct := func(ctx context.Context, id string, batch int) error {
		keys, err := shop.Mint(ctx, id, cfg.Product, batch, clients.MintSpec{})
		if err == nil && len(keys) != batch {
			return fmt.Errorf("%w: %d keys for an order of %d", ErrBroken, len(keys), batch)
		}
		return err
	}
	m := &MintHTTPFigures{Bridge: "in-process bridge.Server (clients/bridge) on a loopback HTTP listener, one shop client to the gateway"}
	r.MintHTTP = m
	if cfg.Warmup > 0 {
		if _, err := ordersFor(ctx, cfg, cfg.Warmup, prefix+"-warm", 1, viaBridge, r); err != nil {
			return err
		}
	}
	paths := [2]func(context.Context, string, int) error{direct, viaBridge}
	names := [2]string{"direct", "bridge"}
	for _, batch := range mintHTTPBatches {
		b := MintHTTPBatch{Batch: batch}
		// Half windows in the order direct, bridge, bridge, direct: what
		// the store accumulates and the machine's other load weigh on both
		// alike.
		var phs [2]ordersPhase
		var cpu time.Duration
		cpuOK := true
		for k, i := range []int{0, 1, 1, 0} {
			c0, ok0 := t.cpu()
			ph, err := ordersFor(ctx, cfg, cfg.Duration/2, fmt.Sprintf("%s-%s-%d-%d", prefix, names[i], batch, k), batch, paths[i], r)
			if err != nil {
				return err
			}
			c1, ok1 := t.cpu()
			if i == 1 {
				cpu, cpuOK = cpu+c1-c0, cpuOK && ok0 && ok1
			}
			phs[i].add(ph)
			if ctx.Err() != nil {
				return nil
			}
		}
		for i, ph := range phs {
			b.hist[i] = ph.hist
			path := MintPath{Orders: ph.orders, DurationS: ph.elapsed.Seconds(), P50us: usOf(ph.hist, 50), P99us: usOf(ph.hist, 99)}
			if ph.elapsed > 0 {
				path.OrdersPerSec = float64(ph.orders) / ph.elapsed.Seconds()
				path.KeysPerSec = path.OrdersPerSec * float64(batch)
			}
			if i == 0 {
				b.Direct = path
			} else {
				b.Bridge = path
			}
			if cfg.Progress != nil {
				fmt.Fprintf(cfg.Progress, "mint-http: batches of %d via %s: %.0f orders/s, %.0f keys/s\n", batch, names[i], path.OrdersPerSec, path.KeysPerSec)
			}
		}
		if cpuOK && phs[1].orders > 0 {
			// The gateway's share of the bridge's orders: the last batch's
			// is the result's.
			r.GatewayCPUUsPerReq = ptr(float64(cpu.Microseconds()) / float64(phs[1].orders))
			r.GatewayCPUCores = ptr(cpu.Seconds() / phs[1].elapsed.Seconds())
		}
		if b.Direct.KeysPerSec > 0 {
			b.Ratio = ptr(b.Bridge.KeysPerSec / b.Direct.KeysPerSec)
		}
		m.Batches = append(m.Batches, b)
	}
	if len(m.Batches) == 0 {
		return nil
	}
	// The result's main figures are the bridge's, batches of 1,000.
	last := m.Batches[len(m.Batches)-1]
	r.DurationS, r.Requests, r.RequestsPerSec = last.Bridge.DurationS, last.Bridge.Orders, last.Bridge.OrdersPerSec
	h := last.hist[1]
	r.hist = h
	r.P50us, r.P90us, r.P99us, r.P999us = usOf(h, 50), usOf(h, 90), usOf(h, 99), usOf(h, 99.9)
	r.MaxUs, r.MeanUs = float64(h.Max()), h.Mean()
	r.Batch, r.KeysPerSec, r.Ratio = last.Batch, ptr(last.Bridge.KeysPerSec), last.Ratio
	r.target("bridge keys per second over the shop client's, batches of 1,000", ">= 0.8", last.Ratio, func(v float64) bool { return v >= 0.8 }, "")

	if m.Webhook, err = webhookDelivery(ctx, cfg, t, shop, prefix); err != nil {
		return err
	}
	r.note("webhook delivery with tollgate-shop serve's settings: the event stream read again 200 ms after a partial read, backing off to 5 s while idle; the delay includes that wait")
	return nil
}

// postOrder places one order through the bridge and checks its answer.
func postOrder(ctx context.Context, hc *http.Client, url string, o bridge.OrderRequest) error {
	body, err := json.Marshal(o)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		io.Copy(io.Discard, resp.Body)
		return httpStatus(resp.StatusCode)
	}
	var ans bridge.OrderResponse
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil || len(ans.Keys) != o.Count {
		return fmt.Errorf("%w: an order of %d answered with %d keys (%v)", ErrBroken, o.Count, len(ans.Keys), err)
	}
	return nil
}

// httpStatus is a bridge's answer other than 201.
type httpStatus int

// Error names the status.
func (s httpStatus) Error() string { return "HTTP " + strconv.Itoa(int(s)) }

// ordersPhase is what one window of orders did.
type ordersPhase struct {
	orders  int64
	elapsed time.Duration
	hist    *hdrhistogram.Histogram
}

// add counts o's orders, time and latencies in ph too.
func (ph *ordersPhase) add(o *ordersPhase) {
	if ph.hist == nil {
		ph.hist = newHist()
	}
	ph.orders += o.orders
	ph.elapsed += o.elapsed
	ph.hist.Merge(o.hist)
}

// ordersFor places orders of batch keys with place, Inflight at a time,
// until d has passed (each order started in the window is waited for);
// refusals are counted in r's errors.
func ordersFor(ctx context.Context, cfg *Config, d time.Duration, prefix string, batch int, place func(context.Context, string, int) error, r *Result) (*ordersPhase, error) {
	var mu sync.Mutex
	ph := &ordersPhase{hist: newHist()}
	var broken error
	start := time.Now()
	end := start.Add(d)
	var wg sync.WaitGroup
	for w := 0; w < cfg.Inflight; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for seq := 0; time.Now().Before(end) && ctx.Err() == nil; seq++ {
				t0 := time.Now()
				err := place(ctx, fmt.Sprintf("%s-%d-%d", prefix, w, seq), batch)
				us := max(1, time.Since(t0).Microseconds())
				mu.Lock()
				switch {
				case err == nil:
					ph.orders++
					ph.hist.RecordValue(us)
				case ctx.Err() != nil:
				case errors.Is(err, ErrBroken):
					broken = err
				default:
					var hs httpStatus
					name := "order failed"
					if s := wire.StatusOf(err); s != 0 {
						name = s.String()
					} else if errors.As(err, &hs) {
						name = hs.Error()
					}
					r.Errors[name]++
				}
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	ph.elapsed = time.Since(start)
	return ph, broken
}

// webhookDelivery mints cfg.Activations keys, starts a deliverer from the
// end of the shop's event stream to a receiver on loopback, activates the
// keys cfg.Conns at a time, and waits until every activation's event was
// answered 2xx.
func webhookDelivery(ctx context.Context, cfg *Config, t *target, shop *clients.ShopClient, prefix string) (*WebhookFigures, error) {
	var keys []keygen.Key
	for n := 0; len(keys) < cfg.Activations; n++ {
		ks, err := shop.Mint(ctx, fmt.Sprintf("%s-hook-%d", prefix, n), cfg.Product, min(cfg.Activations-len(keys), wire.MaxMintCount), clients.MintSpec{Seats: 1})
		if err != nil {
			return nil, fmt.Errorf("%w: minting the keys to activate: %w", ErrSetup, err)
		}
		keys = append(keys, ks...)
	}
	// Start after the events already in the stream.
	var cursor uint64
	for {
		evs, err := shop.Events(ctx, cursor, wire.MaxEvents)
		if err != nil {
			return nil, fmt.Errorf("%w: reading the event stream: %w", ErrSetup, err)
		}
		if len(evs) == 0 {
			break
		}
		cursor = evs[len(evs)-1].Seq
	}
	dir, err := os.MkdirTemp("", "tollgate-bench-hook-")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSetup, err)
	}
	defer os.RemoveAll(dir)
	state, err := bridge.OpenState(dir)
	if err == nil {
		err = state.SetCursor(cursor)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSetup, err)
	}
	secret := make([]byte, 32)
	rand.Read(secret)

	rcv := &hookReceiver{secret: secret, got: map[string]time.Time{}, all: make(chan struct{}), want: len(keys)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSetup, err)
	}
	hs := &http.Server{Handler: rcv, ReadHeaderTimeout: sideTimeout}
	go hs.Serve(ln)
	defer hs.Close()
	d, err := bridge.NewDeliverer(bridge.DelivererConfig{Events: shop, Webhooks: []string{"http://" + ln.Addr().String() + "/hook"}, Secret: secret, State: state})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSetup, err)
	}
	dctx, stop := context.WithCancel(ctx)
	delivering := make(chan error, 1)
	go func() { delivering <- d.Run(dctx) }()
	defer func() { stop(); <-delivering }()

	var mu sync.Mutex
	acked := make(map[string]time.Time, len(keys))
	var actErr error
	next := make(chan keygen.Key, len(keys))
	for _, k := range keys {
		next <- k
	}
	close(next)
	began := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < cfg.Conns; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			install, err := channel.GenerateKey(rand.Reader)
			if err != nil {
				mu.Lock()
				actErr = err
				mu.Unlock()
				return
			}
			c, err := clients.New(clients.Config{Card: t.cardOf(0), InstallKey: install, Timeout: sideTimeout})
			if err != nil {
				mu.Lock()
				actErr = err
				mu.Unlock()
				return
			}
			defer c.Close()
			rnd := newRand()
			for k := range next {
				res, err := c.Activate(ctx, k, randomFingerprint(rnd), "bench-hook", "bench")
				at := time.Now()
				mu.Lock()
				if err != nil {
					actErr = err
				} else {
					acked[hex.EncodeToString(res.LicenseID[:])] = at
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	if actErr != nil {
		return nil, fmt.Errorf("%w: activating: %w", ErrBroken, actErr)
	}
	select {
	case <-rcv.all:
	case err := <-delivering:
		return nil, fmt.Errorf("%w: the deliverer stopped: %w", ErrBroken, err)
	case <-time.After(sideTimeout + 30*time.Second): // a wait of the deliverer's and a post's
		return nil, fmt.Errorf("%w: %d of %d events delivered", ErrBroken, rcv.count(), len(keys))
	case <-ctx.Done():
		return &WebhookFigures{}, nil
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if rcv.bad > 0 {
		return nil, fmt.Errorf("%w: %d deliveries did not verify", ErrBroken, rcv.bad)
	}
	hist := newHist()
	var lastIn time.Time
	for lic, at := range acked {
		in, ok := rcv.got[lic]
		if !ok {
			return nil, fmt.Errorf("%w: an activation's event was not delivered", ErrBroken)
		}
		hist.RecordValue(max(1, in.Sub(at).Microseconds()))
		if in.After(lastIn) {
			lastIn = in
		}
	}
	return &WebhookFigures{Events: len(acked), EventsPerSec: float64(len(acked)) / lastIn.Sub(began).Seconds(),
		DelayP50us: usOf(hist, 50), DelayP99us: usOf(hist, 99), DelayMaxUs: float64(hist.Max())}, nil
}

// hookReceiver is a shop's webhook: it verifies each post's signature and
// notes when each activation's event came.
type hookReceiver struct {
	secret []byte
	want   int
	all    chan struct{} // closed once want activations came

	mu  sync.Mutex
	got map[string]time.Time // license id (hex) → first 2xx
	bad int
}

// ServeHTTP takes one delivery: 400 unless it verifies, else 204.
func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	now := time.Now()
	var ev bridge.EventJSON
	ok := err == nil && json.Unmarshal(body, &ev) == nil
	if ok {
		sig := r.Header.Get("Tollgate-Signature")
		unix, _, _ := bytes.Cut([]byte(sig), []byte(","))
		sec, err := strconv.ParseInt(string(bytes.TrimPrefix(unix, []byte("t="))), 10, 64)
		ok = err == nil && sig == bridge.Sign(h.secret, body, time.Unix(sec, 0))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !ok {
		h.bad++
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if _, seen := h.got[ev.License]; !seen && ev.Type == string(clients.EventActivated) {
		h.got[ev.License] = now
		if len(h.got) == h.want {
			close(h.all)
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// count returns the activations whose event came.
func (h *hookReceiver) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.got)
}

// writeText writes m's figures for people.
func (m *MintHTTPFigures) writeText(p func(k, format string, args ...any)) {
	p("bridge", "%s", m.Bridge)
	for _, b := range m.Batches {
		ratio := "-"
		if b.Ratio != nil {
			ratio = fmt.Sprintf("%.3f", *b.Ratio)
		}
		p(fmt.Sprintf("  batch %d", b.Batch), "bridge %.0f orders/s, %.0f keys/s (p50 %s, p99 %s); shop client %.0f orders/s, %.0f keys/s (p50 %s, p99 %s); ratio %s",
			b.Bridge.OrdersPerSec, b.Bridge.KeysPerSec, fmtUs(b.Bridge.P50us), fmtUs(b.Bridge.P99us),
			b.Direct.OrdersPerSec, b.Direct.KeysPerSec, fmtUs(b.Direct.P50us), fmtUs(b.Direct.P99us), ratio)
	}
	if w := m.Webhook; w != nil {
		p("webhook", "%d events, %.0f events/s; delay from the activation's answer to the webhook's 2xx p50 %s, p99 %s, max %s",
			w.Events, w.EventsPerSec, fmtUs(w.DelayP50us), fmtUs(w.DelayP99us), fmtUs(w.DelayMaxUs))
	}
}
