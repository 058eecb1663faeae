package pebblestore

import (
	"crypto/rand"
	"errors"
	"strconv"
	"testing"

	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/store/storetest"
)

// TestMintDuplicateRefused: an order whose licenses repeat a key hash or
// an id is refused with store.ErrInvalid and writes nothing.
func TestMintDuplicateRefused(t *testing.T) {
	t.Parallel()
	b := openBackend(t, t.TempDir())
	defer b.Close()
	for i, dup := range []func(ls []store.License){
		func(ls []store.License) { ls[7].KeyHash = ls[2].KeyHash; ls[7].ID = store.IDFor(ls[7].KeyHash) },
		func(ls []store.License) { rand.Read(ls[3].ID[:]); ls[5].ID = ls[3].ID },
	} {
		ls := make([]store.License, 10)
		for j := range ls {
			ls[j] = storetest.NewLicense(t, 1)
		}
		dup(ls)
		o := store.Order{Shop: "s", ID: strconv.Itoa(i), Request: []byte("r"), Count: len(ls), Product: "1AJS2"}
		if _, _, err := b.MintOrder(o, 0, func() ([]store.License, []byte, error) { return ls, []byte("sealed"), nil }); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("case %d: MintOrder = %v, want ErrInvalid", i, err)
		}
		if _, err := b.OrderByID("s", o.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the refused order is there: %v", err)
		}
		for _, l := range ls {
			if _, err := b.LicenseByKeyHash(l.KeyHash); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("a license of the refused order is there: %v", err)
			}
		}
	}
	if n, err := b.VerifyAudit(); err != nil || n != 0 {
		t.Fatalf("VerifyAudit = %d, %v; want no entry", n, err)
	}
}
