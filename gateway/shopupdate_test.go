package gateway_test

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/gateway/adminapi"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// TestShopUpdateReachesRunningGateway: through the running gateway's admin
// socket, adding a registered shop again is refused and changes nothing
// (the shop still mints), and shop.update changes it at once: a shop
// moved to another network is refused where it minted before, on its
// open session's next request and at the handshake of a new one.
func TestShopUpdateReachesRunningGateway(t *testing.T) {
	var dir string
	g := startGateway(t, func(c *gateway.Config) { dir = c.Dir })
	if _, err := service.LoadDemoCatalogue(g.srv.Store()); err != nil {
		t.Fatal(err)
	}
	c, err := gateway.DialAdmin(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	k, err := channel.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sh := adminapi.Shop{Name: "acme", PublicKey: k.Public().String(), Networks: []string{"127.0.0.0/8", "::1"}, Products: []string{"1AJS2"}}
	if err := c.AddShop(sh); err != nil {
		t.Fatalf("shop.add: %v", err)
	}
	ctx := context.Background()
	shop := g.shopClient(t, k)
	if _, err := shop.Mint(ctx, "U-1", "1AJS2", 1, clients.MintSpec{}); err != nil {
		t.Fatalf("Mint: %v", err)
	}

	other, _ := channel.GenerateKey(rand.Reader)
	replaced := sh
	replaced.PublicKey = other.Public().String()
	if err := c.AddShop(replaced); !errors.Is(err, store.ErrExists) {
		t.Fatalf("shop.add of a registered name: %v, want store.ErrExists", err)
	}
	twin := sh
	twin.Name = "twin"
	if err := c.AddShop(twin); !errors.Is(err, store.ErrExists) {
		t.Fatalf("shop.add with acme's key: %v, want store.ErrExists", err)
	}
	unknown := sh
	unknown.Products = []string{"9ZZZ9"}
	if err := c.UpdateShop(unknown); !errors.Is(err, gateway.ErrUsage) {
		t.Fatalf("shop.update to a product not in the catalogue: %v, want gateway.ErrUsage", err)
	}
	if _, err := shop.Mint(ctx, "U-2", "1AJS2", 1, clients.MintSpec{}); err != nil {
		t.Fatalf("Mint after refused changes: %v", err)
	}

	moved := sh
	moved.Networks = []string{"192.0.2.0/24"}
	if err := c.UpdateShop(moved); err != nil {
		t.Fatalf("shop.update: %v", err)
	}
	// The session open before the change is refused at its next request,
	// saying why; a new session is refused at its handshake.
	_, err = shop.Mint(ctx, "U-3", "1AJS2", 1, clients.MintSpec{})
	wantStatus(t, err, wire.StatusShopNotAllowed)
	if !strings.Contains(err.Error(), "no longer allowed to connect from this address") {
		t.Errorf("the open session's refusal: %v, want it to say the address is no longer allowed", err)
	}
	_, err = g.shopClient(t, k).Mint(ctx, "U-4", "1AJS2", 1, clients.MintSpec{})
	wantStatus(t, err, wire.StatusShopNotAllowed)
}
