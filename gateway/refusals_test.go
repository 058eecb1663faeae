package gateway

import (
	"net/netip"
	"testing"
	"time"
)

// TestRefusalsBounded: refusals from more distinct addresses than
// maxRefusalPairs in one interval keep at most maxRefusalPairs pairs in
// memory; the rest are summed per shop in one "other addresses" count, and
// no refusal is lost or counted twice across takeFirst and takeAll.
func TestRefusalsBounded(t *testing.T) {
	t.Parallel()
	start := time.Unix(1700000000, 0)
	r := newRefusals(start)
	const extra = 500
	total := 0
	refuse := func(times int) {
		for i := range maxRefusalPairs + extra {
			a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
			for range times {
				r.add("acme", a)
				total++
			}
		}
	}
	refuse(1)
	first := r.takeFirst() // the first of each pair, written at once
	refuse(2)
	if len(r.pairs) != maxRefusalPairs {
		t.Fatalf("%d pairs held, want the cap %d", len(r.pairs), maxRefusalPairs)
	}
	sums, since := r.takeAll(start.Add(time.Minute))
	if since != "60 s" {
		t.Errorf("interval %q, want 60 s", since)
	}
	got, others := 0, 0
	for _, s := range append(first, sums...) {
		got += int(s.n)
		if s.other {
			others++
			if s.n != 3*extra || s.shop != "acme" {
				t.Errorf("other addresses: %+v, want %d of acme", s, 3*extra)
			}
		}
	}
	if got != total || others != 1 || len(first) != maxRefusalPairs || len(sums) != maxRefusalPairs+1 {
		t.Fatalf("counted %d of %d (%d first, %d summaries, %d other); want every one, one line a pair and one for the rest",
			got, total, len(first), len(sums), others)
	}
	if len(r.pairs) != 0 || len(r.other) != 0 {
		t.Fatalf("the new interval starts with %d pairs, %d others", len(r.pairs), len(r.other))
	}
}
