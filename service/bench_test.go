package service

import (
	"crypto/rand"
	"net/netip"
	"testing"
	"time"

	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/wire"
)

// BenchmarkActivate measures one activation through the service: a key
// of its own for each, so each takes a new seat under the license's lock,
// signs a lease (composite signature), seals it and commits durably (an
// fsync). The keys are minted before the timer starts. bench/instructions.sh
// counts its instructions per activation, a figure the machine's load
// does not move.
//
//	go test -run '^$' -bench Activate -benchmem ./service/
func BenchmarkActivate(b *testing.B) {
	s, _ := newTestService(b, Config{})
	p, _ := keygen.ParseProductCode("1AJS2")
	keys, err := MintKeys(s.st, s.keys.Hasher, p, b.N, Spec{}, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	reqs := make([]wire.ActivateRequest, b.N)
	peers := make([]Peer, b.N)
	for i := range reqs {
		reqs[i] = wire.ActivateRequest{Key: keys[i], Fingerprint: testFingerprint(), Hostname: []byte("bench")}
		rand.Read(reqs[i].Nonce[:])
		var static [32]byte
		rand.Read(static[:])
		peers[i] = NewPeer(static, netip.MustParseAddr("192.0.2.10"))
	}
	b.ReportAllocs()
	b.ResetTimer()
	countFrom()
	for i := range b.N {
		if _, err := s.Activate(&reqs[i], &peers[i]); err != nil {
			b.Fatal(err)
		}
	}
	countTo()
}

// countFrom and countTo mark the measured loop of a benchmark for an
// instruction count: bench/instructions.sh runs the test binary under
// callgrind with its counters zeroed on entering countFrom and dumped on
// entering countTo, so that the count is of the loop alone.
//
//go:noinline
func countFrom() {}

//go:noinline
func countTo() {}
