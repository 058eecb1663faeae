package gateway_test

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// TestNodesTrialOncePerMachine: 50 installs of one machine asking for its
// trial at once, spread over two gateways sharing one PostgreSQL database,
// get exactly one trial, over real QUIC; the others are TRIAL_USED, and
// another machine still gets its own.
func TestNodesTrialOncePerMachine(t *testing.T) {
	t.Parallel()
	nodes := startNodes(t)
	err := nodes[0].srv.Store().AddProduct(store.Product{Code: "1CJS2", Name: "VSE 2.1 Pro", Entitlements: []string{"scan", "update"},
		Policy: store.Policy{Level: 2, LeaseSeconds: 86400}, TrialOffer: &store.TrialOffer{Days: 14, Entitlements: []string{"scan"}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := hang.Context(t)
	fp := clients.Fingerprint("1CJS2", []clients.RawComponent{
		{Kind: wire.KindMachineID, Value: "machine-trial"}, {Kind: wire.KindMAC, Value: "02:00:00:00:00:aa"}, {Kind: wire.KindDisk, Value: "disk-trial"},
	})
	const n = 50
	cs := make([]*clients.Client, n)
	for i := range cs {
		cs[i] = nodes[i%2].client(t)
		if _, err := cs[i].ServerTime(ctx); err != nil { // connected first: the trials themselves race
			t.Fatalf("client %d: %v", i, err)
		}
	}
	var granted, used atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := cs[i].StartTrial(ctx, "1CJS2", fp, "trial-pc", "1.0")
			var se *wire.StatusError
			switch {
			case err == nil:
				granted.Add(1)
			case errors.As(err, &se) && se.Status == wire.StatusTrialUsed:
				used.Add(1)
			default:
				t.Errorf("trial %d (node %d): %v", i, i%2, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if granted.Load() != 1 || used.Load() != n-1 {
		t.Fatalf("%d trials granted, %d refused TRIAL_USED; want 1 and %d", granted.Load(), used.Load(), n-1)
	}
	for _, g := range nodes {
		if ts, err := g.srv.Store().Trials("1CJS2"); err != nil || len(ts) != 1 {
			t.Fatalf("the store holds %d trials (%v), want 1", len(ts), err)
		}
	}
	other := clients.Fingerprint("1CJS2", []clients.RawComponent{
		{Kind: wire.KindMachineID, Value: "machine-other"}, {Kind: wire.KindMAC, Value: "02:00:00:00:00:bb"}, {Kind: wire.KindDisk, Value: "disk-other"},
	})
	if _, err := nodes[1].client(t).StartTrial(ctx, "1CJS2", other, "other-pc", "1.0"); err != nil {
		t.Fatalf("another machine's trial: %v", err)
	}
}
