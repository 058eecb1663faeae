package service

import (
	"crypto/ecdh"
	"crypto/rand"
	"fmt"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/cputime"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/store"
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
	reqs, peers := activations(b, s)
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

// activations mints b.N keys and returns an activation request of each,
// from an install of its own.
func activations(b *testing.B, s *Service) ([]wire.ActivateRequest, []Peer) {
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
	return reqs, peers
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

// BenchmarkActivateConcurrent activates from 64 goroutines at once (as a
// gateway with many sessions does), each activation a key of its own,
// with leases signed one by one (lease_batch 1) and in batches (64): the
// group commit of lease signatures (leaseBatcher). It reports
// activations/s and the mean number of leases per signature.
//
//	go test -run '^$' -bench ActivateConcurrent -benchtime 2000x ./service/
func BenchmarkActivateConcurrent(b *testing.B) {
	for _, batch := range []int{1, 64} {
		b.Run(fmt.Sprintf("lease_batch=%d", batch), func(b *testing.B) {
			s, _ := newTestService(b, Config{LeaseBatch: batch})
			reqs, peers := activations(b, s)
			var next atomic.Int64
			sigs0, leases0 := s.LeaseSignatures()
			b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := next.Add(1) - 1
					if _, err := s.Activate(&reqs[i], &peers[i]); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			sigs, leases := s.LeaseSignatures()
			if sigs > sigs0 {
				b.ReportMetric(float64(leases-leases0)/float64(sigs-sigs0), "leases/sig")
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "activations/s")
		})
	}
}

// BenchmarkMint measures shops' orders of 10,000 keys through the service,
// as the gateway's shop channel calls it: two shops (the mint scenario of
// tollgate-bench has two), each placing its orders one after another,
// durably. It reports keys/s and the process's CPU time per order
// (cpu-ms/op, user and system, all goroutines: Pebble's flushes and
// compactions included), the figure a loaded machine moves least.
//
//	go test -run '^$' -bench Mint -benchtime 40x ./service/
func BenchmarkMint(b *testing.B) {
	s, _ := newTestService(b, Config{})
	if _, err := LoadDemoCatalogue(s.st); err != nil {
		b.Fatal(err)
	}
	const shops = 2
	var sh [shops]store.Shop
	for i := range sh {
		k, err := ecdh.X25519().GenerateKey(rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		sh[i] = store.Shop{Name: fmt.Sprintf("bench-%d", i), Products: []string{"1AJS2"}}
		copy(sh[i].PublicKey[:], k.PublicKey().Bytes())
	}
	order := func(i int) wire.MintRequest {
		r := wire.MintRequest{OrderID: fmt.Appendf(nil, "order-%d", i), Count: wire.MaxMintCount}
		copy(r.Product[:], "1AJS2")
		return r
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0, start := cputime.Process(), time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, shops)
	for i := range sh {
		wg.Go(func() {
			for n := int(next.Add(1)); n <= b.N; n = int(next.Add(1)) {
				req := order(n)
				m, err := s.Mint(&req, &sh[i])
				if err == nil && m.Count != wire.MaxMintCount {
					err = fmt.Errorf("%d keys", m.Count)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed, cpu := time.Since(start), cputime.Process()-cpu0
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N*wire.MaxMintCount)/elapsed.Seconds(), "keys/s")
	if cpu > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
	}
}
