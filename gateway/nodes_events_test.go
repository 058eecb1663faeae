package gateway_test

import (
	"slices"
	"sync"
	"testing"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/wire"
)

// TestNodesShopEvents: activations and key operations of one shop's
// licenses, concurrently through two gateways on one database, make one
// stream numbered 1..n without gaps or repeats, the same from either
// gateway.
func TestNodesShopEvents(t *testing.T) {
	t.Parallel()
	nodes := startNodes(t)
	if _, err := service.LoadDemoCatalogue(nodes[0].srv.Store()); err != nil {
		t.Fatal(err)
	}
	k := nodes[0].registerShop(t, "acme", 0, "127.0.0.0/8")
	if err := nodes[1].srv.ReloadShops(); err != nil {
		t.Fatal(err)
	}
	shops := []*clients.ShopClient{nodes[0].shopClient(t, k), nodes[1].shopClient(t, k)}
	ctx := hang.Context(t)
	const n = 6
	keys, err := shops[0].Mint(ctx, "ORD-N", "1AJS2", n, clients.MintSpec{Seats: 1})
	if err != nil {
		t.Fatalf("Mint: %v", err)
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := nodes[i%2].client(t).Activate(ctx, keys[i], machine(i), "host", "1.0"); err != nil {
				t.Errorf("Activate %d: %v", i, err)
				return
			}
			if _, err := shops[(i+1)%2].KeyOp(ctx, keys[i], wire.KeyOpSuspend, wire.Term{}); err != nil {
				t.Errorf("suspend %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	evs, err := shops[1].Events(ctx, 0, wire.MaxEvents)
	if err != nil {
		t.Fatalf("Events: %v", err)
	}
	if len(evs) != 2*n {
		t.Fatalf("%d events; want %d: %+v", len(evs), 2*n, evs)
	}
	perLicense := map[[wire.LicenseIDSize]byte][]clients.EventKind{}
	for i, e := range evs {
		if e.Seq != uint64(i+1) {
			t.Fatalf("event %d has Seq %d: %+v", i, e.Seq, evs)
		}
		perLicense[e.License] = append(perLicense[e.License], e.Kind)
	}
	if len(perLicense) != n {
		t.Fatalf("events of %d licenses; want %d", len(perLicense), n)
	}
	for id, kinds := range perLicense {
		if !slices.Equal(kinds, []clients.EventKind{clients.EventActivated, clients.EventSuspended}) {
			t.Fatalf("license %x: %v; want activated, suspended", id, kinds)
		}
	}
	if again, err := shops[0].Events(ctx, 0, wire.MaxEvents); err != nil || !slices.Equal(again, evs) {
		t.Fatalf("the other gateway's Events = %+v, %v; want the same stream", again, err)
	}
}
