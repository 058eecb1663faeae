package pebblestore

import (
	"bytes"
	"errors"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/tollgate/tollgate/store"
)

// TestProductRecordWithoutMaxSeats: a product record written before the
// seat bounds existed (no max_seats, no site_license) still reads, as a
// product of at most store.DefaultMaxSeats seats.
func TestProductRecordWithoutMaxSeats(t *testing.T) {
	t.Parallel()
	b := openBackend(t, t.TempDir())
	defer b.Close()
	old := `{"code":"1AJS3","name":"VSE 2.1 Lite for Windows, 10 clients, 1 year","platform":"windows",` +
		`"term":{"kind":1,"value":1},"seats":10,"entitlements":["scan"],"policy":{"level":2,"lease_seconds":604800}}`
	if err := b.db.Set(productKey("1AJS3"), []byte(old), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	p, err := b.ProductByCode("1AJS3")
	if err != nil {
		t.Fatalf("ProductByCode of an old record: %v", err)
	}
	if p.Seats != 10 || p.MaxSeats != 0 || p.SiteLicense || p.SeatLimit() != store.DefaultMaxSeats {
		t.Fatalf("old record read as %+v (limit %d); want 10 seats, at most %d", p, p.SeatLimit(), store.DefaultMaxSeats)
	}
	if err := p.Check(); err != nil {
		t.Fatalf("an old record no longer passes Check: %v", err)
	}
	list, err := b.Products()
	if err != nil || len(list) != 1 || list[0].SeatLimit() != store.DefaultMaxSeats {
		t.Fatalf("Products = %+v, %v", list, err)
	}
}

func TestAuditDetectsEditsAndDeletions(t *testing.T) {
	t.Parallel()
	b := openBackend(t, t.TempDir())
	defer b.Close()
	for i := range 5 {
		if err := b.Audit(store.AuditEntry{Kind: "test", Detail: string(rune('a' + i))}); err != nil {
			t.Fatalf("Audit: %v", err)
		}
	}
	if n, err := b.VerifyAudit(); err != nil || n != 5 {
		t.Fatalf("VerifyAudit = %d, %v", n, err)
	}
	if es, err := b.AuditLog(0); err != nil || len(es) != 5 || es[4].Seq != 5 {
		t.Fatalf("AuditLog = %v, %v", es, err)
	}
	tamper := func(name string, fn func(batch *pebble.Batch)) {
		t.Helper()
		snap := b.db.NewSnapshot()
		defer snap.Close()
		batch := b.db.NewBatch()
		fn(batch)
		if err := batch.Commit(pebble.Sync); err != nil {
			t.Fatal(err)
		}
		if _, err := b.VerifyAudit(); !errors.Is(err, store.ErrAuditBroken) {
			t.Errorf("%s: VerifyAudit = %v, want ErrAuditBroken", name, err)
		}
		// Restore.
		r := b.db.NewBatch()
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
		if _, err := b.VerifyAudit(); err != nil {
			t.Fatalf("%s: restored log does not verify: %v", name, err)
		}
	}
	tamper("edit", func(batch *pebble.Batch) {
		v, _ := b.get(auditKey(2))
		batch.Set(auditKey(2), bytes.Replace(v, []byte(`"b"`), []byte(`"x"`), 1), nil)
	})
	tamper("delete middle", func(batch *pebble.Batch) { batch.Delete(auditKey(3), nil) })
	tamper("delete last", func(batch *pebble.Batch) { batch.Delete(auditKey(5), nil) })
}
