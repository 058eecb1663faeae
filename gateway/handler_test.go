package gateway

import (
	"crypto/rand"
	"io"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/keygen/composite"
	"github.com/tollgate/tollgate/wire"
)

func testFingerprint() wire.Fingerprint {
	var f wire.Fingerprint
	f.N = 3
	for i, k := range []wire.ComponentKind{wire.KindMachineID, wire.KindMAC, wire.KindDisk} {
		f.C[i].Kind = k
		rand.Read(f.C[i].Hash[:])
	}
	return f
}

// BenchmarkValidateHot measures the validation decision on a cache hit, from
// the parsed request to the encoded response frame: no signature, no
// synchronous write. Target: under 1 µs and 0 allocs/op.
//
//	go test -run '^$' -bench ValidateHot -benchmem ./gateway/
func BenchmarkValidateHot(b *testing.B) {
	dir := b.TempDir()
	id, err := Init(dir, composite.MLDSA44Ed25519, "")
	if err != nil {
		b.Fatal(err)
	}
	st, err := OpenStore(dir, StoreOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	h := &handler{st: st, id: id, now: time.Now, log: slog.New(slog.NewTextHandler(io.Discard, nil)), defaultLease: 7 * 86400}
	p, _ := keygen.ParseProductCode("1AJS2")
	keys, err := MintKeys(st, id.Hasher, p, 1, Spec{}, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	var static [32]byte
	rand.Read(static[:])
	pr := newPeer(static, netip.Addr{})
	fp := testFingerprint()
	areq := wire.ActivateRequest{Key: keys[0], Fingerprint: fp, Hostname: []byte("bench")}
	out := h.activate(nil, 1, &areq, &pr)
	hdr, n, err := wire.ParseHeader(out)
	if err != nil || hdr.Type != wire.TypeActivateResponse {
		b.Fatalf("activation failed: %v %v", hdr.Type, err)
	}
	aresp, _, err := wire.ParseActivateResponse(out[n:])
	if err != nil {
		b.Fatal(err)
	}
	req := wire.ValidateRequest{LicenseID: aresp.LicenseID, Fingerprint: fp, Counter: 1}
	buf := make([]byte, 0, 4096)
	// Warm the cache (ristretto admits asynchronously). Each validation
	// presents a higher counter, as a client does.
	for i := 0; i < 1000; i++ {
		req.Counter++
		h.validate(buf[:0], 2, &req, &pr, time.Now().Unix())
	}
	now := time.Now().Unix()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req.Counter++
		out, slow := h.validate(buf[:0], 2, &req, &pr, now)
		if slow || len(out) == 0 || out[1] != byte(wire.TypeValidateResponse) {
			b.Fatal("validation did not take the hot path")
		}
	}
}
