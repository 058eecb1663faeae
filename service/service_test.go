package service

import (
	"crypto/rand"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/keygen/composite"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/store/pebblestore"
	"github.com/tollgate/tollgate/wire"
	"golang.org/x/crypto/chacha20poly1305"
)

// testKeys returns fresh keys of the kinds a gateway's identity holds.
func testKeys(t testing.TB) Keys {
	t.Helper()
	lk, err := composite.GenerateKey(composite.MLDSA44Ed25519, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	secret := make([]byte, keygen.MinSecretLen)
	rand.Read(secret)
	h, err := keygen.NewHasher(secret)
	if err != nil {
		t.Fatal(err)
	}
	seal := make([]byte, chacha20poly1305.KeySize)
	rand.Read(seal)
	aead, err := chacha20poly1305.NewX(seal)
	if err != nil {
		t.Fatal(err)
	}
	return Keys{Hasher: h, LeaseKey: lk, LeaseSeal: aead}
}

// openTestStore opens a store in dir (real Pebble).
func openTestStore(t testing.TB, dir string) *store.Store {
	t.Helper()
	b, err := pebblestore.Open(pebblestore.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.New(b, store.Options{})
	if err != nil {
		b.Close()
		t.Fatal(err)
	}
	return st
}

// newTestService is a service over a store in a temporary directory, with
// cfg's policy (its Store, Keys and Log are set here), and the directory.
func newTestService(t testing.TB, cfg Config) (*Service, string) {
	t.Helper()
	dir := t.TempDir()
	cfg.Store = openTestStore(t, dir)
	cfg.Keys = testKeys(t)
	cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	if cfg.DefaultLeaseSeconds == 0 {
		cfg.DefaultLeaseSeconds = 7 * 86400
	}
	s := New(cfg)
	t.Cleanup(func() {
		s.Close()
		s.st.Close()
	})
	return s, dir
}

// mintOne mints one key of product 1AJS2 with spec and returns it and its
// license's id.
func mintOne(t testing.TB, s *Service, spec Spec) (keygen.Key, store.LicenseID) {
	t.Helper()
	p, _ := keygen.ParseProductCode("1AJS2")
	keys, err := MintKeys(s.st, s.keys.Hasher, p, 1, spec, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	lic, err := s.st.LicenseByKeyHash(s.keys.Hasher.Hash(keys[0]))
	if err != nil {
		t.Fatal(err)
	}
	return keys[0], lic.ID
}

func testFingerprint() wire.Fingerprint {
	var f wire.Fingerprint
	f.N = 3
	for i, k := range []wire.ComponentKind{wire.KindMachineID, wire.KindMAC, wire.KindDisk} {
		f.C[i].Kind = k
		rand.Read(f.C[i].Hash[:])
	}
	return f
}
