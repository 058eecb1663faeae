package pgstore

import (
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tollgate/tollgate/internal/pgtest"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/store/storetest"
)

// Tests of two Backends on one database: two gateways sharing it.

// twoBackends opens two backends (two pools) on one new database.
func twoBackends(t *testing.T) (*Backend, *Backend) {
	t.Helper()
	url := pgtest.URL(t)
	return open(t, url), open(t, url)
}

// TestSeatRaceTwoBackends: 500 concurrent activations of one 5-seat
// license, half through each backend, take exactly 5 seats; a seat freed
// through one is taken through the other, and then the license is full
// again for both.
func TestSeatRaceTwoBackends(t *testing.T) {
	t.Parallel()
	a, b := twoBackends(t)
	backends := []*Backend{a, b}
	l := storetest.NewLicense(t, 5)
	if err := a.CreateLicenses([]store.License{l}, nil); err != nil {
		t.Fatal(err)
	}
	var ok, full atomic.Int64
	var wg sync.WaitGroup
	for i := range 500 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch err := backends[i%2].Update(l.ID, nil, storetest.Activate(storetest.Install(i), i)); {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, storetest.ErrNoSeats):
				full.Add(1)
			default:
				t.Errorf("activation %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 5 || full.Load() != 495 {
		t.Fatalf("%d activations succeeded and %d were refused; want 5 and 495", ok.Load(), full.Load())
	}
	acts, err := b.Activations(l.ID)
	if err != nil || len(acts) != 5 {
		t.Fatalf("Activations through the other backend = %d, %v; want 5", len(acts), err)
	}
	t.Logf("transactions run again: %d and %d", a.retries.Load(), b.retries.Load())
	// A deactivation through a frees a seat that b can take, once.
	freed := acts[0].Install
	if err := a.Update(l.ID, nil, func(tx *store.Tx) error { tx.DeleteActivation(freed); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := b.Update(l.ID, nil, storetest.Activate(storetest.Install(1000), 1000)); err != nil {
		t.Fatalf("activation through b after a deactivation through a: %v", err)
	}
	for i, be := range backends {
		if err := be.Update(l.ID, nil, storetest.Activate(storetest.Install(1001+i), 1001+i)); !errors.Is(err, storetest.ErrNoSeats) {
			t.Fatalf("a sixth activation through backend %d: %v, want ErrNoSeats", i, err)
		}
	}
	if _, err := a.Activation(l.ID, freed); !errors.Is(err, store.ErrNotActivated) {
		t.Fatalf("the deactivated install: %v, want ErrNotActivated", err)
	}
}

// TestMintOnceTwoBackends: concurrent attempts of one order through two
// backends mint once, the others get the order placed; the same id with
// another request is ErrOrderConflict through either; the quota counts
// what both minted.
func TestMintOnceTwoBackends(t *testing.T) {
	t.Parallel()
	a, b := twoBackends(t)
	backends := []*Backend{a, b}
	o := store.Order{Shop: "acme", ID: "ORD-1", Request: []byte("req-1"), Count: 3, Product: "1AJS2"}
	var calls, existed atomic.Int32
	var mu sync.Mutex
	var minted [][]store.License
	mint := func() ([]store.License, []byte, error) {
		calls.Add(1)
		ls := []store.License{storetest.NewLicense(t, 1), storetest.NewLicense(t, 1), storetest.NewLicense(t, 1)}
		mu.Lock()
		minted = append(minted, ls)
		mu.Unlock()
		return ls, []byte("sealed"), nil
	}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, ex, err := backends[i%2].MintOrder(o, 100, mint)
			if err != nil {
				t.Errorf("MintOrder: %v", err)
				return
			}
			if ex {
				existed.Add(1)
			}
			if string(got.Sealed) != "sealed" || got.Count != 3 {
				t.Errorf("order returned = %+v", got)
			}
		}()
	}
	wg.Wait()
	if existed.Load() != 15 {
		t.Fatalf("%d of 16 attempts found the order placed; want 15", existed.Load())
	}
	// mint may run again when a transaction is retried, but only one
	// run's licenses are written.
	written := 0
	for _, ls := range minted {
		n := 0
		for _, l := range ls {
			if _, err := b.LicenseByKeyHash(l.KeyHash); err == nil {
				n++
			}
		}
		if n != 0 && n != len(ls) {
			t.Fatalf("a run of mint was written in part: %d of %d", n, len(ls))
		}
		written += n
	}
	if written != 3 {
		t.Fatalf("%d licenses written (mint ran %d times); want 3", written, calls.Load())
	}
	if n, err := a.MintedToday("acme"); err != nil || n != 3 {
		t.Fatalf("MintedToday = %d, %v; want 3", n, err)
	}
	o2 := o
	o2.Request = []byte("req-2")
	for i, be := range backends {
		if _, _, err := be.MintOrder(o2, 100, mint); !errors.Is(err, store.ErrOrderConflict) {
			t.Fatalf("another request under the same id through backend %d: %v, want ErrOrderConflict", i, err)
		}
	}
	o3 := store.Order{Shop: "acme", ID: "ORD-2", Request: []byte("x"), Count: 98, Product: "1AJS2"}
	many := func() ([]store.License, []byte, error) {
		ls := make([]store.License, 98)
		for i := range ls {
			ls[i] = storetest.NewLicense(t, 1)
		}
		return ls, []byte("s"), nil
	}
	if _, _, err := b.MintOrder(o3, 100, many); !errors.Is(err, store.ErrQuotaExceeded) {
		t.Fatalf("an order past the quota minted through the other backend: %v, want ErrQuotaExceeded", err)
	}
	if n, err := a.VerifyAudit(); err != nil || n != 1 {
		t.Fatalf("VerifyAudit = %d, %v; want the one mint", n, err)
	}
}

// TestAuditOneChainTwoBackends: entries appended concurrently through two
// backends, alone and with license updates, form one chain without gaps.
func TestAuditOneChainTwoBackends(t *testing.T) {
	t.Parallel()
	a, b := twoBackends(t)
	backends := []*Backend{a, b}
	l := storetest.NewLicense(t, 1)
	if err := a.CreateLicenses([]store.License{l}, &store.AuditEntry{Kind: "mint"}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			be := backends[i%2]
			var err error
			if i%4 < 2 {
				err = be.Audit(store.AuditEntry{Kind: "test", Detail: string(rune('a' + i%2))})
			} else {
				err = be.Update(l.ID, nil, func(tx *store.Tx) error {
					tx.License.State = store.State(i % 2)
					tx.Audit = &store.AuditEntry{Kind: "license.state", Detail: string(rune('a' + i%2))}
					return nil
				})
			}
			if err != nil {
				t.Errorf("append %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	for i, be := range backends {
		if n, err := be.VerifyAudit(); err != nil || n != 41 {
			t.Fatalf("VerifyAudit through backend %d = %d, %v; want 41", i, n, err)
		}
	}
	es, err := b.AuditLog(0)
	if err != nil || len(es) != 41 {
		t.Fatalf("AuditLog = %d entries, %v", len(es), err)
	}
	from := map[string]int{}
	for i, e := range es {
		if e.Seq != uint64(i+1) {
			t.Fatalf("entry %d has seq %d", i, e.Seq)
		}
		from[e.Detail]++
	}
	if from["a"] != 20 || from["b"] != 20 {
		t.Fatalf("entries by backend: %v; want 20 of each", from)
	}
}

// TestWriteSeenTwoBackends: values written behind by two backends at once,
// in random order, leave each activation at the highest of each value, and
// a reader never sees one go back.
func TestWriteSeenTwoBackends(t *testing.T) {
	t.Parallel()
	a, b := twoBackends(t)
	l := storetest.NewLicense(t, 2)
	if err := a.CreateLicenses([]store.License{l}, nil); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		if err := a.Update(l.ID, nil, storetest.Activate(storetest.Install(i), i)); err != nil {
			t.Fatal(err)
		}
	}
	var (
		wg                  sync.WaitGroup
		maxSeen, maxCounter [3]atomic.Int64 // by install 1 and 2
		writers             sync.WaitGroup
		stop                = make(chan struct{})
	)
	for w, be := range []*Backend{a, b} {
		writers.Add(1)
		go func() {
			defer writers.Done()
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for range 40 {
				var batch []store.Seen
				for in := 1; in <= 2; in++ {
					s := store.Seen{License: l.ID, Install: storetest.Install(in), LastSeen: r.Int64N(1e6), Counter: r.Uint64N(1e6)}
					batch = append(batch, s)
				}
				if err := be.WriteSeen(batch); err != nil {
					t.Errorf("WriteSeen: %v", err)
					return
				}
				for i, s := range batch {
					raise(&maxSeen[i+1], s.LastSeen)
					raise(&maxCounter[i+1], int64(s.Counter))
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		var last [3]store.Activation
		for {
			select {
			case <-stop:
				return
			default:
			}
			acts, err := b.Activations(l.ID)
			if err != nil {
				t.Errorf("Activations: %v", err)
				return
			}
			for _, x := range acts {
				i := 1
				if x.Install == storetest.Install(2) {
					i = 2
				}
				if x.LastSeen < last[i].LastSeen || x.Counter < last[i].Counter {
					t.Errorf("install %d went back: %d/%d after %d/%d", i, x.LastSeen, x.Counter, last[i].LastSeen, last[i].Counter)
					return
				}
				last[i] = x
			}
		}
	}()
	writers.Wait()
	close(stop)
	wg.Wait()
	for i := 1; i <= 2; i++ {
		x, err := a.Activation(l.ID, storetest.Install(i))
		if err != nil || x.LastSeen != maxSeen[i].Load() || int64(x.Counter) != maxCounter[i].Load() {
			t.Fatalf("install %d: %d/%d, %v; want the highest written, %d/%d", i, x.LastSeen, x.Counter, err, maxSeen[i].Load(), maxCounter[i].Load())
		}
	}
}

// raise sets v to x if x is higher.
func raise(v *atomic.Int64, x int64) {
	for {
		old := v.Load()
		if x <= old || v.CompareAndSwap(old, x) {
			return
		}
	}
}
