package clients

import (
	"context"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/wire"
)

func TestShopClientRefusesBadInput(t *testing.T) {
	k, err := channel.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	card := &wire.Card{Address: "127.0.0.1:1"}
	if _, err := NewShop(ShopConfig{ShopKey: k}); !errors.Is(err, ErrConfig) {
		t.Errorf("no card: %v, want ErrConfig", err)
	}
	if _, err := NewShop(ShopConfig{Card: card}); !errors.Is(err, ErrConfig) {
		t.Errorf("no key: %v, want ErrConfig", err)
	}
	c, err := NewShop(ShopConfig{Card: card, ShopKey: k})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	// Each is refused before any network traffic (the address is dead).
	for _, tc := range []struct {
		name           string
		order, product string
		count          int
		spec           MintSpec
	}{
		{"count 0", "O-1", "1AJS2", 0, MintSpec{}},
		{"count 10001", "O-1", "1AJS2", 10001, MintSpec{}},
		{"short product", "O-1", "1AJS", 1, MintSpec{}},
		{"lower-case product", "O-1", "1ajs2", 1, MintSpec{}},
		{"empty order", "", "1AJS2", 1, MintSpec{}},
		{"order with a control character", "O\n1", "1AJS2", 1, MintSpec{}},
		{"bad entitlement", "O-1", "1AJS2", 1, MintSpec{Entitlements: []string{"Bad Name"}}},
		{"bad term", "O-1", "1AJS2", 1, MintSpec{Term: wire.Term{Kind: wire.TermYears}}},
	} {
		if _, err := c.Mint(ctx, tc.order, tc.product, tc.count, tc.spec); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", tc.name, err)
		}
	}
	var key [wire.KeySize]byte
	if _, err := c.KeyOp(ctx, key, wire.KeyOp(99), wire.Term{}); !errors.Is(err, ErrConfig) {
		t.Errorf("unknown op: %v, want ErrConfig", err)
	}
}
