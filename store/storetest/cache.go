package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/store"
)

// The cases of the Store in front of the backend (store.New).
var cacheCases = []testCase{
	{"CacheUpdateSeenByNextLookup", testCacheUpdateSeen},
	{"CacheAdvance", testCacheAdvance},
	{"CachePendingCounter", testCachePendingCounter},
}

// newStore puts a Store in front of b, writing behind every 50 ms.
func newStore(t *testing.T, b store.Backend) *store.Store {
	t.Helper()
	s, err := store.New(b, store.Options{WriteBehind: 50 * time.Millisecond})
	if err != nil {
		t.Fatalf("store.New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// activated makes a license of seats seats, activated on Install(1), in s.
func activated(t *testing.T, s *store.Store, seats uint32) store.License {
	t.Helper()
	l := NewLicense(t, seats)
	if err := s.CreateLicenses([]store.License{l}); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(l.ID, Activate(Install(1), 1)); err != nil {
		t.Fatal(err)
	}
	return l
}

// testCacheUpdateSeen suspends and resumes a license 200 times while
// readers look it up in a loop (so cache Sets of the old state race every
// update), and checks that each lookup after an Update returns sees it.
func testCacheUpdateSeen(t *testing.T, b store.Backend) {
	s := newStore(t, b)
	l := activated(t, s, 1)
	var unknown store.LicenseID
	if _, err := s.Lookup(unknown, Install(1)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Lookup of an unknown license = %v, want ErrNotFound", err)
	}
	if _, err := s.Lookup(l.ID, Install(2)); !errors.Is(err, store.ErrNotActivated) {
		t.Fatalf("Lookup of another install = %v, want ErrNotActivated", err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.Lookup(l.ID, Install(1)); err != nil {
					t.Errorf("Lookup: %v", err)
					return
				}
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()
	for i := range 200 {
		next := store.StateSuspended
		if i%2 == 1 {
			next = store.StateActive
		}
		if err := s.Update(l.ID, func(tx *store.Tx) error { tx.License.State = next; return nil }); err != nil {
			t.Fatal(err)
		}
		for j := range 5 {
			if e, err := s.Lookup(l.ID, Install(1)); err != nil || e.License.State != next {
				t.Fatalf("lookup %d after update %d: %v; want %v", j, i, err, next)
			}
		}
	}
}

// testCacheAdvance: Advance takes only a counter above every one before,
// and the entry's fingerprint is the activation's.
func testCacheAdvance(t *testing.T, b store.Backend) {
	s := newStore(t, b)
	l := activated(t, s, 1)
	e, err := s.Lookup(l.ID, Install(1))
	if err != nil {
		t.Fatal(err)
	}
	if e.Activation.Fingerprint != Fingerprint(1) || e.License.ID != l.ID || e.Counter() != 0 {
		t.Fatalf("entry = %+v", e)
	}
	if !s.Advance(e, 100, 5) || e.Counter() != 5 || e.LastSeen() != 100 {
		t.Fatalf("Advance to 5: counter %d, last seen %d", e.Counter(), e.LastSeen())
	}
	if s.Advance(e, 200, 5) || s.Advance(e, 200, 4) || e.Counter() != 5 || e.LastSeen() != 100 {
		t.Fatalf("a counter not above the last was taken: counter %d, last seen %d", e.Counter(), e.LastSeen())
	}
	if !s.Advance(e, 50, 6) || e.LastSeen() != 100 {
		t.Fatalf("an earlier time moved last seen back to %d", e.LastSeen())
	}
}

// testCachePendingCounter: before its counter is written behind, an Update
// and an entry loaded again (the Update bumped the epoch) read the counter
// in memory, not the older one in the backend, so a replayed counter is
// still refused; a Flush writes it to the backend.
func testCachePendingCounter(t *testing.T, b store.Backend) {
	s := newStore(t, b)
	l := activated(t, s, 1)
	e, err := s.Lookup(l.ID, Install(1))
	if err != nil {
		t.Fatal(err)
	}
	for c := uint64(1); c <= 7; c++ {
		if !s.Advance(e, 100, c) {
			t.Fatalf("counter %d refused", c)
		}
	}
	// An Update sees it too: an activation's lease carries the highest
	// counter, from which a client that lost its own resumes.
	if err := s.Update(l.ID, func(tx *store.Tx) error {
		if a, _ := tx.Activation(Install(1)); a.Counter != 7 {
			t.Errorf("the update reads counter %d, want 7", a.Counter)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	again, err := s.Lookup(l.ID, Install(1))
	if err != nil {
		t.Fatal(err)
	}
	if again == e {
		t.Fatal("the entry was not loaded again after the update")
	}
	if again.Counter() != 7 || s.Advance(again, 101, 5) || !s.Advance(again, 101, 8) {
		t.Fatalf("after reload: counter %d, want 7 with 5 refused and 8 taken", again.Counter())
	}
	if acts, err := s.Activations(l.ID); err != nil || len(acts) != 1 || acts[0].Counter != 8 {
		t.Fatalf("Activations with a counter queued = %+v, %v; want counter 8", acts, err)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if a, err := b.Activation(l.ID, Install(1)); err != nil || a.Counter != 8 || a.LastSeen != 101 {
		t.Fatalf("the backend after a flush: %+v, %v; want counter 8 seen at 101", a, err)
	}
	if st := s.Stats(); st.PendingWrites != 0 {
		t.Fatalf("%d writes pending after a flush", st.PendingWrites)
	}
}
