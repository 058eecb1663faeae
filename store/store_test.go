package store

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/wire"
)

var errNoSeats = errors.New("no seats")

func openTest(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := Open(Config{Dir: dir, WriteBehind: 50 * time.Millisecond})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func newLicense(t testing.TB, seats uint32) License {
	t.Helper()
	var l License
	rand.Read(l.KeyHash[:])
	l.ID = IDFor(l.KeyHash)
	l.Product = "1AJS2"
	l.Seats = seats
	l.Term = Term{Kind: TermYears, Value: 1}
	l.Policy = Policy{Level: 1, LeaseSeconds: 86400}
	l.Created = time.Now().Unix()
	return l
}

func install(i int) InstallID { return sha256.Sum256([]byte{byte(i), byte(i >> 8), byte(i >> 16)}) }

func fingerprint(i int) wire.Fingerprint {
	var f wire.Fingerprint
	f.N = 2
	f.C[0].Kind, f.C[1].Kind = wire.KindMachineID, wire.KindMAC
	f.C[0].Hash[0], f.C[0].Hash[1] = byte(i), byte(i>>8)|0x80
	f.C[1].Hash[0] = 1
	return f
}

// activate is the seat rule the gateway applies, reduced to its core.
func activate(s *Store, id LicenseID, in InstallID, i int) error {
	return s.Update(id, func(tx *Tx) error {
		if _, ok := tx.Activation(in); ok {
			return nil
		}
		if uint32(len(tx.Activations)) >= tx.License.Seats {
			return errNoSeats
		}
		if tx.License.Activated == 0 {
			tx.License.Activated = tx.Now.Unix()
		}
		tx.PutActivation(Activation{Install: in, Fingerprint: fingerprint(i), Hostname: "host", Created: tx.Now.Unix()})
		return nil
	})
}

func TestSeatsExactUnderConcurrency(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	l := newLicense(t, 10)
	if err := s.CreateLicenses([]License{l}); err != nil {
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
			case errors.Is(err, errNoSeats):
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

func TestDurableAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	l := newLicense(t, 3)
	if err := s.CreateLicenses([]License{l}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateLicenses([]License{l}); !errors.Is(err, ErrExists) {
		t.Fatalf("second CreateLicenses = %v, want ErrExists", err)
	}
	if err := activate(s, l.ID, install(1), 1); err != nil {
		t.Fatal(err)
	}
	e, err := s.Lookup(l.ID, install(1))
	if err != nil {
		t.Fatal(err)
	}
	s.Advance(e, 12345, 7)
	if _, err := Open(Config{Dir: dir}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open of a directory in use = %v, want ErrLocked", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, dir)
	defer s.Close()
	got, err := s.LicenseByKeyHash(l.KeyHash)
	if err != nil || got.ID != l.ID || got.Activated == 0 {
		t.Fatalf("after reopen: %+v, %v", got, err)
	}
	e, err = s.Lookup(l.ID, install(1))
	if err != nil {
		t.Fatal(err)
	}
	if e.LastSeen() != 12345 || e.Counter() != 7 {
		t.Fatalf("written-behind state after clean close: last seen %d counter %d, want 12345 and 7", e.LastSeen(), e.Counter())
	}
	if e.Activation.Fingerprint != fingerprint(1) {
		t.Fatalf("fingerprint did not survive: %+v", e.Activation.Fingerprint)
	}
	if _, err := s.Lookup(l.ID, install(2)); !errors.Is(err, ErrNotActivated) {
		t.Fatalf("Lookup of another install = %v, want ErrNotActivated", err)
	}
	var unknown LicenseID
	if _, err := s.Lookup(unknown, install(1)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Lookup of unknown license = %v, want ErrNotFound", err)
	}
}

// TestStatusChangeSeenAtOnce suspends and resumes a license 200 times while
// readers look it up in a loop (so cache Sets of the old state race every
// update), and checks that each lookup after an Update returns sees it.
func TestStatusChangeSeenAtOnce(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	l := newLicense(t, 1)
	if err := s.CreateLicenses([]License{l}); err != nil {
		t.Fatal(err)
	}
	if err := activate(s, l.ID, install(1), 1); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.Lookup(l.ID, install(1)); err != nil {
					t.Errorf("Lookup: %v", err)
					return
				}
			}
		}()
	}
	for i := 0; i < 200; i++ {
		next := StateSuspended
		if i%2 == 1 {
			next = StateActive
		}
		if err := s.Update(l.ID, func(tx *Tx) error { tx.License.State = next; return nil }); err != nil {
			t.Fatal(err)
		}
		for j := 0; j < 5; j++ {
			if e, err := s.Lookup(l.ID, install(1)); err != nil || e.License.State != next {
				t.Fatalf("lookup %d after update %d: state %v, %v; want %v", j, i, e.License.State, err, next)
			}
		}
	}
	close(stop)
	wg.Wait()
}

func TestWriteBehindFlushes(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	l := newLicense(t, 1)
	if err := s.CreateLicenses([]License{l}); err != nil {
		t.Fatal(err)
	}
	if err := activate(s, l.ID, install(1), 1); err != nil {
		t.Fatal(err)
	}
	e, err := s.Lookup(l.ID, install(1))
	if err != nil {
		t.Fatal(err)
	}
	s.Advance(e, 999, 3)
	// Written behind every 50 ms here; only a flusher that never runs
	// leaves it unwritten until the test's deadline is near.
	// The record on disk, not Activations, which also reads what is queued.
	deadline := time.Now().Add(hang.Timeout(t))
	for {
		seen, err := s.get(activationKey(pfxSeen, l.ID, install(1)))
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

func TestUpdateErrorWritesNothing(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	l := newLicense(t, 1)
	if err := s.CreateLicenses([]License{l}); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := s.Update(l.ID, func(tx *Tx) error {
		tx.License.State = StateRevoked
		tx.PutActivation(Activation{Install: install(1), Fingerprint: fingerprint(1)})
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want boom", err)
	}
	got, _ := s.LicenseByID(l.ID)
	acts, _ := s.Activations(l.ID)
	if got.State != StateActive || len(acts) != 0 {
		t.Fatalf("a failed update changed state: %v, %d activations", got.State, len(acts))
	}
}

func TestTermAndExpiry(t *testing.T) {
	start := time.Date(2026, 1, 31, 12, 0, 0, 0, time.UTC)
	l := License{Term: Term{Kind: TermYears, Value: 1}}
	if l.Expiry() != 0 {
		t.Fatal("a term that has not started has no expiry")
	}
	l.Activated = start.Unix()
	if got, want := l.Expiry(), start.AddDate(1, 0, 0).Unix(); got != want {
		t.Fatalf("1 year: %d, want %d", got, want)
	}
	l.AbsExpiry = start.AddDate(0, 6, 0).Unix()
	if got := l.Expiry(); got != l.AbsExpiry {
		t.Fatalf("an earlier absolute expiry wins: %d", got)
	}
	l = License{Term: Term{Kind: TermPerpetual}, Activated: start.Unix()}
	if l.Expiry() != 0 || l.Expired(start.AddDate(100, 0, 0).Unix()) {
		t.Fatal("perpetual licenses do not expire")
	}
	l = License{Term: Term{Kind: TermDays, Value: 14}, Activated: start.Unix()}
	if !l.Expired(start.AddDate(0, 0, 14).Unix()) || l.Expired(start.AddDate(0, 0, 13).Unix()) {
		t.Fatal("a 14-day trial ends after 14 days")
	}
}

func BenchmarkLookupHot(b *testing.B) {
	s := openTest(b, b.TempDir())
	defer s.Close()
	l := newLicense(b, 1)
	if err := s.CreateLicenses([]License{l}); err != nil {
		b.Fatal(err)
	}
	if err := activate(s, l.ID, install(1), 1); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		s.Lookup(l.ID, install(1))
		s.cache.Wait()
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

// TestVersion1Records: licenses, activations and orders written as JSON by
// version 1 are read, and a license record without an activation count
// makes Update look its activations up: a seat taken before the upgrade
// still counts after it.
func TestVersion1Records(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	l := newLicense(t, 1)
	rand.Read(l.ID[:]) // minted before ids were derived: found through its index entry
	a := Activation{License: l.ID, Install: install(1), Fingerprint: fingerprint(1), Hostname: "old", Created: 1700000000}
	o := Order{Shop: "shop-1", ID: "o-1", Request: []byte("req"), Sealed: []byte("sealed"), Count: 1, Product: "1AJS2", Created: 1700000000}
	oj, _ := json.Marshal(o)
	for k, v := range map[string][]byte{
		string(licenseKey(l.KeyHash)):                         jsonLicenseV1(t, &l),
		string(licenseIDKey(l.ID)):                            l.KeyHash[:],
		string(activationKey(pfxActivation, l.ID, a.Install)): jsonActivationV1(t, &a),
		string(orderKey(o.Shop, o.ID)):                        oj,
	} {
		if err := s.db.Set([]byte(k), v, pebble.Sync); err != nil {
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
	if err := activate(s, l.ID, install(2), 2); !errors.Is(err, errNoSeats) {
		t.Fatalf("second activation of a one-seat license: %v, want no seats", err)
	}
	// UpdateLicense, too, and the record it writes back keeps the count.
	for range 2 {
		err := s.UpdateLicense(&l, func(tx *Tx) error {
			if len(tx.Activations) != 1 {
				t.Fatalf("update sees %d activations, want 1", len(tx.Activations))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	v, _ := s.get(licenseKey(l.KeyHash))
	if _, acts, err := decodeLicenseActs(v); err != nil || acts != 1 {
		t.Fatalf("rewritten record: %d activations, %v", acts, err)
	}
}

// TestUpdateLicenseChecksID: UpdateLicense of a license whose key hash
// names another license's record refuses with ErrNotFound.
func TestUpdateLicenseChecksID(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	l := newLicense(t, 1)
	if err := s.CreateLicenses([]License{l}); err != nil {
		t.Fatal(err)
	}
	other := l
	other.ID[0] ^= 1
	err := s.UpdateLicense(&other, func(tx *Tx) error { return nil })
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("UpdateLicense with a wrong id: %v", err)
	}
}

// TestEncodeLicenseLeavesListsAlone: encoding a license writes nothing into
// its lists' spare capacity (a caller may share it).
func TestEncodeLicenseLeavesListsAlone(t *testing.T) {
	l := newLicense(t, 1)
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

// TestLicenseIDs: a license whose id is derived from its key hash (IDFor)
// is found by id without an index entry; one with a random id (minted by an
// older gateway) through its index entry, even when another license's key
// hash begins with that id.
func TestLicenseIDs(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	derived := newLicense(t, 1)
	random := newLicense(t, 1)
	rand.Read(random.ID[:])
	// shadow's key hash begins with random's id; its own id is random too.
	shadow := newLicense(t, 1)
	copy(shadow.KeyHash[:], random.ID[:])
	rand.Read(shadow.ID[:])
	if err := s.CreateLicenses([]License{derived, random, shadow}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		l     License
		index bool
	}{{"derived", derived, false}, {"random", random, true}, {"shadow", shadow, true}} {
		if v, err := s.get(licenseIDKey(c.l.ID)); err != nil || (v != nil) != c.index {
			t.Errorf("%s: index entry %x, %v; want one: %v", c.name, v, err, c.index)
		}
		got, err := s.LicenseByID(c.l.ID)
		if err != nil || !reflect.DeepEqual(got, c.l) {
			t.Errorf("%s: LicenseByID = %x, %v; want %x", c.name, got.ID[:4], err, c.l.ID[:4])
		}
		if err := activate(s, c.l.ID, install(1), 1); err != nil {
			t.Errorf("%s: activate: %v", c.name, err)
		}
		if e, err := s.Lookup(c.l.ID, install(1)); err != nil || e.License.ID != c.l.ID {
			t.Errorf("%s: Lookup: %v", c.name, err)
		}
	}
	var unknown LicenseID
	rand.Read(unknown[:])
	if _, err := s.LicenseByID(unknown); !errors.Is(err, ErrNotFound) {
		t.Errorf("LicenseByID of an unknown id: %v", err)
	}
	if err := s.CreateLicenses([]License{derived}); !errors.Is(err, ErrExists) {
		t.Errorf("creating a license again: %v, want ErrExists", err)
	}
	// A damaged index entry, or one naming another license, is corrupt.
	for name, v := range map[string][]byte{"short": random.KeyHash[:31], "another": derived.KeyHash[:]} {
		if err := s.db.Set(licenseIDKey(random.ID), v, pebble.Sync); err != nil {
			t.Fatal(err)
		}
		if _, err := s.LicenseByID(random.ID); !errors.Is(err, ErrCorrupt) {
			t.Errorf("index entry %s: %v, want ErrCorrupt", name, err)
		}
	}
	if err := s.db.Set(licenseIDKey(random.ID), random.KeyHash[:], pebble.Sync); err != nil {
		t.Fatal(err)
	}
	again := newLicense(t, 1)
	again.ID = random.ID
	if err := s.CreateLicenses([]License{again}); !errors.Is(err, ErrExists) {
		t.Errorf("a new license with a taken id: %v, want ErrExists", err)
	}
}

func TestPrefixEnd(t *testing.T) {
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

// BenchmarkLicenseByID reads licenses by id among 20,000, half with ids
// derived from their key hashes (found by their record's key) and half
// with random ids (found through the index), all flushed to tables: the
// cold path of a validation and of every update by id.
func BenchmarkLicenseByID(b *testing.B) {
	s := openTest(b, b.TempDir())
	defer s.Close()
	const n = 10000
	derived, random := make([]License, n), make([]License, n)
	for i := range n {
		derived[i] = newLicense(b, 1)
		random[i] = newLicense(b, 1)
		rand.Read(random[i].ID[:])
	}
	for _, ls := range [][]License{derived, random} {
		if err := s.CreateLicenses(ls); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.db.Flush(); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		ls   []License
	}{{"derived", derived}, {"random", random}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, err := s.LicenseByID(c.ls[i%n].ID); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
