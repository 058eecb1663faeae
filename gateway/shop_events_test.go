package gateway_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// serveAt serves the gateway initialised in dir on a loopback port until
// its stop is called or the test ends.
func serveAt(t *testing.T, dir string) *testGateway {
	t.Helper()
	srv, err := gateway.New(gateway.Config{Dir: dir, Listen: "127.0.0.1:0", Limits: slack(t)})
	if err != nil {
		t.Fatalf("gateway.New: %v", err)
	}
	card := *srv.Identity().Card
	card.Address = srv.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Serve: %v", err)
			}
		}
	}
	t.Cleanup(stop)
	return &testGateway{srv: srv, card: &card, stop: stop}
}

// wantEvent is what one event of a stream must say.
type wantEvent struct {
	kind        clients.EventKind
	seat, seats uint32
	machine     string
}

// checkStream fails the test unless evs are exactly want, numbered from
// first on, of the license id in order, at times within [from, to].
func checkStream(t *testing.T, evs []clients.Event, first uint64, want []wantEvent, id [wire.LicenseIDSize]byte, order string, from, to time.Time) {
	t.Helper()
	if len(evs) != len(want) {
		t.Fatalf("%d events %+v; want %d: %+v", len(evs), evs, len(want), want)
	}
	for i, e := range evs {
		w := want[i]
		if e.Seq != first+uint64(i) || e.Kind != w.kind || e.Seat != w.seat || e.Seats != w.seats || e.Machine != w.machine {
			t.Fatalf("event %d = %+v; want Seq %d, %+v", i, e, first+uint64(i), w)
		}
		if e.License != id || e.Order != order || e.Product != "1AJS2" || e.Days != 0 {
			t.Fatalf("event %d = %+v; want license %x of order %s, product 1AJS2", i, e, id, order)
		}
		if e.Time.Before(from.Truncate(time.Second)) || e.Time.After(to) {
			t.Fatalf("event %d at %v; not within %v..%v", i, e.Time, from, to)
		}
	}
}

// TestShopEventsAndOrder: what happens to a license a shop sold (apps
// activating and deactivating, the shop's key operations, an operator's
// reset) is the shop's event stream, numbered 1..n in that order, paged
// by after and max, kept across a restart; another shop sees none of it;
// the shop looks its order up again and gets the keys of its mint.
func TestShopEventsAndOrder(t *testing.T) {
	t.Parallel()
	g := startShopGateway(t)
	dir := g.srv.Identity().Dir
	shopKey := g.registerShop(t, "acme", 0, "127.0.0.0/8")
	shop := g.shopClient(t, shopKey)
	other := g.addShop(t, "other", 0, "127.0.0.0/8")
	ctx := context.Background()
	start := time.Now()

	if evs, err := shop.Events(ctx, 0, 10); err != nil || evs == nil || len(evs) != 0 {
		t.Fatalf("Events before any = %#v, %v; want empty, not nil", evs, err)
	}
	keys, err := shop.Mint(ctx, "ORD-1", "1AJS2", 2, clients.MintSpec{Seats: 2})
	if err != nil {
		t.Fatalf("Mint: %v", err)
	}
	app1, app2 := g.client(t), g.client(t)
	res, err := app1.Activate(ctx, keys[0], machine(1), "host-1", "1.0")
	if err != nil {
		t.Fatalf("Activate 1: %v", err)
	}
	if _, err := app2.Activate(ctx, keys[0], machine(2), "host-2", "1.0"); err != nil {
		t.Fatalf("Activate 2: %v", err)
	}
	// Activating again on the same machine takes no new seat: no event.
	if _, err := app2.Activate(ctx, keys[0], machine(2), "host-2", "1.1"); err != nil {
		t.Fatalf("Activate 2 again: %v", err)
	}
	if err := app1.Deactivate(ctx, res.LicenseID); err != nil {
		t.Fatalf("Deactivate: %v", err)
	}
	for _, op := range []wire.KeyOp{wire.KeyOpSuspend, wire.KeyOpResume, wire.KeyOpRenew, wire.KeyOpStatus} {
		if _, err := shop.KeyOp(ctx, keys[0], op, wire.Term{}); err != nil {
			t.Fatalf("KeyOp %v: %v", op, err)
		}
	}
	// The operator frees the remaining seat, then the shop revokes.
	if _, err := service.ApplyLicenseOp(g.srv.Store(), g.srv.Identity().Hasher, keys[0], service.OpReset, store.Term{}, "", time.Now()); err != nil {
		t.Fatalf("reset: %v", err)
	}
	if _, err := shop.KeyOp(ctx, keys[0], wire.KeyOpRevoke, wire.Term{}); err != nil {
		t.Fatalf("KeyOp revoke: %v", err)
	}
	want := []wantEvent{
		{clients.EventActivated, 1, 2, "host-1"},
		{clients.EventActivated, 2, 2, "host-2"},
		{clients.EventDeactivated, 1, 2, "host-1"},
		{kind: clients.EventSuspended},
		{kind: clients.EventResumed},
		{kind: clients.EventRenewed},
		{clients.EventDeactivated, 0, 2, "host-2"},
		{kind: clients.EventRevoked},
	}
	end := time.Now()
	evs, err := shop.Events(ctx, 0, wire.MaxEvents)
	if err != nil {
		t.Fatalf("Events: %v", err)
	}
	checkStream(t, evs, 1, want, res.LicenseID, "ORD-1", start, end)

	// Paged: three at a time, each event once, then none.
	var paged []clients.Event
	for after := uint64(0); ; {
		if len(paged) > len(want) {
			t.Fatalf("paging did not end: %+v", paged)
		}
		page, err := shop.Events(ctx, after, 3)
		if err != nil {
			t.Fatalf("Events(%d, 3): %v", after, err)
		}
		if len(page) == 0 {
			break
		}
		if len(page) > 3 {
			t.Fatalf("Events(%d, 3) returned %d", after, len(page))
		}
		paged = append(paged, page...)
		after = page[len(page)-1].Seq
	}
	if !slices.Equal(paged, evs) {
		t.Fatalf("paged stream %+v differs from %+v", paged, evs)
	}
	if page, err := shop.Events(ctx, 6, 1); err != nil || len(page) != 1 || page[0].Seq != 7 {
		t.Fatalf("Events(6, 1) = %+v, %v; want event 7", page, err)
	}
	for _, max := range []int{0, wire.MaxEvents + 1} {
		if _, err := shop.Events(ctx, 0, max); !errors.Is(err, clients.ErrConfig) {
			t.Fatalf("Events(0, %d) = %v; want ErrConfig", max, err)
		}
	}

	// Another shop sees none of it, nor the order.
	if evs, err := other.Events(ctx, 0, wire.MaxEvents); err != nil || len(evs) != 0 {
		t.Fatalf("other shop's Events = %+v, %v; want none", evs, err)
	}
	_, err = other.Order(ctx, "ORD-1")
	wantStatus(t, err, wire.StatusNotFound)

	// The order, looked up again: the keys of the mint.
	o, err := shop.Order(ctx, "ORD-1")
	if err != nil {
		t.Fatalf("Order: %v", err)
	}
	if o.ID != "ORD-1" || o.Product != "1AJS2" || !slices.Equal(o.Keys, keys) || o.Created.Before(start.Truncate(time.Second)) || o.Created.After(end) {
		t.Fatalf("Order = %s %s, %d keys (same: %v), created %v", o.ID, o.Product, len(o.Keys), slices.Equal(o.Keys, keys), o.Created)
	}
	_, err = shop.Order(ctx, "ORD-2")
	wantStatus(t, err, wire.StatusNotFound)
	if _, err := shop.Order(ctx, ""); !errors.Is(err, clients.ErrConfig) {
		t.Fatalf("Order of an empty id = %v; want ErrConfig", err)
	}

	// Restarted on the same directory: the stream is kept, and goes on.
	shop.Close()
	g.stop()
	g = serveAt(t, dir)
	shop = g.shopClient(t, shopKey)
	again, err := shop.Events(ctx, 0, wire.MaxEvents)
	if err != nil || !slices.Equal(again, evs) {
		t.Fatalf("Events after restart = %+v, %v; want %+v", again, err, evs)
	}
	res2, err := g.client(t).Activate(ctx, keys[1], machine(3), "host-3", "1.0")
	if err != nil {
		t.Fatalf("Activate after restart: %v", err)
	}
	next, err := shop.Events(ctx, uint64(len(want)), 10)
	if err != nil {
		t.Fatalf("Events after restart: %v", err)
	}
	checkStream(t, next, uint64(len(want))+1, []wantEvent{{clients.EventActivated, 1, 2, "host-3"}}, res2.LicenseID, "ORD-1", start, time.Now())
	if o2, err := shop.Order(ctx, "ORD-1"); err != nil || !slices.Equal(o2.Keys, keys) {
		t.Fatalf("Order after restart: %v (same keys: %v)", err, err == nil && slices.Equal(o2.Keys, keys))
	}
}

// TestShopEventsOfOperatorMachineAndFlag: an operator freeing one machine's
// seat and the flagging of a shared key are in the shop's stream too; keys
// the operator minted (no shop) record nothing anywhere.
func TestShopEventsOfOperatorMachineAndFlag(t *testing.T) {
	t.Parallel()
	g := startGateway(t, func(c *gateway.Config) { c.FlagMachinesPerSeat = 1 })
	if _, err := service.LoadDemoCatalogue(g.srv.Store()); err != nil {
		t.Fatalf("LoadDemoCatalogue: %v", err)
	}
	shop := g.addShop(t, "acme", 0, "127.0.0.0/8")
	ctx := context.Background()
	keys, err := shop.Mint(ctx, "ORD-F", "1AJS2", 1, clients.MintSpec{Seats: 1})
	if err != nil {
		t.Fatalf("Mint: %v", err)
	}
	app := g.client(t)
	res, err := app.Activate(ctx, keys[0], machine(1), "host-1", "1.0")
	if err != nil {
		t.Fatalf("Activate: %v", err)
	}
	lic, err := g.srv.Store().LicenseByID(res.LicenseID)
	if err != nil {
		t.Fatal(err)
	}
	acts, err := g.srv.Store().Activations(lic.ID)
	if err != nil || len(acts) != 1 {
		t.Fatalf("Activations = %d, %v", len(acts), err)
	}
	if _, err := service.DeactivateMachine(g.srv.Store(), lic, service.MachineID(acts[0].Install), time.Now()); err != nil {
		t.Fatalf("DeactivateMachine: %v", err)
	}
	// A second machine on a one-seat key is one machine too many: flagged.
	if _, err := g.client(t).Activate(ctx, keys[0], machine(2), "host-2", "1.0"); err != nil {
		t.Fatalf("Activate 2: %v", err)
	}
	own := g.mint(t, 1, service.Spec{})
	if _, err := g.client(t).Activate(ctx, own[0], machine(4), "host-4", "1.0"); err != nil {
		t.Fatalf("Activate of an operator's key: %v", err)
	}
	evs, err := shop.Events(ctx, 0, 10)
	if err != nil {
		t.Fatalf("Events: %v", err)
	}
	var kinds []clients.EventKind
	for _, e := range evs {
		kinds = append(kinds, e.Kind)
	}
	wantKinds := []clients.EventKind{clients.EventActivated, clients.EventDeactivated, clients.EventFlagged, clients.EventActivated}
	if !slices.Equal(kinds, wantKinds) {
		t.Fatalf("stream kinds = %v; want %v (%+v)", kinds, wantKinds, evs)
	}
	if d := evs[1]; d.Seat != 0 || d.Seats != 1 || d.Machine != "host-1" {
		t.Fatalf("deactivated event = %+v; want seat 0 of 1, host-1", d)
	}
	if a := evs[3]; a.Seq != 4 || a.Seat != 1 || a.Machine != "host-2" {
		t.Fatalf("second activated event = %+v; want Seq 4, seat 1, host-2", a)
	}
}

// TestShopExpiringEvents: a gateway starting looks for licenses that end
// within expiring_days (14) and appends one expiring event for each to
// its shop's stream; looking again appends none.
func TestShopExpiringEvents(t *testing.T) {
	t.Parallel()
	g := startShopGateway(t)
	dir := g.srv.Identity().Dir
	shopKey := g.registerShop(t, "acme", 0, "127.0.0.0/8")
	shop := g.shopClient(t, shopKey)
	ctx := hang.Context(t)
	end := time.Now().Add(10*24*time.Hour + time.Hour)
	if _, err := shop.Mint(ctx, "ORD-E", "1AJS2", 1, clients.MintSpec{Expiry: end}); err != nil {
		t.Fatalf("Mint: %v", err)
	}
	if _, err := shop.Mint(ctx, "ORD-L", "1AJS2", 1, clients.MintSpec{Expiry: end.Add(30 * 24 * time.Hour)}); err != nil {
		t.Fatalf("Mint: %v", err)
	}
	shop.Close()
	g.stop()
	g = serveAt(t, dir)
	shop = g.shopClient(t, shopKey)
	var evs []clients.Event
	for len(evs) == 0 {
		var err error
		if evs, err = shop.Events(ctx, 0, 10); err != nil {
			t.Fatalf("Events: %v", err)
		}
		if len(evs) == 0 {
			select {
			case <-ctx.Done():
				t.Fatal("no expiring event after the gateway started")
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	if len(evs) != 1 {
		t.Fatalf("events = %+v; want one expiring event", evs)
	}
	if e := evs[0]; e.Seq != 1 || e.Kind != clients.EventExpiring || e.Order != "ORD-E" || e.Days != 10 || e.Seat != 0 || e.Machine != "" {
		t.Fatalf("event = %+v; want expiring in 10 days, of ORD-E", e)
	}
	if n, err := g.srv.Service().NoteExpiring(14); err != nil || n != 0 {
		t.Fatalf("NoteExpiring again = %d, %v; want none appended", n, err)
	}
	if again, err := shop.Events(ctx, 0, 10); err != nil || !slices.Equal(again, evs) {
		t.Fatalf("Events after looking again = %+v, %v; want %+v", again, err, evs)
	}
}
