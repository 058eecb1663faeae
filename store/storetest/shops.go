package storetest

import (
	"bytes"
	"crypto/rand"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

var shopCases = []testCase{
	{"Orders", testOrders},
	{"LargeOrder", testLargeOrder},
	{"Shops", testShops},
	{"Products", testProducts},
	{"ProductSeatBounds", testProductSeatBounds},
	{"ShopAddNeverReplaces", testShopAddNeverReplaces},
	{"ProductAddNeverReplaces", testProductAddNeverReplaces},
	{"Audit", testAudit},
}

// Shop returns a complete shop called name with a random key.
func Shop(name string, quota uint32) store.Shop {
	sh := store.Shop{Name: name, Networks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("2001:db8::/32")},
		Products: []string{"1AJS2"}, DailyQuota: quota}
	rand.Read(sh.PublicKey[:])
	return sh
}

func mintFn(t testing.TB, n int, calls *atomic.Int32, made *[]store.License) func() ([]store.License, []byte, error) {
	return func() ([]store.License, []byte, error) {
		calls.Add(1)
		ls := make([]store.License, n)
		for i := range ls {
			ls[i] = NewLicense(t, 1)
		}
		if made != nil {
			*made = ls
		}
		return ls, []byte("sealed"), nil
	}
}

// testOrders: concurrent attempts of one order mint once; the same id
// with another request is a conflict; the daily quota holds.
func testOrders(t *testing.T, b store.Backend) {
	var calls atomic.Int32
	var made []store.License
	o := store.Order{Shop: "acme", ID: "ORD-1", Request: []byte("req-1"), Count: 3, Product: "1AJS2"}
	var wg sync.WaitGroup
	var existed atomic.Int32
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, ex, err := b.MintOrder(o, 10, mintFn(t, 3, &calls, &made))
			if err != nil {
				t.Errorf("MintOrder: %v", err)
				return
			}
			if ex {
				existed.Add(1)
			}
			if !bytes.Equal(got.Sealed, []byte("sealed")) || got.Created == 0 {
				t.Errorf("order returned without its sealed keys or time: %+v", got)
			}
		}()
	}
	wg.Wait()
	if calls.Load() != 1 || existed.Load() != 7 {
		t.Fatalf("mint called %d times, %d retries; want 1 and 7", calls.Load(), existed.Load())
	}
	for _, l := range made {
		if _, err := b.LicenseByKeyHash(l.KeyHash); err != nil {
			t.Fatalf("a minted license: %v", err)
		}
	}
	if got, err := b.OrderByID("acme", "ORD-1"); err != nil || got.Count != 3 || !bytes.Equal(got.Request, o.Request) {
		t.Fatalf("OrderByID = %+v, %v", got, err)
	}
	if _, err := b.OrderByID("acme", "ORD-9"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("OrderByID of an unknown order: %v, want ErrNotFound", err)
	}
	o2 := o
	o2.Request = []byte("req-2")
	if _, _, err := b.MintOrder(o2, 10, mintFn(t, 3, &calls, nil)); !errors.Is(err, store.ErrOrderConflict) {
		t.Fatalf("changed order: %v, want ErrOrderConflict", err)
	}
	o3 := store.Order{Shop: "acme", ID: "ORD-2", Request: []byte("x"), Count: 8, Product: "1AJS2"}
	if _, _, err := b.MintOrder(o3, 10, mintFn(t, 8, &calls, nil)); !errors.Is(err, store.ErrQuotaExceeded) {
		t.Fatalf("over quota: %v, want ErrQuotaExceeded", err)
	}
	o3.Count = 7
	if _, _, err := b.MintOrder(o3, 10, mintFn(t, 7, &calls, nil)); err != nil {
		t.Fatalf("up to the quota: %v", err)
	}
	if n, err := b.MintedToday("acme"); err != nil || n != 10 {
		t.Fatalf("MintedToday = %d, %v; want 10", n, err)
	}
	if n, err := b.MintedToday("other"); err != nil || n != 0 {
		t.Fatalf("MintedToday of a shop that minted nothing = %d, %v", n, err)
	}
	for _, bad := range []store.Order{
		{Shop: "acme", ID: "ORD-3", Count: 0},
		{Shop: "acme", ID: "ORD-3", Count: store.MaxMintKeys + 1},
		{Shop: "", ID: "ORD-3", Count: 1},
		{Shop: "acme", ID: "", Count: 1},
	} {
		if _, _, err := b.MintOrder(bad, 0, mintFn(t, 1, &calls, nil)); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("MintOrder(%+v): %v, want ErrInvalid", bad, err)
		}
	}
	if n, err := b.VerifyAudit(); err != nil || n != 2 {
		t.Fatalf("VerifyAudit = %d, %v; want 2 mint entries", n, err)
	}
}

func testShops(t *testing.T, b store.Backend) {
	if err := b.AddShop(Shop("acme", 0)); err != nil {
		t.Fatalf("AddShop: %v", err)
	}
	if err := b.AddShop(store.Shop{Name: "bad"}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("AddShop of an incomplete shop: %v, want ErrInvalid", err)
	}
	wide := Shop("beta", 5)
	wide.Networks = []netip.Prefix{netip.MustParsePrefix("10.1.2.3/8")}
	if err := b.AddShop(wide); err != nil {
		t.Fatal(err)
	}
	sh, err := b.ShopByName("acme")
	if err != nil {
		t.Fatalf("ShopByName: %v", err)
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
	if got, err := b.ShopByName("beta"); err != nil || got.Networks[0].String() != "10.0.0.0/8" || got.DailyQuota != 5 {
		t.Errorf("ShopByName(beta) = %+v, %v; want its network masked", got, err)
	}
	if shops, err := b.Shops(); err != nil || len(shops) != 2 || shops[0].Name != "acme" || shops[1].Name != "beta" {
		t.Fatalf("Shops = %+v, %v", shops, err)
	}
	if err := b.DeleteShop("acme"); err != nil {
		t.Fatalf("DeleteShop: %v", err)
	}
	if _, err := b.ShopByName("acme"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ShopByName after delete: %v", err)
	}
	if err := b.DeleteShop("acme"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("DeleteShop of an unknown shop: %v", err)
	}
	if n, err := b.VerifyAudit(); err != nil || n != 3 {
		t.Fatalf("VerifyAudit = %d, %v; want 3 entries", n, err)
	}
}

func testProducts(t *testing.T, b store.Backend) {
	p := store.Product{Code: "1AJS2", Name: "VSE 2.1 Lite", Platform: "windows", Term: store.Term{Kind: store.TermYears, Value: 1}, Seats: 1}
	if err := b.AddProduct(p); err != nil {
		t.Fatalf("AddProduct: %v", err)
	}
	for _, bad := range []store.Product{
		{Code: "1aj", Name: "x"},
		{Code: "1AJS2"},
		{Code: "1AJS2", Name: "x", Entitlements: []string{"Upper Case"}},
		{Code: "1AJS2", Name: "x", Entitlements: []string{"a", "a"}},
		{Code: "1AJS2", Name: "x", Bundle: []string{"1AJS2"}},
		{Code: "1AJS2", Name: "x", Bundle: []string{"1ajs3"}},
		{Code: "1AJS2", Name: "x", Policy: store.Policy{Level: 4}},
	} {
		if err := b.AddProduct(bad); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("AddProduct(%+v): %v, want ErrInvalid", bad, err)
		}
	}
	got, err := b.ProductByCode("1AJS2")
	if err != nil || got.Name != p.Name || got.Policy.Level != 1 {
		t.Fatalf("ProductByCode = %+v, %v", got, err)
	}
	if _, err := b.ProductByCode("9ZZZZ"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ProductByCode of an unknown code: %v", err)
	}
	if err := b.AddProduct(store.Product{Code: "0AAAA", Name: "first"}); err != nil {
		t.Fatal(err)
	}
	if ps, err := b.Products(); err != nil || len(ps) != 2 || ps[0].Code != "0AAAA" {
		t.Fatalf("Products = %+v, %v", ps, err)
	}
}

// testProductSeatBounds: a catalogue entry is refused, with
// StatusBadRequest and the allowed range in its message, when its default
// seats exceed its maximum, when its maximum exceeds DefaultMaxSeats
// without being a site license, or SiteSeatCeiling at all; a refused entry
// is not stored.
func testProductSeatBounds(t *testing.T, b store.Backend) {
	base := store.Product{Code: "1AJS9", Name: "test", Term: store.Term{Kind: store.TermYears, Value: 1}}
	for _, c := range []struct {
		name string
		edit func(p *store.Product)
		want string // what the message must name; "" when accepted
	}{
		{"no maximum: 100 seats", func(p *store.Product) { p.Seats = 100 }, ""},
		{"no maximum: 101 seats", func(p *store.Product) { p.Seats = 101 }, "1..100"},
		{"seats above the maximum", func(p *store.Product) { p.Seats, p.MaxSeats = 11, 10 }, "1..10"},
		{"4,294,967,295 seats", func(p *store.Product) { p.Seats = ^uint32(0) }, "1..100"},
		{"maximum 101 without a site license", func(p *store.Product) { p.MaxSeats = 101 }, "1 to 100"},
		{"site license without a maximum", func(p *store.Product) { p.SiteLicense = true }, "1 to 100000"},
		{"site license above the ceiling", func(p *store.Product) { p.SiteLicense, p.MaxSeats = true, store.SiteSeatCeiling+1 }, "100000"},
		{"site license at the ceiling", func(p *store.Product) { p.SiteLicense, p.MaxSeats, p.Seats = true, store.SiteSeatCeiling, 500 }, ""},
		{"site license, seats above its maximum", func(p *store.Product) { p.SiteLicense, p.MaxSeats, p.Seats = true, 5000, 5001 }, "1..5000"},
	} {
		p := base
		c.edit(&p)
		err := b.AddProduct(p)
		if errors.Is(err, store.ErrExists) {
			err = b.UpdateProduct(p)
		}
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v, want it accepted", c.name, err)
			}
			continue
		}
		if !errors.Is(err, store.ErrInvalid) || wire.StatusOf(err) != wire.StatusBadRequest || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want ErrInvalid, BAD_REQUEST and the range %s", c.name, err, c.want)
		}
	}
	// Only the accepted entries were written, the last one last.
	got, err := b.ProductByCode("1AJS9")
	if err != nil || got.MaxSeats != store.SiteSeatCeiling || !got.SiteLicense || got.Seats != 500 {
		t.Fatalf("ProductByCode = %+v, %v; want the site license at the ceiling", got, err)
	}
}

// testShopAddNeverReplaces: adding a shop whose name, or whose public key,
// is registered is ErrExists and changes nothing; UpdateShop replaces a
// registered shop (keeping its Created), refuses an unknown name and
// another shop's key; each change is audited; of concurrent adds of one
// name exactly one succeeds.
func testShopAddNeverReplaces(t *testing.T, b store.Backend) {
	acme := Shop("acme", 0)
	acme.Created = 1000
	if err := b.AddShop(acme); err != nil {
		t.Fatalf("AddShop: %v", err)
	}
	again := Shop("acme", 7)
	if err := b.AddShop(again); !errors.Is(err, store.ErrExists) || !strings.Contains(err.Error(), "shop update") {
		t.Fatalf("AddShop of a registered name: %v, want ErrExists naming 'shop update'", err)
	}
	twin := Shop("twin", 0)
	twin.PublicKey = acme.PublicKey
	if err := b.AddShop(twin); !errors.Is(err, store.ErrExists) {
		t.Fatalf("AddShop with another shop's key: %v, want ErrExists", err)
	}
	if got, err := b.ShopByName("acme"); err != nil || got.PublicKey != acme.PublicKey || got.DailyQuota != 0 {
		t.Fatalf("acme after refused adds = %+v, %v; want it unchanged", got, err)
	}
	if _, err := b.ShopByName("twin"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the refused twin was written: %v", err)
	}
	if err := b.UpdateShop(Shop("nobody", 0)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UpdateShop of an unknown shop: %v, want ErrNotFound", err)
	}
	beta := Shop("beta", 0)
	if err := b.AddShop(beta); err != nil {
		t.Fatal(err)
	}
	stolen := beta
	stolen.PublicKey = acme.PublicKey
	if err := b.UpdateShop(stolen); !errors.Is(err, store.ErrExists) {
		t.Fatalf("UpdateShop to another shop's key: %v, want ErrExists", err)
	}
	again.Created = 5
	if err := b.UpdateShop(again); err != nil {
		t.Fatalf("UpdateShop: %v", err)
	}
	if got, err := b.ShopByName("acme"); err != nil || got.PublicKey != again.PublicKey || got.DailyQuota != 7 || got.Created != 1000 {
		t.Fatalf("acme after UpdateShop = %+v, %v; want the new key and quota, Created kept", got, err)
	}
	if err := b.UpdateShop(store.Shop{Name: "acme"}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("UpdateShop with an incomplete shop: %v, want ErrInvalid", err)
	}
	kinds(t, b, "shop.add", "shop.add", "shop.update")

	// Concurrent adds of one name: exactly one is registered, the others
	// are ErrExists.
	var wg sync.WaitGroup
	var added, exists atomic.Int32
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch err := b.AddShop(Shop("race", 0)); {
			case err == nil:
				added.Add(1)
			case errors.Is(err, store.ErrExists):
				exists.Add(1)
			default:
				t.Errorf("concurrent AddShop: %v", err)
			}
		}()
	}
	wg.Wait()
	if added.Load() != 1 || exists.Load() != 7 {
		t.Fatalf("concurrent AddShop of one name: %d added, %d ErrExists; want 1 and 7", added.Load(), exists.Load())
	}
}

// testProductAddNeverReplaces: adding a product whose code is in the
// catalogue is ErrExists and changes nothing; UpdateProduct replaces it,
// refuses an unknown code and an invalid entry; each change is audited.
func testProductAddNeverReplaces(t *testing.T, b store.Backend) {
	p := store.Product{Code: "1AJS2", Name: "VSE 2.1 Lite", Seats: 1}
	if err := b.AddProduct(p); err != nil {
		t.Fatalf("AddProduct: %v", err)
	}
	renamed := p
	renamed.Name = "renamed"
	if err := b.AddProduct(renamed); !errors.Is(err, store.ErrExists) || !strings.Contains(err.Error(), "product update") {
		t.Fatalf("AddProduct of a catalogued code: %v, want ErrExists naming 'product update'", err)
	}
	if got, err := b.ProductByCode("1AJS2"); err != nil || got.Name != p.Name {
		t.Fatalf("product after a refused add = %+v, %v; want it unchanged", got, err)
	}
	if err := b.UpdateProduct(store.Product{Code: "9ZZZZ", Name: "x"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UpdateProduct of an unknown code: %v, want ErrNotFound", err)
	}
	if err := b.UpdateProduct(store.Product{Code: "1AJS2"}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("UpdateProduct with no name: %v, want ErrInvalid", err)
	}
	if err := b.UpdateProduct(renamed); err != nil {
		t.Fatalf("UpdateProduct: %v", err)
	}
	if got, err := b.ProductByCode("1AJS2"); err != nil || got.Name != "renamed" || got.Policy.Level != 1 {
		t.Fatalf("product after UpdateProduct = %+v, %v", got, err)
	}
	kinds(t, b, "product.add", "product.update")
}

// kinds checks that the audit log holds entries of these kinds, in order.
func kinds(t *testing.T, b store.Backend, want ...string) {
	t.Helper()
	log, err := b.AuditLog(0)
	if err != nil {
		t.Fatalf("AuditLog: %v", err)
	}
	var got []string
	for _, e := range log {
		got = append(got, e.Kind)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("audit kinds = %v, want %v", got, want)
	}
}

func testAudit(t *testing.T, b store.Backend) {
	for i := range 5 {
		if err := b.Audit(store.AuditEntry{Kind: "test", Time: int64(100 * (i + 1)), Detail: string(rune('a' + i))}); err != nil {
			t.Fatalf("Audit: %v", err)
		}
	}
	if n, err := b.VerifyAudit(); err != nil || n != 5 {
		t.Fatalf("VerifyAudit = %d, %v", n, err)
	}
	es, err := b.AuditLog(0)
	if err != nil || len(es) != 5 {
		t.Fatalf("AuditLog = %v, %v", es, err)
	}
	for i, e := range es {
		if e.Seq != uint64(i+1) || e.Detail != string(rune('a'+i)) || len(e.Prev) != 64 || (i == 0) != (e.Prev == strings.Repeat("0", 64)) {
			t.Errorf("entry %d: %+v", i, e)
		}
	}
	if es, err := b.AuditLog(300); err != nil || len(es) != 3 || es[0].Seq != 3 {
		t.Fatalf("AuditLog(300) = %+v, %v; want entries 3 to 5", es, err)
	}
}

// testLargeOrder: an order of the most keys one order may hold, with
// licenses of every kind of record (plain, with bundle and entitlements,
// floating plug-ins with resets, ids not derived from their key hashes),
// reads back license for license by key hash and by id, each one takes an
// activation right after the order returns (a sample: each is a durable
// commit), a retry returns the order without minting, and the quota and
// the audit log count it once.
func testLargeOrder(t *testing.T, b store.Backend) {
	const n = store.MaxMintKeys
	ls := make([]store.License, n)
	for i := range ls {
		l := NewLicense(t, uint32(1+i%3))
		l.Shop, l.Order = "acme", "BIG-1"
		switch i % 4 {
		case 1:
			l.Bundle, l.Entitlements = []string{"2BKT3"}, []string{"scan", "export"}
		case 2:
			l.Policy.Floating, l.Base = true, "2BKT3"
			l.Resets = []int64{1700000000 + int64(i)}
		case 3:
			if i%40 == 3 {
				rand.Read(l.ID[:]) // an id from before ids were derived
			}
		}
		ls[i] = l
	}
	sealed := make([]byte, 30*n+49)
	rand.Read(sealed)
	o := store.Order{Shop: "acme", ID: "BIG-1", Request: []byte("big"), Count: n, Product: "1AJS2"}
	var calls atomic.Int32
	mint := func() ([]store.License, []byte, error) { calls.Add(1); return ls, sealed, nil }
	got, existed, err := b.MintOrder(o, 0, mint)
	if err != nil || existed || got.Count != n || !bytes.Equal(got.Sealed, sealed) {
		t.Fatalf("MintOrder = count %d, existed %v, %v", got.Count, existed, err)
	}
	for i, l := range ls {
		if i%97 == 0 {
			if err := b.Update(l.ID, nil, Activate(Install(i), i)); err != nil {
				t.Fatalf("activating license %d of the order: %v", i, err)
			}
			l.Activated = 0 // compared below as minted
		}
		byHash, err := b.LicenseByKeyHash(l.KeyHash)
		if err != nil {
			t.Fatalf("LicenseByKeyHash of license %d: %v", i, err)
		}
		byID, err := b.LicenseByID(l.ID)
		if err != nil {
			t.Fatalf("LicenseByID of license %d: %v", i, err)
		}
		if i%97 == 0 {
			if byHash.Activated == 0 {
				t.Fatalf("license %d: the activation did not set its time", i)
			}
			byHash.Activated, byID.Activated = 0, 0
		}
		if !reflect.DeepEqual(byHash, l) || !reflect.DeepEqual(byID, l) {
			t.Fatalf("license %d reads back as\n%+v (by key hash)\n%+v (by id), want\n%+v", i, byHash, byID, l)
		}
	}
	again, existed, err := b.MintOrder(o, 0, mint)
	if err != nil || !existed || calls.Load() != 1 || !bytes.Equal(again.Sealed, sealed) {
		t.Fatalf("retried order: existed %v, mint called %d times, %v", existed, calls.Load(), err)
	}
	if got, err := b.OrderByID("acme", "BIG-1"); err != nil || got.Count != n || !bytes.Equal(got.Sealed, sealed) {
		t.Fatalf("OrderByID = count %d, %v", got.Count, err)
	}
	if m, err := b.MintedToday("acme"); err != nil || m != n {
		t.Fatalf("MintedToday = %d, %v; want %d", m, err, n)
	}
	if c, err := b.VerifyAudit(); err != nil || c != 1 {
		t.Fatalf("VerifyAudit = %d, %v; want the one mint entry", c, err)
	}
}
