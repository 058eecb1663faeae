package service

import (
	"crypto/ecdh"
	"crypto/rand"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/keygen/composite"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// offlineMachine is an air-gapped install: its X25519 key and fingerprint.
type offlineMachine struct {
	priv [32]byte
	fp   wire.Fingerprint
}

func newOfflineMachine() offlineMachine {
	var m offlineMachine
	rand.Read(m.priv[:])
	m.fp = testFingerprint()
	return m
}

// offlineService is a test service with a Noise key; it returns the
// gateway's public key, as a card carries it.
func offlineService(t *testing.T, now func() time.Time) (*Service, [32]byte) {
	t.Helper()
	s, _ := newTestService(t, Config{Now: now})
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s.keys.Noise = [32]byte(k.Bytes())
	return s, [32]byte(k.PublicKey().Bytes())
}

// request writes machine m's activation request for key, sealed to the
// gateway gw, and returns it as the gateway parses it.
func (m *offlineMachine) request(t *testing.T, key keygen.Key, gw [32]byte) wire.OfflineRequest {
	t.Helper()
	r := wire.OfflineRequest{Created: time.Now().Unix(), Fingerprint: m.fp, Hostname: []byte("airgap")}
	copy(r.Product[:], key[:wire.ProductSize])
	rand.Read(r.Nonce[:])
	k := [wire.KeySize]byte(key)
	b, err := wire.SealOfflineRequest(&r, &k, &m.priv, &gw)
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := wire.ParseOfflineRequest(b)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// release writes machine m's release proof of license id, whose lease
// was issued at issued.
func (m *offlineMachine) release(t *testing.T, id store.LicenseID, issued int64, gw [32]byte) wire.OfflineRelease {
	t.Helper()
	r := wire.OfflineRelease{LicenseID: id, LeaseIssued: issued, Created: time.Now().Unix()}
	rand.Read(r.Nonce[:])
	if _, err := wire.SignOfflineRelease(&r, &m.priv, &gw); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestAnswerOffline: a request answered gives a lease for the request's
// install, machine and nonce; answered twice it keeps the one seat; the
// seat rules apply (a second machine of a one-seat license is refused); a
// second machine for the same install is refused as Activate refuses it;
// a request sealed to another gateway, or tampered with, is
// REQUEST_MISMATCH; a shop answers only for its own licenses.
func TestAnswerOffline(t *testing.T) {
	t.Parallel()
	s, gw := offlineService(t, nil)
	key, id := mintOne(t, s, Spec{Seats: 1, Shop: "web"})
	m := newOfflineMachine()
	req := m.request(t, key, gw)
	a, err := s.AnswerOffline(&req, "")
	if err != nil {
		t.Fatalf("answer: %v", err)
	}
	lease, err := wire.VerifyLease(a.Lease, []*composite.PublicKey{s.keys.LeaseKey.Public()})
	if err != nil {
		t.Fatal(err)
	}
	if a.LicenseID != id || lease.InstallKeyHash != req.InstallID() || lease.Nonce != req.Nonce || string(lease.Product[:]) != "1AJS2" {
		t.Fatal("the lease is not for the request's license, install and nonce")
	}
	if _, same := lease.Fingerprint.Match(&m.fp); !same {
		t.Fatal("the lease is not for the request's machine")
	}
	// Twice: the same seat, a lease again.
	again := m.request(t, key, gw)
	b, err := s.AnswerOffline(&again, "")
	if err != nil {
		t.Fatalf("answered twice: %v", err)
	}
	if acts, _ := s.st.Activations(id); len(acts) != 1 || b.LicenseID != id {
		t.Fatalf("answered twice: %d seats", len(acts))
	}
	// Seat rules: another machine of the one-seat license.
	other := newOfflineMachine()
	oreq := other.request(t, key, gw)
	if _, err := s.AnswerOffline(&oreq, ""); !errors.Is(err, ErrNoSeats) {
		t.Fatalf("second machine of one seat: %v, want NO_SEATS", err)
	}
	// The same install on another machine.
	moved := m
	moved.fp = testFingerprint()
	mreq := moved.request(t, key, gw)
	if _, err := s.AnswerOffline(&mreq, ""); !errors.Is(err, ErrFingerprintMismatch) {
		t.Fatalf("same install, other machine: %v, want FINGERPRINT_MISMATCH", err)
	}
	// Another gateway's request.
	var elsewhere [32]byte
	rand.Read(elsewhere[:])
	k, _ := ecdh.X25519().NewPrivateKey(elsewhere[:])
	foreign := m.request(t, key, [32]byte(k.PublicKey().Bytes()))
	if _, err := s.AnswerOffline(&foreign, ""); KindOf(err) != KindRequestMismatch || KindOf(err).Status() != wire.StatusRequestMismatch {
		t.Fatalf("another gateway's request: %v", err)
	}
	// Tampered: the hostname changed after sealing.
	tampered := m.request(t, key, gw)
	tampered.Hostname = []byte("airgaq")
	_, err = s.AnswerOffline(&tampered, "")
	if KindOf(err) != KindRequestMismatch {
		t.Fatalf("tampered request: %v", err)
	}
	if strings.Contains(err.Error(), string(key[:])) {
		t.Fatal("a refusal holds the key")
	}
	// A shop answers only for its own licenses.
	if _, err := s.AnswerOffline(&again, "another-shop"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another shop's license: %v, want NOT_FOUND", err)
	}
	if _, err := s.AnswerOffline(&again, "web"); err != nil {
		t.Fatalf("the shop's own license: %v", err)
	}
	log, err := s.st.AuditLog(0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range log {
		if e.Kind == "license.answer-offline" {
			n++
		}
	}
	if n != 3 {
		t.Fatalf("%d answers audited, want 3", n)
	}
}

// TestImportRelease: a release proof frees the seat (another machine can
// take it), with an event; imported twice it is NOT_ACTIVATED; a proof
// tampered with or for another gateway is REQUEST_MISMATCH; one older
// than the activation (carried in again after a new activation) frees
// nothing; a shop imports only for its own licenses.
func TestImportRelease(t *testing.T) {
	t.Parallel()
	var clock atomic.Int64
	clock.Store(time.Now().Unix())
	s, gw := offlineService(t, func() time.Time { return time.Unix(clock.Load(), 0) })
	key, id := mintOne(t, s, Spec{Seats: 1, Shop: "web"})
	m := newOfflineMachine()
	req := m.request(t, key, gw)
	a, err := s.AnswerOffline(&req, "")
	if err != nil {
		t.Fatal(err)
	}
	lease, _, _ := wire.ParseLease(a.Lease)
	rel := m.release(t, id, lease.Issued, gw)

	bad := rel
	bad.LeaseIssued++
	if _, err := s.ImportRelease(&bad, ""); KindOf(err) != KindRequestMismatch {
		t.Fatalf("tampered proof: %v", err)
	}
	var elsewhere [32]byte
	rand.Read(elsewhere[:])
	k, _ := ecdh.X25519().NewPrivateKey(elsewhere[:])
	foreign := m.release(t, id, lease.Issued, [32]byte(k.PublicKey().Bytes()))
	if _, err := s.ImportRelease(&foreign, ""); KindOf(err) != KindRequestMismatch {
		t.Fatalf("another gateway's proof: %v", err)
	}
	if _, err := s.ImportRelease(&rel, "another-shop"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another shop's license: %v", err)
	}
	if acts, _ := s.st.Activations(id); len(acts) != 1 {
		t.Fatalf("refused proofs freed a seat: %d left", len(acts))
	}
	got, err := s.ImportRelease(&rel, "web")
	if err != nil || got != id {
		t.Fatalf("import: %v", err)
	}
	if acts, _ := s.st.Activations(id); len(acts) != 0 {
		t.Fatalf("%d seats after the release", len(acts))
	}
	if _, err := s.ImportRelease(&rel, ""); !errors.Is(err, ErrNotActivated) {
		t.Fatalf("imported twice: %v, want NOT_ACTIVATED", err)
	}
	evs, err := s.st.ShopEvents("web", 0, 10)
	if err != nil || len(evs) != 2 || evs[1].Kind != store.EventDeactivated {
		t.Fatalf("events: %+v, %v", evs, err)
	}
	// Another machine takes the seat now.
	other := newOfflineMachine()
	oreq := other.request(t, key, gw)
	if _, err := s.AnswerOffline(&oreq, ""); err != nil {
		t.Fatalf("the freed seat: %v", err)
	}
	// The first machine is activated again later (an hour later, by the
	// gateway's clock): its old proof must not free the new seat.
	orel := other.release(t, id, clock.Load(), gw)
	if _, err := s.ImportRelease(&orel, ""); err != nil {
		t.Fatal(err)
	}
	clock.Add(3600)
	req2 := m.request(t, key, gw)
	a2, err := s.AnswerOffline(&req2, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ImportRelease(&rel, ""); KindOf(err) != KindRequestMismatch {
		t.Fatalf("an old proof against a new activation: %v", err)
	}
	if acts, _ := s.st.Activations(id); len(acts) != 1 {
		t.Fatal("the old proof freed the new seat")
	}
	// The machine writes a proof for its lease but keeps the binding (the
	// proof is never carried in), then gets a newer lease on the same
	// binding: the kept proof must not free the seat that lease holds.
	lease2, _, _ := wire.ParseLease(a2.Lease)
	kept := m.release(t, id, lease2.Issued, gw)
	clock.Add(60)
	req3 := m.request(t, key, gw)
	if _, err := s.AnswerOffline(&req3, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ImportRelease(&kept, ""); KindOf(err) != KindRequestMismatch {
		t.Fatalf("a proof of an earlier lease of the same binding: %v", err)
	}
	if acts, _ := s.st.Activations(id); len(acts) != 1 {
		t.Fatal("a proof of an earlier lease freed the seat")
	}
	// Unknown license.
	ghost := m.release(t, store.LicenseID{1}, lease.Issued, gw)
	if _, err := s.ImportRelease(&ghost, ""); KindOf(err) != KindNotFound {
		t.Fatalf("unknown license: %v", err)
	}
}

// TestOfflineNoiseKeys: during a rotation of the gateway's transport keys
// (Keys.NoiseKeys) a request sealed to either key it holds is answered,
// and a release signed for either is imported; one for a key it no longer
// holds is REQUEST_MISMATCH.
func TestOfflineNoiseKeys(t *testing.T) {
	t.Parallel()
	s, oldGW := offlineService(t, nil)
	oldPriv := s.keys.Noise
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	newPriv, newGW := [32]byte(k.Bytes()), [32]byte(k.PublicKey().Bytes())
	held := [][32]byte{newPriv, oldPriv}
	s.keys.NoiseKeys = func() [][32]byte { return held }
	key, id := mintOne(t, s, Spec{Seats: 2})
	m := newOfflineMachine()
	req := m.request(t, key, oldGW)
	a, err := s.AnswerOffline(&req, "")
	if err != nil {
		t.Fatalf("a request sealed to the previous key: %v", err)
	}
	n := newOfflineMachine()
	nreq := n.request(t, key, newGW)
	if _, err := s.AnswerOffline(&nreq, ""); err != nil {
		t.Fatalf("a request sealed to the current key: %v", err)
	}
	lease, err := wire.VerifyLease(a.Lease, []*composite.PublicKey{s.keys.LeaseKey.Public()})
	if err != nil {
		t.Fatal(err)
	}
	rel := m.release(t, id, lease.Issued, oldGW)
	if _, err := s.ImportRelease(&rel, ""); err != nil {
		t.Fatalf("a release signed for the previous key: %v", err)
	}
	held = held[:1] // retired
	late := newOfflineMachine()
	lreq := late.request(t, key, oldGW)
	if _, err := s.AnswerOffline(&lreq, ""); KindOf(err) != KindRequestMismatch {
		t.Fatalf("a request sealed to a retired key: %v, want REQUEST_MISMATCH", err)
	}
}
