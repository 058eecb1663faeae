package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// The offline check measured two ways: with this machine's hardware
// fingerprint (reading its identifiers is most of the cost), and with an
// explicit machine id (a keyed hash alone), where the cost of the C ABI
// itself shows.
var benchMachines = []struct{ name, explicit string }{{"hardware", ""}, {"explicit", "bench-vm"}}

// benchState activates a license for the machine (explicit, or this
// one's hardware) at a test gateway, stops the gateway, and returns the
// card's file and the state directory: what an offline check reads.
func benchState(b *testing.B, explicit string) (card, state string) {
	b.Helper()
	g, card := startGateway(b)
	key := g.Mint(b, product, 1, service.Spec{Entitlements: []string{"pro"}, Policy: store.Policy{Level: 2, LeaseSeconds: 10 * 86400}})[0]
	state = b.TempDir()
	l, err := clients.OpenLicensee(clients.LicenseeConfig{Card: g.Card, Product: product, StateDir: state, Explicit: explicit, Timeout: hang.Timeout(b)})
	if err != nil {
		b.Fatal(err)
	}
	if d := l.Activate(hang.Context(b), key); !d.Allowed {
		b.Fatalf("Activate: %s: %v", d.Message, d.Err)
	}
	l.Close()
	g.Stop()
	return card, state
}

// openBench opens the Licensee of state, closed when the benchmark ends.
func openBench(b *testing.B, card, state, explicit string) *clients.Licensee {
	b.Helper()
	c, err := wire.LoadCard(card)
	if err != nil {
		b.Fatal(err)
	}
	l, err := clients.OpenLicensee(clients.LicenseeConfig{Card: c, Product: product, StateDir: state, Explicit: explicit})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	return l
}

// BenchmarkCheckOfflineGo is the offline check in Go, clients.Licensee's
// CheckOffline called directly: what a Go program pays.
func BenchmarkCheckOfflineGo(b *testing.B) {
	for _, m := range benchMachines {
		b.Run(m.name, func(b *testing.B) {
			card, state := benchState(b, m.explicit)
			l := openBench(b, card, state, m.explicit)
			for b.Loop() {
				if d := l.CheckOffline(); !d.Allowed {
					b.Fatal(d.Message)
				}
			}
		})
	}
}

// BenchmarkCheckOfflineC is the same check through the C ABI, timed by a
// C program (testdata/bench.c) over b.N calls after a warm-up. It reports
// the program's own figures: C-check-ns/op (tg_check offline, which also
// reports the lease's times, and tg_decision_free) and C-call-ns/op
// (tg_abi_version: the bare crossing from C into Go and back).
func BenchmarkCheckOfflineC(b *testing.B) {
	for _, m := range benchMachines {
		b.Run(m.name, func(b *testing.B) {
			card, state := benchState(b, m.explicit)
			exe := compile(b, "testdata/bench.c", "bench", false)
			args := []string{card, state, strconv.Itoa(max(b.N, 1000))}
			if m.explicit != "" {
				args = append(args, m.explicit)
			}
			out, stderr, code := run(b, exe, args...)
			if code != 0 {
				b.Fatalf("bench: exit %d\n%s%s", code, out, stderr)
			}
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				name, val, _ := strings.Cut(line, " ")
				v, err := strconv.ParseFloat(val, 64)
				if err != nil {
					b.Fatalf("bench: %q", line)
				}
				switch name {
				case "check_offline_ns":
					b.ReportMetric(v, "C-check-ns/op")
				case "abi_version_ns":
					b.ReportMetric(v, "C-call-ns/op")
				}
			}
		})
	}
}
