package service

import (
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/internal/pgtest"
	"github.com/tollgate/tollgate/keygen/composite"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/store/pgstore"
	"github.com/tollgate/tollgate/wire"
)

// floatingClock is a settable clock for the service.
type floatingClock struct{ t atomic.Int64 }

func (c *floatingClock) now() time.Time      { return time.Unix(c.t.Load(), 0) }
func (c *floatingClock) add(d time.Duration) { c.t.Add(int64(d / time.Second)) }

// floatingMachine is one install on one machine.
type floatingMachine struct {
	p  Peer
	fp wire.Fingerprint
}

func newFloatingMachines(t *testing.T, n int) []floatingMachine {
	ms := make([]floatingMachine, n)
	for i := range ms {
		ms[i] = floatingMachine{p: newInstall(t), fp: testFingerprint()}
	}
	return ms
}

const testCheckout = 60 // seconds

func floatingSpec(seats uint32) Spec {
	return Spec{Seats: seats, Policy: store.Policy{Level: 1, LeaseSeconds: testCheckout, Floating: true}}
}

// TestFloatingSeats: the seat arithmetic of a 2-seat floating key on three
// machines, at a settable clock: two check out, the third is refused
// NO_SEATS with when the first seat runs out; the lease is level floating
// and ends with the checkout; a heartbeat extends a held seat; a seat
// whose heartbeats stop is free after its checkout time, and the install
// that lost it is refused until a seat frees; a check-in frees a seat at
// once and keeps the binding, so that install checks out again without
// its key; a full deactivation removes the binding.
func TestFloatingSeats(t *testing.T) {
	t.Parallel()
	clk := &floatingClock{}
	clk.t.Store(1_800_000_000)
	s, _ := newTestService(t, Config{Now: clk.now})
	key, id := mintOne(t, s, floatingSpec(2))
	m := newFloatingMachines(t, 3)
	activate := func(i int) (Activation, error) {
		return s.Activate(&wire.ActivateRequest{Key: key, Fingerprint: m[i].fp, Hostname: []byte{'a' + byte(i)}}, &m[i].p)
	}
	counters := make([]uint64, len(m))
	heartbeat := func(i int) (Validation, error) {
		counters[i]++
		req := wire.ValidateRequest{LicenseID: id, Counter: counters[i], Fingerprint: m[i].fp}
		v, slow, err := s.Validate(&req, &m[i].p, clk.now().Unix())
		if err != nil {
			return v, err
		}
		if !slow {
			t.Fatalf("machine %d: a floating validation took the hot path", i)
		}
		return s.ValidateSlow(&req, &m[i].p)
	}
	pub := []*composite.PublicKey{s.keys.LeaseKey.Public()}
	start := clk.now().Unix()
	for i := range 2 {
		a, err := activate(i)
		if err != nil {
			t.Fatalf("machine %d checks out: %v", i, err)
		}
		l, err := wire.VerifyLease(a.Lease, pub)
		if err != nil || l.Level != wire.LevelFloating || l.LeaseExpiry != start+int64(i)+testCheckout {
			t.Fatalf("machine %d's lease: level %v, ends %d (want %v, %d), %v", i, l.Level, l.LeaseExpiry, wire.LevelFloating, start+int64(i)+testCheckout, err)
		}
		clk.add(time.Second)
	}
	_, err := activate(2)
	if !errors.Is(err, ErrNoSeats) || KindOf(err).Status() != wire.StatusNoSeats || RetryAt(err) != start+testCheckout {
		t.Fatalf("third machine: %v, retry at %d; want NO_SEATS, retry at %d", err, RetryAt(err), start+testCheckout)
	}

	// Machine 0 heartbeats, machine 1 stops (killed): after the checkout
	// time, machine 1's seat is free and machine 2 takes it.
	clk.add(testCheckout / 2 * time.Second)
	v, err := heartbeat(0)
	if err != nil {
		t.Fatalf("heartbeat: %v", err)
	}
	if l, _ := wire.VerifyLease(v.Lease, pub); l.LeaseExpiry != clk.now().Unix()+testCheckout {
		t.Fatalf("heartbeat's lease ends %d, want %d", l.LeaseExpiry, clk.now().Unix()+testCheckout)
	}
	if _, err := activate(2); !errors.Is(err, ErrNoSeats) || RetryAt(err) != start+1+testCheckout {
		t.Fatalf("third machine before machine 1's seat runs out: %v, retry at %d", err, RetryAt(err))
	}
	clk.add((testCheckout/2 + 1) * time.Second)
	if _, err := heartbeat(0); err != nil {
		t.Fatalf("heartbeat: %v", err)
	}
	if _, err := activate(2); err != nil {
		t.Fatalf("third machine once machine 1's seat ran out: %v", err)
	}
	// Machine 1 comes back: its binding stays, but no seat is free.
	if _, err := heartbeat(1); !errors.Is(err, ErrNoSeats) || RetryAt(err) == 0 {
		t.Fatalf("machine 1 back with every seat held: %v, retry at %d", err, RetryAt(err))
	}
	// Machine 2 checks in: its seat is free at once; machine 1 takes it
	// again without its key.
	if err := s.CheckIn(id, &m[2].p); err != nil {
		t.Fatalf("check-in: %v", err)
	}
	if err := s.CheckIn(id, &m[2].p); err != nil {
		t.Fatalf("check-in again: %v", err)
	}
	if _, err := heartbeat(1); err != nil {
		t.Fatalf("machine 1 after a check-in: %v", err)
	}
	acts, err := s.st.Activations(id)
	if err != nil {
		t.Fatal(err)
	}
	seats := FloatingSeats(acts, clk.now().Unix())
	if len(seats) != 3 || !seats[0].Held || !seats[1].Held || seats[2].Held || seats[2].Hostname != "c" {
		t.Fatalf("seats: %+v", seats)
	}
	// Machine 2 checks out again, through a validation, once a seat frees.
	if err := s.CheckIn(id, &m[0].p); err != nil {
		t.Fatal(err)
	}
	if _, err := heartbeat(2); err != nil {
		t.Fatalf("machine 2 checks out again: %v", err)
	}
	// A full deactivation removes the binding.
	if err := s.Deactivate(id, &m[2].p); err != nil {
		t.Fatal(err)
	}
	if _, err := heartbeat(2); KindOf(err) != KindNotActivated {
		t.Fatalf("after deactivation: %v", err)
	}
	// A node-locked license is not checked in.
	key2, id2 := mintOne(t, s, Spec{Seats: 1})
	if _, err := s.Activate(&wire.ActivateRequest{Key: key2, Fingerprint: m[0].fp}, &m[0].p); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckIn(id2, &m[0].p); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("check-in of a node-locked license: %v", err)
	}
}

// TestFloatingEvents: a shop's events show seats taken and freed, not
// heartbeats.
func TestFloatingEvents(t *testing.T) {
	t.Parallel()
	clk := &floatingClock{}
	clk.t.Store(1_800_000_000)
	s, _ := newTestService(t, Config{Now: clk.now})
	spec := floatingSpec(1)
	spec.Shop = "web"
	key, id := mintOne(t, s, spec)
	m := newFloatingMachines(t, 1)
	if _, err := s.Activate(&wire.ActivateRequest{Key: key, Fingerprint: m[0].fp, Hostname: []byte("a")}, &m[0].p); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		clk.add(10 * time.Second)
		req := wire.ValidateRequest{LicenseID: id, Counter: uint64(i + 1), Fingerprint: m[0].fp}
		if _, err := s.ValidateSlow(&req, &m[0].p); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CheckIn(id, &m[0].p); err != nil {
		t.Fatal(err)
	}
	lic, err := s.st.LicenseByID(id)
	if err != nil {
		t.Fatal(err)
	}
	acts, err := s.st.Activations(id)
	if err != nil {
		t.Fatal(err)
	}
	if n := SeatsInUse(&lic, acts, clk.now().Unix()); n != 0 || len(acts) != 1 {
		t.Fatalf("after the check-in: %d seats in use, %d bindings; want 0 and 1", n, len(acts))
	}
	// A full deactivation of a binding holding no seat frees none: its
	// event says so (0 of 1 held).
	if err := s.Deactivate(id, &m[0].p); err != nil {
		t.Fatal(err)
	}
	evs, err := s.st.ShopEvents("web", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []store.EventKind
	for _, e := range evs {
		if e.Kind == store.EventActivated || e.Kind == store.EventDeactivated {
			kinds = append(kinds, e.Kind)
		}
	}
	if len(kinds) != 3 || kinds[0] != store.EventActivated || kinds[1] != store.EventDeactivated || kinds[2] != store.EventDeactivated {
		t.Fatalf("seat events: %v; want activated, deactivated (check-in), deactivated (binding removed)", kinds)
	}
	if last := evs[len(evs)-1]; last.Seat != 0 || last.Seats != 1 {
		t.Fatalf("check-in event: seat %d of %d", last.Seat, last.Seats)
	}
}

// TestFloatingConcurrentCheckouts: 500 installs check out a 10-seat
// floating key at once; exactly 10 hold a seat. On Pebble, and on
// PostgreSQL through two services (two gateways) sharing the database
// (skipped without one, see internal/pgtest).
func TestFloatingConcurrentCheckouts(t *testing.T) {
	t.Parallel()
	t.Run("pebble", func(t *testing.T) {
		t.Parallel()
		s, _ := newTestService(t, Config{})
		concurrentCheckouts(t, []*Service{s})
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		url := pgtest.URL(t)
		keys := testKeys(t)
		var ss []*Service
		for range 2 {
			// Only a hung database reaches the timeout: 500 updates wait in
			// turn for the license's row lock.
			b, err := pgstore.Open(pgstore.Config{URL: url, Migrate: true, Timeout: hang.Timeout(t)})
			if err != nil {
				t.Fatal(err)
			}
			st, err := store.New(b, store.Options{})
			if err != nil {
				b.Close()
				t.Fatal(err)
			}
			s := New(Config{Store: st, Keys: keys, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), DefaultLeaseSeconds: 86400})
			t.Cleanup(func() {
				s.Close()
				st.Close()
			})
			ss = append(ss, s)
		}
		concurrentCheckouts(t, ss)
	})
}

// concurrentCheckouts checks out a 10-seat floating key from 500 installs
// at once, spread over ss (sharing one database), and checks that exactly
// 10 hold a seat and every other is refused NO_SEATS with a retry time.
func concurrentCheckouts(t *testing.T, ss []*Service) {
	s := ss[0]
	key, id := mintOne(t, s, floatingSpec(10))
	const n = 500
	var ok, full atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		p, fp := newInstall(t), testFingerprint()
		s := ss[i%len(ss)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := s.Activate(&wire.ActivateRequest{Key: key, Fingerprint: fp}, &p)
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, ErrNoSeats) && RetryAt(err) != 0:
				full.Add(1)
			default:
				t.Errorf("activate: %v", err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if ok.Load() != 10 || full.Load() != n-10 {
		t.Fatalf("%d checked out, %d refused; want 10 and %d", ok.Load(), full.Load(), n-10)
	}
	acts, err := s.st.Activations(id)
	if err != nil {
		t.Fatal(err)
	}
	if len(acts) != 10 {
		t.Fatalf("%d bindings stored, want 10", len(acts))
	}
}

// TestFloatingPrune: bindings idle for 30 days go when a new install
// binds; a floating product needs a checkout time within bounds.
func TestFloatingPrune(t *testing.T) {
	t.Parallel()
	clk := &floatingClock{}
	clk.t.Store(1_800_000_000)
	s, _ := newTestService(t, Config{Now: clk.now})
	key, id := mintOne(t, s, floatingSpec(1))
	m := newFloatingMachines(t, 2)
	if _, err := s.Activate(&wire.ActivateRequest{Key: key, Fingerprint: m[0].fp}, &m[0].p); err != nil {
		t.Fatal(err)
	}
	clk.add(31 * 24 * time.Hour)
	if _, err := s.Activate(&wire.ActivateRequest{Key: key, Fingerprint: m[1].fp}, &m[1].p); err != nil {
		t.Fatal(err)
	}
	acts, err := s.st.Activations(id)
	if err != nil {
		t.Fatal(err)
	}
	if len(acts) != 1 || acts[0].Install != m[1].p.Install {
		t.Fatalf("%d bindings after pruning, want machine 1's alone", len(acts))
	}
	for _, secs := range []uint32{0, MinCheckoutSeconds - 1, MaxCheckoutSeconds + 1} {
		p := store.Product{Code: "1FJS3", Name: "f", Policy: store.Policy{Floating: true, LeaseSeconds: secs}}
		if err := p.Check(); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("floating product with a checkout of %d s: %v", secs, err)
		}
	}
}

// TestDemoCatalogueFloating: the demo catalogue's floating product is a
// usable catalogue entry, and its keys are floating.
func TestDemoCatalogueFloating(t *testing.T) {
	t.Parallel()
	var found bool
	for _, p := range DemoCatalogue() {
		if err := p.Check(); err != nil {
			t.Errorf("%s: %v", p.Code, err)
		}
		if p.Code == "1FJS3" {
			found = true
			if spec := ProductSpec(&p); !spec.Policy.Floating || spec.Seats != 10 || spec.Policy.LeaseSeconds != 900 {
				t.Errorf("1FJS3 mints %+v", spec)
			}
		}
	}
	if !found {
		t.Fatal("no floating product 1FJS3 in the demo catalogue")
	}
}
