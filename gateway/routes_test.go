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

// hotValidations is a service with licenses activated by one install,
// each validated enough times for the cache to hold it.
type hotValidations struct {
	svc  *service.Service
	peer service.Peer
	reqs []wire.ValidateRequest
}

func newHotValidations(tb testing.TB, licenses int) *hotValidations {
	tb.Helper()
	dir := tb.TempDir()
	id, err := Init(dir, composite.MLDSA44Ed25519, "")
	if err != nil {
		tb.Fatal(err)
	}
	st, err := OpenStore(dir, StoreOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	svc := service.New(service.Config{Store: st, Keys: id.serviceKeys(), Log: slog.New(slog.NewTextHandler(io.Discard, nil)), DefaultLeaseSeconds: 7 * 86400})
	tb.Cleanup(func() {
		svc.Close()
		st.Close()
	})
	p, _ := keygen.ParseProductCode("1AJS2")
	keys, err := service.MintKeys(st, id.Hasher, p, licenses, service.Spec{}, time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	var static [32]byte
	rand.Read(static[:])
	h := &hotValidations{svc: svc, peer: service.NewPeer(static, netip.Addr{}), reqs: make([]wire.ValidateRequest, licenses)}
	fp := testFingerprint()
	for i, k := range keys {
		a, err := svc.Activate(&wire.ActivateRequest{Key: k, Fingerprint: fp, Hostname: []byte("bench")}, &h.peer)
		if err != nil {
			tb.Fatal(err)
		}
		h.reqs[i] = wire.ValidateRequest{LicenseID: a.LicenseID, Fingerprint: fp, Counter: 1}
	}
	// Warm the cache (ristretto admits asynchronously). Each validation
	// presents a higher counter, as a client does.
	buf := make([]byte, 0, 4096)
	for i := 0; i < 1000 && i*licenses <= 100000; i++ {
		for j := range h.reqs {
			h.reqs[j].Counter++
			answerValidate(svc, buf[:0], 2, &h.reqs[j], &h.peer, time.Now().Unix())
		}
	}
	return h
}

func benchmarkValidateHot(b *testing.B, licenses int) {
	h := newHotValidations(b, licenses)
	buf := make([]byte, 0, 4096)
	now := time.Now().Unix()
	b.ReportAllocs()
	b.ResetTimer()
	countFrom()
	for i := 0; i < b.N; i++ {
		req := &h.reqs[i%licenses]
		req.Counter++
		out, slow := answerValidate(h.svc, buf[:0], 2, req, &h.peer, now)
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

// TestValidateRouteNoAlloc: a validation answered on the read loop,
// from its body to the answer, allocates nothing (validateRoute keeps the
// request on the stack; only the slow path copies it).
func TestValidateRouteNoAlloc(t *testing.T) {
	h := newHotValidations(t, 2)
	s := &Server{svc: h.svc}
	c := &caller{from: from{peer: h.peer}}
	out := make([]byte, 0, 4096)
	var body []byte
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		req := &h.reqs[i%len(h.reqs)]
		i++
		req.Counter++
		frame := wire.AppendFrame(body[:0], 2, *req)
		body = frame
		o, inline := validateRoute(s, c, out[:0], 2, frame[wire.HeaderSize:], time.Now().Unix())
		if !inline || len(o) < 2 || o[1] != byte(wire.TypeValidateResponse) {
			t.Fatalf("validation %d was not answered inline with a ValidateResponse", i)
		}
	})
	if allocs != 0 {
		t.Fatalf("a validation on the read loop allocates %.1f times, want 0", allocs)
	}
}
