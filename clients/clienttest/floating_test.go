package clienttest

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// The checkout times of the tests' floating keys: seconds, so that a seat
// whose heartbeats stop frees up soon, and long enough that a heartbeat
// (every third of it: a QUIC round trip, a signature and an fsync) or a
// next command comes in time on a loaded machine under the race detector,
// where an answer has taken over 5 s (the catalogue refuses less than
// service.MinCheckoutSeconds; a test's key is minted without it).
const (
	libraryCheckout  = 15
	floatingCheckout = 15
)

func floatingKey(t *testing.T, g *testGateway, seats, checkout uint32) (keygen.Key, store.LicenseID) {
	t.Helper()
	key := g.mint(t, 1, service.Spec{Seats: seats, Policy: store.Policy{Level: 1, LeaseSeconds: checkout, Floating: true}})[0]
	lic, err := g.srv.Store().LicenseByKeyHash(g.srv.Identity().Hasher.Hash(key))
	if err != nil {
		t.Fatal(err)
	}
	return key, lic.ID
}

// seatsHeld returns how many seats of license id are held now, as the
// gateway's store says.
func seatsHeld(t *testing.T, g *testGateway, id store.LicenseID) int {
	t.Helper()
	acts, err := g.srv.Store().Activations(id)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range service.FloatingSeats(acts, time.Now().Unix()) {
		if s.Held {
			n++
		}
	}
	return n
}

// TestFloatingLicensee: three machines, a 2-seat floating key, through the
// client library over real QUIC. Two check out; the third is refused
// no-seat with when to retry; the library's heartbeats keep the seats past
// their checkout time; Close checks a seat in, and the third machine takes
// it at once, without the key on a later start.
func TestFloatingLicensee(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	key, id := floatingKey(t, g, 2, libraryCheckout)
	ctx := hang.Context(t)
	// Three machines on the real clock (the heartbeats run on it).
	var m []install
	for _, name := range []string{"a", "b", "c"} {
		m = append(m, reopen(t, g, filepath.Join(t.TempDir(), name), machine(name, "02:00:00:00:00:0"+name)))
	}
	first := m[0].Activate(ctx, key)
	want(t, "machine a", first, true, clients.ReasonOK)
	if first.Level != wire.LevelFloating {
		t.Fatalf("machine a's lease is level %v, want floating", first.Level)
	}
	activate(t, m[1], key)
	d := m[2].Activate(ctx, key)
	want(t, "machine c with both seats held", d, false, clients.ReasonNoSeat)
	aEnd := m[0].Status().LeaseExpiry.Unix()
	if d.Status != wire.StatusNoSeats || d.RetryAt < time.Now().Unix() || d.RetryAt > aEnd+1 {
		t.Fatalf("no-seat: status %v, retry at %d; want NO_SEATS, by machine a's checkout end %d", d.Status, d.RetryAt, aEnd)
	}
	if at := time.Unix(d.RetryAt+59, 0).UTC().Format("2006-01-02 15:04 UTC"); d.MessageID != "no-seat" ||
		d.Action != "Close the program on another computer, or try again after "+at+"." {
		t.Fatalf("no-seat: message %q, action %q; want it to say when to try again (%s)", d.MessageID, d.Action, at)
	}
	// The heartbeats renew the checkouts: machine a's lease moves on, and
	// past its first end the seats are still held.
	for m[0].Status().LeaseExpiry.Unix() <= aEnd+1 {
		if ctx.Err() != nil {
			t.Fatal("machine a's checkout was never renewed by a heartbeat")
		}
		time.Sleep(100 * time.Millisecond)
	}
	for time.Now().Unix() <= aEnd {
		if ctx.Err() != nil {
			t.Fatal("hung")
		}
		time.Sleep(100 * time.Millisecond)
	}
	want(t, "machine c past the first checkout's end", m[2].Activate(ctx, key), false, clients.ReasonNoSeat)
	if n := seatsHeld(t, g, id); n != 2 {
		t.Fatalf("%d seats held, want 2", n)
	}
	// An orderly exit checks in: the seat is free at once.
	if err := m[0].Close(); err != nil {
		t.Fatal(err)
	}
	if n := seatsHeld(t, g, id); n != 1 {
		t.Fatalf("%d seats held after a check-in, want 1", n)
	}
	want(t, "machine c after a's check-in", m[2].Activate(ctx, key), true, clients.ReasonOK)
	// Machine a starts again: its binding stays, no key is needed, but
	// both seats are held.
	a := reopen(t, g, m[0].dir, machine("a", "02:00:00:00:00:0a"))
	if st := a.Status(); !st.Activated || !st.LeaseExpiry.IsZero() {
		t.Fatalf("machine a after its check-in: activated %v, lease until %v; want the license kept and no lease", st.Activated, st.LeaseExpiry)
	}
	d = a.Check(ctx)
	want(t, "machine a restarted", d, false, clients.ReasonNoSeat)
	if d.RetryAt == 0 {
		t.Fatal("no-seat without a retry time")
	}
	m[1].Close()
	want(t, "machine a restarted, after b's check-in", a.Check(ctx), true, clients.ReasonOK)
}

// reopen opens the install of state directory dir on the real clock.
func reopen(t *testing.T, g *testGateway, dir string, comps func() []clients.RawComponent) install {
	t.Helper()
	l, err := clients.OpenLicensee(clients.LicenseeConfig{
		Card: g.card, Product: product, StateDir: dir, Components: comps,
		Timeout: hang.Timeout(t), Hostname: filepath.Base(dir), AppVersion: "1.0",
	})
	if err != nil {
		t.Fatalf("OpenLicensee: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return install{Licensee: l, dir: dir}
}

// TestFloatingCheckoutKill: three 'tollgate-client checkout' processes on
// a 2-seat floating key. Two hold seats, the third is refused no-seat with
// a retry time; one holder is SIGKILLed, and its seat frees up only when
// its checkout runs out; a holder stopped with SIGTERM checks in, and its
// seat is free at once.
func TestFloatingCheckoutKill(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	key, id := floatingKey(t, g, 2, floatingCheckout)
	tmp := t.TempDir()
	card := filepath.Join(tmp, "server.card")
	if err := os.WriteFile(card, g.card.Marshal(), 0o600); err != nil {
		t.Fatal(err)
	}
	exe := binary(t, "tollgate-client")
	args := func(m string, rest ...string) []string {
		return append([]string{"--card", card, "--state", filepath.Join(tmp, m), "--explicit", "machine-" + m, "--product", product}, rest...)
	}
	for _, m := range []string{"a", "b", "c"} {
		// Activation binds the install; the command's exit checks the
		// seat in again.
		runBinary(t, exe, args(m, "activate", key.Display())...).expect(t, "activate "+m, 0, "activated")
	}
	if n := seatsHeld(t, g, id); n != 0 {
		t.Fatalf("%d seats held after three activations that exited, want 0", n)
	}
	lg := &procLog{}
	a, _ := startProc(t, lg, "checked out", exe, args("a", "checkout")...)
	b, _ := startProc(t, lg, "checked out", exe, args("b", "checkout")...)
	r := runBinary(t, exe, args("c", "checkout", "--json")...)
	j := r.jsonAnswer(t, "third checkout")
	if r.code != 1 || j["status"] != "no-seat" || j["server_status"] != "NO_SEATS" {
		t.Fatalf("third checkout: exit %d, %v", r.code, j)
	}
	if at, _ := j["retry_at"].(float64); at < float64(time.Now().Unix()-floatingCheckout) {
		t.Fatalf("third checkout: retry at %v", j["retry_at"])
	}

	// SIGKILL: a's seat stays held until its checkout runs out.
	a.kill()
	killed := time.Now().Unix()
	r = runBinary(t, exe, args("c", "validate", "--json")...)
	j = r.jsonAnswer(t, "right after the kill")
	retry, _ := j["retry_at"].(float64)
	if j["status"] != "no-seat" || retry == 0 || int64(retry) > killed+floatingCheckout+1 {
		t.Fatalf("right after a's kill: %v", j)
	}
	for {
		r = runBinary(t, exe, args("c", "validate", "--json")...)
		if r.code == 0 {
			break
		}
		if j := r.jsonAnswer(t, "waiting for a's seat"); j["status"] != "no-seat" {
			t.Fatalf("waiting for a's seat: %v", j)
		}
		if hang.Context(t).Err() != nil {
			t.Fatal("a's seat never freed up")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if now := time.Now().Unix(); now < int64(retry) {
		t.Fatalf("c got a seat at %d, before a's checkout ran out (%d)", now, int64(retry))
	}
	c, _ := startProc(t, lg, "checked out", exe, args("c", "checkout")...)
	if n := seatsHeld(t, g, id); n != 2 {
		t.Fatalf("%d seats held by b and c, want 2", n)
	}

	// SIGTERM: b checks in on its way out; its seat is free at once.
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-b.eof
	if err := b.cmd.Wait(); err != nil {
		t.Fatalf("checkout after SIGTERM: %v; output:\n%s", err, lg)
	}
	b.dead = true
	if n := seatsHeld(t, g, id); n != 1 {
		t.Fatalf("%d seats held after b's orderly exit, want 1", n)
	}
	runBinary(t, exe, args("a", "validate")...).expect(t, "a after b's exit", 0, "confirmed")
	c.kill()
}

// TestFloatingLeaseOffline: a floating seat's lease lets the program run
// offline until the checkout's end and not a second past it, whatever the
// server's reachability.
func TestFloatingLeaseOffline(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	key, _ := floatingKey(t, g, 1, 60)
	clock := &fakeClock{t: time.Now()}
	in := open(t, g, "", machine("a", "02:00:00:00:00:0a"), clock)
	activate(t, in, key)
	end := in.Status().LeaseExpiry
	// The gateway counts in whole seconds from its own clock, which read
	// this clock's time or later (the activation's time after it): the
	// end is 60 s after an issue time no more than a second before.
	if got := end.Sub(clock.Now()); got <= 59*time.Second || got > 70*time.Second {
		t.Fatalf("the checkout ends in %v, want 60s", got)
	}
	g.stop()
	clock.Add(end.Sub(clock.Now()) - time.Second)
	d := in.Check(stopped(t))
	want(t, "a second before the checkout's end, server gone", d, true, clients.ReasonOffline)
	if d.Level != wire.LevelFloating || d.Contact == clients.ReasonOK {
		t.Fatalf("offline floating check: level %v, contact %q", d.Level, d.Contact)
	}
	clock.Add(time.Second)
	want(t, "at the checkout's end, offline", in.CheckOffline(), false, clients.ReasonLeaseExpired)
	if d := in.Check(stopped(t)); d.Allowed || d.Decided() {
		t.Fatalf("at the checkout's end, server gone: %+v", d)
	}
}
