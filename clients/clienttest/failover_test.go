package clienttest

import (
	"context"
	"crypto/rand"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// closedPort returns a loopback UDP address nothing listens on: a socket's
// port, the socket closed.
func closedPort(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	return addr
}

// cardOf returns g's card listing addrs.
func cardOf(t *testing.T, g *testGateway, addrs ...string) *wire.Card {
	t.Helper()
	c := *g.card
	if err := c.SetAddresses(addrs); err != nil {
		t.Fatal(err)
	}
	return &c
}

// startTwin starts a second gateway of g's deployment: a data directory of
// its own (its own store) with a copy of g's identity files, so that one
// card authenticates both.
func startTwin(t *testing.T, g *testGateway) *testGateway {
	t.Helper()
	dir := t.TempDir()
	for _, f := range gateway.IdentityFiles {
		src := filepath.Join(g.srv.Identity().Dir, f)
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	return startGateway(t, func(c *gateway.Config) { c.Dir = dir })
}

// openCard opens a Licensee of the test product on card, in dir.
func openCard(t *testing.T, card *wire.Card, dir string) *clients.Licensee {
	t.Helper()
	l, err := clients.OpenLicensee(clients.LicenseeConfig{
		Card: card, Product: product, StateDir: dir, Components: machine("m1", "aa:bb"),
		Timeout: hang.Timeout(t), Hostname: "test-host", AppVersion: "1.0",
	})
	if err != nil {
		t.Fatalf("OpenLicensee: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// TestFailoverPastClosedPort: the card's first address is a closed port,
// its second a gateway. Activation and validation succeed, through the
// second.
func TestFailoverPastClosedPort(t *testing.T) {
	g := startGateway(t)
	key := g.mint(t, 1, service.Spec{})[0]
	l := openCard(t, cardOf(t, g, closedPort(t), g.card.Address), filepath.Join(t.TempDir(), "state"))
	want(t, "activate", l.Activate(context.Background(), key), true, clients.ReasonOK)
	d := l.CheckNow(context.Background())
	want(t, "validate", d, true, clients.ReasonOK)
	if d.Contact != clients.ReasonOK {
		t.Fatalf("validate: contact %s, want the server's answer", d.Contact)
	}
}

// TestFailoverBetweenGateways: two gateways of one deployment, the license
// and this install's activation in both stores (each has its own; a
// shared database makes this copy needless). The one in use stops: the
// next validation is answered by the other. Both stop: ErrUnreachable,
// naming the two addresses tried.
func TestFailoverBetweenGateways(t *testing.T) {
	a := startGateway(t)
	b := startTwin(t, a)
	key := a.mint(t, 1, service.Spec{})[0]
	lic, err := a.srv.Store().LicenseByKeyHash(a.srv.Identity().Hasher.Hash(key))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.srv.Store().CreateLicenses([]store.License{lic}); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "state")
	for _, g := range []*testGateway{a, b} {
		l := openCard(t, cardOf(t, g, g.card.Address), dir)
		want(t, "activate on "+g.card.Address, l.Activate(context.Background(), key), true, clients.ReasonOK)
		l.Close()
	}

	l := openCard(t, cardOf(t, a, a.card.Address, b.card.Address), dir)
	want(t, "validate with both up", l.CheckNow(context.Background()), true, clients.ReasonOK)
	a.stop()
	d := l.CheckNow(context.Background())
	if d.Contact == clients.ReasonConnection {
		// The request went out on the connection the stopped gateway had
		// closed, before the client read its closing: it fails, unsent
		// again (a validation's counter makes a resend unsafe), and the
		// next request dials.
		d = l.CheckNow(context.Background())
	}
	want(t, "validate with the first gateway stopped", d, true, clients.ReasonOK)
	if d.Contact != clients.ReasonOK {
		t.Fatalf("validate with the first gateway stopped: contact %s (%v), want the second's answer", d.Contact, d.Err)
	}

	b.stop()
	_, err = l.ServerTime(context.Background())
	if errors.Is(err, clients.ErrConnection) && !errors.Is(err, clients.ErrUnreachable) {
		_, err = l.ServerTime(context.Background()) // as above
	}
	if !errors.Is(err, clients.ErrUnreachable) || !strings.Contains(err.Error(), "2 of the card's 2 addresses tried, none answered") {
		t.Fatalf("both gateways stopped: %v, want ErrUnreachable naming 2 addresses tried", err)
	}
}

// TestShopFailover: a shop client whose card's first address is a closed
// port mints through the second.
func TestShopFailover(t *testing.T) {
	g := startGateway(t)
	k, err := channel.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := service.LoadDemoCatalogue(g.srv.Store()); err != nil {
		t.Fatal(err)
	}
	sh := store.Shop{Name: "acme", PublicKey: k.Public(), Products: []string{product},
		Networks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	if err := g.srv.Store().AddShop(sh); err != nil {
		t.Fatal(err)
	}
	if err := g.srv.ReloadShops(); err != nil {
		t.Fatal(err)
	}
	c, err := clients.NewShop(clients.ShopConfig{Card: cardOf(t, g, closedPort(t), g.card.Address), ShopKey: k, Timeout: hang.Timeout(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	keys, err := c.Mint(context.Background(), "order-1", product, 2, clients.MintSpec{})
	if err != nil {
		t.Fatalf("Mint with the first address closed: %v", err)
	}
	for _, k := range keys {
		if _, err := g.srv.Store().LicenseByKeyHash(g.srv.Identity().Hasher.Hash(k)); err != nil {
			t.Fatalf("a minted key is not in the gateway's store: %v", err)
		}
	}
}
