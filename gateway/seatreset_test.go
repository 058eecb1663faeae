package gateway_test

import (
	"testing"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/gateway/gatewaytest"
	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/internal/pgtest"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// TestSeatResetAndPluginBackends runs a customer's seat resets and a
// plug-in's activation over real QUIC on each backend (Pebble, and
// PostgreSQL when TOLLGATE_TEST_POSTGRES is set): the shop frees seats
// until RESET_LIMIT, and the reset times the record keeps are read back
// from the backend; a plug-in's key is BASE_MISSING until its base is
// activated on the same install, and its license keeps its base.
func TestSeatResetAndPluginBackends(t *testing.T) {
	t.Parallel()
	for _, backend := range []string{"pebble", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			var g *gatewaytest.Gateway
			if backend == "pebble" {
				g = gatewaytest.Start(t, func(c *gateway.Config) { c.Limits = slack(t) })
			} else {
				g = gatewaytest.StartNodes(t, 1, pgtest.URL(t), func(c *gateway.Config) { c.Limits = slack(t) })[0]
			}
			tg := &testGateway{srv: g.Server, card: g.Card, stop: g.Stop, logs: g.Logs, g: g}
			if _, err := service.LoadDemoCatalogue(g.Server.Store()); err != nil {
				t.Fatal(err)
			}
			ctx := hang.Context(t)
			shop := tg.addShop(t, "acme", 0, "127.0.0.0/8", "::1/128")
			keys, err := shop.Mint(ctx, "R-1", "1AJS2", 1, clients.MintSpec{Seats: 5})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 5 {
				if _, err := tg.client(t).Activate(ctx, keys[0], machine(i), "pc-"+string(rune('a'+i)), "1.0"); err != nil {
					t.Fatal(err)
				}
			}
			for i, host := range []string{"pc-a", "pc-b", "pc-c"} {
				r, err := shop.ResetSeat(ctx, keys[0], host)
				if err != nil || r.Freed != 1 || r.ResetsLeft != 2-i || r.SeatsUsed != uint32(4-i) {
					t.Fatalf("reset %d: %+v, %v", i+1, r, err)
				}
			}
			_, err = shop.ResetSeat(ctx, keys[0], "pc-d")
			wantStatus(t, err, wire.StatusResetLimit)
			lic, err := g.Server.Store().LicenseByKeyHash(g.Server.Identity().Hasher.Hash(keys[0]))
			if err != nil || len(lic.Resets) != 3 {
				t.Fatalf("the license's resets read back: %v, %v", lic.Resets, err)
			}
			if as, _ := g.Server.Store().Activations(lic.ID); len(as) != 2 {
				t.Fatalf("seats after three resets and a refusal: %d, want 2", len(as))
			}

			prod := func(code string) service.Spec {
				p, err := g.Server.Store().ProductByCode(code)
				if err != nil {
					t.Fatal(err)
				}
				return service.ProductSpec(&p)
			}
			mail := g.Mint(t, "1MJS2", 1, prod("1MJS2"))[0]
			pro := g.Mint(t, "1CJS2", 1, prod("1CJS2"))[0]
			c := tg.client(t)
			proID := store.IDFor(g.Server.Identity().Hasher.Hash(pro))
			_, err = c.ActivatePlugin(ctx, mail, proID, machine(9), "pc-z", "1.0")
			wantStatus(t, err, wire.StatusBaseMissing)
			if _, err := c.Activate(ctx, pro, machine(9), "pc-z", "1.0"); err != nil {
				t.Fatal(err)
			}
			if _, err := c.ActivatePlugin(ctx, mail, proID, machine(9), "pc-z", "1.0"); err != nil {
				t.Fatalf("the plug-in beside its base: %v", err)
			}
			if l, err := g.Server.Store().LicenseByKeyHash(g.Server.Identity().Hasher.Hash(mail)); err != nil || l.Base != "1CJS2" {
				t.Fatalf("the plug-in's license read back: base %q, %v", l.Base, err)
			}
		})
	}
}
