package keygen

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"testing"
)

func TestNewHasher(t *testing.T) {
	for _, n := range []int{0, 1, 31} {
		if h, err := NewHasher(make([]byte, n)); err != ErrSecret || h != nil {
			t.Errorf("NewHasher(%d bytes) = %v, %v; want ErrSecret", n, h, err)
		}
	}
	secret := bytes.Repeat([]byte{7}, 32)
	h, err := NewHasher(secret)
	if err != nil {
		t.Fatal(err)
	}
	k := Key([]byte(validCanonical))
	before := h.Hash(k)
	secret[0] = 8 // the Hasher keeps its own copy
	if h.Hash(k) != before {
		t.Errorf("Hash changed when the caller's secret slice changed")
	}
}

// TestHashVectors pins HMAC-SHA-256 values computed with Python's hmac
// module, for a secret of one block or less and one longer than a block
// (which HMAC hashes first).
func TestHashVectors(t *testing.T) {
	seq := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i)
		}
		return b
	}
	k := Key([]byte("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123")) // Hash does not check keys
	for _, tc := range []struct {
		secret []byte
		want   string
	}{
		{seq(32), "0f81c79c4010ed95a8e3c1ab5d53df6fa10cb828c57e8ea263da67f5e291ff7f"},
		{seq(100), "90b8de0d79f6d20a6cb2b976539580862b29de9da4dba49950f4d34c55899c20"},
	} {
		h, err := NewHasher(tc.secret)
		if err != nil {
			t.Fatal(err)
		}
		if got := h.Hash(k); hex.EncodeToString(got[:]) != tc.want {
			t.Errorf("secret of %d bytes: Hash = %x, want %s", len(tc.secret), got, tc.want)
		}
	}
}

func TestHashMatchesHMAC(t *testing.T) {
	rng := rand.NewChaCha8([32]byte{'h', 'm', 'a', 'c'})
	for _, n := range []int{32, 63, 64, 65, 200} {
		secret := make([]byte, n)
		rng.Read(secret)
		h, err := NewHasher(secret)
		if err != nil {
			t.Fatal(err)
		}
		keys, err := MintBatch(testProduct, 50, rng)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			m := hmac.New(sha256.New, secret)
			m.Write(k[:])
			if got := h.Hash(k); !bytes.Equal(got[:], m.Sum(nil)) {
				t.Fatalf("secret of %d bytes: Hash differs from crypto/hmac", n)
			}
		}
	}
}

func TestHashConcurrent(t *testing.T) {
	h, err := NewHasher(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := MintBatch(testProduct, 200, rand.NewChaCha8([32]byte{}))
	if err != nil {
		t.Fatal(err)
	}
	want := make([]KeyHash, len(keys))
	for i, k := range keys {
		want[i] = h.Hash(k)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for round := range 20 {
				for i := range keys {
					j := (i + g*31 + round) % len(keys)
					if got := h.Hash(keys[j]); got != want[j] {
						t.Errorf("goroutine %d: hash of key %d differs", g, j)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

// raceEnabled reports whether the test binary was built with -race, under
// which sync.Pool drops items on purpose and Hash allocates.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

func TestHashAllocs(t *testing.T) {
	if raceEnabled() {
		t.Skip("sync.Pool drops items under the race detector")
	}
	h, err := NewHasher(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	k := Key([]byte(validCanonical))
	var sink KeyHash
	if n := testing.AllocsPerRun(1000, func() { sink = h.Hash(k) }); n != 0 {
		t.Errorf("Hash: %v allocations, want 0", n)
	}
	_ = sink
}

func TestKeyHash(t *testing.T) {
	var a KeyHash
	for i := range a {
		a[i] = byte(0xf0 + i)
	}
	if got := a.String(); got != "kh:f0f1f2f3f4f5f6f7" {
		t.Errorf("String = %q", got)
	}
	b := a
	if !a.Equal(b) {
		t.Errorf("Equal(copy) = false")
	}
	b[31] ^= 1
	if a.Equal(b) {
		t.Errorf("Equal(different) = true")
	}
}

func BenchmarkHash(b *testing.B) {
	b.ReportAllocs()
	h, err := NewHasher(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		b.Fatal(err)
	}
	k := Key([]byte(validCanonical))
	var sink KeyHash
	for b.Loop() {
		sink = h.Hash(k)
	}
	_ = sink
}

func BenchmarkHashParallel(b *testing.B) {
	b.ReportAllocs()
	h, err := NewHasher(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		b.Fatal(err)
	}
	k := Key([]byte(validCanonical))
	b.RunParallel(func(pb *testing.PB) {
		var sink KeyHash
		for pb.Next() {
			sink = h.Hash(k)
		}
		_ = sink
	})
}

// TestTag: Tag is the first 8 bytes of HMAC-SHA-256 over the domain, the
// kind and the bytes; kinds and secrets separate tags; a Tag between two
// Hashes leaves them right (the pooled state is reset).
func TestTag(t *testing.T) {
	secret := bytes.Repeat([]byte{7}, 32)
	h, err := NewHasher(secret)
	if err != nil {
		t.Fatal(err)
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("tollgate tag\x00network\x00"))
	m.Write([]byte{192, 0, 2, 0})
	want := m.Sum(nil)
	if got := h.Tag("network", []byte{192, 0, 2, 0}); got != binary.BigEndian.Uint64(want[:8]) {
		t.Fatalf("Tag = %x, want %x", got, want[:8])
	}
	if h.Tag("network", []byte{1}) == h.Tag("machine", []byte{1}) {
		t.Fatal("two kinds of the same bytes give the same tag")
	}
	other, _ := NewHasher(bytes.Repeat([]byte{8}, 32))
	if h.Tag("network", []byte{1}) == other.Tag("network", []byte{1}) {
		t.Fatal("two secrets give the same tag")
	}
	k, err := Mint(testProduct, nil)
	if err != nil {
		t.Fatal(err)
	}
	before := h.Hash(k)
	h.Tag("network", []byte{1, 2, 3})
	if h.Hash(k) != before {
		t.Fatal("a Tag changed the next Hash")
	}
}
