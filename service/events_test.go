package service

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// TestNoteExpiring: an active license of a shop that ends within the
// notice gets one expiring event, with its whole days left, however often
// the gateway looks; a suspended, ended, later-ending or operator-minted
// license gets none.
func TestNoteExpiring(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	s, _ := newTestService(t, Config{Now: func() time.Time { return now }})
	sh := store.Shop{Name: "acme", PublicKey: [32]byte{1}, Networks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, Products: []string{"1AJS2"}}
	if err := s.st.AddShop(sh); err != nil {
		t.Fatal(err)
	}
	day := int64(86400)
	sold := func(order string, end int64) store.LicenseID {
		_, id := mintOne(t, s, Spec{Shop: "acme", Order: order, AbsExpiry: end})
		return id
	}
	soon := sold("soon", now.Unix()+10*day+3600)
	sold("later", now.Unix()+30*day)
	sold("ended", now.Unix()-day)
	suspended := sold("suspended", now.Unix()+5*day)
	mintOne(t, s, Spec{AbsExpiry: now.Unix() + 3*day}) // the operator's: no shop
	lic, err := s.st.LicenseByID(suspended)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ApplyLicenseOpTo(s.st, lic, OpSuspend, store.Term{}, "", now); err != nil {
		t.Fatal(err)
	}
	for run, want := range []int{1, 0} {
		if n, err := s.NoteExpiring(14); err != nil || n != want {
			t.Fatalf("NoteExpiring run %d = %d, %v; want %d", run, n, err, want)
		}
	}
	evs, err := s.Events(&sh, 0, wire.MaxEvents)
	if err != nil {
		t.Fatal(err)
	}
	var got []wire.Event
	for e := range evs.All() {
		got = append(got, e)
	}
	if len(got) != 2 || got[0].Kind != wire.EventSuspended || got[1].Kind != wire.EventExpiring {
		t.Fatalf("stream = %+v; want suspended, expiring", got)
	}
	if e := got[1]; e.License != soon || string(e.OrderID) != "soon" || e.Days != 10 || e.Time != now.Unix() || e.Seq != 2 {
		t.Fatalf("expiring event = %+v; want license soon, 10 days, Seq 2", e)
	}
	for _, within := range []int{0, -1, MaxExpiringDays + 1} {
		if _, err := s.NoteExpiring(within); !errors.Is(err, store.ErrConfig) {
			t.Fatalf("NoteExpiring(%d) = %v; want ErrConfig", within, err)
		}
	}
}

// TestShopEventsAndOrderRefusals: a page size out of 1..MaxEvents is a bad
// request, and an order the shop never placed is not found.
func TestShopEventsAndOrderRefusals(t *testing.T) {
	t.Parallel()
	s, _ := newTestService(t, Config{})
	sh := store.Shop{Name: "acme"}
	for _, max := range []int{0, wire.MaxEvents + 1} {
		if _, err := s.Events(&sh, 0, max); KindOf(err) != KindBadRequest {
			t.Fatalf("Events(max %d) = %v; want a bad request", max, err)
		}
	}
	if evs, err := s.Events(&sh, 0, 10); err != nil || evs.Count() != 0 {
		t.Fatalf("Events of a new shop = %d, %v; want none", evs.Count(), err)
	}
	if _, err := s.Order(&sh, "nope"); KindOf(err) != KindNotFound {
		t.Fatalf("Order of an unknown id = %v; want not found", err)
	}
}
