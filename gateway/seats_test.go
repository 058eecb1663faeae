package gateway_test

import (
	"context"
	"crypto/rand"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/keygen/composite"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// TestShopMintSeatsBounded: a shop asks over QUIC for keys with more seats
// than the catalogue product allows (101 of the default 100; 4,294,967,295;
// 5,001 of a site license's 5,000) and is refused with BAD_REQUEST and the
// allowed range, with nothing minted: no order, no quota used, no mint in
// the audit log. Within the bounds the same shop mints.
func TestShopMintSeatsBounded(t *testing.T) {
	t.Parallel()
	g := startShopGateway(t)
	st := g.srv.Store()
	site := store.Product{Code: "1AJS9", Name: "VSE 2.1 site license", Term: store.Term{Kind: store.TermYears, Value: 1},
		Seats: 500, MaxSeats: 5000, SiteLicense: true}
	if err := st.AddProduct(site); err != nil {
		t.Fatal(err)
	}
	k, err := channel.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sh := store.Shop{Name: "seats", PublicKey: k.Public(), Products: []string{"1AJS2", "1AJS9"},
		Networks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}}
	if err := st.AddShop(sh); err != nil {
		t.Fatal(err)
	}
	if err := g.srv.ReloadShops(); err != nil {
		t.Fatal(err)
	}
	shop := g.shopClient(t, k)
	ctx := context.Background()
	for _, c := range []struct {
		order, product string
		seats          uint32
		want           string
	}{
		{"S-101", "1AJS2", 101, "1..100"},
		{"S-MAX", "1AJS2", ^uint32(0), "1..100"},
		{"S-SITE", "1AJS9", 5001, "1..5000"},
	} {
		_, err := shop.Mint(ctx, c.order, c.product, 3, clients.MintSpec{Seats: c.seats})
		wantStatus(t, err, wire.StatusBadRequest)
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: refusal %q does not give the range %s", c.order, err, c.want)
		}
		if _, err := st.OrderByID("seats", c.order); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: a refused order was recorded: %v", c.order, err)
		}
	}
	if n, err := st.MintedToday("seats"); err != nil || n != 0 {
		t.Fatalf("MintedToday = %d, %v after refusals only; want 0", n, err)
	}
	log, err := st.AuditLog(0)
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(log, func(e store.AuditEntry) bool { return e.Kind == "mint" }) {
		t.Fatalf("a refused mint was audited as minted")
	}

	// At the bounds it mints, and the default of a site license applies.
	for _, c := range []struct {
		order, product string
		seats, want    uint32
	}{
		{"S-100", "1AJS2", 100, 100},
		{"S-5000", "1AJS9", 5000, 5000},
		{"S-DEF", "1AJS9", 0, 500},
	} {
		keys, err := shop.Mint(ctx, c.order, c.product, 1, clients.MintSpec{Seats: c.seats})
		if err != nil {
			t.Fatalf("%s: %v", c.order, err)
		}
		if ks, err := shop.KeyOp(ctx, keys[0], wire.KeyOpStatus, wire.Term{}); err != nil || ks.Seats != c.want {
			t.Fatalf("%s: status %+v, %v; want %d seats", c.order, ks, err, c.want)
		}
	}
}

// TestMintKeysSeatsBounded: the operator's MintKeys refuses more seats
// than the spec's maximum (the catalogue's, else 100) with BAD_REQUEST, and
// writes nothing.
func TestMintKeysSeatsBounded(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	id, err := gateway.Init(dir, composite.MLDSA44Ed25519, "")
	if err != nil {
		t.Fatal(err)
	}
	st, err := gateway.OpenStore(dir, gateway.StoreOptions{CacheEntries: 1024})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p, _ := keygen.ParseProductCode("1AJS2")
	for _, spec := range []service.Spec{{Seats: 101}, {Seats: ^uint32(0)}, {Seats: 11, MaxSeats: 10}} {
		_, err := service.MintKeys(st, id.Hasher, p, 2, spec, time.Now())
		if !errors.Is(err, service.ErrBadRequest) || !strings.Contains(err.Error(), "1..") {
			t.Errorf("%d seats (max %d): %v, want BAD_REQUEST with the range", spec.Seats, spec.MaxSeats, err)
		}
	}
	if log, err := st.AuditLog(0); err != nil || len(log) != 0 {
		t.Fatalf("audit log after refusals = %+v, %v; want empty (nothing minted)", log, err)
	}
	if _, err := service.MintKeys(st, id.Hasher, p, 1, service.Spec{Seats: 100}, time.Now()); err != nil {
		t.Fatalf("100 seats: %v", err)
	}
}
