package pebblestore

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/store/storetest"
)

// dump returns every key and value in b's Pebble, in order.
func dump(t *testing.T, b *Backend) [][2][]byte {
	t.Helper()
	it, err := b.db.NewIter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var out [][2][]byte
	for it.First(); it.Valid(); it.Next() {
		out = append(out, [2][]byte{bytes.Clone(it.Key()), bytes.Clone(it.Value())})
	}
	if err := it.Error(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestIngestSameAsLog: the same orders, audited commits between them,
// leave the same keys and values in Pebble whether the orders are ingested
// as tables or written through the log; what the ingested store holds
// survives a reopen, and a table a crash left in the ingestion directory
// is removed on open.
func TestIngestSameAsLog(t *testing.T) {
	t.Parallel()
	logged, ingested := t.TempDir(), t.TempDir()
	a, err := Open(Config{Dir: logged, Now: killNow})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	a.ingestMin = store.MaxMintKeys + 1
	b, err := Open(Config{Dir: ingested, Now: killNow})
	if err != nil {
		t.Fatal(err)
	}
	b.ingestMin = 1
	var orders [][]store.License
	for i, n := range []int{1500, 1, 1200} {
		ls := make([]store.License, n)
		for j := range ls {
			ls[j] = storetest.NewLicense(t, 2)
			ls[j].Shop, ls[j].Order = "s", strconv.Itoa(i)
			if j%5 == 0 {
				ls[j].Policy.Floating, ls[j].Base = true, "2BKT3"
			}
			if j%7 == 0 {
				rand.Read(ls[j].ID[:])
			}
		}
		orders = append(orders, ls)
	}
	for _, s := range []*Backend{a, b} {
		for i, ls := range orders {
			o := store.Order{Shop: "s", ID: strconv.Itoa(i), Request: []byte{byte(i)}, Count: len(ls), Product: "1AJS2"}
			if _, _, err := s.MintOrder(o, 0, func() ([]store.License, []byte, error) { return ls, []byte("sealed"), nil }); err != nil {
				t.Fatalf("MintOrder: %v", err)
			}
			if err := s.Audit(store.AuditEntry{Kind: "tick"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := dump(t, a)
	same := func(what string) {
		t.Helper()
		got := dump(t, b)
		if len(got) != len(want) {
			t.Fatalf("%s: %d keys, the log's store %d", what, len(got), len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i][0], want[i][0]) || !bytes.Equal(got[i][1], want[i][1]) {
				t.Fatalf("%s: key %d is %x = %x, the log's store has %x = %x", what, i, got[i][0], got[i][1], want[i][0], want[i][1])
			}
		}
	}
	same("ingested")
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	stray := filepath.Join(ingested, ingestDirName, "7.sst")
	if err := os.WriteFile(stray, []byte("left by a crash"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err = Open(Config{Dir: ingested, Now: killNow}); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := os.Stat(stray); !os.IsNotExist(err) {
		t.Errorf("a table left in the ingestion directory is still there after an open: %v", err)
	}
	same("reopened")
	if n, err := b.VerifyAudit(); err != nil || n != 6 {
		t.Fatalf("VerifyAudit = %d, %v; want 6 entries", n, err)
	}
}

// TestMintDuplicateRefused: an order whose licenses repeat a key hash or
// an id is refused with store.ErrInvalid and writes nothing, ingested or
// logged.
func TestMintDuplicateRefused(t *testing.T) {
	t.Parallel()
	for _, min := range []int{1, store.MaxMintKeys + 1} {
		b := openBackend(t, t.TempDir())
		defer b.Close()
		b.ingestMin = min
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
				t.Fatalf("ingestMin %d, case %d: MintOrder = %v, want ErrInvalid", min, i, err)
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
}

// TestWaitForL0: a mint's wait for a shallower level 0 lasts until its
// limit while L0 stays as deep, and ends once compactions empty it.
func TestWaitForL0(t *testing.T) {
	t.Parallel()
	b := openBackend(t, t.TempDir())
	defer b.Close()
	b.ingestMin = 1
	depth := func() int { return int(b.db.Metrics().Levels[0].Sublevels) }
	for i := 0; i < 40 && depth() < 2; i++ {
		ls := []store.License{storetest.NewLicense(t, 1)}
		o := store.Order{Shop: "s", ID: strconv.Itoa(i), Request: []byte("r"), Count: 1, Product: "1AJS2"}
		if _, _, err := b.MintOrder(o, 0, func() ([]store.License, []byte, error) { return ls, []byte("sealed"), nil }); err != nil {
			t.Fatal(err)
		}
	}
	if depth() < 2 {
		t.Fatalf("level 0 is %d sublevels deep after 40 ingested orders", depth())
	}
	const limit = 50 * time.Millisecond
	if w := b.waitForL0(1, limit); w < limit {
		t.Fatalf("the wait ended after %v with level 0 %d sublevels deep", w, depth())
	}
	compacted := make(chan error, 1)
	go func() { compacted <- b.db.Compact(context.Background(), []byte{0}, []byte{0xff}, true) }()
	b.waitForL0(1, hang.Timeout(t))
	if d := depth(); d != 0 {
		t.Fatalf("the wait ended with level 0 %d sublevels deep", d)
	}
	if err := <-compacted; err != nil {
		t.Fatal(err)
	}
}
