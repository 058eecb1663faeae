package store_test

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/store/pebblestore"
	"github.com/tollgate/tollgate/store/storetest"
)

var (
	newLicense = storetest.NewLicense
	install    = storetest.Install
)

// openTest opens a Store over the Pebble backend in dir, writing behind
// every 50 ms.
func openTest(t testing.TB, dir string) *store.Store {
	t.Helper()
	b, err := pebblestore.Open(pebblestore.Config{Dir: dir})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	s, err := store.New(b, store.Options{WriteBehind: 50 * time.Millisecond})
	if err != nil {
		b.Close()
		t.Fatalf("New: %v", err)
	}
	return s
}

// activate is the seat rule the gateway applies, reduced to its core.
func activate(s *store.Store, id store.LicenseID, in store.InstallID, i int) error {
	return s.Update(id, storetest.Activate(in, i))
}

func TestSeatsExactUnderConcurrency(t *testing.T) {
	t.Parallel()
	s := openTest(t, t.TempDir())
	defer s.Close()
	l := newLicense(t, 10)
	if err := s.CreateLicenses([]store.License{l}); err != nil {
		t.Fatal(err)
	}
	var ok, full atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 500; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			switch err := activate(s, l.ID, install(i), i); {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, storetest.ErrNoSeats):
				full.Add(1)
			default:
				t.Errorf("activate: %v", err)
			}
		}(i)
	}
	wg.Wait()
	if ok.Load() != 10 || full.Load() != 490 {
		t.Fatalf("%d activations succeeded and %d were refused; want 10 and 490", ok.Load(), full.Load())
	}
	acts, err := s.Activations(l.ID)
	if err != nil || len(acts) != 10 {
		t.Fatalf("Activations = %d, %v; want 10", len(acts), err)
	}
}

// failingSeen is a backend whose write-behind fails while fail is set.
type failingSeen struct {
	store.Backend
	fail atomic.Bool
}

var errSeen = errors.New("disk full")

func (f *failingSeen) WriteSeen(seen []store.Seen) error {
	if f.fail.Load() {
		return errSeen
	}
	return f.Backend.WriteSeen(seen)
}

// TestFlushFailureRequeues: values a flush could not write stay queued (a
// reload still sees them) and the next flush writes them, leaving nothing
// pending. (The conformance suite's CachePendingCounter covers a counter
// that survives an Update and a Flush.)
func TestFlushFailureRequeues(t *testing.T) {
	t.Parallel()
	b, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	f := &failingSeen{Backend: b}
	// A write-behind interval of a second: the test flushes by itself.
	s, err := store.New(f, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l := newLicense(t, 1)
	if err := s.CreateLicenses([]store.License{l}); err != nil {
		t.Fatal(err)
	}
	if err := activate(s, l.ID, install(1), 1); err != nil {
		t.Fatal(err)
	}
	e, err := s.Lookup(l.ID, install(1))
	if err != nil {
		t.Fatal(err)
	}
	f.fail.Store(true)
	s.Advance(e, 500, 9)
	if err := s.Flush(); !errors.Is(err, errSeen) {
		t.Fatalf("Flush = %v, want the backend's error", err)
	}
	if st := s.Stats(); st.PendingWrites != 1 || store.Pending(s) != 1 {
		t.Fatalf("after a failed flush: %d queued, %d pending; want 1 and 1", st.PendingWrites, store.Pending(s))
	}
	if acts, err := s.Activations(l.ID); err != nil || acts[0].Counter != 9 {
		t.Fatalf("Activations after a failed flush = %+v, %v; want counter 9", acts, err)
	}
	f.fail.Store(false)
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if a, err := b.Activation(l.ID, install(1)); err != nil || a.Counter != 9 || a.LastSeen != 500 {
		t.Fatalf("the backend after the retry: %+v, %v", a, err)
	}
	if store.Pending(s) != 0 {
		t.Fatal("still pending after the retry")
	}
}

func TestOptions(t *testing.T) {
	t.Parallel()
	for _, o := range []store.Options{{WriteBehind: 2 * time.Second}, {WriteBehind: -1}, {CacheEntries: -1}} {
		if _, err := store.New(nil, o); !errors.Is(err, store.ErrConfig) {
			t.Errorf("New(%+v) = %v, want ErrConfig", o, err)
		}
	}
}

func BenchmarkLookupHot(b *testing.B) {
	s := openTest(b, b.TempDir())
	defer s.Close()
	l := newLicense(b, 1)
	if err := s.CreateLicenses([]store.License{l}); err != nil {
		b.Fatal(err)
	}
	if err := activate(s, l.ID, install(1), 1); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		s.Lookup(l.ID, install(1))
		store.WaitCache(s)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e, err := s.Lookup(l.ID, install(1))
		if err != nil {
			b.Fatal(err)
		}
		s.Advance(e, int64(i), uint64(i)+1)
	}
}
