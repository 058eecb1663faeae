package bridge

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/internal/hang"
)

// testEventSource is an event stream for the webhook delivery tests only
// (the shop channel's stream is not in this package's ShopClient yet): it
// answers Events from a fixed list exactly as the gateway's contract says,
// the events after a sequence number, oldest first, at most max.
type testEventSource struct{ events []clients.Event }

func (s *testEventSource) Events(ctx context.Context, after uint64, max int) ([]clients.Event, error) {
	var out []clients.Event
	for _, e := range s.events {
		if e.Seq > after && len(out) < max {
			out = append(out, e)
		}
	}
	return out, ctx.Err()
}

func events(n int) *testEventSource {
	s := &testEventSource{}
	for i := 1; i <= n; i++ {
		e := clients.Event{Seq: uint64(i), Time: time.Unix(1_800_000_000+int64(i), 0), Kind: clients.EventActivated,
			Order: "WEB-" + strconv.Itoa(i), Product: "1AJS2", Seat: 1, Seats: 3, Machine: "host-" + strconv.Itoa(i)}
		e.License[0] = byte(i)
		s.events = append(s.events, e)
	}
	return s
}

// receiver is a shop's webhook endpoint: it verifies each request as a
// shop would (verify below) and records the event ids it accepted.
type receiver struct {
	t      *testing.T
	secret []byte
	// answer decides the status of the n-th request (from 1) for event id.
	answer func(n int, id uint64) int
	mu     sync.Mutex
	calls  map[uint64]int
	got    []uint64 // ids answered 2xx, in order
	done   chan struct{}
	want   int // close done after this many accepted
}

func newReceiver(t *testing.T, secret []byte, want int, answer func(n int, id uint64) int) (*receiver, string) {
	r := &receiver{t: t, secret: secret, answer: answer, calls: map[uint64]int{}, done: make(chan struct{}), want: want}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return r, srv.URL + "/hooks/tollgate?token=receiver-secret"
}

// verify checks a webhook request exactly as a shop's receiver does: the
// signature's HMAC over "t.body" with the shared secret, compared in
// constant time, and the timestamp within 5 minutes of now.
func verify(secret []byte, header string, body []byte, now time.Time) error {
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("no timestamp")
	}
	if d := now.Sub(time.Unix(unix, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return errors.New("timestamp too old")
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts + "."))
	m.Write(body)
	want := m.Sum(nil)
	for _, s := range sigs {
		if got, err := hex.DecodeString(s); err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("no valid signature")
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return
	}
	if err := verify(r.secret, req.Header.Get("Tollgate-Signature"), body, time.Now()); err != nil {
		r.t.Errorf("webhook signature: %v", err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var ev EventJSON
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil || req.Header.Get("Content-Type") != "application/json" ||
		req.Header.Get("Tollgate-Event-Id") != strconv.FormatUint(ev.ID, 10) || req.URL.Query().Get("token") != "receiver-secret" {
		r.t.Errorf("webhook request: %v, %q, id header %q for event %d", err, req.Header.Get("Content-Type"), req.Header.Get("Tollgate-Event-Id"), ev.ID)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.calls[ev.ID]++
	status := r.answer(r.calls[ev.ID], ev.ID)
	if status/100 == 2 {
		r.got = append(r.got, ev.ID)
		if len(r.got) == r.want {
			close(r.done)
		}
	}
	r.mu.Unlock()
	if status/100 == 3 {
		w.Header().Set("Location", "/elsewhere")
	}
	w.WriteHeader(status)
}

func (r *receiver) wait(t *testing.T) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(hang.Timeout(t)):
		t.Fatalf("the webhooks were not all delivered")
	}
}

func (r *receiver) accepted() []uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]uint64(nil), r.got...)
}

// runDeliverer runs d until stop is called, which waits for it to end.
func runDeliverer(t *testing.T, d *Deliverer) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func fastConfig(t *testing.T, src EventSource, secret []byte, urls ...string) DelivererConfig {
	st, err := OpenState(filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	return DelivererConfig{Events: src, Webhooks: urls, Secret: secret, State: st,
		RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond, PollMin: time.Millisecond, PollMax: 5 * time.Millisecond}
}

// TestWebhooksDeliveredInOrder: events go, signed, to every webhook in
// order; one webhook failing an event twice (a 500, then a redirect) holds
// the cursor back until it takes it; the cursor file is 0600 and a new
// deliverer on the same state sends nothing twice.
func TestWebhooksDeliveredInOrder(t *testing.T) {
	t.Parallel()
	secret := []byte("whsec-test-0123456789")
	src := events(150) // more than a batch
	good, goodURL := newReceiver(t, secret, 150, func(int, uint64) int { return 200 })
	flaky, flakyURL := newReceiver(t, secret, 150, func(n int, id uint64) int {
		switch {
		case id == 7 && n == 1:
			return 500
		case id == 7 && n == 2:
			return 302
		}
		return 204
	})
	cfg := fastConfig(t, src, secret, goodURL, flakyURL)
	d, err := NewDeliverer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := runDeliverer(t, d)
	good.wait(t)
	flaky.wait(t)
	// The cursor is written after the last webhook's 2xx; wait for it.
	deadline := time.Now().Add(hang.Timeout(t))
	for c, _ := cfg.State.Cursor(); c != 150; c, _ = cfg.State.Cursor() {
		if time.Now().After(deadline) {
			t.Fatalf("cursor %d, want 150", c)
		}
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	for _, r := range []*receiver{good, flaky} {
		got := r.accepted()
		for i, id := range got {
			if id != uint64(i+1) {
				t.Fatalf("accepted %v..., want 1..150 in order", got[:i+1])
			}
		}
	}
	if good.calls[7] != 1 || flaky.calls[7] != 3 {
		t.Fatalf("event 7 was sent %d and %d times, want 1 and 3 (a 500, a redirect not followed, a 204)", good.calls[7], flaky.calls[7])
	}
	fi, err := os.Stat(filepath.Join(cfg.State.dir, "cursor"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("cursor file: %v, mode %v", err, fi.Mode().Perm())
	}
	// A new deliverer on the same state resumes after the cursor.
	src.events = append(src.events, events(151).events[150])
	good.done, good.want = make(chan struct{}), 151
	d2, err := NewDeliverer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	runDeliverer(t, d2)
	good.wait(t)
	if got := good.accepted(); len(got) != 151 || got[150] != 151 {
		t.Fatalf("after a restart the receiver got %d events, last %d; want 151, only 151 new", len(got), got[len(got)-1])
	}
}

// TestWebhookGivenUp: an event a webhook does not take within the retry
// time (here a webhook that never answers within the post timeout) is
// recorded in failed.json, without the webhook's query, counted, and the
// deliverer goes on to the next event.
func TestWebhookGivenUp(t *testing.T) {
	t.Parallel()
	secret := []byte("whsec-test-0123456789")
	src := events(2)
	hold := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Tollgate-Event-Id") == "1" {
			select { // never answers event 1 before the bridge gives up on it
			case <-r.Context().Done():
			case <-hold:
			}
			return
		}
		w.WriteHeader(200)
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(hold) }) // before slow.Close, which waits for its handlers
	cfg := fastConfig(t, src, secret, slow.URL+"/hook?key=receiver-secret")
	cfg.Timeout, cfg.RetryFor = 50*time.Millisecond, time.Nanosecond
	cfg.Metrics = NewMetrics()
	d, err := NewDeliverer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := runDeliverer(t, d)
	deadline := time.Now().Add(hang.Timeout(t))
	for c, _ := cfg.State.Cursor(); c != 2; c, _ = cfg.State.Cursor() {
		if time.Now().After(deadline) {
			t.Fatalf("cursor %d, want 2", c)
		}
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	failed, err := cfg.State.Failed()
	if err != nil {
		t.Fatal(err)
	}
	if len(failed) != 1 || failed[0].Event.ID != 1 || len(failed[0].Webhooks) != 1 {
		t.Fatalf("failed events %+v, want event 1", failed)
	}
	w := failed[0].Webhooks[0]
	if w.URL != slow.URL+"/hook" || w.Attempts != 1 || !strings.Contains(w.Last, "no answer within") {
		t.Fatalf("failed webhook %+v", w)
	}
	fi, err := os.Stat(filepath.Join(cfg.State.dir, "failed.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("failed.json: %v, mode %v", err, fi.Mode().Perm())
	}
	rec := httptest.NewRecorder()
	cfg.Metrics.handler.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{"tollgate_bridge_webhook_given_up_total 1", `tollgate_bridge_webhook_deliveries_total{result="failed"} 1`,
		`tollgate_bridge_webhook_deliveries_total{result="ok"} 1`, "tollgate_bridge_webhook_cursor 2"} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	b, _ := os.ReadFile(filepath.Join(cfg.State.dir, "failed.json"))
	if strings.Contains(string(b), "receiver-secret") || strings.Contains(string(b), string(secret)) {
		t.Fatalf("failed.json holds a secret")
	}
}

// TestDelivererConfig: no URL, a URL that is not http(s), or no secret is
// refused, and the refusal does not print a URL's query.
func TestDelivererConfig(t *testing.T) {
	st, err := OpenState(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []DelivererConfig{
		{Events: events(0), State: st, Secret: []byte("s")},
		{Events: events(0), State: st, Secret: []byte("s"), Webhooks: []string{"ftp://shop.example/hook?k=zz-secret"}},
		{Events: events(0), State: st, Secret: []byte("s"), Webhooks: []string{"/relative?k=zz-secret"}},
		{Events: events(0), State: st, Webhooks: []string{"http://127.0.0.1/hook"}},
	} {
		if _, err := NewDeliverer(c); err == nil || strings.Contains(err.Error(), "zz-secret") {
			t.Errorf("NewDeliverer(%v): %v", c.Webhooks, err)
		}
	}
}
