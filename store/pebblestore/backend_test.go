package pebblestore

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/store/storetest"
)

// TestConformance runs the backend contract's suite on Pebble.
func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Backend { return openBackend(t, t.TempDir()) })
}

func openBackend(t testing.TB, dir string) *Backend {
	t.Helper()
	b, err := Open(Config{Dir: dir})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return b
}

// openTest opens the backend in dir and a Store in front of it, writing
// behind every 50 ms. Closing the Store closes the backend.
func openTest(t testing.TB, dir string) (*Backend, *store.Store) {
	t.Helper()
	b := openBackend(t, dir)
	s, err := store.New(b, store.Options{WriteBehind: 50 * time.Millisecond})
	if err != nil {
		b.Close()
		t.Fatalf("New: %v", err)
	}
	return b, s
}

func activate(s *store.Store, id store.LicenseID, in store.InstallID, i int) error {
	return s.Update(id, storetest.Activate(in, i))
}

// activatedAhead creates a license of two seats activated by install 1,
// whose last-seen time and counter then move to lastSeen and counter:
// queued for the write-behind.
func activatedAhead(t *testing.T, s *store.Store, lastSeen int64, counter uint64) store.License {
	t.Helper()
	l := storetest.NewLicense(t, 2)
	if err := s.CreateLicenses([]store.License{l}); err != nil {
		t.Fatal(err)
	}
	if err := activate(s, l.ID, storetest.Install(1), 1); err != nil {
		t.Fatal(err)
	}
	e, err := s.Lookup(l.ID, storetest.Install(1))
	if err != nil {
		t.Fatal(err)
	}
	s.Advance(e, lastSeen, counter)
	return l
}

// TestDurableAcrossReopen: what was written, the written-behind state of
// a clean close included, is there after the directory is opened again;
// a directory in use is refused with ErrLocked.
func TestDurableAcrossReopen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, s := openTest(t, dir)
	l := storetest.NewLicense(t, 3)
	if err := s.CreateLicenses([]store.License{l}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateLicenses([]store.License{l}); !errors.Is(err, store.ErrExists) {
		t.Fatalf("second CreateLicenses = %v, want ErrExists", err)
	}
	if err := activate(s, l.ID, storetest.Install(1), 1); err != nil {
		t.Fatal(err)
	}
	e, err := s.Lookup(l.ID, storetest.Install(1))
	if err != nil {
		t.Fatal(err)
	}
	s.Advance(e, 12345, 7)
	if err := s.AddShop(storetest.Shop("acme", 0)); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(Config{Dir: dir}); !errors.Is(err, store.ErrLocked) {
		t.Fatalf("second Open of a directory in use = %v, want ErrLocked", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, s = openTest(t, dir)
	defer s.Close()
	if sh, err := s.ShopByName("acme"); err != nil || sh.Name != "acme" {
		t.Fatalf("ShopByName after reopen: %+v, %v", sh, err)
	}
	got, err := s.LicenseByKeyHash(l.KeyHash)
	if err != nil || got.ID != l.ID || got.Activated == 0 {
		t.Fatalf("after reopen: %+v, %v", got, err)
	}
	e, err = s.Lookup(l.ID, storetest.Install(1))
	if err != nil {
		t.Fatal(err)
	}
	if e.LastSeen() != 12345 || e.Counter() != 7 {
		t.Fatalf("written-behind state after clean close: last seen %d counter %d, want 12345 and 7", e.LastSeen(), e.Counter())
	}
	if e.Activation.Fingerprint != storetest.Fingerprint(1) {
		t.Fatalf("fingerprint did not survive: %+v", e.Activation.Fingerprint)
	}
	if _, err := s.Lookup(l.ID, storetest.Install(2)); !errors.Is(err, store.ErrNotActivated) {
		t.Fatalf("Lookup of another install = %v, want ErrNotActivated", err)
	}
	var unknown store.LicenseID
	if _, err := s.Lookup(unknown, storetest.Install(1)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Lookup of unknown license = %v, want ErrNotFound", err)
	}
}

func TestWriteBehindFlushes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	b, s := openTest(t, dir)
	l := activatedAhead(t, s, 999, 3)
	// Written behind every 50 ms here; only a flusher that never runs
	// leaves it unwritten until the test's deadline is near.
	// The record on disk, not Activations, which also reads what is queued.
	deadline := time.Now().Add(hang.Timeout(t))
	for {
		seen, err := b.get(activationKey(pfxSeen, l.ID, storetest.Install(1)))
		if err != nil {
			t.Fatal(err)
		}
		if len(seen) == 16 && binary.BigEndian.Uint64(seen) == 999 && binary.BigEndian.Uint64(seen[8:]) == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("last seen not written behind: %x", seen)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if acts, err := s.Activations(l.ID); err != nil || len(acts) != 1 || acts[0].LastSeen != 999 || acts[0].Counter != 3 {
		t.Fatalf("activations after the flush: %+v, %v", acts, err)
	}
	s.Close()
}

func TestVersion1Records(t *testing.T) {
	t.Parallel()
	b, s := openTest(t, t.TempDir())
	defer s.Close()
	l := storetest.NewLicense(t, 1)
	rand.Read(l.ID[:]) // minted before ids were derived: found through its index entry
	a := store.Activation{License: l.ID, Install: storetest.Install(1), Fingerprint: storetest.Fingerprint(1), Hostname: "old", Created: 1700000000}
	o := store.Order{Shop: "shop-1", ID: "o-1", Request: []byte("req"), Sealed: []byte("sealed"), Count: 1, Product: "1AJS2", Created: 1700000000}
	oj, _ := json.Marshal(o)
	for k, v := range map[string][]byte{
		string(licenseKey(l.KeyHash)):                         jsonLicenseV1(t, &l),
		string(licenseIDKey(l.ID)):                            l.KeyHash[:],
		string(activationKey(pfxActivation, l.ID, a.Install)): jsonActivationV1(t, &a),
		string(orderKey(o.Shop, o.ID)):                        oj,
	} {
		if err := b.db.Set([]byte(k), v, pebble.Sync); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.LicenseByKeyHash(l.KeyHash)
	if err != nil || !reflect.DeepEqual(got, l) {
		t.Fatalf("LicenseByKeyHash = %+v, %v", got, err)
	}
	if e, err := s.Lookup(l.ID, a.Install); err != nil || e.Activation.Hostname != "old" {
		t.Fatalf("Lookup of a version 1 activation: %v", err)
	}
	if got, err := s.OrderByID(o.Shop, o.ID); err != nil || !reflect.DeepEqual(got, o) {
		t.Fatalf("OrderByID = %+v, %v", got, err)
	}
	// The one seat is held by the version 1 activation.
	if err := activate(s, l.ID, storetest.Install(2), 2); !errors.Is(err, storetest.ErrNoSeats) {
		t.Fatalf("second activation of a one-seat license: %v, want no seats", err)
	}
	// UpdateLicense, too, and the record it writes back keeps the count.
	for range 2 {
		err := s.UpdateLicense(&l, func(tx *store.Tx) error {
			if len(tx.Activations) != 1 {
				t.Fatalf("update sees %d activations, want 1", len(tx.Activations))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	v, _ := b.get(licenseKey(l.KeyHash))
	if _, acts, err := decodeLicenseActs(v); err != nil || acts != 1 {
		t.Fatalf("rewritten record: %d activations, %v", acts, err)
	}
}

func TestEncodeLicenseLeavesListsAlone(t *testing.T) {
	t.Parallel()
	l := storetest.NewLicense(t, 1)
	backing := []string{"2BKT3", "spare"}
	l.Bundle = backing[:1]
	l.Entitlements = []string{"scan"}
	if _, err := encodeLicense(&l, 0); err != nil {
		t.Fatal(err)
	}
	if backing[1] != "spare" {
		t.Fatalf("encoding wrote %q into the bundle's spare capacity", backing[1])
	}
}

func TestLicenseIDs(t *testing.T) {
	t.Parallel()
	b, s := openTest(t, t.TempDir())
	defer s.Close()
	derived := storetest.NewLicense(t, 1)
	random := storetest.NewLicense(t, 1)
	rand.Read(random.ID[:])
	// shadow's key hash begins with random's id; its own id is random too.
	shadow := storetest.NewLicense(t, 1)
	copy(shadow.KeyHash[:], random.ID[:])
	rand.Read(shadow.ID[:])
	if err := s.CreateLicenses([]store.License{derived, random, shadow}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		l     store.License
		index bool
	}{{"derived", derived, false}, {"random", random, true}, {"shadow", shadow, true}} {
		if v, err := b.get(licenseIDKey(c.l.ID)); err != nil || (v != nil) != c.index {
			t.Errorf("%s: index entry %x, %v; want one: %v", c.name, v, err, c.index)
		}
		got, err := s.LicenseByID(c.l.ID)
		if err != nil || !reflect.DeepEqual(got, c.l) {
			t.Errorf("%s: LicenseByID = %x, %v; want %x", c.name, got.ID[:4], err, c.l.ID[:4])
		}
		if err := activate(s, c.l.ID, storetest.Install(1), 1); err != nil {
			t.Errorf("%s: activate: %v", c.name, err)
		}
		if e, err := s.Lookup(c.l.ID, storetest.Install(1)); err != nil || e.License.ID != c.l.ID {
			t.Errorf("%s: Lookup: %v", c.name, err)
		}
	}
	var unknown store.LicenseID
	rand.Read(unknown[:])
	if _, err := s.LicenseByID(unknown); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("LicenseByID of an unknown id: %v", err)
	}
	if err := s.CreateLicenses([]store.License{derived}); !errors.Is(err, store.ErrExists) {
		t.Errorf("creating a license again: %v, want ErrExists", err)
	}
	// A damaged index entry, or one naming another license, is corrupt.
	for name, v := range map[string][]byte{"short": random.KeyHash[:31], "another": derived.KeyHash[:]} {
		if err := b.db.Set(licenseIDKey(random.ID), v, pebble.Sync); err != nil {
			t.Fatal(err)
		}
		if _, err := s.LicenseByID(random.ID); !errors.Is(err, store.ErrCorrupt) {
			t.Errorf("index entry %s: %v, want ErrCorrupt", name, err)
		}
	}
	if err := b.db.Set(licenseIDKey(random.ID), random.KeyHash[:], pebble.Sync); err != nil {
		t.Fatal(err)
	}
	again := storetest.NewLicense(t, 1)
	again.ID = random.ID
	if err := s.CreateLicenses([]store.License{again}); !errors.Is(err, store.ErrExists) {
		t.Errorf("a new license with a taken id: %v, want ErrExists", err)
	}
}

func TestPrefixEnd(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ p, want []byte }{
		{[]byte{'l', 1, 2}, []byte{'l', 1, 3}},
		{[]byte{'l', 1, 0xff}, []byte{'l', 2}},
		{[]byte{'l', 0xff, 0xff}, []byte{'m'}},
		{[]byte{0xff, 0xff}, nil},
	} {
		if got := prefixEnd(c.p); !reflect.DeepEqual(got, c.want) {
			t.Errorf("prefixEnd(%x) = %x, want %x", c.p, got, c.want)
		}
	}
}

func BenchmarkLicenseByID(b *testing.B) {
	pb := openBackend(b, b.TempDir())
	defer pb.Close()
	const n = 10000
	derived, random := make([]store.License, n), make([]store.License, n)
	for i := range n {
		derived[i] = storetest.NewLicense(b, 1)
		random[i] = storetest.NewLicense(b, 1)
		rand.Read(random[i].ID[:])
	}
	for _, ls := range [][]store.License{derived, random} {
		if err := pb.CreateLicenses(ls, nil); err != nil {
			b.Fatal(err)
		}
	}
	if err := pb.db.Flush(); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		ls   []store.License
	}{{"derived", derived}, {"random", random}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, err := pb.LicenseByID(c.ls[i%n].ID); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestStats: the backend reports its size and Pebble's figures under the
// metric names the gateway has always exported.
func TestStats(t *testing.T) {
	t.Parallel()
	b := openBackend(t, t.TempDir())
	defer b.Close()
	if err := b.CreateLicenses([]store.License{storetest.NewLicense(t, 1)}, nil); err != nil {
		t.Fatal(err)
	}
	st := b.Stats()
	var names []string
	for _, x := range st.Extra {
		names = append(names, x.Name)
		if x.Help == "" {
			t.Errorf("%s has no help", x.Name)
		}
	}
	want := []string{"store_memtable_bytes", "store_l0_sublevels", "store_l0_tables", "store_compaction_debt_bytes"}
	if st.Bytes == 0 || st.PendingWrites != 0 || !reflect.DeepEqual(names, want) {
		t.Fatalf("Stats = %+v; want bytes on disk and the extras %v", st, want)
	}
}
