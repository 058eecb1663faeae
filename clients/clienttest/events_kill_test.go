package clienttest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/clients/bridge"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/internal/freeport"
	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/wire"
)

// gatewayBinary builds the gateway's command, tollgate, once per test
// run, as binary builds the clients' commands.
func gatewayBinary(t *testing.T) string {
	t.Helper()
	binMu.Lock()
	defer binMu.Unlock()
	const name = "tollgate"
	exe := filepath.Join(binDir, name)
	err, done := binDone[name]
	if !done {
		ctx, cancel := context.WithTimeout(context.Background(), hang.Timeout(t))
		defer cancel()
		var out []byte
		if out, err = exec.CommandContext(ctx, "go", "build", "-o", exe, "../../gateway/cmd/tollgate").CombinedOutput(); err != nil {
			err = &buildError{err, out}
		}
		binDone[name] = err
	}
	if err != nil {
		t.Fatalf("go build tollgate: %v", err)
	}
	return exe
}

// procLog collects what the test's processes print, to check at the end
// that no secret is among it.
type procLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p; the processes write concurrently.
func (l *procLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *procLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// proc is a running process of the test: the gateway or the bridge.
type proc struct {
	cmd  *exec.Cmd
	eof  chan struct{} // closed once its stderr is read to the end
	mu   sync.Mutex
	dead bool
}

// startProc runs exe with args, its output going to lg, and waits until a
// line of its stderr holds ready; it returns that line. The test's end
// kills the process.
func startProc(t *testing.T, lg *procLog, ready, exe string, args ...string) (*proc, string) {
	t.Helper()
	cmd := exec.Command(exe, args...)
	cmd.Stdout = lg
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, eof: make(chan struct{})}
	t.Cleanup(p.kill)
	line := make(chan string, 1)
	go func() {
		defer close(p.eof)
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			fmt.Fprintln(lg, sc.Text())
			if !sent && strings.Contains(sc.Text(), ready) {
				line <- sc.Text()
				sent = true
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	select {
	case l := <-line:
		return p, l
	case <-p.eof:
		t.Fatalf("%s %s ended before %q; its output:\n%s", filepath.Base(exe), args[0], ready, lg)
	case <-hang.Context(t).Done():
		t.Fatalf("%s %s did not print %q", filepath.Base(exe), args[0], ready)
	}
	return nil, ""
}

// kill SIGKILLs the process, if it still runs, and waits for it. It may
// be called from any goroutine, more than once.
func (p *proc) kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dead {
		return
	}
	p.dead = true
	p.cmd.Process.Kill()
	<-p.eof
	p.cmd.Wait()
}

// receiver is a shop's webhook endpoint: it checks each delivery's
// signature and records the events it took, in the order they came. It
// can answer 500 to a number of deliveries, and SIGKILL the bridge while
// one delivery waits for its answer.
type receiver struct {
	secret []byte
	done   chan struct{} // closed when the test ends
	came   chan struct{} // a non-blocking note that an event was recorded

	mu       sync.Mutex
	got      []bridge.EventJSON // every event taken, duplicates included
	problems []string           // deliveries that were not as they must be
	fail     int                // the next fail deliveries are answered 500
	failed   int                // deliveries answered 500
	killAt   uint64             // the event whose delivery kills the bridge
	kill     func()
	killed   chan uint64 // the event ids at which the bridge was killed
}

// newReceiver serves a receiver of webhooks signed with secret on
// loopback until the test ends, and returns it with its URL.
func newReceiver(t *testing.T, secret []byte) (*receiver, string) {
	r := &receiver{secret: secret, done: make(chan struct{}), came: make(chan struct{}, 1), killed: make(chan uint64, 1)}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(r.done) }) // runs first: no handler waits past the test
	return r, srv.URL + "/hooks/tollgate"
}

var sigRE = regexp.MustCompile(`^t=([0-9]+),v1=[0-9a-f]{64}$`)

// ServeHTTP takes one delivery: it refuses one that is not signed with
// the secret or not an event, answers 500 while told to, and records the
// rest.
func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil {
		return
	}
	sig := req.Header.Get("Tollgate-Signature")
	bad := func(why string) {
		r.mu.Lock()
		r.problems = append(r.problems, why)
		r.mu.Unlock()
		http.Error(w, why, http.StatusBadRequest)
	}
	m := sigRE.FindStringSubmatch(sig)
	if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" || m == nil {
		bad(fmt.Sprintf("%s with Content-Type %q and a signature of the wrong form", req.Method, req.Header.Get("Content-Type")))
		return
	}
	unix, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || !hmac.Equal([]byte(sig), []byte(bridge.Sign(r.secret, body, time.Unix(unix, 0)))) {
		bad("a signature that does not verify")
		return
	}
	var ev bridge.EventJSON
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil || req.Header.Get("Tollgate-Event-Id") != strconv.FormatUint(ev.ID, 10) {
		bad(fmt.Sprintf("an event that does not decode (%v) or whose id is not its Tollgate-Event-Id header", err))
		return
	}
	r.mu.Lock()
	if r.fail > 0 {
		r.fail--
		r.failed++
		r.mu.Unlock()
		http.Error(w, "not now", http.StatusInternalServerError)
		return
	}
	r.got = append(r.got, ev)
	kill := r.kill
	if ev.ID != r.killAt {
		kill = nil
	} else {
		r.killAt, r.kill = 0, nil
	}
	r.mu.Unlock()
	select {
	case r.came <- struct{}{}:
	default:
	}
	if kill != nil {
		// The bridge dies before it reads the answer: it must deliver
		// this event again.
		kill()
		r.killed <- ev.ID
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// armKill makes the delivery of event id kill the bridge with kill.
func (r *receiver) armKill(id uint64, kill func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.killAt, r.kill = id, kill
}

// failNext answers the next n deliveries 500.
func (r *receiver) failNext(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail = n
}

// waitFor waits until the receiver took event n, or the test's deadline.
func (r *receiver) waitFor(t *testing.T, n uint64) []bridge.EventJSON {
	t.Helper()
	ctx := hang.Context(t)
	for {
		r.mu.Lock()
		got := append([]bridge.EventJSON(nil), r.got...)
		r.mu.Unlock()
		for _, ev := range got {
			if ev.ID >= n {
				return got
			}
		}
		select {
		case <-r.came:
		case <-ctx.Done():
			t.Fatalf("the receiver took %d deliveries but not event %d", len(got), n)
		}
	}
}

// expectedEvent is what the test did that the event stream must say.
type expectedEvent struct {
	kind    clients.EventKind
	license string // hex
	order   string
	machine string // the activating machine's hostname
}

// app is an installation of the app on one machine.
type app struct {
	key      channel.PrivateKey
	fp       wire.Fingerprint
	hostname string
	license  [wire.LicenseIDSize]byte
}

func newApp(t *testing.T, i int) *app {
	t.Helper()
	k, err := channel.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := strconv.Itoa(i)
	fp := clients.Fingerprint(product, []clients.RawComponent{
		{Kind: wire.KindMachineID, Value: "kill-machine-" + id},
		{Kind: wire.KindMAC, Value: "02:00:00:00:01:" + id},
		{Kind: wire.KindDisk, Value: "kill-disk-" + id},
	})
	return &app{key: k, fp: fp, hostname: "host-" + id}
}

// client returns a new client of the app; the caller closes it.
func (a *app) client(t *testing.T, card *wire.Card) *clients.Client {
	t.Helper()
	c, err := clients.New(clients.Config{Card: card, InstallKey: a.key,
		Limits: channel.Limits{HandshakeTimeout: hang.Timeout(t)}, Timeout: hang.Timeout(t)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestEventStreamSurvivesKills: the real tollgate and tollgate-shop serve
// processes, a signed webhook receiver, keys ordered through the bridge
// and activated and deactivated by apps; in each round the bridge is
// SIGKILLed while a delivery waits for its answer (restarted on the same
// --state) and the gateway is SIGKILLed between two operations (restarted
// on the same data directory), and once the receiver answers 500 for a
// while. The receiver gets every event the gateway acknowledged, numbered
// 1..n, each first seen in order (a duplicate after a kill is allowed, a
// gap or a reordering is not), each saying what the apps did; and no
// process printed a key or a secret.
func TestEventStreamSurvivesKills(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs tollgate and tollgate-shop, and kills them")
	}
	gw, shopExe := gatewayBinary(t), binary(t, "tollgate-shop")
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	addr := freeUDP(t)
	runBinary(t, gw, "init", "--data", data, "--addr", addr).expect(t, "init", 0)
	runBinary(t, gw, "product", "add", "--data", data, "--code", product, "--name", "kill test", "--seats", "2").expect(t, "product add", 0)
	shopKey := filepath.Join(dir, "shop.key")
	runBinary(t, shopExe, "keygen", "--out", shopKey).expect(t, "keygen", 0)
	runBinary(t, gw, "shop", "add", "--data", data, "--name", "acme", "--key", shopKey+".pub",
		"--network", "127.0.0.0/8", "--product", product).expect(t, "shop add", 0)
	cardFile := filepath.Join(data, "server.card")
	card, err := wire.LoadCard(cardFile)
	if err != nil {
		t.Fatal(err)
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	secretHex := hex.EncodeToString(secret)
	secretFile := filepath.Join(dir, "webhook.secret")
	if err := os.WriteFile(secretFile, []byte(secretHex+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rcv, hook := newReceiver(t, []byte(secretHex))
	state := filepath.Join(dir, "bridge-state")

	var lg procLog
	serveGateway := func() *proc {
		p, _ := startProc(t, &lg, "msg=serving", gw, "serve", "--data", data, "--listen", addr)
		return p
	}
	bridgeURL := regexp.MustCompile(`url=(http://[^ ]+)`)
	serveBridge := func() (*proc, string) {
		p, line := startProc(t, &lg, "serving the shop bridge", shopExe, "serve", "--listen", "127.0.0.1:0",
			"--card", cardFile, "--key", shopKey, "--webhook", hook, "--webhook-secret-file", secretFile, "--state", state)
		m := bridgeURL.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("the bridge's first line names no URL: %q", line)
		}
		return p, m[1]
	}
	gateway := serveGateway()
	br, url := serveBridge()

	var expected []expectedEvent
	var minted []keygen.Key
	const rounds, perOrder = 3, 2
	for r := 1; r <= rounds; r++ {
		order := fmt.Sprintf("KILL-%d", r)
		keys := postOrder(t, url, order, perOrder)
		minted = append(minted, keys...)
		// The bridge dies on the round's second event, before its answer.
		killAt := uint64(len(expected) + 2)
		rcv.armKill(killAt, br.kill)
		if r == 2 {
			rcv.failNext(3) // the next three deliveries, then taken
		}
		var apps []*app
		for i, k := range keys {
			for j := 0; j < 2; j++ {
				a := newApp(t, 10*r+2*i+j)
				c := a.client(t, card)
				res, err := c.Activate(hang.Context(t), k, a.fp, a.hostname, "1.0")
				c.Close()
				if err != nil {
					t.Fatalf("round %d: activate key %d on %s: %v", r, i, a.hostname, err)
				}
				a.license = res.LicenseID
				apps = append(apps, a)
				expected = append(expected, expectedEvent{clients.EventActivated, hex.EncodeToString(a.license[:]), order, a.hostname})
			}
		}
		// Between two acknowledged operations, the gateway dies.
		gateway.kill()
		gateway = serveGateway()
		for _, a := range []*app{apps[0], apps[2]} {
			c := a.client(t, card)
			err := c.Deactivate(hang.Context(t), a.license)
			c.Close()
			if err != nil {
				t.Fatalf("round %d: deactivate on %s: %v", r, a.hostname, err)
			}
			expected = append(expected, expectedEvent{clients.EventDeactivated, hex.EncodeToString(a.license[:]), order, a.hostname})
		}
		select {
		case <-rcv.killed:
		case <-hang.Context(t).Done():
			t.Fatalf("round %d: the bridge never delivered event %d", r, killAt)
		}
		br, url = serveBridge()
	}

	n := uint64(len(expected))
	got := rcv.waitFor(t, n)
	rcv.mu.Lock()
	problems, failed := rcv.problems, rcv.failed
	rcv.mu.Unlock()
	if len(problems) > 0 {
		t.Fatalf("deliveries the receiver refused: %q", problems)
	}
	if failed != 3 {
		t.Fatalf("%d deliveries answered 500, want 3", failed)
	}
	var last uint64
	first := map[uint64]bridge.EventJSON{}
	dups := 0
	for i, ev := range got {
		switch {
		case ev.ID <= last:
			if !sameEvent(ev, first[ev.ID]) {
				t.Fatalf("event %d delivered again differs: %+v, first %+v", ev.ID, ev, first[ev.ID])
			}
			dups++
		case ev.ID == last+1:
			first[ev.ID], last = ev, ev.ID
		default:
			t.Fatalf("delivery %d is event %d after event %d: a gap or a reordering", i, ev.ID, last)
		}
	}
	if last != n {
		t.Fatalf("the receiver took events up to %d; the gateway acknowledged %d", last, n)
	}
	if dups < rounds {
		t.Fatalf("%d duplicate deliveries; each of the %d bridge kills left its event unanswered, to be delivered again", dups, rounds)
	}
	for i, w := range expected {
		ev := first[uint64(i+1)]
		if ev.Type != string(w.kind) || ev.License != w.license || ev.Order != w.order || ev.Machine != w.machine || ev.Product != product {
			t.Fatalf("event %d = %+v; want %s of license %s (order %s) on %s", i+1, ev, w.kind, w.license, w.order, w.machine)
		}
	}
	// The gateway holds no event the test did not see acknowledged.
	shop := shopClient(t, card, shopKey)
	if evs, err := shop.Events(hang.Context(t), n, 10); err != nil || len(evs) != 0 {
		t.Fatalf("events after %d: %d, %v; want none", n, len(evs), err)
	}

	br.kill()
	gateway.kill()
	out := lg.String()
	priv, err := os.ReadFile(shopKey)
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{secretHex, strings.TrimSpace(string(priv))}
	for _, k := range minted {
		secrets = append(secrets, k.Display(), strings.ReplaceAll(k.Display(), "-", ""))
	}
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Fatalf("a process printed a license key, the shop key or the webhook secret")
		}
	}
}

// sameEvent reports whether a and b say the same.
func sameEvent(a, b bridge.EventJSON) bool {
	at, bt := a.Time, b.Time
	a.Time, b.Time = time.Time{}, time.Time{}
	return a == b && at.Equal(bt)
}

// freeUDP returns a loopback UDP address no socket holds now, for a
// gateway process (internal/freeport).
func freeUDP(t *testing.T) string {
	t.Helper()
	addr, err := freeport.UDP()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// postOrder orders count keys through the bridge at url and returns them.
func postOrder(t *testing.T, url, order string, count int) []keygen.Key {
	t.Helper()
	body, _ := json.Marshal(bridge.OrderRequest{OrderID: order, Product: product, Count: count})
	req, err := http.NewRequestWithContext(hang.Context(t), http.MethodPost, url+"/v1/orders", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST /v1/orders: %v", err)
	}
	defer resp.Body.Close()
	var o bridge.OrderResponse
	if err := json.NewDecoder(resp.Body).Decode(&o); err != nil || resp.StatusCode != http.StatusCreated || len(o.Keys) != count {
		t.Fatalf("POST /v1/orders %s: status %d, %d keys (%v); want 201 and %d", order, resp.StatusCode, len(o.Keys), err, count)
	}
	keys := make([]keygen.Key, count)
	for i, s := range o.Keys {
		if keys[i], err = keygen.ParseKey(s); err != nil {
			t.Fatalf("order %s: key %d does not parse", order, i)
		}
	}
	return keys
}

// shopClient dials the gateway as the shop of the private key file.
func shopClient(t *testing.T, card *wire.Card, keyFile string) *clients.ShopClient {
	t.Helper()
	k, err := channel.ReadPrivateKeyFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	c, err := clients.NewShop(clients.ShopConfig{Card: card, ShopKey: k, Timeout: hang.Timeout(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
