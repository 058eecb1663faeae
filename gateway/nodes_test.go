package gateway_test

import (
	"crypto/rand"
	"errors"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/gateway/gatewaytest"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/internal/pgtest"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// startNodes starts two gateways of one deployment on a PostgreSQL
// database of the test's own (skipped without one, see internal/pgtest).
func startNodes(t *testing.T) []*testGateway {
	t.Helper()
	url := pgtest.URL(t)
	var nodes []*testGateway
	for _, g := range gatewaytest.StartNodes(t, 2, url, func(c *gateway.Config) { c.Limits = slack(t) }) {
		nodes = append(nodes, &testGateway{srv: g.Server, card: g.Card, stop: g.Stop, logs: g.Logs, g: g})
	}
	return nodes
}

// TestNodesSeatRace: 500 concurrent activations of one 5-seat key, spread
// over two gateways sharing one database, give exactly 5 seats; a
// deactivation on one node frees the seat for an activation on the other.
func TestNodesSeatRace(t *testing.T) {
	t.Parallel()
	nodes := startNodes(t)
	keys := nodes[0].mint(t, 1, service.Spec{Seats: 5})
	ctx := hang.Context(t)
	const n = 500
	cs := make([]*clients.Client, n)
	for i := range cs {
		cs[i] = nodes[i%2].client(t)
		// Connect first, so that the activations themselves race.
		if _, err := cs[i].ServerTime(ctx); err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
	}
	var ok, full atomic.Int64
	var mu sync.Mutex
	var won []int
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := cs[i].Activate(ctx, keys[0], machine(i), "host", "1.0")
			var se *wire.StatusError
			switch {
			case err == nil:
				ok.Add(1)
				mu.Lock()
				won = append(won, i)
				mu.Unlock()
			case errors.As(err, &se) && se.Status == wire.StatusNoSeats:
				full.Add(1)
			default:
				t.Errorf("activation %d (node %d): %v", i, i%2, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if ok.Load() != 5 || full.Load() != n-5 {
		t.Fatalf("%d activations succeeded, %d found no seat; want 5 and %d", ok.Load(), full.Load(), n-5)
	}
	for _, g := range nodes {
		lic, err := g.srv.Store().LicenseByKeyHash(g.srv.Identity().Hasher.Hash(keys[0]))
		if err != nil {
			t.Fatal(err)
		}
		if acts, err := g.srv.Store().Activations(lic.ID); err != nil || len(acts) != 5 {
			t.Fatalf("the store holds %d activations (%v), want 5", len(acts), err)
		}
	}

	// A seat freed through one node is taken through the other.
	slices.Sort(won)
	w := won[0]
	lic, err := nodes[w%2].srv.Store().LicenseByKeyHash(nodes[0].srv.Identity().Hasher.Hash(keys[0]))
	if err != nil {
		t.Fatal(err)
	}
	if err := cs[w].Deactivate(ctx, lic.ID); err != nil {
		t.Fatalf("deactivate through node %d: %v", w%2, err)
	}
	other := nodes[(w+1)%2].client(t)
	if _, err := other.Activate(ctx, keys[0], machine(n+1), "host", "1.0"); err != nil {
		t.Fatalf("activation through node %d of the seat freed through node %d: %v", (w+1)%2, w%2, err)
	}
}

// TestNodesMintOnce: one order sent to two gateways at once mints once
// (both answer the same keys), and the same order id with another spec is
// ORDER_CONFLICT on either.
func TestNodesMintOnce(t *testing.T) {
	t.Parallel()
	nodes := startNodes(t)
	if _, err := service.LoadDemoCatalogue(nodes[0].srv.Store()); err != nil {
		t.Fatal(err)
	}
	k, err := channel.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sh := store.Shop{Name: "acme", PublicKey: k.Public(), Products: []string{"1AJS2"},
		Networks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}}
	if err := nodes[0].srv.Store().AddShop(sh); err != nil {
		t.Fatal(err)
	}
	// Both nodes learn of the shop through the database's notification
	// (the gateways were not told): wait until each admits it.
	ctx := hang.Context(t)
	probe := nodes[0].mint(t, 1, service.Spec{})[0] // not this shop's: NOT_FOUND once admitted
	shops := make([]*clients.ShopClient, 2)
	for i := range shops {
		for {
			shops[i] = nodes[i].shopClient(t, k)
			_, err := shops[i].KeyOp(ctx, probe, wire.KeyOpStatus, wire.Term{})
			var se *wire.StatusError
			if !errors.As(err, &se) || se.Status != wire.StatusShopNotAllowed {
				break
			}
			shops[i].Close()
			if ctx.Err() != nil {
				t.Fatalf("node %d never learnt of the shop registered in the database", i)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	for round := range 20 {
		order := "A-" + string(rune('a'+round))
		var keys [2][]string
		var errs [2]error
		var wg sync.WaitGroup
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, err := shops[i].Mint(ctx, order, "1AJS2", 3, clients.MintSpec{})
				errs[i] = err
				for _, key := range got {
					keys[i] = append(keys[i], key.String())
				}
			}()
		}
		wg.Wait()
		if errs[0] != nil || errs[1] != nil {
			t.Fatalf("order %s: %v, %v", order, errs[0], errs[1])
		}
		if len(keys[0]) != 3 || !slices.Equal(keys[0], keys[1]) {
			t.Fatalf("order %s sent to both nodes minted %d and %d keys, not the same three", order, len(keys[0]), len(keys[1]))
		}
	}
	n, err := nodes[1].srv.Store().MintedToday("acme")
	if err != nil || n != 60 {
		t.Fatalf("minted today %d (%v), want 60: every order once", n, err)
	}
	for i := range 2 {
		_, err := shops[i].Mint(ctx, "A-a", "1AJS2", 4, clients.MintSpec{})
		wantStatus(t, err, wire.StatusOrderConflict)
	}
}

// TestNodesRevocationReachesOtherNode: a license validated through both
// gateways (so that both cache it) and then revoked through one is refused
// by the other's next validation once the database's notification has
// arrived: the delay is logged (the README's figure is from
// tollgate-bench), and only a hang reaches the test's bound.
func TestNodesRevocationReachesOtherNode(t *testing.T) {
	t.Parallel()
	nodes := startNodes(t)
	keys := nodes[0].mint(t, 1, service.Spec{Seats: 1})
	ctx := hang.Context(t)
	k, err := channel.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cs := make([]*clients.Client, 2)
	for i := range cs {
		if cs[i], err = clients.New(clients.Config{Card: nodes[i].card, InstallKey: k, Limits: slack(t), Timeout: hang.Timeout(t)}); err != nil {
			t.Fatal(err)
		}
		defer cs[i].Close()
	}
	act, err := cs[0].Activate(ctx, keys[0], machine(1), "host", "1.0")
	if err != nil {
		t.Fatal(err)
	}
	id := act.LicenseID
	counter := uint64(1)
	for range 3 {
		for i := range cs {
			counter++
			if _, err := cs[i].Validate(ctx, id, machine(1), counter, false); err != nil {
				t.Fatalf("validate through node %d: %v", i, err)
			}
		}
	}
	var revoked time.Time
	if _, err := service.ApplyLicenseOp(nodes[1].srv.Store(), nodes[1].srv.Identity().Hasher, keys[0], service.OpRevoke, store.Term{}, "", time.Now()); err != nil {
		t.Fatalf("revoke through node 1: %v", err)
	}
	revoked = time.Now()
	for {
		counter++
		_, err := cs[0].Validate(ctx, id, machine(1), counter, false)
		var se *wire.StatusError
		if errors.As(err, &se) && se.Status == wire.StatusRevoked {
			t.Logf("node 0 refused the license %v after node 1 revoked it", time.Since(revoked))
			return
		}
		if err != nil {
			t.Fatalf("validate through node 0: %v", err)
		}
		if ctx.Err() != nil {
			t.Fatal("node 0 never refused the license node 1 revoked")
		}
		time.Sleep(time.Millisecond)
	}
}
