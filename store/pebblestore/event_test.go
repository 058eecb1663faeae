package pebblestore

import (
	"testing"

	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/store/storetest"
)

// TestEventsAcrossReopen: a reopened store numbers a shop's next event
// after the last one on disk (the head is read again, not reset), and a
// shop whose name is a prefix of another's has a stream of its own.
func TestEventsAcrossReopen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l := storetest.SoldLicense(t, 1, "acme", "o1")
	l2 := storetest.SoldLicense(t, 1, "acme2", "o2")
	suspend := func(b *Backend, id store.LicenseID) {
		t.Helper()
		err := b.Update(id, nil, func(tx *store.Tx) error {
			tx.License.State = store.StateSuspended
			tx.Record(store.Event{Kind: store.EventSuspended})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	b := openBackend(t, dir)
	if err := b.CreateLicenses([]store.License{l, l2}, nil); err != nil {
		t.Fatal(err)
	}
	suspend(b, l.ID)
	suspend(b, l.ID)
	suspend(b, l2.ID)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b = openBackend(t, dir)
	defer b.Close()
	suspend(b, l.ID)
	evs, err := b.ShopEvents("acme", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 3 || evs[0].Seq != 1 || evs[2].Seq != 3 || evs[2].License != l.ID {
		t.Fatalf("stream of acme after reopen = %+v; want events 1..3", evs)
	}
	if evs, err := b.ShopEvents("acme2", 0, 10); err != nil || len(evs) != 1 || evs[0].License != l2.ID {
		t.Fatalf("stream of acme2 = %+v, %v; want its one event", evs, err)
	}
}
