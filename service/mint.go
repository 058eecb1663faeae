package service

import (
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/store"
)

// Spec is what a minted license grants.
type Spec struct {
	Seats        uint32     // zero means 1
	MaxSeats     uint32     // the most Seats may be; zero means store.DefaultMaxSeats
	Term         store.Term // zero Kind means 1 year
	AbsExpiry    int64      // absolute expiry, Unix seconds; 0: none
	Entitlements []string
	Bundle       []string
	Base         string // a plug-in's base product code (store.License.Base)
	Policy       store.Policy
	Shop, Order  string
}

// ProductSpec returns the spec a key of catalogue product p gets when an
// order overrides nothing: its seats and their maximum, default term,
// entitlements, bundle and validation policy.
func ProductSpec(p *store.Product) Spec {
	return Spec{Seats: p.Seats, MaxSeats: p.SeatLimit(), Term: p.DefaultTerm(), Entitlements: p.Entitlements, Bundle: p.Bundle, Base: p.Base, Policy: p.Policy}
}

// checkSeats refuses a seat count above the spec's maximum (KindBadRequest,
// naming the range allowed).
func (s *Spec) checkSeats(product string) error {
	most := s.MaxSeats
	if most == 0 {
		most = store.DefaultMaxSeats
	}
	if s.Seats > most {
		return refusef(KindBadRequest, "%d seats is outside 1..%d, the seats a key of product %s may carry", s.Seats, most, product)
	}
	return nil
}

// MintKeys makes n new license keys of product p with spec, writes their
// licenses durably (by keyed hash only, one fsync for the batch) and returns
// the keys, with a "mint" audit entry in the same commit. The keys exist
// nowhere else: the caller hands them over once. More seats than
// spec.MaxSeats is refused (KindBadRequest), and nothing is written.
func MintKeys(st *store.Store, h *keygen.Hasher, p keygen.ProductCode, n int, spec Spec, now time.Time) ([]keygen.Key, error) {
	if n < 1 || n > store.MaxMintKeys {
		return nil, refusef(KindBadRequest, "count %d is not between 1 and %d", n, store.MaxMintKeys)
	}
	keys, ls, err := newLicenses(h, p, n, spec, now)
	if err != nil {
		return nil, err
	}
	who := "operator"
	if spec.Shop != "" {
		who = "shop " + spec.Shop
	}
	e := store.AuditEntry{Time: now.Unix(), Kind: "mint", Shop: spec.Shop,
		Detail: fmt.Sprintf("%d keys of %s by %s", n, p, who)}
	if err := st.CreateLicensesAudited(ls, e); err != nil {
		return nil, err
	}
	return keys, nil
}

// newLicenses makes n keys of product p and their license records (keyed
// hashes only), with spec's defaults already resolved. Nothing is written.
func newLicenses(h *keygen.Hasher, p keygen.ProductCode, n int, spec Spec, now time.Time) ([]keygen.Key, []store.License, error) {
	if err := spec.checkSeats(p.String()); err != nil {
		return nil, nil, err
	}
	if spec.Seats == 0 {
		spec.Seats = 1
	}
	if spec.Term.Kind == store.TermDefault {
		spec.Term = store.Term{Kind: store.TermYears, Value: 1}
	}
	keys, err := keygen.MintBatch(p, n, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("service: mint: %w", err)
	}
	ls := make([]store.License, n)
	inParallel(n, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			l := &ls[i]
			l.KeyHash = h.Hash(keys[i])
			l.ID = store.IDFor(l.KeyHash)
			l.Product = p.String()
			l.Bundle = spec.Bundle
			l.Base = spec.Base
			l.Entitlements = spec.Entitlements
			l.Seats = spec.Seats
			l.Term = spec.Term
			l.AbsExpiry = spec.AbsExpiry
			l.Policy = spec.Policy
			l.Created = now.Unix()
			l.Shop, l.Order = spec.Shop, spec.Order
		}
	})
	return keys, ls, nil
}

// parallelMin is the fewest items inParallel splits: below it, starting
// goroutines costs more than they save.
const parallelMin = 1000

// inParallel calls fn on [0, n) split into one range per CPU the process
// may use (GOMAXPROCS), at once, and returns when all are done: a large
// mint's keyed hashes (half a microsecond each) take half the time on two
// CPUs. fn must be safe to call on disjoint ranges at the same time.
func inParallel(n int, fn func(lo, hi int)) {
	w := runtime.GOMAXPROCS(0)
	if n < parallelMin || w < 2 {
		fn(0, n)
		return
	}
	chunk := (n + w - 1) / w
	var wg sync.WaitGroup
	for lo := chunk; lo < n; lo += chunk {
		wg.Go(func() { fn(lo, min(lo+chunk, n)) })
	}
	fn(0, min(chunk, n))
	wg.Wait()
}
