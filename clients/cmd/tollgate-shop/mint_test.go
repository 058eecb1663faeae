package main

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/gateway/gatewaytest"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/store"
)

// TestMintAgainstGateway: 'tollgate-shop mint' against a real gateway on
// loopback prints keys it opened from the sealed answer, valid keys of the
// product; the same order again prints the same keys; more seats than the
// product allows is refused with BAD_REQUEST and its range.
func TestMintAgainstGateway(t *testing.T) {
	g := gatewaytest.Start(t)
	if _, err := service.LoadDemoCatalogue(g.Server.Store()); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keyFile, cardFile := filepath.Join(dir, "shop.key"), filepath.Join(dir, "server.card")
	var out, errb bytes.Buffer
	if code := run([]string{"keygen", "--out", keyFile}, &out, &errb); code != 0 {
		t.Fatalf("keygen: exit %d: %s", code, errb.String())
	}
	k, err := channel.ReadPrivateKeyFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	sh := store.Shop{Name: "acme", PublicKey: k.Public(), Products: []string{"1AJS2"},
		Networks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	if err := g.Server.Store().AddShop(sh); err != nil {
		t.Fatal(err)
	}
	if err := g.Server.ReloadShops(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cardFile, g.Card.Marshal(), 0o644); err != nil {
		t.Fatal(err)
	}
	mint := func(extra ...string) (string, error) {
		out.Reset()
		errb.Reset()
		args := append([]string{"mint", "--card", cardFile, "--key", keyFile, "--product", "1ajs2", "--count", "3", "--order", "WEB-1"}, extra...)
		if code := run(args, &out, &errb); code != 0 {
			return out.String(), fmt.Errorf("exit %d: %s", code, errb.String())
		}
		return out.String(), nil
	}
	first, err := mint()
	if err != nil {
		t.Fatalf("mint: %v", err)
	}
	lines := strings.Fields(first)
	if len(lines) != 3 {
		t.Fatalf("mint printed %d keys, want 3", len(lines))
	}
	for i, l := range lines {
		if key, err := keygen.ParseKey(l); err != nil || key.Product().String() != "1AJS2" {
			t.Fatalf("key %d printed is not a key of 1AJS2: %v", i, err)
		}
	}
	if again, err := mint(); err != nil || again != first {
		t.Fatalf("the retried order printed other keys (%v)", err)
	}
	_, err = mint("--order", "WEB-2", "--seats", "101")
	if err == nil || !strings.Contains(err.Error(), "BAD_REQUEST") || !strings.Contains(err.Error(), "1..100") {
		t.Fatalf("mint --seats 101: %v, want BAD_REQUEST with the range 1..100", err)
	}
	if _, err := mint("--order", "WEB-3", "--seats", "4294967297"); err == nil {
		t.Fatalf("mint --seats 2^32+1 was not refused")
	}
}
