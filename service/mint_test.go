package service

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/store"
)

// TestMintKeysAudited: keys minted by the operator are recorded in the
// audit log, in the same commit, without the keys themselves.
func TestMintKeysAudited(t *testing.T) {
	t.Parallel()
	s, _ := newTestService(t, Config{})
	st := s.st
	p, _ := keygen.ParseProductCode("1AJS2")
	keys, err := MintKeys(st, s.keys.Hasher, p, 3, Spec{}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	es, err := st.AuditLog(0)
	if err != nil || len(es) != 1 || es[0].Kind != "mint" || es[0].Detail != "3 keys of 1AJS2 by operator" {
		t.Fatalf("audit log = %+v, %v; want one mint entry", es, err)
	}
	for _, k := range keys {
		if strings.Contains(es[0].Detail+es[0].License, string(k[:])) {
			t.Fatal("the audit entry holds a key")
		}
	}
}

// TestInParallel: every index of the range is handed to exactly one call,
// whatever the size, below the split and above it.
func TestInParallel(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, parallelMin - 1, parallelMin, parallelMin + 1, 10007} {
		seen := make([]atomic.Int32, n)
		inParallel(n, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				seen[i].Add(1)
			}
		})
		for i := range seen {
			if c := seen[i].Load(); c != 1 {
				t.Fatalf("n=%d: index %d handed %d times", n, i, c)
			}
		}
	}
}

// TestNewLicensesLarge: a batch large enough to be hashed in parallel
// has, for each key, the license of its own keyed hash, its derived id
// and the spec's fields.
func TestNewLicensesLarge(t *testing.T) {
	t.Parallel()
	h := testKeys(t).Hasher
	p, _ := keygen.ParseProductCode("1AJS2")
	now := time.Unix(1700000000, 0)
	spec := Spec{Seats: 3, Entitlements: []string{"scan"}, Shop: "web", Order: "o-1"}
	keys, ls, err := newLicenses(h, p, 4*parallelMin+3, spec, now)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ls {
		l := &ls[i]
		if l.KeyHash != h.Hash(keys[i]) || l.ID != store.IDFor(l.KeyHash) {
			t.Fatalf("license %d is not its key's", i)
		}
		if l.Product != "1AJS2" || l.Seats != 3 || len(l.Entitlements) != 1 || l.Shop != "web" || l.Order != "o-1" ||
			l.Created != now.Unix() || l.Term != (store.Term{Kind: store.TermYears, Value: 1}) {
			t.Fatalf("license %d: %+v", i, *l)
		}
	}
}
