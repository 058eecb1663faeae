package clients

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/tollgate/tollgate/keygen/composite"
	"github.com/tollgate/tollgate/wire"
)

// trustKey returns a deterministic ML-DSA-44 key named name.
func trustKey(t testing.TB, name string) *composite.PrivateKey {
	t.Helper()
	seed := sha256.Sum256([]byte("trust test key " + name))
	more := sha256.Sum256(seed[:])
	k, err := composite.GenerateKey(composite.MLDSA44Ed25519, bytes.NewReader(append(seed[:], more[:]...)))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// statement signs by old the statement introducing next, retiring old
// after retire.
func statement(t testing.TB, old, next *composite.PrivateKey, retire int64) []byte {
	t.Helper()
	s := wire.KeyStatement{NewKey: next.Public(), From: 1000, RetireAfter: retire}
	b, err := wire.SignKeyStatement(&s, old)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// trustLease signs a minimal lease with k, carrying stmt.
func trustLease(t testing.TB, k *composite.PrivateKey, stmt []byte) []byte {
	t.Helper()
	l := wire.Lease{Issued: 1000, LeaseExpiry: 2000, Level: wire.LevelLeaseOnly, ServerTime: 1000, Statement: stmt}
	copy(l.Product[:], "1AJS2")
	l.Fingerprint = MachineFingerprint("1AJS2", "trust test")
	b, err := wire.SignLease(&l, k)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestKeyTrustChain checks that a client follows a chain of rotations it
// saw one link at a time, keeps only statements whose signer it trusts,
// refuses a new lease of a retired key (by the statement of its own
// rotation, or by the card) while still reading leases it kept, and never
// learns from a statement by a retired or unknown key.
func TestKeyTrustChain(t *testing.T) {
	a, b, c, x := trustKey(t, "a"), trustKey(t, "b"), trustKey(t, "c"), trustKey(t, "x")
	card := &wire.Card{LeaseKeys: []*composite.PublicKey{a.Public()}}
	now := int64(1500)
	clock := func() int64 { return now }
	ab, bc := statement(t, a, b, 1600), statement(t, b, c, 0)

	// Out of order, the second link has no trusted signer yet: dropped.
	tr, err := newKeyTrust(card, [][]byte{bc, ab}, clock)
	if !errors.Is(err, ErrState) || len(tr.statements()) != 1 {
		t.Fatalf("statements out of order: %v, kept %d; want ErrState and 1 kept", err, len(tr.statements()))
	}
	tr, err = newKeyTrust(card, nil, clock)
	if err != nil {
		t.Fatal(err)
	}
	var learned [][]byte
	tr.learn = func(s []byte) { learned = append(learned, s) }
	if _, err := tr.verifyNew(trustLease(t, c, bc)); !errors.Is(err, wire.ErrLeaseKey) {
		t.Fatalf("a lease two rotations ahead: %v, want ErrLeaseKey", err)
	}
	if _, err := tr.verifyNew(trustLease(t, b, ab)); err != nil {
		t.Fatalf("the first rotation: %v", err)
	}
	if _, err := tr.verifyNew(trustLease(t, c, bc)); err != nil {
		t.Fatalf("the second rotation: %v", err)
	}
	if len(learned) != 2 || !bytes.Equal(learned[0], ab) || !bytes.Equal(learned[1], bc) {
		t.Fatalf("learned %d statements", len(learned))
	}
	again, err := newKeyTrust(card, tr.statements(), clock)
	if err != nil || len(again.keys()) != 3 {
		t.Fatalf("reloading the chain: %v, %d keys", err, len(again.keys()))
	}

	oldLease := trustLease(t, a, nil)
	if _, err := tr.verifyNew(oldLease); err != nil {
		t.Fatalf("a new lease of key a before its retire date: %v", err)
	}
	now = 1601
	if _, err := tr.verifyNew(oldLease); !errors.Is(err, wire.ErrLeaseKey) {
		t.Fatalf("a new lease of key a after its retire date: %v, want ErrLeaseKey", err)
	}
	if _, err := tr.verifySaved(oldLease); err != nil {
		t.Fatalf("a kept lease of the retired key a: %v", err)
	}
	// A retired key's statement teaches nothing.
	fresh, _ := newKeyTrust(card, nil, clock)
	fresh.card = &wire.Card{LeaseKeys: []*composite.PublicKey{a.Public(), x.Public()}, Retire: []wire.CardRetire{{KeyID: a.Public().ID(), After: 1550}}}
	if _, err := fresh.verifyNew(trustLease(t, b, statement(t, a, b, 0))); !errors.Is(err, wire.ErrLeaseKey) || len(fresh.statements()) != 0 {
		t.Fatalf("a statement by a key the card retired: %v", err)
	}
	// Nor does an unknown key's.
	if _, err := fresh.verifyNew(trustLease(t, b, statement(t, c, b, 0))); !errors.Is(err, wire.ErrLeaseKey) || len(fresh.statements()) != 0 {
		t.Fatalf("a statement by an unknown key: %v", err)
	}
	// A statement of another key than the lease's.
	if _, err := fresh.verifyNew(trustLease(t, c, statement(t, x, b, 0))); !errors.Is(err, wire.ErrLeaseKey) {
		t.Fatalf("a statement of another key: %v", err)
	}
}

// TestLeaseKeysFileDamage checks that a damaged lease-keys file is
// reported, ignored, and replaced at the next save.
func TestLeaseKeysFileDamage(t *testing.T) {
	a, b := trustKey(t, "a"), trustKey(t, "b")
	good := marshalLeaseKeys([][]byte{statement(t, a, b, 0)})
	for name, content := range map[string][]byte{
		"header":    append([]byte("tollgate-lease-keys 2"), good[len(leaseKeysHeader):]...),
		"base64":    append(bytes.Clone(good[:len(good)-1]), '!', '\n'),
		"truncated": good[:len(good)-1],
		"statement": []byte(leaseKeysHeader + "\nVEdLUw==\n"),
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, FileLeaseKeys), content, 0o600); err != nil {
			t.Fatal(err)
		}
		st, damaged, err := LoadState(dir)
		if err != nil || !errors.Is(damaged, ErrState) || st.KeyStatements != nil {
			t.Fatalf("%s: LoadState = %v, %v, %d statements; want a damage report and none", name, damaged, err, len(st.KeyStatements))
		}
		if err := st.Save(); err != nil {
			t.Fatal(err)
		}
		if _, damaged, _ := LoadState(dir); damaged != nil {
			t.Fatalf("%s: damage still reported after a save: %v", name, damaged)
		}
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileLeaseKeys), good, 0o600); err != nil {
		t.Fatal(err)
	}
	st, damaged, err := LoadState(dir)
	if err != nil || damaged != nil || len(st.KeyStatements) != 1 {
		t.Fatalf("a good file: %v, %v, %d statements", damaged, err, len(st.KeyStatements))
	}
}
