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
	"github.com/tollgate/tollgate/service"
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
// the parsed request to the encoded response frame (the service's decision
// and the route's encoding): no signature, no synchronous write. Target:
// under 1 µs and 0 allocs/op.
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
	svc := service.New(service.Config{Store: st, Keys: id.serviceKeys(), Log: slog.New(slog.NewTextHandler(io.Discard, nil)), DefaultLeaseSeconds: 7 * 86400})
	defer svc.Close()
	p, _ := keygen.ParseProductCode("1AJS2")
	keys, err := service.MintKeys(st, id.Hasher, p, 1, service.Spec{}, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	var static [32]byte
	rand.Read(static[:])
	pr := service.NewPeer(static, netip.Addr{})
	fp := testFingerprint()
	a, err := svc.Activate(&wire.ActivateRequest{Key: keys[0], Fingerprint: fp, Hostname: []byte("bench")}, &pr)
	if err != nil {
		b.Fatal(err)
	}
	req := wire.ValidateRequest{LicenseID: a.LicenseID, Fingerprint: fp, Counter: 1}
	buf := make([]byte, 0, 4096)
	// Warm the cache (ristretto admits asynchronously). Each validation
	// presents a higher counter, as a client does.
	for i := 0; i < 1000; i++ {
		req.Counter++
		answerValidate(svc, buf[:0], 2, &req, &pr, time.Now().Unix())
	}
	now := time.Now().Unix()
	b.ReportAllocs()
	b.ResetTimer()
	countFrom()
	for i := 0; i < b.N; i++ {
		req.Counter++
		out, slow := answerValidate(svc, buf[:0], 2, &req, &pr, now)
		if slow || len(out) == 0 || out[1] != byte(wire.TypeValidateResponse) {
			b.Fatal("validation did not take the hot path")
		}
	}
	countTo()
}

// countFrom and countTo mark the measured loop of a benchmark for an
// instruction count: bench/instructions.sh runs the test binary under
// callgrind with its counters zeroed on entering countFrom and dumped on
// entering countTo, so that the count is of the loop alone, not of the
// benchmark's setup.
//
//go:noinline
func countFrom() {}

//go:noinline
func countTo() {}
