package store

import (
	"bytes"
	"crypto/rand"
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

func testShop(name string, quota uint32) Shop {
	sh := Shop{Name: name, Networks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("2001:db8::/32")},
		Products: []string{"1AJS2"}, DailyQuota: quota}
	rand.Read(sh.PublicKey[:])
	return sh
}

func TestShopsAndProducts(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	if err := s.PutShop(testShop("acme", 0)); err != nil {
		t.Fatalf("PutShop: %v", err)
	}
	if err := s.PutShop(Shop{Name: "bad"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("PutShop of an incomplete shop: %v, want ErrInvalid", err)
	}
	p := Product{Code: "1AJS2", Name: "VSE 2.1 Lite", Platform: "windows", Term: Term{Kind: TermYears, Value: 1}, Seats: 1}
	if err := s.PutProduct(p); err != nil {
		t.Fatalf("PutProduct: %v", err)
	}
	for _, bad := range []Product{
		{Code: "1aj", Name: "x"},
		{Code: "1AJS2"},
		{Code: "1AJS2", Name: "x", Entitlements: []string{"Upper Case"}},
		{Code: "1AJS2", Name: "x", Entitlements: []string{"a", "a"}},
		{Code: "1AJS2", Name: "x", Bundle: []string{"1AJS2"}},
		{Code: "1AJS2", Name: "x", Bundle: []string{"1ajs3"}},
		{Code: "1AJS2", Name: "x", Policy: Policy{Level: 4}},
	} {
		if err := s.PutProduct(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("PutProduct(%+v): %v, want ErrInvalid", bad, err)
		}
	}
	s.Close()
	s = openTest(t, dir)
	defer s.Close()
	sh, err := s.ShopByName("acme")
	if err != nil {
		t.Fatalf("ShopByName after reopen: %v", err)
	}
	for _, c := range []struct {
		addr string
		want bool
	}{{"127.0.0.1", true}, {"127.0.0.2", false}, {"::ffff:127.0.0.1", true}, {"2001:db8::1", true}, {"2001:db9::1", false}} {
		if got := sh.Allows(netip.MustParseAddr(c.addr)); got != c.want {
			t.Errorf("Allows(%s) = %v, want %v", c.addr, got, c.want)
		}
	}
	if !sh.MayMint("1AJS2") || sh.MayMint("1BJS2") {
		t.Errorf("MayMint wrong")
	}
	got, err := s.ProductByCode("1AJS2")
	if err != nil || got.Name != p.Name || got.Policy.Level != 1 {
		t.Fatalf("ProductByCode = %+v, %v", got, err)
	}
	if ps, err := s.Products(); err != nil || len(ps) != 1 {
		t.Fatalf("Products = %d, %v", len(ps), err)
	}
	if err := s.DeleteShop("acme"); err != nil {
		t.Fatalf("DeleteShop: %v", err)
	}
	if _, err := s.ShopByName("acme"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ShopByName after delete: %v", err)
	}
	if n, err := s.VerifyAudit(); err != nil || n != 3 {
		t.Fatalf("VerifyAudit = %d, %v; want 3 entries", n, err)
	}
}

func mintFn(t testing.TB, n int, calls *atomic.Int32) func() ([]License, []byte, error) {
	return func() ([]License, []byte, error) {
		calls.Add(1)
		ls := make([]License, n)
		for i := range ls {
			ls[i] = newLicense(t, 1)
		}
		return ls, []byte("sealed"), nil
	}
}

func TestMintOrderIdempotentConflictQuota(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	var calls atomic.Int32
	o := Order{Shop: "acme", ID: "ORD-1", Request: []byte("req-1"), Count: 3, Product: "1AJS2"}

	// Concurrent attempts of one order mint once.
	var wg sync.WaitGroup
	var existed atomic.Int32
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, ex, err := s.MintOrder(o, 10, mintFn(t, 3, &calls))
			if err != nil {
				t.Errorf("MintOrder: %v", err)
				return
			}
			if ex {
				existed.Add(1)
			}
			if !bytes.Equal(got.Sealed, []byte("sealed")) {
				t.Errorf("sealed keys not returned")
			}
		}()
	}
	wg.Wait()
	if calls.Load() != 1 || existed.Load() != 7 {
		t.Fatalf("mint called %d times, %d retries; want 1 and 7", calls.Load(), existed.Load())
	}
	o2 := o
	o2.Request = []byte("req-2")
	if _, _, err := s.MintOrder(o2, 10, mintFn(t, 3, &calls)); !errors.Is(err, ErrOrderConflict) {
		t.Fatalf("changed order: %v, want ErrOrderConflict", err)
	}
	o3 := Order{Shop: "acme", ID: "ORD-2", Request: []byte("x"), Count: 8, Product: "1AJS2"}
	if _, _, err := s.MintOrder(o3, 10, mintFn(t, 8, &calls)); !errors.Is(err, ErrQuotaExceeded) {
		t.Fatalf("over quota: %v, want ErrQuotaExceeded", err)
	}
	o3.Count = 7
	if _, _, err := s.MintOrder(o3, 10, mintFn(t, 7, &calls)); err != nil {
		t.Fatalf("up to the quota: %v", err)
	}
	if n, err := s.MintedToday("acme"); err != nil || n != 10 {
		t.Fatalf("MintedToday = %d, %v; want 10", n, err)
	}
	if n, err := s.VerifyAudit(); err != nil || n != 2 {
		t.Fatalf("VerifyAudit = %d, %v; want 2 mint entries", n, err)
	}
}

func TestAuditDetectsEditsAndDeletions(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	for i := range 5 {
		if err := s.Audit(AuditEntry{Kind: "test", Detail: string(rune('a' + i))}); err != nil {
			t.Fatalf("Audit: %v", err)
		}
	}
	if n, err := s.VerifyAudit(); err != nil || n != 5 {
		t.Fatalf("VerifyAudit = %d, %v", n, err)
	}
	if es, err := s.AuditLog(0); err != nil || len(es) != 5 || es[4].Seq != 5 {
		t.Fatalf("AuditLog = %v, %v", es, err)
	}
	tamper := func(name string, fn func(b *pebble.Batch)) {
		t.Helper()
		snap := s.db.NewSnapshot()
		defer snap.Close()
		b := s.db.NewBatch()
		fn(b)
		if err := b.Commit(pebble.Sync); err != nil {
			t.Fatal(err)
		}
		if _, err := s.VerifyAudit(); !errors.Is(err, ErrAuditBroken) {
			t.Errorf("%s: VerifyAudit = %v, want ErrAuditBroken", name, err)
		}
		// Restore.
		r := s.db.NewBatch()
		for seq := uint64(1); seq <= 5; seq++ {
			v, c, err := snap.Get(auditKey(seq))
			if err != nil {
				t.Fatal(err)
			}
			r.Set(auditKey(seq), v, nil)
			c.Close()
		}
		if err := r.Commit(pebble.Sync); err != nil {
			t.Fatal(err)
		}
		if _, err := s.VerifyAudit(); err != nil {
			t.Fatalf("%s: restored log does not verify: %v", name, err)
		}
	}
	tamper("edit", func(b *pebble.Batch) {
		v, _ := s.get(auditKey(2))
		b.Set(auditKey(2), bytes.Replace(v, []byte(`"b"`), []byte(`"x"`), 1), nil)
	})
	tamper("delete middle", func(b *pebble.Batch) { b.Delete(auditKey(3), nil) })
	tamper("delete last", func(b *pebble.Batch) { b.Delete(auditKey(5), nil) })
}

// TestUpdateAudited: a change made with an audit entry lands with the entry
// in one commit; a refused change writes neither.
func TestUpdateAudited(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	l := newLicense(t, 1)
	if err := s.CreateLicenses([]License{l}); err != nil {
		t.Fatal(err)
	}
	err := s.Update(l.ID, func(tx *Tx) error {
		tx.License.State = StateSuspended
		tx.Audit = &AuditEntry{Kind: "license.suspend", Detail: "by operator"}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	refused := errors.New("refused")
	err = s.Update(l.ID, func(tx *Tx) error {
		tx.License.State = StateRevoked
		tx.Audit = &AuditEntry{Kind: "license.revoke"}
		return refused
	})
	if !errors.Is(err, refused) {
		t.Fatalf("Update = %v, want the refusal", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, dir)
	defer s.Close()
	got, err := s.LicenseByID(l.ID)
	if err != nil || got.State != StateSuspended {
		t.Fatalf("license after reopen = %v, %v; want suspended", got.State, err)
	}
	es, err := s.AuditLog(0)
	if err != nil || len(es) != 1 || es[0].Kind != "license.suspend" {
		t.Fatalf("audit log = %+v, %v; want the one suspend entry", es, err)
	}
	if n, err := s.VerifyAudit(); err != nil || n != 1 {
		t.Fatalf("VerifyAudit = %d, %v", n, err)
	}
}
