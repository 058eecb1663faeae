package service

import (
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/store/pebblestore"
	"github.com/tollgate/tollgate/wire"
)

// TestValidateHeldEntryClone: two sessions of the same install (a clone
// of the machine's state elsewhere has the same install key). The first
// keeps its entry between validations; once the shared cache evicts it,
// the second validates with the next counter, and the first presenting
// that counter again is refused as a clone: the held entry was not
// advanced on its own. Counters keep moving forward afterwards.
func TestValidateHeldEntryClone(t *testing.T) {
	t.Parallel()
	b, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	// A cache of two entries: other activations' lookups evict ours.
	st, err := store.New(b, store.Options{CacheEntries: 2})
	if err != nil {
		b.Close()
		t.Fatal(err)
	}
	s := New(Config{Store: st, Keys: testKeys(t), Log: slog.New(slog.NewTextHandler(io.Discard, nil)), DefaultLeaseSeconds: 7 * 86400})
	t.Cleanup(func() {
		s.Close()
		st.Close()
	})
	p, req, req2 := activateTwo(t, s)
	now := time.Now().Unix()
	for req.Counter = 1; req.Counter <= 3; req.Counter++ {
		if _, _, err := s.Validate(&req, &p, now); err != nil {
			t.Fatalf("validate %d: %v", req.Counter, err)
		}
	}
	held := p.held
	if held == nil {
		t.Fatal("the session holds no entry after validating")
	}
	// The session validates a second license: the first one's entry is
	// held among the others.
	req2.Counter = 1
	if _, _, err := s.Validate(&req2, &p, now); err != nil {
		t.Fatal(err)
	}
	if p.held == held || p.others[heldKey(req.LicenseID)] != held {
		t.Fatal("the first license's entry is not among the session's others")
	}

	// Other installs validate until the cache has let ours go.
	var others []Peer
	var oreqs []wire.ValidateRequest
	for i := 0; i < 4; i++ {
		k, _ := mintOne(t, s, Spec{Seats: 1})
		q := newInstall(t)
		f := testFingerprint()
		oa, err := s.Activate(&wire.ActivateRequest{Key: k, Fingerprint: f}, &q)
		if err != nil {
			t.Fatal(err)
		}
		others = append(others, q)
		oreqs = append(oreqs, wire.ValidateRequest{LicenseID: oa.LicenseID, Fingerprint: f})
	}
	for n := 0; st.Current(held, req.LicenseID, p.Install); n++ {
		if n == 100000 {
			t.Fatal("the cache never evicted the held entry")
		}
		i := n % len(others)
		oreqs[i].Counter++
		if _, _, err := s.Validate(&oreqs[i], &others[i], now); err != nil {
			t.Fatalf("another install's validation: %v", err)
		}
		if n%64 == 63 {
			time.Sleep(time.Millisecond) // let ristretto's goroutine catch up
		}
	}

	clone := Peer{Install: p.Install, Addr: p.Addr} // the same install, another session
	req.Counter = 4
	if _, _, err := s.Validate(&req, &clone, now); err != nil {
		t.Fatalf("the clone's validation with counter 4: %v", err)
	}
	if _, _, err := s.Validate(&req, &p, now); !errors.Is(err, ErrInstallCloned) {
		t.Fatalf("counter 4 again from the session holding the evicted entry: %v, want ErrInstallCloned", err)
	}
	if p.held == held {
		t.Fatal("the session still holds the evicted entry")
	}
	req.Counter = 5
	if _, _, err := s.Validate(&req, &p, now); err != nil {
		t.Fatalf("counter 5: %v", err)
	}
	req.Counter = 5
	if _, _, err := s.Validate(&req, &clone, now); !errors.Is(err, ErrInstallCloned) {
		t.Fatalf("counter 5 again from the clone: %v, want ErrInstallCloned", err)
	}
}

// TestValidateHeldEntryRevoked: a session that holds its entries (of two
// licenses, validated in turn) sees a revocation at its very next
// validation of the license, the other license unaffected, and a
// reinstated license at the one after.
func TestValidateHeldEntryRevoked(t *testing.T) {
	t.Parallel()
	s, _ := newTestService(t, Config{})
	p, req, req2 := activateTwo(t, s)
	now := time.Now().Unix()
	other := func() {
		t.Helper()
		req2.Counter++
		if _, _, err := s.Validate(&req2, &p, now); err != nil {
			t.Fatalf("the other license's validation: %v", err)
		}
	}
	setState := func(state store.State) {
		t.Helper()
		if err := s.st.Update(req.LicenseID, func(tx *store.Tx) error {
			tx.License.State = state
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 3; i++ {
		req.Counter++
		if _, _, err := s.Validate(&req, &p, now); err != nil {
			t.Fatalf("validate %d: %v", req.Counter, err)
		}
		other()
	}
	if e := p.others[heldKey(req.LicenseID)]; !s.st.Current(e, req.LicenseID, p.Install) {
		t.Fatal("the session's entry is not current before the revocation")
	}
	setState(store.StateRevoked)
	req.Counter++
	if _, _, err := s.Validate(&req, &p, now); !errors.Is(err, ErrRevoked) {
		t.Fatalf("the validation after the revocation: %v, want ErrRevoked", err)
	}
	other()
	setState(store.StateActive)
	req.Counter++
	if _, _, err := s.Validate(&req, &p, now); err != nil {
		t.Fatalf("the validation after reinstating: %v", err)
	}
}

// activateTwo mints two one-seat licenses, activates both on one new
// install, and returns that install's peer and a validation request of
// each license (counter 0).
func activateTwo(t *testing.T, s *Service) (p Peer, req, req2 wire.ValidateRequest) {
	t.Helper()
	p = newInstall(t)
	fp := testFingerprint()
	for _, r := range []*wire.ValidateRequest{&req, &req2} {
		key, _ := mintOne(t, s, Spec{Seats: 1})
		a, err := s.Activate(&wire.ActivateRequest{Key: key, Fingerprint: fp}, &p)
		if err != nil {
			t.Fatal(err)
		}
		*r = wire.ValidateRequest{LicenseID: a.LicenseID, Fingerprint: fp}
	}
	return p, req, req2
}
