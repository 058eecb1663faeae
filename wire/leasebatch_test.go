package wire

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/keygen/composite"
)

// batchTestLeases returns n distinct valid leases, unsigned: testLease with
// its license id, nonce and counter varied, every third one carrying
// messages (a version 2 lease) so that a batch mixes both versions.
func batchTestLeases(t testing.TB, n int) []*Lease {
	t.Helper()
	ls := make([]*Lease, n)
	for i := range ls {
		l := testLease(t)
		l.LicenseID[0], l.Nonce[0], l.Counter = byte(i), byte(i), uint64(i)
		if i%3 == 2 {
			l.Messages = []byte(fmt.Sprintf("lease %d", i))
		}
		ls[i] = &l
	}
	return ls
}

// signedBatch signs a batch of n test leases with the fixed key of scheme
// s.
func signedBatch(t testing.TB, s composite.Scheme, n int) ([]*Lease, [][]byte, *composite.PrivateKey) {
	t.Helper()
	k := leaseTestKey(t, s, "gateway")
	ls := batchTestLeases(t, n)
	bs, err := SignLeaseBatch(ls, k)
	if err != nil {
		t.Fatalf("SignLeaseBatch(%d): %v", n, err)
	}
	return ls, bs, k
}

// refRoot is RFC 6962's MTH over the leaves' own bytes, computed directly.
func refRoot(leaves [][]byte) [32]byte {
	if len(leaves) == 1 {
		return sha256.Sum256(append([]byte{0}, leaves[0]...))
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	l, r := refRoot(leaves[:k]), refRoot(leaves[k:])
	return sha256.Sum256(append(append([]byte{1}, l[:]...), r[:]...))
}

// batchRoot returns the root lease b's proof leads to.
func batchRoot(t testing.TB, b []byte) [32]byte {
	t.Helper()
	l, _, err := ParseLease(b)
	if err != nil {
		t.Fatalf("ParseLease: %v", err)
	}
	var msg [batchMessageSize]byte
	l.Proof.message(&msg, b[:l.signedLen()])
	if binary.BigEndian.Uint16(msg[:2]) != l.Proof.Size {
		t.Fatalf("signed message does not begin with the size")
	}
	return [32]byte(msg[2:])
}

func TestLeaseBatchSignVerify(t *testing.T) {
	for _, s := range []composite.Scheme{composite.MLDSA44Ed25519, composite.MLDSA65Ed25519} {
		for _, n := range []int{2, 3, 5, 7, 8, 13, 33, 64} {
			ls, bs, k := signedBatch(t, s, n)
			keys := []*composite.PublicKey{k.Public()}
			var leaves [][]byte
			for i, b := range bs {
				l := ls[i]
				if l.Proof.Size != uint16(n) || l.Proof.Index != uint16(i) || len(l.Proof.Path) != leasePathLen(i, n)*LeaseHashSize {
					t.Fatalf("%v, %d: lease %d has proof %d/%d with %d path bytes", s, n, i, l.Proof.Index, l.Proof.Size, len(l.Proof.Path))
				}
				if want := l.version() | LeaseBatched; b[len(LeaseMagic)] != want {
					t.Fatalf("%v, %d: lease %d version byte %#x, want %#x", s, n, i, b[len(LeaseMagic)], want)
				}
				if err := l.Check(); err != nil {
					t.Fatalf("%v, %d: Check of lease %d: %v", s, n, i, err)
				}
				if l.Len() != len(b) || !bytes.Equal(l.Append(nil), b) {
					t.Fatalf("%v, %d: lease %d: Len %d of %d, Append equal %v", s, n, i, l.Len(), len(b), bytes.Equal(l.Append(nil), b))
				}
				v, err := VerifyLease(b, keys)
				if err != nil {
					t.Fatalf("%v, %d: VerifyLease of lease %d: %v", s, n, i, err)
				}
				if !leaseEqual(&v, l) || !bytes.Equal(v.Proof.Path, l.Proof.Path) || v.Proof.Size != l.Proof.Size || v.Proof.Index != l.Proof.Index {
					t.Fatalf("%v, %d: lease %d verifies to another lease", s, n, i)
				}
				leaves = append(leaves, b[:l.signedLen()])
			}
			// Every proof leads to the same root, RFC 6962's over the
			// leases' bytes.
			want := refRoot(leaves)
			for i, b := range bs {
				if got := batchRoot(t, b); got != want {
					t.Fatalf("%v, %d: lease %d leads to root %x, want %x", s, n, i, got, want)
				}
			}
			if !bytes.Equal(ls[0].Sig, ls[n-1].Sig) || !k.Public().Verify(append(binary.BigEndian.AppendUint16(nil, uint16(n)), want[:]...), leaseBatchContext, ls[0].Sig) {
				t.Fatalf("%v, %d: the signature is not one signature of (size || root)", s, n)
			}
		}
	}
}

func TestLeasePathLen(t *testing.T) {
	for _, tc := range []struct{ index, size, want int }{
		{0, 2, 1}, {1, 2, 1}, {0, 3, 2}, {1, 3, 2}, {2, 3, 1}, {4, 5, 1}, {3, 5, 3},
		{0, 64, 6}, {63, 64, 6}, {64, 65, 1}, {6, 7, 2}, {0, 7, 3},
	} {
		if got := leasePathLen(tc.index, tc.size); got != tc.want {
			t.Errorf("leasePathLen(%d, %d) = %d, want %d", tc.index, tc.size, got, tc.want)
		}
	}
}

// TestLeaseBatchOneIsAlone checks that a batch of one is a lease signed
// alone, byte for byte.
func TestLeaseBatchOneIsAlone(t *testing.T) {
	_, alone, k := signedTestLease(t, composite.MLDSA44Ed25519)
	l := testLease(t)
	bs, err := SignLeaseBatch([]*Lease{&l}, k)
	if err != nil || len(bs) != 1 || !bytes.Equal(bs[0], alone) || l.Proof.Size != 0 {
		t.Fatalf("SignLeaseBatch of one = %d leases, %v; equal to SignLease: %v", len(bs), err, len(bs) == 1 && bytes.Equal(bs[0], alone))
	}
}

func TestSignLeaseBatchRefuses(t *testing.T) {
	k := leaseTestKey(t, composite.MLDSA44Ed25519, "gateway")
	if bs, err := SignLeaseBatch(nil, k); !errors.Is(err, ErrInvalidField) || bs != nil {
		t.Errorf("SignLeaseBatch(none) = %v", err)
	}
	if bs, err := SignLeaseBatch(batchTestLeases(t, MaxLeaseBatch+1), k); !errors.Is(err, ErrInvalidField) || bs != nil {
		t.Errorf("SignLeaseBatch(%d) = %v", MaxLeaseBatch+1, err)
	}
	if bs, err := SignLeaseBatch(batchTestLeases(t, 2), nil); !errors.Is(err, composite.ErrNilKey) || bs != nil {
		t.Errorf("SignLeaseBatch(nil key) = %v", err)
	}
	ls := batchTestLeases(t, 5)
	ls[3].ServerTime = 0
	before := make([]Lease, len(ls))
	for i, l := range ls {
		before[i] = *l
	}
	bs, err := SignLeaseBatch(ls, k)
	if !errors.Is(err, ErrInvalidField) || bs != nil || !strings.Contains(err.Error(), "lease 3 ") {
		t.Errorf("SignLeaseBatch with a bad lease = %v; want ErrInvalidField naming lease 3", err)
	}
	for i, l := range ls {
		if !leaseEqual(l, &before[i]) || l.Proof.Size != 0 {
			t.Errorf("SignLeaseBatch changed lease %d of a batch it refused", i)
		}
	}
	// A lease signed in a batch, then signed alone: no proof left.
	ls = batchTestLeases(t, 2)
	if _, err := SignLeaseBatch(ls, k); err != nil {
		t.Fatal(err)
	}
	b, err := SignLease(ls[0], k)
	if err != nil || ls[0].Proof.Size != 0 || b[len(LeaseMagic)]&LeaseBatched != 0 {
		t.Fatalf("SignLease of a batch-signed lease: %v, proof size %d", err, ls[0].Proof.Size)
	}
	if _, err := VerifyLease(b, []*composite.PublicKey{k.Public()}); err != nil {
		t.Fatalf("re-signed alone: %v", err)
	}
}

// proofAt returns where lease b's proof begins.
func proofAt(t testing.TB, b []byte) int {
	l, _, err := ParseLease(b)
	if err != nil {
		t.Fatalf("ParseLease: %v", err)
	}
	return l.signedLen()
}

// TestLeaseBatchTamper checks, on a batch of 64, that every lease verifies
// and that a lease with any hash of its path, its index or its size
// changed, or with another lease's path, does not.
func TestLeaseBatchTamper(t *testing.T) {
	_, bs, k := signedBatch(t, composite.MLDSA44Ed25519, 64)
	keys := []*composite.PublicKey{k.Public()}
	refuse := func(what string, b []byte, wants ...error) {
		t.Helper()
		l, err := VerifyLease(b, keys)
		if err == nil || l.Sig != nil {
			t.Fatalf("%s: VerifyLease accepted it", what)
		}
		for _, w := range wants {
			if errors.Is(err, w) {
				return
			}
		}
		t.Fatalf("%s: VerifyLease = %v; want one of %v", what, err, wants)
	}
	for i, b := range bs {
		if _, err := VerifyLease(b, keys); err != nil {
			t.Fatalf("lease %d: %v", i, err)
		}
		at := proofAt(t, b)
		path := at + proofFixed
		// Every byte of every hash of the path, for the first and last
		// leases; the first, a middle and the last byte of each hash for
		// the others.
		for j := range 6 * LeaseHashSize {
			if i != 0 && i != 63 && j%LeaseHashSize != 0 && j%LeaseHashSize != 15 && j%LeaseHashSize != 31 {
				continue
			}
			refuse(fmt.Sprintf("lease %d, path byte %d", i, j), flipByte(b, path+j), ErrLeaseSignature)
		}
		// Any other index: the path's count then fits or does not.
		for j := range 66 {
			if j == i {
				continue
			}
			c := bytes.Clone(b)
			binary.BigEndian.PutUint16(c[at+2:], uint16(j))
			refuse(fmt.Sprintf("lease %d as index %d", i, j), c, ErrLeaseSignature, ErrInvalidField)
		}
		// Any other size, with the same index.
		for n := range 70 {
			if n == 64 {
				continue
			}
			c := bytes.Clone(b)
			binary.BigEndian.PutUint16(c[at:], uint16(n))
			refuse(fmt.Sprintf("lease %d in a batch of %d", i, n), c, ErrLeaseSignature, ErrNonCanonical, ErrInvalidField)
		}
		// Another lease's path (and index and size), or its path alone.
		o := bs[(i+1)%64]
		oat := proofAt(t, o)
		swapped := append(append(bytes.Clone(b[:at]), o[oat:oat+proofFixed+6*LeaseHashSize]...), b[path+6*LeaseHashSize:]...)
		refuse(fmt.Sprintf("lease %d with the proof of the next", i), swapped, ErrLeaseSignature)
		pathOnly := append(append(bytes.Clone(b[:path]), o[oat+proofFixed:oat+proofFixed+6*LeaseHashSize]...), b[path+6*LeaseHashSize:]...)
		refuse(fmt.Sprintf("lease %d with the path of the next", i), pathOnly, ErrLeaseSignature)
	}

	// The proof taken off and the marker cleared: the batch's signature
	// read as the lease's own does not verify (another context, another
	// message).
	b := bs[5]
	at := proofAt(t, b)
	alone := append(bytes.Clone(b[:at]), b[at+proofFixed+6*LeaseHashSize:]...)
	alone[len(LeaseMagic)] &^= LeaseBatched
	refuse("a batch lease stripped of its proof", alone, ErrLeaseSignature)
	// And the other way: a lease signed alone, marked and given a proof.
	_, single, _ := signedTestLease(t, composite.MLDSA44Ed25519)
	sat := proofAt(t, single)
	marked := append(bytes.Clone(single[:sat]), b[at:at+proofFixed+6*LeaseHashSize]...)
	marked = append(marked, single[sat:]...)
	marked[len(LeaseMagic)] |= LeaseBatched
	refuse("a lease signed alone, given a proof", marked, ErrLeaseSignature)
}

// TestLeaseBatchEnvelope checks that every malformed proof is refused with
// its error by ParseLease and VerifyLease, never accepted.
func TestLeaseBatchEnvelope(t *testing.T) {
	_, bs, k := signedBatch(t, composite.MLDSA44Ed25519, 3)
	keys := []*composite.PublicKey{k.Public()}
	b := bs[0] // index 0 of 3: two hashes
	at := proofAt(t, b)
	set := func(off int, v ...byte) []byte {
		c := bytes.Clone(b)
		copy(c[off:], v)
		return c
	}
	for _, tc := range []struct {
		name string
		b    []byte
		want error
	}{
		{"size 0", set(at, 0, 0), ErrNonCanonical},
		{"size 1", set(at, 0, 1), ErrNonCanonical},
		{"size 65", set(at, 0, 65), ErrInvalidField},
		{"size 65535", set(at, 0xff, 0xff), ErrInvalidField},
		{"index 3 of 3", set(at+2, 0, 3), ErrInvalidField},
		{"index 65535", set(at+2, 0xff, 0xff), ErrInvalidField},
		{"count 0", set(at+4, 0), ErrNonCanonical},
		{"count 1", set(at+4, 1), ErrNonCanonical},
		{"count 3", set(at+4, 3), ErrNonCanonical},
		{"count 255", set(at+4, 255), ErrNonCanonical},
		{"index 2 with index 0's two hashes", set(at+2, 0, 2), ErrNonCanonical},
		{"trailing byte", append(bytes.Clone(b), 0), ErrTrailing},
		{"one hash short", append(bytes.Clone(b[:at+proofFixed+LeaseHashSize]), b[at+proofFixed+2*LeaseHashSize:]...), ErrShort},
		{"version 3 batched", set(len(LeaseMagic), 3|LeaseBatched), ErrUnsupportedVersion},
		{"version 0 batched", set(len(LeaseMagic), LeaseBatched), ErrUnsupportedVersion},
		{"marker cleared", set(len(LeaseMagic), LeaseVersion), ErrTrailing},
	} {
		if l, n, err := ParseLease(tc.b); !errors.Is(err, tc.want) || n != 0 || l.Sig != nil {
			t.Errorf("ParseLease(%s) = %d, %v; want 0, %v", tc.name, n, err, tc.want)
		}
		if l, err := VerifyLease(tc.b, keys); !errors.Is(err, tc.want) || l.Sig != nil {
			t.Errorf("VerifyLease(%s) = %v; want %v", tc.name, err, tc.want)
		}
	}
	for _, b := range bs {
		for i := range len(b) {
			if l, n, err := ParseLease(b[:i]); !errors.Is(err, ErrShort) || n != 0 || l.Sig != nil {
				t.Fatalf("ParseLease(first %d of %d bytes) = %d, %v; want ErrShort", i, len(b), n, err)
			}
		}
	}

	// Check refuses what the parser would.
	l, _, err := ParseLease(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		p    LeaseProof
		want error
	}{
		{"index without size", LeaseProof{Index: 1}, ErrInvalidField},
		{"path without size", LeaseProof{Path: []byte{}}, ErrInvalidField},
		{"size 1", LeaseProof{Size: 1}, ErrNonCanonical},
		{"size 65", LeaseProof{Size: 65, Path: make([]byte, 7*LeaseHashSize)}, ErrInvalidField},
		{"index at size", LeaseProof{Size: 3, Index: 3, Path: make([]byte, LeaseHashSize)}, ErrInvalidField},
		{"path too short", LeaseProof{Size: 3, Index: 0, Path: make([]byte, LeaseHashSize)}, ErrNonCanonical},
		{"path not whole hashes", LeaseProof{Size: 3, Index: 2, Path: make([]byte, LeaseHashSize+1)}, ErrNonCanonical},
	} {
		c := l
		c.Proof = tc.p
		if err := c.Check(); !errors.Is(err, tc.want) {
			t.Errorf("Check(%s) = %v; want %v", tc.name, err, tc.want)
		}
	}
}

// TestLeaseBatchMaxSize checks that the largest lease there can be, in a
// batch of MaxLeaseBatch (the longest paths), fits MaxLeaseSize.
func TestLeaseBatchMaxSize(t *testing.T) {
	names := make([]string, MaxEntitlements)
	for i := range names {
		names[i] = strings.Repeat(string(rune('a'+i%26)), MaxEntitlementLen-2) + string(rune('a'+i/26)) + "x"
	}
	ents, err := NewEntitlements(names...)
	if err != nil {
		t.Fatal(err)
	}
	var codes [][ProductSize]byte
	for i := range MaxBundle {
		codes = append(codes, [ProductSize]byte{'Z', 'Z', 'Z', 'Z', byte('A' + i)})
	}
	bundle, err := NewLeaseBundle(codes...)
	if err != nil {
		t.Fatal(err)
	}
	ls := batchTestLeases(t, MaxLeaseBatch)
	l := ls[MaxLeaseBatch-1]
	l.Bundle, l.Entitlements = bundle, ents
	l.Fingerprint.N = MaxComponents
	for i := range MaxComponents {
		l.Fingerprint.C[i].Kind = ComponentKind(i + 1)
	}
	l.Messages, l.Statement = bytes.Repeat([]byte{'m'}, MaxLeaseMessages), bytes.Repeat([]byte{'s'}, MaxLeaseStatement)
	k := leaseTestKey(t, composite.MLDSA65Ed25519, "gateway")
	bs, err := SignLeaseBatch(ls, k)
	if err != nil {
		t.Fatal(err)
	}
	b := bs[MaxLeaseBatch-1]
	if len(b) > MaxLeaseSize {
		t.Fatalf("the largest batch-signed lease is %d bytes, more than MaxLeaseSize %d", len(b), MaxLeaseSize)
	}
	if _, err := VerifyLease(b, []*composite.PublicKey{k.Public()}); err != nil {
		t.Fatal(err)
	}
	t.Logf("largest batch-signed lease: %d bytes of %d", len(b), MaxLeaseSize)
}

func TestParseLeaseBatchAllocs(t *testing.T) {
	_, bs, _ := signedBatch(t, composite.MLDSA44Ed25519, 64)
	allocs := testing.AllocsPerRun(100, func() {
		if _, _, err := ParseLease(bs[17]); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("ParseLease of a batch-signed lease: %v allocations, want 0", allocs)
	}
}

// TestLeaseBatchGolden pins batches of 3 and of 64 signed with a fixed key
// to testdata/lease-batch.golden: per batch its size and root, per lease
// its proof and the SHA-256 of its whole encoding. Signing is
// deterministic, so a change here means the encoding, the tree or the
// composite signature changed. TOLLGATE_UPDATE_GOLDEN=1 rewrites it.
func TestLeaseBatchGolden(t *testing.T) {
	var got bytes.Buffer
	got.WriteString("# Batch-signed leases (wire/leasebatch.go): testLease varied per lease\n")
	got.WriteString("# (batchTestLeases), signed by leaseTestKey(ML-DSA-44 + Ed25519, \"gateway\").\n")
	got.WriteString("# batch <size> <root>, then per lease: <index> <proof: size index count path> <SHA-256 of the lease>\n")
	for _, n := range []int{3, 64} {
		ls, bs, k := signedBatch(t, composite.MLDSA44Ed25519, n)
		for _, b := range bs {
			if _, err := VerifyLease(b, []*composite.PublicKey{k.Public()}); err != nil {
				t.Fatal(err)
			}
		}
		root := batchRoot(t, bs[0])
		fmt.Fprintf(&got, "batch %d %x\n", n, root)
		for i, b := range bs {
			sum := sha256.Sum256(b)
			fmt.Fprintf(&got, "%d %x %x\n", i, ls[i].Proof.append(nil), sum)
		}
	}
	path := filepath.Join("testdata", "lease-batch.golden")
	if os.Getenv("TOLLGATE_UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		g, w := bufio.NewScanner(&got), bufio.NewScanner(bytes.NewReader(want))
		for line := 1; ; line++ {
			gok, wok := g.Scan(), w.Scan()
			if !gok && !wok {
				break
			}
			if g.Text() != w.Text() {
				t.Fatalf("lease-batch.golden differs at line %d:\n got %q\nwant %q", line, g.Text(), w.Text())
			}
		}
	}
	// The golden file's proofs parse as proofs of their index and size.
	sc := bufio.NewScanner(bytes.NewReader(want))
	lines := 0
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 || f[0] == "batch" {
			continue
		}
		p, err := hex.DecodeString(f[1])
		if err != nil || len(p) < proofFixed {
			t.Fatalf("golden line %q", sc.Text())
		}
		size, index := binary.BigEndian.Uint16(p), binary.BigEndian.Uint16(p[2:])
		if f[0] != fmt.Sprint(index) || int(p[4]) != leasePathLen(int(index), int(size)) || len(p) != proofFixed+int(p[4])*LeaseHashSize {
			t.Fatalf("golden line %q: not a proof of its index", sc.Text())
		}
		lines++
	}
	if lines != 3+64 {
		t.Fatalf("golden file has %d leases, want 67", lines)
	}
}

func BenchmarkLeaseSignBatch64(b *testing.B) {
	k := leaseTestKey(b, composite.MLDSA44Ed25519, "gateway")
	ls := batchTestLeases(b, 64)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := SignLeaseBatch(ls, k); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/64, "ns/lease")
}

func BenchmarkLeaseVerifyBatch64(b *testing.B) {
	_, bs, k := signedBatch(b, composite.MLDSA44Ed25519, 64)
	keys := []*composite.PublicKey{k.Public()}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := VerifyLease(bs[41], keys); err != nil {
			b.Fatal(err)
		}
	}
}
