package bridge

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/store/storetest"
)

// example is one of examples/shop's order handlers: how to mint with it
// and how to run its webhook receiver on a port.
type example struct {
	lang, interpreter string
	mint              func(order string) []string
	webhook           func(port int) []string
}

var examples = []example{
	{"node", "node",
		func(o string) []string { return []string{"shop.js", "mint", o, "1AJS2", "2"} },
		func(p int) []string { return []string{"shop.js", "webhook", fmt.Sprint(p)} }},
	{"python", "python3",
		func(o string) []string { return []string{"shop.py", "mint", o, "1AJS2", "2"} },
		func(p int) []string { return []string{"shop.py", "webhook", fmt.Sprint(p)} }},
	{"php", "php",
		func(o string) []string { return []string{"mint.php", o, "1AJS2", "2"} },
		func(p int) []string { return []string{"-S", fmt.Sprintf("127.0.0.1:%d", p), "webhook.php"} }},
}

// TestShopExamples runs examples/shop's Node.js, Python and PHP order
// handlers against a real gateway and bridge: each mints an order and its
// retry (201, then 200 with the same keys), and receives, verifies and
// prints the signed webhook of the activation of one of its keys; a
// webhook with a forged signature is rejected. An interpreter that is not
// installed skips its example (CI installs all three, and fails there).
func TestShopExamples(t *testing.T) {
	t.Parallel()
	f := start(t, fixtureOpts{})
	secret := []byte("example-webhook-secret")
	var urls []string
	type running struct {
		example
		dir   string
		lines chan string
	}
	var run []running
	for _, ex := range examples {
		if _, err := exec.LookPath(ex.interpreter); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not installed: .ci/run installs it", ex.interpreter)
			}
			t.Logf("skipping the %s example: %s is not installed", ex.lang, ex.interpreter)
			continue
		}
		dir, err := filepath.Abs(filepath.Join("..", "..", "examples", "shop", ex.lang))
		if err != nil {
			t.Fatal(err)
		}
		port := freeTCPPort(t)
		cmd := exec.Command(ex.interpreter, ex.webhook(port)...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "TOLLGATE_WEBHOOK_SECRET="+string(secret))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		lines := make(chan string, 100)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
		}()
		waitListening(t, port)
		urls = append(urls, fmt.Sprintf("http://127.0.0.1:%d/webhook", port))
		run = append(run, running{ex, dir, lines})
	}
	if len(run) == 0 {
		t.Skip("none of node, python3 and php is installed")
	}

	ctx, cancel := context.WithCancel(hang.Context(t))
	defer cancel()
	state, err := OpenState(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDeliverer(DelivererConfig{Events: f.shop, Webhooks: urls, Secret: secret, State: state,
		PollMin: 20 * time.Millisecond, PollMax: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() { cancel(); <-done }()

	var keys []string
	for _, r := range run {
		order := "EX-" + r.lang
		var first, retry struct {
			Status int      `json:"status"`
			Keys   []string `json:"keys"`
		}
		for i, v := range []any{&first, &retry} {
			cmd := exec.CommandContext(hang.Context(t), r.interpreter, r.mint(order)...)
			cmd.Dir = r.dir
			cmd.Env = append(os.Environ(), "TOLLGATE_BRIDGE="+f.url)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%s mint (try %d): %v", r.lang, i+1, err)
			}
			if err := json.Unmarshal(out, v); err != nil {
				t.Fatalf("%s mint printed %q: %v", r.lang, out, err)
			}
		}
		if first.Status != 201 || retry.Status != 200 || len(first.Keys) != 2 || !slices.Equal(first.Keys, retry.Keys) {
			t.Fatalf("%s: the order answered %d with %d keys, its retry %d with the same keys: %v; want 201, 2, 200, true",
				r.lang, first.Status, len(first.Keys), retry.Status, slices.Equal(first.Keys, retry.Keys))
		}
		keys = append(keys, first.Keys[0])
	}

	// One activation: every receiver gets its webhook, verifies it and
	// prints it.
	key, err := keygen.ParseKey(keys[0])
	if err != nil {
		t.Fatal(err)
	}
	ik, _ := channel.GenerateKey(rand.Reader)
	app, err := clients.New(clients.Config{Card: f.g.Card, InstallKey: ik, Timeout: hang.Timeout(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	if _, err := app.Activate(ctx, key, storetest.Fingerprint(1), "example-host", "1.0"); err != nil {
		t.Fatal(err)
	}
	for _, r := range run {
		if line := nextLine(t, r.lines); line != "verified activated 1" {
			t.Errorf("%s webhook printed %q, want %q", r.lang, line, "verified activated 1")
		}
	}
	// A forged signature is rejected.
	body := `{"id":99,"type":"revoked"}`
	for i, r := range run {
		req := fmt.Sprintf("POST /webhook HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: %d\r\nTollgate-Signature: t=%d,v1=%064x\r\n\r\n%s",
			len(body), time.Now().Unix(), 0, body)
		c, err := net.Dial("tcp", strings.TrimSuffix(strings.TrimPrefix(urls[i], "http://"), "/webhook"))
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte(req))
		bufio.NewReader(c).ReadString('\n')
		c.Close()
		if line := nextLine(t, r.lines); line != "rejected" {
			t.Errorf("%s webhook printed %q for a forged signature, want rejected", r.lang, line)
		}
	}
}

// freeTCPPort returns a loopback TCP port no socket holds now.
func freeTCPPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// waitListening waits until something accepts connections on the port.
func waitListening(t *testing.T, port int) {
	t.Helper()
	ctx := hang.Context(t)
	for {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("nothing listens on port %d", port)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// nextLine returns the next line a receiver printed that is not its
// start-up line.
func nextLine(t *testing.T, lines chan string) string {
	t.Helper()
	ctx := hang.Context(t)
	for {
		select {
		case l := <-lines:
			if strings.HasPrefix(l, "listening on") || strings.Contains(l, "Development Server") || l == "" {
				continue
			}
			return l
		case <-ctx.Done():
			t.Fatal("the webhook receiver printed nothing more")
		}
	}
}
