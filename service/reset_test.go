package service

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// testClock is a clock a test moves by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// shopLicense mints a key of shop "web" with seats seats and activates it
// on one install per hostname given.
func shopLicense(t *testing.T, s *Service, seats uint32, hosts ...string) (keygen.Key, store.LicenseID) {
	t.Helper()
	p, _ := keygen.ParseProductCode("1AJS2")
	keys, err := MintKeys(s.st, s.keys.Hasher, p, 1, Spec{Seats: seats, Shop: "web", Order: "o-1"}, s.now())
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hosts {
		in := newInstall(t)
		if _, err := s.Activate(&wire.ActivateRequest{Key: keys[0], Fingerprint: testFingerprint(), Hostname: []byte(h)}, &in); err != nil {
			t.Fatalf("activate on %s: %v", h, err)
		}
	}
	return keys[0], store.IDFor(s.keys.Hasher.Hash(keys[0]))
}

// TestSeatResetLimit: a shop frees its customer's seats one machine at a
// time; the fourth reset within 30 days is refused RESET_LIMIT, saying
// when the next is possible, and changes nothing; once the first reset is
// 30 days old the next is allowed (the window slides) and the record keeps
// only the resets within the window. Each reset is audited and gives the
// shop a deactivated event in the same commit.
func TestSeatResetLimit(t *testing.T) {
	t.Parallel()
	clock := &testClock{t: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)}
	s, _ := newTestService(t, Config{Now: clock.now})
	web := &store.Shop{Name: "web"}
	key, id := shopLicense(t, s, 5, "pc-1", "pc-2", "pc-3", "pc-4", "pc-5")
	reset := func(host string) (SeatReset, error) {
		return s.SeatReset(&wire.SeatResetRequest{Key: key, Hostname: []byte(host)}, web)
	}
	t0 := clock.now()
	for i, host := range []string{"pc-1", "pc-2", "pc-3"} {
		r, err := reset(host)
		if err != nil {
			t.Fatalf("reset %d: %v", i+1, err)
		}
		if r.Freed != 1 || r.ResetsLeft != 2-i || len(r.State.Activations) != 4-i {
			t.Fatalf("reset %d: %+v", i+1, r)
		}
		if i < 2 && r.NextReset != 0 || i == 2 && r.NextReset != t0.Add(ResetWindow).Unix() {
			t.Fatalf("reset %d: next reset %d", i+1, r.NextReset)
		}
		clock.add(24 * time.Hour)
	}
	_, err := reset("pc-4")
	if !errors.Is(err, ErrResetLimit) || KindOf(err).Status() != wire.StatusResetLimit {
		t.Fatalf("the fourth reset in 30 days: %v, want RESET_LIMIT", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "2026-12-01 12:00 UTC") || !strings.Contains(msg, "contact the publisher") {
		t.Errorf("the refusal does not say when, or whom to ask: %q", msg)
	}
	if as, _ := s.st.Activations(id); len(as) != 2 {
		t.Fatalf("a refused reset freed a seat: %d left", len(as))
	}

	clock.t = t0.Add(ResetWindow + time.Second)
	r, err := reset("pc-4")
	if err != nil {
		t.Fatalf("a reset once the first is 30 days old: %v", err)
	}
	if r.ResetsLeft != 0 || r.NextReset != t0.Add(24*time.Hour+ResetWindow).Unix() {
		t.Errorf("after the window slid: %+v", r)
	}
	lic, err := s.st.LicenseByID(id)
	if err != nil {
		t.Fatal(err)
	}
	want := []int64{t0.Add(24 * time.Hour).Unix(), t0.Add(48 * time.Hour).Unix(), clock.now().Unix()}
	if fmt.Sprint(lic.Resets) != fmt.Sprint(want) {
		t.Errorf("the record's resets %v, want %v (older ones pruned)", lic.Resets, want)
	}

	log, err := s.st.AuditLog(0)
	if err != nil {
		t.Fatal(err)
	}
	audited := 0
	for _, e := range log {
		if e.Kind == "license.self-reset" && e.Shop == "web" && strings.Contains(e.Detail, "by the customer") {
			audited++
		}
	}
	if audited != 4 {
		t.Errorf("%d self-service resets audited, want 4", audited)
	}
	evs, err := s.st.ShopEvents("web", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var freed []string
	for _, e := range evs {
		if e.Kind == store.EventDeactivated {
			freed = append(freed, e.Machine)
		}
	}
	if strings.Join(freed, ",") != "pc-1,pc-2,pc-3,pc-4" {
		t.Errorf("the shop's deactivated events: %q", freed)
	}
}

// TestSeatResetRefusals: another shop's key is unknown; a machine not
// holding a seat, two machines of one name, a revoked license and a
// gateway with resets turned off are refused, each with its kind; none
// counts as a reset. Every seat frees at once with SeatResetAll.
func TestSeatResetRefusals(t *testing.T) {
	t.Parallel()
	s, _ := newTestService(t, Config{})
	web := &store.Shop{Name: "web"}
	key, id := shopLicense(t, s, 3, "pc-1", "twin", "twin")
	for name, c := range map[string]struct {
		req  wire.SeatResetRequest
		shop *store.Shop
		want error
	}{
		"another shop's key":     {wire.SeatResetRequest{Key: key, Hostname: []byte("pc-1")}, &store.Shop{Name: "other"}, ErrNotFound},
		"no such machine":        {wire.SeatResetRequest{Key: key, Hostname: []byte("pc-9")}, web, ErrNotActivated},
		"two machines of a name": {wire.SeatResetRequest{Key: key, Hostname: []byte("twin")}, web, ErrBadRequest},
	} {
		if _, err := s.SeatReset(&c.req, c.shop); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	r, err := s.SeatReset(&wire.SeatResetRequest{Key: key, Flags: wire.SeatResetAll}, web)
	if err != nil || r.Freed != 3 || len(r.State.Activations) != 0 || r.ResetsLeft != DefaultSelfServiceResets-1 {
		t.Fatalf("every seat: %+v, %v (the refusals before must not count)", r, err)
	}
	if lic, _ := s.st.LicenseByID(id); len(lic.Resets) != 1 {
		t.Fatalf("resets recorded: %v", lic.Resets)
	}
	if _, err := s.SeatReset(&wire.SeatResetRequest{Key: key, Flags: wire.SeatResetAll}, web); !errors.Is(err, ErrNotActivated) {
		t.Errorf("every seat of a license with none: %v", err)
	}

	revoked, _ := shopLicense(t, s, 1, "pc-1")
	if _, err := ApplyLicenseOp(s.st, s.keys.Hasher, revoked, OpRevoke, store.Term{}, "", time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SeatReset(&wire.SeatResetRequest{Key: revoked, Hostname: []byte("pc-1")}, web); !errors.Is(err, ErrRevoked) {
		t.Errorf("a revoked license: %v", err)
	}

	off, _ := newTestService(t, Config{SelfServiceResets: -1})
	if _, err := off.SeatReset(&wire.SeatResetRequest{Key: key, Hostname: []byte("pc-1")}, web); !errors.Is(err, ErrShopNotAllowed) {
		t.Errorf("resets turned off: %v", err)
	}
}
