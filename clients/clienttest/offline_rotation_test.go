package clienttest

import (
	"context"
	"testing"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/gateway/adminapi"
	"github.com/tollgate/tollgate/service"
)

// TestOfflineAfterRotation: after the operator rotates the lease key, an
// air-gapped machine holding the card of before still imports its answer:
// the lease, signed by the new key, carries the statement the old key
// signed, which the shop client and the library verify and learn, as they
// do online (a lease checked against the card's keys alone would be
// refused wrong-card, or a retired key's forgery accepted).
func TestOfflineAfterRotation(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	shop := newShopClient(t, g)
	key := g.mint(t, 1, service.Spec{Seats: 1, Shop: "acme"})[0]
	card := airGapped(g) // the card of before the rotation
	ac, err := gateway.DialAdmin(g.srv.Identity().Dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = ac.RotateLeaseKey(adminapi.KeyRotation{})
	ac.Close()
	if err != nil {
		t.Fatalf("keys rotate: %v", err)
	}
	m := openWithCard(t, card, "", machine("air", "mac-air"))
	reqText, err := m.RequestOffline(key)
	if err != nil {
		t.Fatal(err)
	}
	ans, err := shop.AnswerOffline(context.Background(), reqText)
	if err != nil {
		t.Fatalf("AnswerOffline after a rotation: %v", err)
	}
	want(t, "import after a rotation", m.ImportLease(ans.Lease), true, clients.ReasonOK)
	want(t, "check offline", m.CheckOffline(), true, clients.ReasonOffline)
}
