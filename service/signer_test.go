package service

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/keygen/composite"
	"github.com/tollgate/tollgate/wire"
)

// batcherLease returns a valid unsigned lease, distinct by i.
func batcherLease(i int) *wire.Lease {
	now := time.Now().Unix()
	l := &wire.Lease{Issued: now, LeaseExpiry: now + 86400, Level: wire.LevelLeaseOnly, Counter: uint64(i), ServerTime: now}
	copy(l.Product[:], "1AJS2")
	l.LicenseID[0], l.Nonce[0] = byte(i), byte(i>>8)
	l.Fingerprint = testFingerprint()
	return l
}

// signed is one caller's outcome in a batcher test.
type signed struct {
	lease *wire.Lease
	b     []byte
	err   error
}

// queueBehind makes b busy, as if a signature were under way, and has n
// callers sign behind it; it returns once all n are queued, and a function
// that ends the signature under way (handing the next round to the first
// queued caller) and returns every caller's outcome.
func queueBehind(t *testing.T, b *leaseBatcher, n int) func() []signed {
	t.Helper()
	b.mu.Lock()
	b.busy = true
	b.mu.Unlock()
	out := make([]signed, n)
	var wg sync.WaitGroup
	for i := range n {
		out[i].lease = batcherLease(i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i].b, out[i].err = b.sign(out[i].lease)
		}()
	}
	// Only a hang reaches this bound.
	for tries := 0; ; tries++ {
		b.mu.Lock()
		queued := len(b.queue)
		b.mu.Unlock()
		if queued == n {
			break
		}
		if tries > 60000 {
			t.Fatalf("%d of %d callers queued after a minute", queued, n)
		}
		time.Sleep(time.Millisecond)
	}
	return func() []signed {
		b.mu.Lock()
		next := b.queue[0]
		next.lead = true
		b.mu.Unlock()
		close(next.done)
		wg.Wait()
		return out
	}
}

// TestLeaseBatcherQueue checks the group commit: leases queued behind a
// signature are signed together when it ends, at most max per signature,
// each verifying with its own proof; and nothing is left busy after.
func TestLeaseBatcherQueue(t *testing.T) {
	keys := testKeys(t)
	pub := []*composite.PublicKey{keys.LeaseKey.Public()}
	for _, tc := range []struct {
		max, n int
		sizes  []int
	}{
		{64, 10, []int{10}},
		{4, 10, []int{4, 4, 2}},
		{0, 70, []int{64, 6}},
		{3, 4, []int{3, 1}},
	} {
		t.Run(fmt.Sprintf("max %d, %d queued", tc.max, tc.n), func(t *testing.T) {
			b := newLeaseBatcher(NewLeaseSigner(keys.LeaseKey, nil, 0), tc.max)
			out := queueBehind(t, b, tc.n)()
			sizes := map[int]int{}
			for i, o := range out {
				if o.err != nil {
					t.Fatalf("lease %d: %v", i, o.err)
				}
				l, err := wire.VerifyLease(o.b, pub)
				if err != nil {
					t.Fatalf("lease %d: VerifyLease: %v", i, err)
				}
				if l.Counter != uint64(i) || !bytes.Equal(o.lease.Sig, l.Sig) {
					t.Fatalf("lease %d: caller got another lease", i)
				}
				size := int(l.Proof.Size)
				if size == 0 {
					size = 1
				}
				sizes[size]++
			}
			want := map[int]int{}
			for _, s := range tc.sizes {
				want[s] += s
			}
			if fmt.Sprint(sizes) != fmt.Sprint(want) {
				t.Errorf("leases by batch size %v, want %v", sizes, want)
			}
			if r, n := b.rounds.Load(), b.signed.Load(); r != int64(len(tc.sizes)) || n != int64(tc.n) {
				t.Errorf("%d signatures for %d leases, want %d for %d", r, n, len(tc.sizes), tc.n)
			}
			if b.busy || len(b.queue) != 0 {
				t.Errorf("batcher left busy %v with %d queued", b.busy, len(b.queue))
			}
		})
	}
}

// TestLeaseBatcherAlone checks that a lease that finds no signature under
// way is signed alone (the form without a proof), and that max 1 never
// batches.
func TestLeaseBatcherAlone(t *testing.T) {
	keys := testKeys(t)
	pub := []*composite.PublicKey{keys.LeaseKey.Public()}
	for _, max := range []int{0, 1} {
		b := newLeaseBatcher(NewLeaseSigner(keys.LeaseKey, nil, 0), max)
		enc, err := b.sign(batcherLease(1))
		if err != nil {
			t.Fatal(err)
		}
		if enc[len(wire.LeaseMagic)]&wire.LeaseBatched != 0 {
			t.Errorf("max %d: a lease alone was batch-signed", max)
		}
		if _, err := wire.VerifyLease(enc, pub); err != nil {
			t.Errorf("max %d: %v", max, err)
		}
	}
}

// TestLeaseBatcherRotation checks that a batch is signed with one key:
// leases queued before a rotation and signed after it all carry the new
// key's id and statement, and verify with it.
func TestLeaseBatcherRotation(t *testing.T) {
	old, next := testKeys(t).LeaseKey, testKeys(t).LeaseKey
	s := NewLeaseSigner(old, nil, 0)
	b := newLeaseBatcher(s, 0)
	end := queueBehind(t, b, 5)
	stmt := []byte("the statement introducing the next key")
	s.Set(next, stmt, 0)
	for i, o := range end() {
		l, err := wire.VerifyLease(o.b, []*composite.PublicKey{next.Public()})
		if err != nil || l.KeyID != next.Public().ID() || !bytes.Equal(l.Statement, stmt) || l.Proof.Size != 5 {
			t.Fatalf("lease %d: %v, key %x, statement %q, batch of %d", i, err, l.KeyID, l.Statement, l.Proof.Size)
		}
	}
}

// TestLeaseBatcherBadLease checks that one lease no app could read fails
// alone: the rest of its batch is signed.
func TestLeaseBatcherBadLease(t *testing.T) {
	keys := testKeys(t)
	b := newLeaseBatcher(NewLeaseSigner(keys.LeaseKey, nil, 0), 0)
	end := queueBehind(t, b, 3)
	// queueBehind's leases are built before they queue; spoil one while
	// it waits (its caller only reads it back after).
	b.mu.Lock()
	bad := b.queue[1].lease
	bad.ServerTime = 0
	b.mu.Unlock()
	out := end()
	for i, o := range out {
		if (o.err != nil) != (o.lease == bad) {
			t.Fatalf("lease %d: %v", i, o.err)
		}
		if o.lease != bad {
			if _, err := wire.VerifyLease(o.b, []*composite.PublicKey{keys.LeaseKey.Public()}); err != nil {
				t.Fatalf("lease %d: %v", i, err)
			}
		}
	}
}

// TestActivateConcurrentBatched activates many licenses at once through
// the service with batching on and off: every activation succeeds with a
// lease that verifies, and with batching on, leases that queued were
// signed together (fewer signatures than leases, unless the machine ran
// them one after the other).
func TestActivateConcurrentBatched(t *testing.T) {
	for _, batch := range []int{0, 1} {
		t.Run(fmt.Sprintf("LeaseBatch %d", batch), func(t *testing.T) {
			s, _ := newTestService(t, Config{LeaseBatch: batch})
			p, _ := keygen.ParseProductCode("1AJS2")
			const n = 96
			keys, err := MintKeys(s.st, s.keys.Hasher, p, n, Spec{}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			pub := []*composite.PublicKey{s.signer.Public()}
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					req := wire.ActivateRequest{Key: keys[i], Fingerprint: testFingerprint(), Hostname: []byte("h")}
					rand.Read(req.Nonce[:])
					var static [32]byte
					rand.Read(static[:])
					peer := NewPeer(static, netip.MustParseAddr("192.0.2.10"))
					a, err := s.Activate(&req, &peer)
					if err == nil {
						var l wire.Lease
						if l, err = wire.VerifyLease(a.Lease, pub); err == nil && (l.Nonce != req.Nonce || l.LicenseID != a.LicenseID) {
							err = fmt.Errorf("activation %d got another lease", i)
						}
					}
					if err != nil {
						errs <- err
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			sigs, leases := s.LeaseSignatures()
			if leases != n || sigs > leases || (batch == 1 && sigs != n) {
				t.Fatalf("%d signatures for %d leases", sigs, leases)
			}
			t.Logf("%d leases in %d signatures", leases, sigs)
		})
	}
}
