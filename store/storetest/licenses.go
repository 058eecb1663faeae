package storetest

import (
	"crypto/rand"
	"errors"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tollgate/tollgate/store"
)

var licenseCases = []testCase{
	{"CreateAndLookUp", testCreateAndLookUp},
	{"UpdateErrorWritesNothing", testUpdateErrorWritesNothing},
	{"UpdateIdentityRefused", testUpdateIdentityRefused},
	{"UpdateByKeyHash", testUpdateByKeyHash},
	{"UpdateActivations", testUpdateActivations},
	{"SeatsExactUnderConcurrency", testSeatsExact},
	{"UpdateAudited", testUpdateAudited},
	{"SeenMerged", testSeenMerged},
	{"SeenTwiceInABatch", testSeenTwice},
	{"Sightings", testSightings},
	{"Close", testClose},
}

func testCreateAndLookUp(t *testing.T, b store.Backend) {
	derived := NewLicense(t, 3)
	derived.Bundle, derived.Entitlements = []string{"2BKT3"}, []string{"scan"}
	random := NewLicense(t, 1)
	rand.Read(random.ID[:]) // minted before ids were derived
	// The fields of floating seats, plug-ins, trials and resets.
	extended := NewLicense(t, 2)
	extended.Policy.Floating, extended.Base, extended.Trial = true, "2BKT3", true
	extended.Resets = []int64{1700000000, 1700003600}
	create(t, b, derived, random, extended)
	for _, l := range []store.License{derived, random, extended} {
		if got, err := b.LicenseByKeyHash(l.KeyHash); err != nil || !reflect.DeepEqual(got, l) {
			t.Errorf("LicenseByKeyHash = %+v, %v; want %+v", got, err, l)
		}
		if got, err := b.LicenseByID(l.ID); err != nil || !reflect.DeepEqual(got, l) {
			t.Errorf("LicenseByID = %+v, %v; want %+v", got, err, l)
		}
	}
	unknown := NewLicense(t, 1)
	if _, err := b.LicenseByKeyHash(unknown.KeyHash); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("LicenseByKeyHash of an unknown hash: %v, want ErrNotFound", err)
	}
	if _, err := b.LicenseByID(unknown.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("LicenseByID of an unknown id: %v, want ErrNotFound", err)
	}
	if _, err := b.Activation(derived.ID, Install(1)); !errors.Is(err, store.ErrNotActivated) {
		t.Errorf("Activation of a license without activations: %v, want ErrNotActivated", err)
	}
	if acts, err := b.Activations(derived.ID); err != nil || len(acts) != 0 {
		t.Errorf("Activations of a new license = %v, %v", acts, err)
	}
	// A taken key hash or id refuses the whole batch.
	fresh := NewLicense(t, 1)
	sameID := NewLicense(t, 1)
	sameID.ID = random.ID
	for name, batch := range map[string][]store.License{"key hash": {fresh, derived}, "id": {fresh, sameID}} {
		if err := b.CreateLicenses(batch, nil); !errors.Is(err, store.ErrExists) {
			t.Errorf("CreateLicenses with a taken %s: %v, want ErrExists", name, err)
		}
	}
	if _, err := b.LicenseByKeyHash(fresh.KeyHash); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a refused batch wrote a license: %v", err)
	}
	// Audited, the entry lands with the licenses.
	if err := b.CreateLicenses([]store.License{fresh}, &store.AuditEntry{Kind: "mint", Detail: "1 key"}); err != nil {
		t.Fatal(err)
	}
	if es, err := b.AuditLog(0); err != nil || len(es) != 1 || es[0].Kind != "mint" || es[0].Seq != 1 {
		t.Errorf("audit log after an audited create = %+v, %v", es, err)
	}
}

func testUpdateErrorWritesNothing(t *testing.T, b store.Backend) {
	l := NewLicense(t, 1)
	create(t, b, l)
	boom := errors.New("boom")
	err := b.Update(l.ID, nil, func(tx *store.Tx) error {
		tx.License.State = store.StateRevoked
		tx.PutActivation(store.Activation{Install: Install(1), Fingerprint: Fingerprint(1)})
		sg, err := tx.Sightings()
		if err != nil {
			return err
		}
		sg.FlaggedAt, sg.Reason = 1, "x"
		tx.Audit = &store.AuditEntry{Kind: "license.revoke"}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want boom", err)
	}
	got, _ := b.LicenseByID(l.ID)
	acts, _ := b.Activations(l.ID)
	sg, _ := b.Sightings(l.ID)
	es, _ := b.AuditLog(0)
	if got.State != store.StateActive || len(acts) != 0 || sg.FlaggedAt != 0 || len(es) != 0 {
		t.Fatalf("a failed update wrote: state %v, %d activations, sightings %+v, %d audit entries", got.State, len(acts), sg, len(es))
	}
	var unknown store.LicenseID
	rand.Read(unknown[:])
	if err := b.Update(unknown, nil, func(*store.Tx) error { return nil }); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Update of an unknown license: %v, want ErrNotFound", err)
	}
}

func testUpdateIdentityRefused(t *testing.T, b store.Backend) {
	l := NewLicense(t, 1)
	create(t, b, l)
	for name, edit := range map[string]func(*store.License){
		"id":       func(x *store.License) { x.ID[0] ^= 1 },
		"key hash": func(x *store.License) { x.KeyHash[0] ^= 1 },
	} {
		err := b.Update(l.ID, nil, func(tx *store.Tx) error {
			tx.License.State = store.StateSuspended
			edit(&tx.License)
			return nil
		})
		if !errors.Is(err, store.ErrConfig) {
			t.Errorf("an update changing the %s: %v, want ErrConfig", name, err)
		}
	}
	if got, err := b.LicenseByID(l.ID); err != nil || !reflect.DeepEqual(got, l) {
		t.Fatalf("after refused identity changes: %+v, %v", got, err)
	}
}

// testUpdateByKeyHash: Update with the key hash of the license read before
// finds it; with a key hash whose record is another license's, ErrNotFound.
func testUpdateByKeyHash(t *testing.T, b store.Backend) {
	l := NewLicense(t, 1)
	create(t, b, l)
	if err := b.Update(l.ID, &l.KeyHash, Activate(Install(1), 1)); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.LicenseByID(l.ID); got.Activated == 0 {
		t.Fatal("the update by key hash was not written")
	}
	other := l
	other.ID[0] ^= 1
	if err := b.Update(other.ID, &other.KeyHash, func(*store.Tx) error { return nil }); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Update with a key hash of another license: %v, want ErrNotFound", err)
	}
}

func testUpdateActivations(t *testing.T, b store.Backend) {
	l := NewLicense(t, 5)
	create(t, b, l)
	for i := 1; i <= 3; i++ {
		if err := b.Update(l.ID, nil, Activate(Install(i), i)); err != nil {
			t.Fatal(err)
		}
	}
	err := b.Update(l.ID, nil, func(tx *store.Tx) error {
		if len(tx.Activations) != 3 {
			t.Errorf("the update sees %d activations, want 3", len(tx.Activations))
		}
		tx.DeleteActivation(Install(1))
		a, _ := tx.Activation(Install(2))
		a.Hostname = "renamed"
		tx.PutActivation(a)
		// Put, then deleted: not written.
		tx.PutActivation(store.Activation{Install: Install(4), Fingerprint: Fingerprint(4)})
		tx.DeleteActivation(Install(4))
		// Deleted, then put again: written.
		tx.DeleteActivation(Install(3))
		tx.PutActivation(store.Activation{Install: Install(3), Fingerprint: Fingerprint(3), Hostname: "again"})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	acts, err := b.Activations(l.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[store.InstallID]string{}
	for i, a := range acts {
		got[a.Install] = a.Hostname
		if a.License != l.ID || a.Fingerprint.N == 0 {
			t.Errorf("activation %d: license %x, fingerprint %+v", i, a.License[:4], a.Fingerprint)
		}
		if i > 0 && string(acts[i-1].Install[:]) >= string(a.Install[:]) {
			t.Errorf("activations not ordered by install id")
		}
	}
	want := map[store.InstallID]string{Install(2): "renamed", Install(3): "again"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("activations after the update: %v, want %v", got, want)
	}
	if _, err := b.Activation(l.ID, Install(1)); !errors.Is(err, store.ErrNotActivated) {
		t.Fatalf("Activation of a deleted activation: %v, want ErrNotActivated", err)
	}
	if a, err := b.Activation(l.ID, Install(3)); err != nil || a.Hostname != "again" {
		t.Fatalf("Activation = %+v, %v", a, err)
	}
}

// testSeatsExact: 100 concurrent activations of a 10-seat license take
// exactly 10 seats.
func testSeatsExact(t *testing.T, b store.Backend) {
	l := NewLicense(t, 10)
	create(t, b, l)
	var ok, full atomic.Int64
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch err := b.Update(l.ID, nil, Activate(Install(i), i)); {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, ErrNoSeats):
				full.Add(1)
			default:
				t.Errorf("activate: %v", err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 10 || full.Load() != 90 {
		t.Fatalf("%d activations succeeded and %d were refused; want 10 and 90", ok.Load(), full.Load())
	}
	if acts, err := b.Activations(l.ID); err != nil || len(acts) != 10 {
		t.Fatalf("Activations = %d, %v; want 10", len(acts), err)
	}
}

// testUpdateAudited: a change made with an audit entry lands with the
// entry in one commit; a refused change writes neither.
func testUpdateAudited(t *testing.T, b store.Backend) {
	l := NewLicense(t, 1)
	create(t, b, l)
	err := b.Update(l.ID, nil, func(tx *store.Tx) error {
		tx.License.State = store.StateSuspended
		tx.Audit = &store.AuditEntry{Kind: "license.suspend", Detail: "by operator"}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	refused := errors.New("refused")
	err = b.Update(l.ID, nil, func(tx *store.Tx) error {
		tx.License.State = store.StateRevoked
		tx.Audit = &store.AuditEntry{Kind: "license.revoke"}
		return refused
	})
	if !errors.Is(err, refused) {
		t.Fatalf("Update = %v, want the refusal", err)
	}
	if got, err := b.LicenseByID(l.ID); err != nil || got.State != store.StateSuspended {
		t.Fatalf("license = %v, %v; want suspended", got.State, err)
	}
	es, err := b.AuditLog(0)
	if err != nil || len(es) != 1 || es[0].Kind != "license.suspend" {
		t.Fatalf("audit log = %+v, %v; want the one suspend entry", es, err)
	}
	if n, err := b.VerifyAudit(); err != nil || n != 1 {
		t.Fatalf("VerifyAudit = %d, %v", n, err)
	}
}

// testSeenTwice: a flush that has one activation twice (an entry the
// cache let go, still queued, and its reload) leaves the higher counter
// and time, whichever of the two came first, among enough others that a
// sort would move them.
func testSeenTwice(t *testing.T, b store.Backend) {
	const n = 40
	l := NewLicense(t, n)
	create(t, b, l)
	for i := 1; i <= n; i++ {
		if err := b.Update(l.ID, nil, Activate(Install(i), i)); err != nil {
			t.Fatal(err)
		}
	}
	var seen []store.Seen
	for i := 1; i <= n; i++ {
		low := store.Seen{License: l.ID, Install: Install(i), LastSeen: 2000, Counter: 100}
		high := store.Seen{License: l.ID, Install: Install(i), LastSeen: 3000, Counter: 200}
		if i%2 == 0 {
			seen = append(seen, low, high)
		} else {
			seen = append(seen, high, low)
		}
	}
	if err := b.WriteSeen(seen); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		if a, err := b.Activation(l.ID, Install(i)); err != nil || a.LastSeen != 3000 || a.Counter != 200 {
			t.Fatalf("install %d after a flush with it twice: last seen %d, counter %d, %v; want 3000 and 200", i, a.LastSeen, a.Counter, err)
		}
	}
}

// testSeenMerged: what WriteSeen wrote is merged into the activations read
// (the higher of each value), in Update too; a deleted activation does not
// come back.
func testSeenMerged(t *testing.T, b store.Backend) {
	l := NewLicense(t, 2)
	create(t, b, l)
	for i := 1; i <= 2; i++ {
		if err := b.Update(l.ID, nil, Activate(Install(i), i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.WriteSeen([]store.Seen{{License: l.ID, Install: Install(1), LastSeen: 999, Counter: 3}}); err != nil {
		t.Fatal(err)
	}
	if a, err := b.Activation(l.ID, Install(1)); err != nil || a.LastSeen != 999 || a.Counter != 3 {
		t.Fatalf("Activation after WriteSeen = %+v, %v", a, err)
	}
	if acts, err := b.Activations(l.ID); err != nil || len(acts) != 2 || acts[0].Counter+acts[1].Counter != 3 {
		t.Fatalf("Activations after WriteSeen = %+v, %v", acts, err)
	}
	// An update writes a higher counter into the activation itself; a
	// lower written-behind one does not take it back.
	err := b.Update(l.ID, nil, func(tx *store.Tx) error {
		a, _ := tx.Activation(Install(1))
		if a.Counter != 3 {
			t.Errorf("the update reads counter %d, want 3", a.Counter)
		}
		a.Counter, a.LastSeen = 10, 1000
		tx.PutActivation(a)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.WriteSeen([]store.Seen{{License: l.ID, Install: Install(1), LastSeen: 5, Counter: 4}}); err != nil {
		t.Fatal(err)
	}
	if a, err := b.Activation(l.ID, Install(1)); err != nil || a.LastSeen != 1000 || a.Counter != 10 {
		t.Fatalf("Activation after a lower WriteSeen = %+v, %v; want 1000 and 10", a, err)
	}
	if err := b.Update(l.ID, nil, func(tx *store.Tx) error { tx.DeleteActivation(Install(2)); return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Activation(l.ID, Install(2)); !errors.Is(err, store.ErrNotActivated) {
		t.Fatalf("a deleted activation: %v, want ErrNotActivated", err)
	}
}
