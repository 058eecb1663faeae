package pebblestore

import (
	"crypto/rand"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/cputime"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/store/storetest"
)

// BenchmarkMintOrder measures MintOrder alone: orders of 10,000 licenses
// (made before the timer starts, as a shop's order makes them) placed by
// two shops at once, each one order after another, as tollgate-bench's
// mint scenario does. It reports keys/s and the process's CPU time per
// order (cpu-ms/op: Pebble's flushes and compactions included, those
// running when the last order returns waited for) and the bytes Pebble's
// compactions wrote per order. With -v it logs Pebble's metrics at the
// end.
//
//	go test -run '^$' -bench MintOrder -benchtime 100x ./store/pebblestore/
func BenchmarkMintOrder(b *testing.B) {
	pb := openBackend(b, b.TempDir())
	defer pb.Close()
	const shops, n = 2, store.MaxMintKeys
	sealed := make([]byte, 30*n+49) // as big as the keys sealed to a shop
	rand.Read(sealed)
	orders := make([][]store.License, b.N)
	for i := range orders {
		ls := make([]store.License, n)
		for j := range ls {
			ls[j] = storetest.NewLicense(b, 1)
			ls[j].Shop, ls[j].Order = fmt.Sprintf("shop-%d", i%shops), fmt.Sprintf("order-%d", i)
		}
		orders[i] = ls
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0, start := cputime.Process(), time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, shops)
	for s := range shops {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < b.N; i = int(next.Add(1)) - 1 {
				o := store.Order{Shop: fmt.Sprintf("shop-%d", s), ID: fmt.Sprintf("order-%d", i), Request: []byte{byte(i)}, Count: n, Product: "1AJS2"}
				_, existed, err := pb.MintOrder(o, 0, func() ([]store.License, []byte, error) { return orders[i], sealed, nil })
				if err == nil && existed {
					err = fmt.Errorf("order %d existed", i)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	// The compactions the orders started are part of their cost: their
	// CPU time is counted once they end.
	for i := 0; i < 600 && pb.db.Metrics().Compact.NumInProgress > 0; i++ {
		time.Sleep(100 * time.Millisecond)
	}
	cpu := cputime.Process() - cpu0
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N*n)/elapsed.Seconds(), "keys/s")
	if cpu > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
	}
	m := pb.db.Metrics()
	b.ReportMetric(float64(m.Total().TableBytesCompacted)/1e6/float64(b.N), "compacted-MB/op")
	if testing.Verbose() {
		b.Logf("N=%d\n%s", b.N, pb.db.Metrics())
	}
}
