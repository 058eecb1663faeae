package store_test

import (
	"testing"

	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/store/pebblestore"
)

// lookup is Lookup that fails the test on an error.
func lookup(t *testing.T, s *store.Store, id store.LicenseID, in store.InstallID) *store.Entry {
	t.Helper()
	e, err := s.Lookup(id, in)
	if err != nil {
		t.Fatalf("Lookup: %v", err)
	}
	return e
}

// TestHeldEntryEvicted: a session holds the entry of its last validation
// (Current). Once the shared cache evicts it, another session of the same
// install (a clone) loads a new entry that starts from the held one's
// counter; the held entry is no longer current, so its holder looks the
// activation up again and a counter the clone already presented is
// refused: the two entries are never advanced independently.
func TestHeldEntryEvicted(t *testing.T) {
	t.Parallel()
	s := openTest(t, t.TempDir())
	defer s.Close()
	l := newLicense(t, 1)
	if err := s.CreateLicenses([]store.License{l}); err != nil {
		t.Fatal(err)
	}
	in := install(1)
	if err := activate(s, l.ID, in, 1); err != nil {
		t.Fatal(err)
	}
	held := lookup(t, s, l.ID, in)
	store.WaitCache(s)
	for c := uint64(1); c <= 5; c++ {
		if !s.Current(held, l.ID, in) {
			t.Fatalf("the held entry is not current before any change (counter %d)", c)
		}
		if !s.Advance(held, 100, c) {
			t.Fatalf("Advance(%d) refused", c)
		}
	}
	if s.Current(held, l.ID, install(2)) || s.Current(nil, l.ID, in) {
		t.Fatal("Current of another install's key, or of nil")
	}

	store.Evict(s, l.ID, in)
	if s.Current(held, l.ID, in) {
		t.Fatal("the held entry is current after its eviction")
	}
	clone := lookup(t, s, l.ID, in)
	if clone == held || clone.Counter() != 5 {
		t.Fatalf("the clone's entry: same as held %v, counter %d; want a new entry at 5", clone == held, clone.Counter())
	}
	if !s.Advance(clone, 101, 6) {
		t.Fatal("the clone's counter 6 refused")
	}
	// The holder looks the activation up again, as Validate does.
	e := held
	if !s.Current(e, l.ID, in) {
		e = lookup(t, s, l.ID, in)
	}
	if e == held {
		t.Fatal("the holder kept the evicted entry")
	}
	if s.Advance(e, 102, 6) {
		t.Fatal("counter 6 accepted twice (once per entry)")
	}
	if !s.Advance(e, 102, 7) || e.Counter() != 7 {
		t.Fatalf("counter 7 after 6: counter %d", e.Counter())
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	acts, err := s.Activations(l.ID)
	if err != nil || len(acts) != 1 || acts[0].Counter != 7 {
		t.Fatalf("Activations after the flush = %+v, %v; want counter 7", acts, err)
	}
}

// TestHeldEntryChurn: with a cache far smaller than the activations looked
// up, ristretto evicts entries and refuses to admit others; whatever it
// did, an entry that Current still calls current is the one Lookup
// returns (so no second entry of that activation exists to be advanced).
func TestHeldEntryChurn(t *testing.T) {
	t.Parallel()
	b := openBackend(t)
	s, err := store.New(b, store.Options{CacheEntries: 8})
	if err != nil {
		b.Close()
		t.Fatal(err)
	}
	defer s.Close()
	const n = 64
	ls := make([]store.License, n)
	for i := range ls {
		ls[i] = newLicense(t, 1)
	}
	if err := s.CreateLicenses(ls); err != nil {
		t.Fatal(err)
	}
	for i, l := range ls {
		if err := activate(s, l.ID, install(i), i); err != nil {
			t.Fatal(err)
		}
	}
	held := make([]*store.Entry, n)
	var stale, current int
	for round := 0; round < 20; round++ {
		for i, l := range ls {
			e := held[i]
			if !s.Current(e, l.ID, install(i)) {
				e = lookup(t, s, l.ID, install(i))
			}
			held[i] = e
			if !s.Advance(e, 100, uint64(round+1)) {
				t.Fatalf("round %d, activation %d: counter %d refused (entry at %d)", round, i, round+1, e.Counter())
			}
		}
		store.WaitCache(s)
		for i, l := range ls {
			if !s.Current(held[i], l.ID, install(i)) {
				stale++
				continue
			}
			current++
			if e := lookup(t, s, l.ID, install(i)); e != held[i] {
				t.Fatalf("round %d, activation %d: a current held entry is not the cache's", round, i)
			}
		}
	}
	if stale == 0 || current == 0 {
		t.Fatalf("%d held entries went stale and %d stayed current: the test exercised no eviction", stale, current)
	}
}

// TestHeldEntryChanged: a change to the license (Update) and a backend
// that may have missed changes (untrusted) make a held entry not current,
// so the next validation reads the change.
func TestHeldEntryChanged(t *testing.T) {
	t.Parallel()
	s := openTest(t, t.TempDir())
	defer s.Close()
	l := newLicense(t, 1)
	if err := s.CreateLicenses([]store.License{l}); err != nil {
		t.Fatal(err)
	}
	in := install(1)
	if err := activate(s, l.ID, in, 1); err != nil {
		t.Fatal(err)
	}
	held := lookup(t, s, l.ID, in)
	store.WaitCache(s)
	if err := s.Update(l.ID, func(tx *store.Tx) error {
		tx.License.State = store.StateRevoked
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if s.Current(held, l.ID, in) {
		t.Fatal("the held entry is current after the license was revoked")
	}
	held = lookup(t, s, l.ID, in)
	if held.License.State != store.StateRevoked {
		t.Fatalf("state after Lookup = %v, want revoked", held.License.State)
	}
	store.WaitCache(s)
	if !s.Current(held, l.ID, in) {
		t.Fatal("the reloaded entry is not current")
	}
	store.Untrust(s, false)
	if s.Current(held, l.ID, in) {
		t.Fatal("a held entry is current while the backend is untrusted")
	}
	store.Untrust(s, true)
	if s.Current(held, l.ID, in) {
		t.Fatal("an entry held from before a resync is current")
	}
}

// openBackend opens a Pebble backend in a temporary directory.
func openBackend(t *testing.T) store.Backend {
	t.Helper()
	b, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return b
}
