package clienttest

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/gateway/gatewaytest"
	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

const product = "1AJS2"

// testGateway is a real gateway on a loopback UDP port, in a temp dir. Its
// handshake limit is hang.Timeout: its 5 s default guards production
// gateways against slow peers, and is not what these tests check.
type testGateway struct {
	srv  *gateway.Server
	card *wire.Card
	stop func()
	g    *gatewaytest.Gateway
}

func startGateway(t testing.TB, opts ...func(*gateway.Config)) *testGateway {
	t.Helper()
	opts = append([]func(*gateway.Config){func(c *gateway.Config) {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		c.Limits.HandshakeTimeout = hang.Timeout(t)
	}}, opts...)
	g := gatewaytest.Start(t, opts...)
	return &testGateway{srv: g.Server, card: g.Card, stop: g.Stop, g: g}
}

func (g *testGateway) mint(t testing.TB, n int, spec service.Spec) []keygen.Key {
	t.Helper()
	return g.g.Mint(t, product, n, spec)
}

// stoppedTimeout bounds a request to a gateway the test has stopped. No
// answer can come, so the wait decides nothing but the test's length: the
// request fails as unreachable (the QUIC handshake's own 5 s limit) or as
// a timeout (this one), and the tests accept either.
const stoppedTimeout = time.Second

// stopped returns a context for requests to a stopped gateway.
func stopped(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), stoppedTimeout)
	t.Cleanup(cancel)
	return ctx
}

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// machine is a test machine's raw identifiers; mac changes its network card.
func machine(id, mac string) func() []clients.RawComponent {
	return func() []clients.RawComponent {
		return []clients.RawComponent{
			{Kind: wire.KindMachineID, Value: "machine-" + id},
			{Kind: wire.KindSystemUUID, Value: "uuid-" + id},
			{Kind: wire.KindMAC, Value: mac},
			{Kind: wire.KindDisk, Value: "disk-" + id},
		}
	}
}

type install struct {
	*clients.Licensee
	dir   string
	clock *fakeClock
}

func open(t testing.TB, g *testGateway, dir string, comps func() []clients.RawComponent, clock *fakeClock) install {
	t.Helper()
	if dir == "" {
		dir = filepath.Join(t.TempDir(), "state")
	}
	if clock == nil {
		clock = &fakeClock{t: time.Now()}
	}
	l, err := clients.OpenLicensee(clients.LicenseeConfig{
		Card: g.card, Product: product, StateDir: dir, Components: comps, Now: clock.Now,
		Timeout: hang.Timeout(t), Hostname: "test-host", AppVersion: "1.0",
	})
	if err != nil {
		t.Fatalf("OpenLicensee: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return install{l, dir, clock}
}

func want(t testing.TB, what string, d clients.Decision, allowed bool, reason clients.Reason) {
	t.Helper()
	if d.Allowed != allowed || d.Reason != reason {
		t.Fatalf("%s: got allowed=%v reason=%s (%s; err %v), want allowed=%v reason=%s", what, d.Allowed, d.Reason, d.Message, d.Err, allowed, reason)
	}
	if d.Message == "" {
		t.Fatalf("%s: decision without a message", what)
	}
}

func activate(t testing.TB, in install, key keygen.Key) {
	t.Helper()
	want(t, "Activate", in.Activate(context.Background(), key), true, clients.ReasonOK)
}

const day = 24 * time.Hour

func TestLevelsOffline(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	policy := func(level uint8) service.Spec {
		p := store.Policy{Level: level, LeaseSeconds: 30 * 86400}
		if level == 3 {
			p.OnlineDays, p.WarnDays = 7, 2
		}
		return service.Spec{Policy: p, Entitlements: []string{"pro"}}
	}
	k1, k2, k3 := g.mint(t, 1, policy(1))[0], g.mint(t, 1, policy(2))[0], g.mint(t, 1, policy(3))[0]
	ctx := context.Background()
	ins := map[int]install{}
	for lvl, k := range map[int]keygen.Key{1: k1, 2: k2, 3: k3} {
		in := open(t, g, "", machine("a", "02:00:00:00:00:01"), nil)
		activate(t, in, k)
		d := in.Check(ctx)
		want(t, "Check online", d, true, clients.ReasonOffline) // just activated: nothing due
		if int(d.Level) != lvl || len(d.Entitlements) != 1 || d.Entitlements[0] != "pro" {
			t.Fatalf("level %d: decision level %d, entitlements %v", lvl, d.Level, d.Entitlements)
		}
		ins[lvl] = in
	}
	// Level 2 checks with the server once a day when it is reachable.
	ins[2].clock.Add(day + time.Minute)
	d := ins[2].Check(ctx)
	want(t, "level 2 daily check", d, true, clients.ReasonOK)

	g.stop()
	for lvl, in := range ins {
		in.clock.Add(2 * day)
		d := in.Check(stopped(t))
		want(t, "offline after 2 days", d, true, clients.ReasonOffline)
		switch lvl {
		case 1:
			if d.Contact != "" {
				t.Fatalf("level 1 tried the server (%s) with a fresh lease", d.Contact)
			}
		default:
			// Level 2's connection of its daily check may still look open
			// when the gateway has stopped: the request then finds it
			// broken (connection) rather than nothing listening.
			if d.Contact != clients.ReasonUnreachable && d.Contact != clients.ReasonTimeout && d.Contact != clients.ReasonConnection {
				t.Fatalf("level %d offline: contact %q, want unreachable", lvl, d.Contact)
			}
		}
	}
	// Having failed to reach the server, levels 2 and 3 do not wait for it
	// again at every check while the lease holds.
	ins[2].clock.Add(time.Minute)
	if d := ins[2].Check(stopped(t)); !d.Allowed || d.Contact != "" {
		t.Fatalf("level 2 a minute after an unreachable server: allowed %v, contact %q", d.Allowed, d.Contact)
	}
	// Level 3: warned from day 5, refused after day 7; levels 1 and 2 go on.
	for _, in := range ins {
		in.clock.Add(3*day + time.Hour) // day 5
	}
	d = ins[3].Check(stopped(t))
	want(t, "level 3 on day 5", d, true, clients.ReasonOffline)
	if d.Warning == "" {
		t.Fatalf("level 3 in its warning window without a warning")
	}
	for _, in := range ins {
		in.clock.Add(2 * day) // day 7 and an hour
	}
	want(t, "level 3 on day 7", ins[3].Check(stopped(t)), false, clients.ReasonOnlineOverdue)
	want(t, "level 1 on day 7", ins[1].Check(stopped(t)), true, clients.ReasonOffline)
	want(t, "level 2 on day 7", ins[2].Check(stopped(t)), true, clients.ReasonOffline)
	if s := ins[3].Status(); s.Level != 3 || s.DaysOffline != 0 || s.Lease != string(clients.ReasonOnlineOverdue) {
		t.Fatalf("level 3 status %+v", s)
	}
	if s := ins[1].Status(); s.DaysOffline != 22 || s.Product != product {
		t.Fatalf("level 1 status: %d days offline, product %q; want 22, %s", s.DaysOffline, s.Product, product)
	}
	// Past the lease: level 1 is refused too, and cannot decide without the
	// server.
	ins[1].clock.Add(30 * day)
	d = ins[1].Check(stopped(t))
	if d.Allowed || d.Decided() {
		t.Fatalf("level 1 past its lease, offline: allowed=%v decided=%v reason %s", d.Allowed, d.Decided(), d.Reason)
	}
}

func TestClockSetBack(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	key := g.mint(t, 1, service.Spec{})[0]
	in := open(t, g, "", machine("a", "02:00:00:00:00:01"), nil)
	activate(t, in, key)
	ctx := context.Background()
	in.clock.Add(-day) // the server knows better
	want(t, "a day back, server up", in.Check(ctx), false, clients.ReasonClockBack)
	in.clock.Add(day)
	want(t, "clock put right, server up", in.Check(ctx), true, clients.ReasonOffline)
	g.stop()
	in.clock.Add(3 * day) // the program runs for three days, offline
	want(t, "3 days on", in.Check(stopped(t)), true, clients.ReasonOffline)
	in.clock.Add(-2 * time.Minute) // small corrections are tolerated
	want(t, "2 minutes back", in.Check(stopped(t)), true, clients.ReasonOffline)
	in.clock.Add(-day)
	want(t, "a day back, server down", in.Check(stopped(t)), false, clients.ReasonClockBack)
	// The ratchet survives a restart of the program.
	again := open(t, g, in.dir, machine("a", "02:00:00:00:00:01"), in.clock)
	want(t, "after restart", again.Check(stopped(t)), false, clients.ReasonClockBack)
	in.clock.Add(day)
	want(t, "clock put right", again.Check(stopped(t)), true, clients.ReasonOffline)
}

func TestCopiedAndTamperedLease(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	key := g.mint(t, 1, service.Spec{Seats: 2})[0]
	in := open(t, g, "", machine("a", "02:00:00:00:00:01"), nil)
	activate(t, in, key)
	ctx := context.Background()

	// The license and lease files copied into another machine's state.
	other := filepath.Join(t.TempDir(), "state")
	if err := os.MkdirAll(other, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{clients.FileLicense, clients.FileLease} {
		b, err := os.ReadFile(filepath.Join(in.dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(other, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	copied := open(t, g, other, machine("b", "02:00:00:00:00:02"), nil)
	d := copied.Check(ctx)
	if d.Allowed {
		t.Fatalf("a copied lease was honoured on another machine (%s)", d.Reason)
	}

	// A tampered lease (entitlements edited, say) is refused offline and
	// replaced when the server is reachable.
	raw, err := os.ReadFile(filepath.Join(in.dir, clients.FileLease))
	if err != nil {
		t.Fatal(err)
	}
	lease, err := wire.DearmorLease(raw)
	if err != nil {
		t.Fatal(err)
	}
	lease[40] ^= 1
	if err := os.WriteFile(filepath.Join(in.dir, clients.FileLease), wire.ArmorLease(lease), 0o600); err != nil {
		t.Fatal(err)
	}
	tampered := open(t, g, in.dir, machine("a", "02:00:00:00:00:01"), in.clock)
	want(t, "tampered lease, server up", tampered.Check(ctx), true, clients.ReasonOK)
	if err := os.WriteFile(filepath.Join(in.dir, clients.FileLease), wire.ArmorLease(lease), 0o600); err != nil {
		t.Fatal(err)
	}
	g.stop()
	tampered = open(t, g, in.dir, machine("a", "02:00:00:00:00:01"), in.clock)
	want(t, "tampered lease, server down", tampered.Check(stopped(t)), false, clients.ReasonLeaseInvalid)
}

func TestDamagedStateRecovers(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	key := g.mint(t, 1, service.Spec{})[0]
	in := open(t, g, "", machine("a", "02:00:00:00:00:01"), nil)
	activate(t, in, key)
	for _, f := range []string{clients.FileLease, clients.FileChecks, clients.FileClock} {
		p := filepath.Join(in.dir, f)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b[:len(b)/2], 0o600); err != nil { // truncated
			t.Fatal(err)
		}
	}
	again := open(t, g, in.dir, machine("a", "02:00:00:00:00:01"), in.clock)
	if again.Damaged() == nil {
		t.Fatalf("truncated state files not reported")
	}
	want(t, "after damage", again.Check(context.Background()), true, clients.ReasonOK)
	if s := again.Status(); s.Lease != "" || s.Product != product {
		t.Fatalf("status after recovery: %+v", s)
	}
}

func TestNetworkCardChanged(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Now()} // the gateway's and the client's
	g := startGateway(t, func(c *gateway.Config) { c.Now = clock.Now })
	key := g.mint(t, 1, service.Spec{Policy: store.Policy{Level: 1, LeaseSeconds: 30 * 86400}})[0]
	in := open(t, g, "", machine("a", "02:00:00:00:00:01"), clock)
	activate(t, in, key)
	ctx := context.Background()
	newCard := open(t, g, in.dir, machine("a", "02:00:00:00:00:99"), in.clock)
	r := newCard.FingerprintReport()
	if !r.SameMachine || len(r.Changed) != 1 || r.Changed[0] != "mac" {
		t.Fatalf("fingerprint report after a new network card: %+v", r)
	}
	want(t, "new network card, offline", newCard.Check(ctx), true, clients.ReasonOffline)
	in.clock.Add(16 * day) // past half the lease: renewed with the new card
	want(t, "new network card, renewal", newCard.Check(ctx), true, clients.ReasonOK)
	if r := newCard.FingerprintReport(); len(r.Changed) != 0 {
		t.Fatalf("renewed lease still reports changes: %v", r.Changed)
	}
	// Two components changed of four: another machine.
	moved := open(t, g, in.dir, func() []clients.RawComponent {
		c := machine("a", "02:00:00:00:00:99")()
		c[0].Value, c[1].Value = "machine-x", "uuid-x"
		return c
	}, in.clock)
	want(t, "half the components changed", moved.Check(ctx), false, clients.ReasonOtherMachine)
}

func TestDeactivateFreesSeat(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	key := g.mint(t, 1, service.Spec{Seats: 1})[0]
	ctx := context.Background()
	a := open(t, g, "", machine("a", "02:00:00:00:00:01"), nil)
	b := open(t, g, "", machine("b", "02:00:00:00:00:02"), nil)
	activate(t, a, key)
	d := b.Activate(ctx, key)
	if d.Allowed || d.Reason != clients.ReasonNoSeat || d.Status != wire.StatusNoSeats || d.RetryAt != 0 {
		t.Fatalf("second machine on a one-seat license: %+v", d)
	}
	if err := a.Deactivate(ctx); err != nil {
		t.Fatalf("Deactivate: %v", err)
	}
	want(t, "after deactivation", a.Check(ctx), false, clients.ReasonNotActivated)
	activate(t, b, key)
	want(t, "second machine", b.Check(ctx), true, clients.ReasonOffline)
}

// BenchmarkCheckOffline is a start-up check that needs no server: the
// lease's composite signature verified, fingerprint and times compared.
func BenchmarkCheckOffline(b *testing.B) {
	g := startGateway(b)
	key := g.mint(b, 1, service.Spec{})[0]
	in := open(b, g, "", machine("a", "02:00:00:00:00:01"), nil)
	activate(b, in, key)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if d := in.Check(ctx); !d.Allowed || d.Contact != "" {
			b.Fatalf("Check: %s, contact %q", d.Reason, d.Contact)
		}
	}
}

// TestCheckNowAndOffline: Check asks the server only when the level and
// the lease's age call for it; CheckNow always does, and sees an
// operator's suspension at once; CheckOffline never does.
func TestCheckNowAndOffline(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	key := g.mint(t, 1, service.Spec{Policy: store.Policy{Level: 1, LeaseSeconds: 30 * 86400}})[0]
	in := open(t, g, "", machine("a", "02:00:00:00:00:01"), nil)
	activate(t, in, key)
	ctx := context.Background()
	want(t, "CheckNow", in.CheckNow(ctx), true, clients.ReasonOK)
	if _, err := service.ApplyLicenseOp(g.srv.Store(), g.srv.Identity().Hasher, key, service.OpSuspend, store.Term{}, "", time.Now()); err != nil {
		t.Fatal(err)
	}
	want(t, "Check, nothing due", in.Check(ctx), true, clients.ReasonOffline)
	want(t, "CheckOffline", in.CheckOffline(), true, clients.ReasonOffline)
	d := in.CheckNow(ctx)
	want(t, "CheckNow, suspended", d, false, clients.ReasonRefused)
	if d.Status != wire.StatusSuspended {
		t.Fatalf("CheckNow, suspended: status %v", d.Status)
	}
	want(t, "CheckOffline after the refusal", in.CheckOffline(), false, clients.ReasonLeaseExpired)
	if _, err := service.ApplyLicenseOp(g.srv.Store(), g.srv.Identity().Hasher, key, service.OpResume, store.Term{}, "", time.Now()); err != nil {
		t.Fatal(err)
	}
	want(t, "CheckNow, resumed", in.CheckNow(ctx), true, clients.ReasonOK)
	g.stop()
	d = in.CheckNow(stopped(t))
	want(t, "CheckNow, server gone", d, true, clients.ReasonOffline)
	if d.Contact.Decided() || !strings.Contains(d.Message, "could not be asked") {
		t.Fatalf("CheckNow, server gone: contact %q, message %q", d.Contact, d.Message)
	}
}

// TestActivateAnotherKeyFreesOldSeat: a second key of the same product
// activated into a state directory replaces the first license there and
// frees the seat the first held, which nothing else could free.
func TestActivateAnotherKeyFreesOldSeat(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	keys := g.mint(t, 2, service.Spec{Seats: 1})
	a := open(t, g, "", machine("a", "02:00:00:00:00:01"), nil)
	activate(t, a, keys[0])
	activate(t, a, keys[1])
	b := open(t, g, "", machine("b", "02:00:00:00:00:02"), nil)
	activate(t, b, keys[0])
	want(t, "the replacing license", a.CheckNow(context.Background()), true, clients.ReasonOK)
}
