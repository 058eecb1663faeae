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
func BenchmarkValidateHot(b *testing.B) { benchmarkValidateHot(b, 1) }

// BenchmarkValidateHotMany is BenchmarkValidateHot with one session
// validating 1,000 licenses in turn, the shape of tollgate-bench's
// validate scenario (10,000 licenses over 8 sessions).
//
//	go test -run '^$' -bench ValidateHotMany -benchmem ./gateway/
func BenchmarkValidateHotMany(b *testing.B) { benchmarkValidateHot(b, 1000) }

func benchmarkValidateHot(b *testing.B, licenses int) {
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
	keys, err := service.MintKeys(st, id.Hasher, p, licenses, service.Spec{}, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	var static [32]byte
	rand.Read(static[:])
	pr := service.NewPeer(static, netip.Addr{})
	fp := testFingerprint()
	reqs := make([]wire.ValidateRequest, licenses)
	for i, k := range keys {
		a, err := svc.Activate(&wire.ActivateRequest{Key: k, Fingerprint: fp, Hostname: []byte("bench")}, &pr)
		if err != nil {
			b.Fatal(err)
		}
		reqs[i] = wire.ValidateRequest{LicenseID: a.LicenseID, Fingerprint: fp, Counter: 1}
	}
	buf := make([]byte, 0, 4096)
	// Warm the cache (ristretto admits asynchronously). Each validation
	// presents a higher counter, as a client does.
	for i := 0; i < 1000; i++ {
		for j := range reqs {
			reqs[j].Counter++
			answerValidate(svc, buf[:0], 2, &reqs[j], &pr, time.Now().Unix())
		}
		if i*licenses > 100000 {
			break
		}
	}
	now := time.Now().Unix()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := &reqs[i%licenses]
		req.Counter++
		out, slow := answerValidate(svc, buf[:0], 2, req, &pr, now)
		if slow || len(out) == 0 || out[1] != byte(wire.TypeValidateResponse) {
			b.Fatal("validation did not take the hot path")
		}
	}
}
