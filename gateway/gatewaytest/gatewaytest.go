// Package gatewaytest starts real gateways for the tests of other
// packages: a gateway on a loopback UDP port, in a temporary directory,
// stopped when the test ends.
package gatewaytest

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/keygen/composite"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/wire"
)

// Gateway is a running test gateway.
type Gateway struct {
	Server *gateway.Server
	Card   *wire.Card // the server card, with the address it listens on
	Logs   *Logs      // everything it logged, at debug level
	Dir    string     // its data directory: the operator's commands take it as --data
	// Stop stops the gateway and reports an error of Serve; it is safe to
	// call more than once, and called when the test ends.
	Stop func()
}

// Start initialises a gateway (ML-DSA-44+Ed25519 lease key) in a temporary
// directory and serves it on 127.0.0.1 at a free port. opts adjust the
// configuration before the gateway starts.
func Start(t testing.TB, opts ...func(*gateway.Config)) *Gateway {
	t.Helper()
	dir := t.TempDir()
	if _, err := gateway.Init(dir, composite.MLDSA44Ed25519, "127.0.0.1:7443"); err != nil {
		t.Fatalf("gateway.Init: %v", err)
	}
	return start(t, dir, opts)
}

// StartNodes starts n gateways of one deployment: one identity, copied
// into the data directory of each (as an operator copies it to a new
// machine), and the shared store at url (a PostgreSQL database, such as
// pgtest.URL makes). Each serves on a loopback port of its own, and its
// Card names that address.
func StartNodes(t testing.TB, n int, url string, opts ...func(*gateway.Config)) []*Gateway {
	t.Helper()
	first := t.TempDir()
	if _, err := gateway.Init(first, composite.MLDSA44Ed25519, "127.0.0.1:7443"); err != nil {
		t.Fatalf("gateway.Init: %v", err)
	}
	// The tests check outcomes, not how fast a loaded machine's database
	// answers: only a hang reaches the store's bound.
	opts = append([]func(*gateway.Config){func(c *gateway.Config) { c.Store, c.StoreTimeout = url, storeBound(t) }}, opts...)
	nodes := make([]*Gateway, n)
	for i := range nodes {
		dir := first
		if i > 0 {
			dir = t.TempDir()
			for _, name := range gateway.IdentityFiles {
				b, err := os.ReadFile(filepath.Join(first, name))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, name), b, gateway.FileMode(name)); err != nil {
					t.Fatal(err)
				}
			}
		}
		nodes[i] = start(t, dir, opts)
	}
	return nodes
}

// start serves the gateway initialised in dir.
func start(t testing.TB, dir string, opts []func(*gateway.Config)) *Gateway {
	t.Helper()
	logs := &Logs{}
	cfg := gateway.Config{Dir: dir, Listen: "127.0.0.1:0",
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := gateway.New(cfg)
	if err != nil {
		t.Fatalf("gateway.New: %v", err)
	}
	card := *srv.Identity().Card
	card.Address = srv.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	g := &Gateway{Server: srv, Card: &card, Logs: logs, Dir: dir}
	var once sync.Once
	g.Stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("gateway Serve: %v", err)
			}
		})
	}
	t.Cleanup(g.Stop)
	return g
}

// Mint mints n keys of product with spec straight into the gateway's store.
func (g *Gateway) Mint(t testing.TB, product string, n int, spec service.Spec) []keygen.Key {
	t.Helper()
	p, err := keygen.ParseProductCode(product)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := service.MintKeys(g.Server.Store(), g.Server.Identity().Hasher, p, n, spec, time.Now())
	if err != nil {
		t.Fatalf("service.MintKeys: %v", err)
	}
	return keys
}

// Logs is a log sink safe for the logger's concurrent writes.
type Logs struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *Logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// storeBound is the time left before the test's deadline, at most an hour
// (a gateway's store_timeout may not be longer).
func storeBound(t testing.TB) time.Duration {
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if end, ok := d.Deadline(); ok {
			return min(max(time.Until(end), time.Second), time.Hour)
		}
	}
	return time.Hour
}
