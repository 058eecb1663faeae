package gateway_test

import (
	"context"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/internal/freeport"
	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/wire"
)

// buildTollgate builds the tollgate command into dir.
func buildTollgate(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "tollgate")
	out, err := exec.Command("go", "build", "-o", bin, "./cmd/tollgate").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// freeUDPPort returns a loopback UDP address for a gateway process
// (internal/freeport).
func freeUDPPort(t *testing.T) string {
	t.Helper()
	addr, err := freeport.UDP()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// startServe runs `tollgate serve` and waits until it answers.
func startServe(t *testing.T, bin, data, addr string, card *wire.Card) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--data", data, "--listen", addr)
	if testing.Verbose() {
		cmd.Stderr = os.Stderr
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	// A gateway still starting does not answer, and a try then waits for
	// its whole timeout: the first tries give up after a second, later ones
	// wait twice as long as the one before (a slow gateway is still
	// answered), and they go on until only a hang explains the silence.
	k, _ := channel.GenerateKey(rand.Reader)
	wait := hang.Timeout(t)
	deadline := time.Now().Add(wait)
	for try := time.Second; ; try = min(2*try, max(time.Until(deadline), time.Second)) {
		c, _ := clients.New(clients.Config{Card: card, InstallKey: k, Limits: slack(t), Timeout: try})
		_, err := c.ServerTime(context.Background())
		c.Close()
		if err == nil {
			return cmd
		}
		if time.Now().After(deadline) {
			t.Fatalf("tollgate serve did not answer within %v: %v", wait.Round(time.Second), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type acked struct {
	key     channel.PrivateKey
	license [16]byte
	machine int
}

// TestCrashKeepsAcknowledgedActivations kills the gateway process with
// SIGKILL while activations stream in, restarts it, and checks that every
// activation it acknowledged is still there.
func TestCrashKeepsAcknowledgedActivations(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds and runs the tollgate binary")
	}
	dir := t.TempDir()
	bin := buildTollgate(t, dir)
	data := filepath.Join(dir, "data")
	addr := freeUDPPort(t)
	if out, err := exec.Command(bin, "init", "--data", data, "--addr", addr).CombinedOutput(); err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	// 100,000 seats takes a site license (the demo's 1AJS2 allows 100).
	if out, err := exec.Command(bin, "product", "add", "--data", data, "--code", "1AJS2", "--name", "crash test site license", "--site-license", "--max-seats", "100000").CombinedOutput(); err != nil {
		t.Fatalf("product add: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "keys", "mint", "--data", data, "--product", "1AJS2", "--count", "1", "--seats", "100000").Output()
	if err != nil {
		t.Fatalf("keys mint: %v", err)
	}
	key, err := keygen.ParseKey(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("minted key does not parse: %v", err)
	}
	card, err := wire.LoadCard(filepath.Join(data, "server.card"))
	if err != nil {
		t.Fatal(err)
	}
	srv := startServe(t, bin, data, addr, card)

	var mu sync.Mutex
	var done []acked
	var n atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	// Requests get until only a hang explains the silence, and end when
	// the gateway is killed: an activation in flight then is not
	// acknowledged, and no worker waits for a dead gateway.
	ctx, killed := context.WithCancel(context.Background())
	defer killed()
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; !stop.Load() && i < 10000; i++ {
				m := w*100000 + i
				k, _ := channel.GenerateKey(rand.Reader)
				c, _ := clients.New(clients.Config{Card: card, InstallKey: k, Limits: slack(t), Timeout: hang.Timeout(t)})
				res, err := c.Activate(ctx, key, machine(m), "crash", "1")
				c.Close()
				if err != nil {
					return // the gateway died under us: expected
				}
				mu.Lock()
				done = append(done, acked{key: k, license: res.LicenseID, machine: m})
				mu.Unlock()
				n.Add(1)
			}
		}(w)
	}
	deadline := time.Now().Add(hang.Timeout(t))
	for n.Load() < 40 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if err := srv.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	srv.Wait()
	stop.Store(true)
	killed()
	wg.Wait()
	mu.Lock()
	acks := append([]acked(nil), done...)
	mu.Unlock()
	if len(acks) < 40 {
		t.Fatalf("only %d activations acknowledged before the kill; want at least 40", len(acks))
	}

	startServe(t, bin, data, addr, card)
	for i, a := range acks {
		c, _ := clients.New(clients.Config{Card: card, InstallKey: a.key, Limits: slack(t), Timeout: hang.Timeout(t)})
		_, err := c.Validate(context.Background(), a.license, machine(a.machine), 1, false)
		c.Close()
		if err != nil {
			t.Fatalf("acknowledged activation %d of %d lost after SIGKILL: %v", i, len(acks), err)
		}
	}
	t.Logf("%d acknowledged activations all survived SIGKILL", len(acks))
}
