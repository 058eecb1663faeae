package gateway_test

import (
	"errors"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/gateway/gatewaytest"
	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/internal/pgtest"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/wire"
)

// cutProxy forwards TCP connections to a server, and can cut them all and
// refuse new ones (the database "goes away") until mended.
type cutProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	conns  map[net.Conn]struct{}
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, conns: make(map[net.Conn]struct{})}
	t.Cleanup(func() { ln.Close(); p.setCut(true) })
	go p.serve()
	return p
}

func (p *cutProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.Close()
			continue
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c], p.conns[s] = struct{}{}, struct{}{}
		p.mu.Unlock()
		go func() { io.Copy(s, c); s.Close(); c.Close() }()
		go func() { io.Copy(c, s); s.Close(); c.Close() }()
	}
}

// setCut cuts every connection and refuses new ones (true), or lets new
// ones through again (false).
func (p *cutProxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for c := range p.conns {
			c.Close()
		}
		clear(p.conns)
	}
}

// TestDatabaseGoesAway: a gateway whose PostgreSQL store goes away while
// it serves answers activations with SERVER_ERROR (the client's "try
// later"), never hangs and never acknowledges what it did not write; once
// the database is back, the gateway recovers by itself, and its log never
// holds the database's password.
func TestDatabaseGoesAway(t *testing.T) {
	t.Parallel()
	u, err := url.Parse(pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	p := newCutProxy(t, u.Host)
	u.Host = p.ln.Addr().String()
	pw, _ := u.User.Password()
	node := gatewaytest.StartNodes(t, 1, u.String(), func(c *gateway.Config) { c.Limits = slack(t) })[0]
	g := &testGateway{srv: node.Server, card: node.Card, stop: node.Stop, logs: node.Logs, g: node}
	keys := g.mint(t, 2, service.Spec{Seats: 3})
	ctx := hang.Context(t)
	c := g.client(t)
	act, err := c.Activate(ctx, keys[0], machine(1), "host", "1.0")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Validate(ctx, act.LicenseID, machine(1), 1, false); err != nil {
		t.Fatal(err)
	}

	p.setCut(true)
	down := g.client(t)
	_, err = down.Activate(ctx, keys[1], machine(2), "host", "1.0")
	wantStatus(t, err, wire.StatusServerError)
	if !strings.Contains(err.Error(), "try again later") {
		t.Errorf("activation while the database is away: %v, want it to say try again later", err)
	}

	p.setCut(false)
	for {
		_, err := down.Activate(ctx, keys[1], machine(2), "host", "1.0")
		if err == nil {
			break
		}
		var se *wire.StatusError
		if !errors.As(err, &se) || se.Status != wire.StatusServerError || ctx.Err() != nil {
			t.Fatalf("activation once the database is back: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := c.Validate(ctx, act.LicenseID, machine(1), 2, false); err != nil {
		t.Fatalf("validation once the database is back: %v", err)
	}
	if pw != "" && strings.Contains(g.logs.String(), pw) {
		t.Fatal("the gateway's log holds the database's password")
	}
	// The seat taken while the database was away was not: two seats held.
	lic, err := g.srv.Store().LicenseByKeyHash(g.srv.Identity().Hasher.Hash(keys[1]))
	if err != nil {
		t.Fatal(err)
	}
	if acts, err := g.srv.Store().Activations(lic.ID); err != nil || len(acts) != 1 {
		t.Fatalf("%d activations of the second key (%v), want 1", len(acts), err)
	}
}
