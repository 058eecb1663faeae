package service

import (
	"crypto/ecdh"
	"crypto/rand"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/keygen/composite"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// These tests run whole flows through the service called directly, as a
// transport would call it, with no socket: a shop's order, an app's
// activation, validations, the operator's changes and a deactivation. The
// gateway's tests run the same flows over real QUIC.

func newInstall(t *testing.T) Peer {
	t.Helper()
	var static [32]byte
	rand.Read(static[:])
	return NewPeer(static, netip.MustParseAddr("192.0.2.10"))
}

// TestFlowShopToApp: a shop mints an order (a retry returns the same keys,
// another order under its id is refused); an app activates one key, gets a
// lease that verifies under the lease key, validates, is refused while the
// operator suspends the key and answered again once resumed; it
// deactivates, and its next validation is not activated.
func TestFlowShopToApp(t *testing.T) {
	t.Parallel()
	s, _ := newTestService(t, Config{})
	if _, err := LoadDemoCatalogue(s.st); err != nil {
		t.Fatal(err)
	}
	shopKey, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sh := store.Shop{Name: "web", Products: []string{"1AJS2"}}
	copy(sh.PublicKey[:], shopKey.PublicKey().Bytes())
	var product [wire.ProductSize]byte
	copy(product[:], "1AJS2")
	order := wire.MintRequest{OrderID: []byte("order-1"), Product: product, Count: 2}
	m, err := s.Mint(&order, &sh)
	if err != nil || m.Count != 2 {
		t.Fatalf("mint: %+v, %v", m, err)
	}
	var priv [wire.SealEncSize]byte
	copy(priv[:], shopKey.Bytes())
	plain, err := wire.OpenKeys(priv, order.AppendOrder(nil), m.Sealed)
	if err != nil || len(plain) != 2*keygen.KeyLen {
		t.Fatalf("the shop opens its keys: %d bytes, %v", len(plain), err)
	}
	again, err := s.Mint(&order, &sh)
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if p2, err := wire.OpenKeys(priv, order.AppendOrder(nil), again.Sealed); err != nil || string(p2) != string(plain) {
		t.Fatalf("a retried order gave other keys (%v)", err)
	}
	other := order
	other.Count = 3
	if _, err := s.Mint(&other, &sh); !errors.Is(err, ErrOrderConflict) || KindOf(err).Status() != wire.StatusOrderConflict {
		t.Fatalf("another order under a used id: %v", err)
	}
	var key keygen.Key
	copy(key[:], plain[:keygen.KeyLen])

	p := newInstall(t)
	fp := testFingerprint()
	a, err := s.Activate(&wire.ActivateRequest{Key: key, Fingerprint: fp, Hostname: []byte("desk")}, &p)
	if err != nil {
		t.Fatalf("activate: %v", err)
	}
	lease, err := wire.VerifyLease(a.Lease, []*composite.PublicKey{s.keys.LeaseKey.Public()})
	if err != nil || lease.LicenseID != a.LicenseID || lease.InstallKeyHash != p.Install {
		t.Fatalf("the lease: %+v, %v", lease, err)
	}

	counter := uint64(0)
	validate := func() error {
		counter++
		req := wire.ValidateRequest{LicenseID: a.LicenseID, Fingerprint: fp, Counter: counter}
		_, slow, err := s.Validate(&req, &p, time.Now().Unix())
		if slow {
			_, err = s.ValidateSlow(&req, &p)
		}
		return err
	}
	if err := validate(); err != nil {
		t.Fatalf("validate: %v", err)
	}
	if _, err := ApplyLicenseOp(s.st, s.keys.Hasher, key, OpSuspend, store.Term{}, "", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := validate(); !errors.Is(err, ErrSuspended) {
		t.Fatalf("validate while suspended: %v", err)
	}
	if _, err := s.KeyOp(&wire.KeyOpRequest{Op: wire.KeyOpResume, Key: key}, &sh); err != nil {
		t.Fatalf("the shop resumes its key: %v", err)
	}
	if err := validate(); err != nil {
		t.Fatalf("validate once resumed: %v", err)
	}
	if err := s.Deactivate(a.LicenseID, &p); err != nil {
		t.Fatal(err)
	}
	if err := validate(); !errors.Is(err, store.ErrNotActivated) || KindOf(err) != KindNotActivated {
		t.Fatalf("validate after deactivation: %v", err)
	}
}

// TestFlowRefusals: each refusal of an app's requests has its kind, and so
// its status: a malformed and an unknown key, a bogus fingerprint, a second
// machine on a one-seat key, another machine presenting an install's
// activation, and a replayed counter (a cloned install).
func TestFlowRefusals(t *testing.T) {
	t.Parallel()
	s, _ := newTestService(t, Config{})
	key, _ := mintOne(t, s, Spec{Seats: 1})
	p, q := newInstall(t), newInstall(t)
	fp := testFingerprint()
	var bad keygen.Key
	copy(bad[:], key[:])
	bad[5] ^= 1
	var unknown keygen.Key
	p1, _ := keygen.ParseProductCode("1AJS2")
	ks, _ := keygen.MintBatch(p1, 1, nil)
	unknown = ks[0]
	var bogus wire.Fingerprint
	for name, c := range map[string]struct {
		req  wire.ActivateRequest
		want error
	}{
		"malformed key": {wire.ActivateRequest{Key: bad, Fingerprint: fp}, ErrMalformedKey},
		"unknown key":   {wire.ActivateRequest{Key: unknown, Fingerprint: fp}, ErrNotFound},
		"bogus machine": {wire.ActivateRequest{Key: key, Fingerprint: bogus}, ErrFingerprintRejected},
	} {
		if _, err := s.Activate(&c.req, &p); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	a, err := s.Activate(&wire.ActivateRequest{Key: key, Fingerprint: fp}, &p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Activate(&wire.ActivateRequest{Key: key, Fingerprint: testFingerprint()}, &q); !errors.Is(err, ErrNoSeats) {
		t.Errorf("a second machine on one seat: %v", err)
	}
	if _, err := s.Activate(&wire.ActivateRequest{Key: key, Fingerprint: testFingerprint()}, &p); !errors.Is(err, ErrFingerprintMismatch) {
		t.Errorf("the install on another machine: %v", err)
	}
	now := time.Now().Unix()
	req := wire.ValidateRequest{LicenseID: a.LicenseID, Fingerprint: fp, Counter: 5}
	if _, _, err := s.Validate(&req, &p, now); err != nil {
		t.Fatalf("validate: %v", err)
	}
	req.Counter = 4
	if _, _, err := s.Validate(&req, &p, now); !errors.Is(err, ErrInstallCloned) || KindOf(err).Status() != wire.StatusInstallCloned {
		t.Errorf("a counter gone back: %v", err)
	}
}
