package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/gateway/adminapi"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/internal/freeport"
	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/internal/pgtest"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/wire"
)

// freeUDPPort returns a loopback UDP port no socket holds now, for a
// node's card (internal/freeport).
func freeUDPPort(t *testing.T) int {
	t.Helper()
	addr, err := freeport.UDP()
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(port)
	return n
}

// node is a `tollgate serve` process of a test.
type node struct {
	dir, listen string
	cmd         *exec.Cmd
}

// start runs `tollgate serve` on the node's data directory and waits until
// it serves; the test's end kills it.
func (n *node) start(t *testing.T) {
	t.Helper()
	cmd := exec.Command(binary(t), "serve", "--data", n.dir, "--listen", n.listen)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n.cmd = cmd
	t.Cleanup(func() { n.kill() })
	served := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		var last []string
		for sc.Scan() {
			if strings.Contains(sc.Text(), "msg=serving") {
				served <- nil
				io.Copy(io.Discard, stderr)
				return
			}
			last = append(last[max(0, len(last)-4):], sc.Text())
		}
		served <- fmt.Errorf("tollgate serve --data %s --listen %s ended before serving: %s", n.dir, n.listen, strings.Join(last, " | "))
	}()
	select {
	case err := <-served:
		if err != nil {
			t.Fatal(err)
		}
	case <-hang.Context(t).Done():
		t.Fatalf("tollgate serve --data %s never served", n.dir)
	}
}

// kill SIGKILLs the node, if it runs, and waits for it.
func (n *node) kill() {
	if n.cmd == nil {
		return
	}
	n.cmd.Process.Signal(syscall.SIGKILL)
	n.cmd.Wait()
	n.cmd = nil
}

// TestTwoServeProcessesFailover follows the README's "Several gateways":
// init with both addresses and the database, a copy of the data directory
// for the second node, two `tollgate serve` processes. One client with the
// two-address card keeps validating while either node is SIGKILLed (a
// request in flight on the killed node may time out; the next goes to the
// other), and the seat it holds is the one seat of the database.
func TestTwoServeProcessesFailover(t *testing.T) {
	t.Parallel()
	db := pgtest.URL(t)
	nodes := []*node{
		{dir: filepath.Join(t.TempDir(), "node1"), listen: fmt.Sprintf("127.0.0.1:%d", freeUDPPort(t))},
		{dir: filepath.Join(t.TempDir(), "node2"), listen: fmt.Sprintf("127.0.0.1:%d", freeUDPPort(t))},
	}
	if r := exe(t, "init", "--data", nodes[0].dir, "--addr", nodes[0].listen+","+nodes[1].listen, "--store", db); r.code != 0 {
		t.Fatalf("init: %+v", r)
	}
	if err := os.Mkdir(nodes[1].dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, name := range append(gateway.IdentityFiles, gateway.FileStore) {
		b, err := os.ReadFile(filepath.Join(nodes[0].dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(nodes[1].dir, name), b, gateway.FileMode(name)); err != nil {
			t.Fatal(err)
		}
	}
	r := exe(t, "keys", "mint", "--data", nodes[1].dir, "--product", "1AJS2", "--uncatalogued", "--seats", "1")
	keyText := strings.TrimSpace(r.stdout)
	key, err := keygen.ParseKey(keyText)
	if r.code != 0 || err != nil {
		t.Fatalf("keys mint: %+v", r)
	}
	for _, n := range nodes {
		n.start(t)
	}

	card, err := wire.LoadCard(filepath.Join(nodes[0].dir, gateway.FileCard))
	if err != nil || len(card.Addresses()) != 2 {
		t.Fatalf("the card: %v, %v; want two addresses", card, err)
	}
	k, err := channel.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c, err := clients.New(clients.Config{Card: card, InstallKey: k})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := hang.Context(t)
	act, err := c.Activate(ctx, key, testMachine(1), "host", "1.0")
	if err != nil {
		t.Fatalf("activate: %v", err)
	}
	counter := uint64(0)
	validate := func(what string) {
		t.Helper()
		failed := 0
		for {
			counter++
			// A request to a killed node is lost: it waits 5 s, as an app's
			// would, and the next request dials again.
			rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_, err := c.Validate(rctx, act.LicenseID, testMachine(1), counter, false)
			cancel()
			if err == nil {
				return
			}
			var se *wire.StatusError
			// A refusal is a failure; a lost request is not, up to a bound
			// that only a gateway never failing over reaches (a loaded
			// machine may let a live node's answer take over 5 s too).
			if errors.As(err, &se) || failed == 10 || ctx.Err() != nil {
				t.Fatalf("%s: validation %d: %v (after %d lost)", what, counter, err, failed)
			}
			failed++
			t.Logf("%s: validation %d lost (%v); the next goes to the other node", what, counter, err)
		}
	}
	for range 3 {
		validate("both nodes up")
	}
	for i, n := range nodes {
		n.kill()
		for range 3 {
			validate(fmt.Sprintf("node %d killed", i+1))
		}
		n.start(t)
		validate(fmt.Sprintf("node %d back", i+1))
	}
	r = exe(t, "license", "show", "--data", nodes[0].dir, "--json", keyText)
	var lic adminapi.License
	if err := json.Unmarshal([]byte(r.stdout), &lic); r.code != 0 || err != nil || len(lic.Activations) != 1 {
		t.Fatalf("license show: %+v (%v); want one activation", r, err)
	}
}
