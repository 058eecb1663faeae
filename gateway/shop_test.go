package gateway_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// addShop registers a shop for networks and returns a client holding its key.
func (g *testGateway) addShop(t testing.TB, name string, quota uint32, networks ...string) *clients.ShopClient {
	t.Helper()
	return g.shopClient(t, g.registerShop(t, name, quota, networks...))
}

// registerShop registers a shop for networks and returns its private key.
func (g *testGateway) registerShop(t testing.TB, name string, quota uint32, networks ...string) channel.PrivateKey {
	t.Helper()
	k, err := channel.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sh := store.Shop{Name: name, PublicKey: k.Public(), Products: []string{"1AJS2", "1AJS3"}, DailyQuota: quota}
	for _, n := range networks {
		sh.Networks = append(sh.Networks, netip.MustParsePrefix(n))
	}
	if err := g.srv.Store().AddShop(sh); err != nil {
		t.Fatalf("AddShop: %v", err)
	}
	if err := g.srv.ReloadShops(); err != nil {
		t.Fatalf("ReloadShops: %v", err)
	}
	return k
}

// mintFrom mints one key as the shop with key k over a connection whose
// UDP socket is bound to the loopback address ip.
func mintFrom(t *testing.T, g *testGateway, ip string, k channel.PrivateKey) {
	t.Helper()
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Skipf("cannot bind %s: %v", ip, err)
	}
	tr := &quic.Transport{Conn: udp}
	defer tr.Close()
	ctx := hang.Context(t)
	addr, _ := net.ResolveUDPAddr("udp", g.card.Address)
	conn, err := tr.Dial(ctx, addr, channel.ClientTLSConfig(g.card.TLSPin), slack(t).QUICConfig())
	if err != nil {
		t.Fatalf("dial from %s: %v", ip, err)
	}
	defer conn.CloseWithError(0, "")
	sess, err := channel.OpenSession(ctx, conn, channel.Config{Pattern: channel.PatternKK, Static: k, RemoteStatic: g.card.NoiseKey, Limits: slack(t)})
	if err != nil {
		t.Fatalf("shop handshake from %s: %v", ip, err)
	}
	defer sess.Close()
	req := wire.MintRequest{OrderID: []byte("FROM-" + ip), Count: 1}
	copy(req.Product[:], "1AJS2")
	rand.Read(req.Nonce[:])
	if err := sess.WriteFrame(wire.AppendFrame(nil, 1, req)); err != nil {
		t.Fatal(err)
	}
	frame, err := sess.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	if hdr, _, err := wire.ParseHeader(frame); err != nil || hdr.Type != wire.TypeMintResponse {
		t.Fatalf("mint from %s: answer %v, %v", ip, hdr.Type, err)
	}
}

func (g *testGateway) shopClient(t testing.TB, k channel.PrivateKey) *clients.ShopClient {
	t.Helper()
	c, err := clients.NewShop(clients.ShopConfig{Card: g.card, ShopKey: k, Limits: slack(t), Timeout: hang.Timeout(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func startShopGateway(t testing.TB) *testGateway {
	t.Helper()
	g := startGateway(t)
	if _, err := service.LoadDemoCatalogue(g.srv.Store()); err != nil {
		t.Fatalf("LoadDemoCatalogue: %v", err)
	}
	return g
}

func TestShopMintRetryConflictAndActivate(t *testing.T) {
	t.Parallel()
	g := startShopGateway(t)
	shop := g.addShop(t, "acme", 0, "127.0.0.0/8", "::1/128")
	ctx := context.Background()
	spec := clients.MintSpec{Term: wire.Term{Kind: wire.TermYears, Value: 2}, Seats: 2, Entitlements: []string{"export.pdf", "scan"}}
	keys, err := shop.Mint(ctx, "ORD-1", "1AJS2", 5, spec)
	if err != nil {
		t.Fatalf("Mint: %v", err)
	}
	if len(keys) != 5 {
		t.Fatalf("got %d keys, want 5", len(keys))
	}
	again, err := shop.Mint(ctx, "ORD-1", "1AJS2", 5, spec)
	if err != nil {
		t.Fatalf("Mint retry: %v", err)
	}
	if !slices.Equal(keys, again) {
		t.Fatalf("a retried order returned other keys")
	}
	// Retried from a new connection too.
	shop.Close()
	if again, err = shop.Mint(ctx, "ORD-1", "1AJS2", 5, spec); err != nil || !slices.Equal(keys, again) {
		t.Fatalf("Mint retry after reconnect: %v (same keys: %v)", err, slices.Equal(keys, again))
	}
	_, err = shop.Mint(ctx, "ORD-1", "1AJS2", 6, spec)
	wantStatus(t, err, wire.StatusOrderConflict)
	// The order record keeps the keys sealed, never in the clear.
	o, err := g.srv.Store().OrderByID("acme", "ORD-1")
	if err != nil {
		t.Fatalf("OrderByID: %v", err)
	}
	for _, k := range keys {
		if bytes.Contains(o.Sealed, k[:]) || bytes.Contains(o.Request, k[:]) {
			t.Fatalf("the order record holds a key in the clear")
		}
	}
	_, err = shop.Mint(ctx, "ORD-2", "1BJS2", 1, clients.MintSpec{})
	wantStatus(t, err, wire.StatusShopNotAllowed)

	// The keys activate through the app channel with the minted spec.
	a := g.client(t)
	res, err := a.Activate(ctx, keys[0], machine(1), "alpha", "1.0")
	if err != nil {
		t.Fatalf("Activate: %v", err)
	}
	lease, err := wire.VerifyLease(res.Lease, g.card.LeaseKeys)
	if err != nil {
		t.Fatalf("lease: %v", err)
	}
	if !lease.Entitlements.Has("export.pdf") || !lease.Entitlements.Has("scan") || lease.Entitlements.Count() != 2 {
		t.Errorf("lease entitlements are not the minted ones")
	}
	if lo, hi := time.Now().AddDate(2, 0, -1).Unix(), time.Now().AddDate(2, 0, 1).Unix(); lease.LicenseExpiry < lo || lease.LicenseExpiry > hi {
		t.Errorf("license expiry %d is not two years out", lease.LicenseExpiry)
	}
	if lease.Level != 2 {
		t.Errorf("lease level %v, want the catalogue's 2", lease.Level)
	}
	if _, err := g.client(t).Activate(ctx, keys[0], machine(2), "beta", "1.0"); err != nil {
		t.Fatalf("second seat: %v", err)
	}
	_, err = g.client(t).Activate(ctx, keys[0], machine(3), "gamma", "1.0")
	wantStatus(t, err, wire.StatusNoSeats)
	st, err := shop.KeyOp(ctx, keys[0], wire.KeyOpStatus, wire.Term{})
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	if st.Seats != 2 || st.SeatsUsed != 2 || st.Status != wire.StatusOK || len(st.Activations) != 2 || st.Product != "1AJS2" {
		t.Fatalf("status = %+v", st)
	}

	// Product defaults apply when the order says nothing.
	def, err := shop.Mint(ctx, "ORD-3", "1AJS3", 1, clients.MintSpec{})
	if err != nil {
		t.Fatalf("Mint with defaults: %v", err)
	}
	if st, err := shop.KeyOp(ctx, def[0], wire.KeyOpStatus, wire.Term{}); err != nil || st.Seats != 10 {
		t.Fatalf("default seats: %+v, %v", st, err)
	}
	if strings.Contains(g.logs.String(), keys[0].Display()[6:]) {
		t.Fatalf("the gateway logged a license key")
	}
}

func TestShopKeyOpsOnOwnKeysOnly(t *testing.T) {
	t.Parallel()
	g := startShopGateway(t)
	a := g.addShop(t, "a", 0, "127.0.0.1/32", "::1/128")
	b := g.addShop(t, "b", 0, "127.0.0.1/32", "::1/128")
	ctx := context.Background()
	keys, err := a.Mint(ctx, "A-1", "1AJS2", 2, clients.MintSpec{})
	if err != nil {
		t.Fatalf("Mint: %v", err)
	}
	for _, op := range []wire.KeyOp{wire.KeyOpStatus, wire.KeyOpSuspend, wire.KeyOpRevoke, wire.KeyOpRenew} {
		_, err := b.KeyOp(ctx, keys[0], op, wire.Term{})
		wantStatus(t, err, wire.StatusNotFound)
	}
	app := g.client(t)
	res, err := app.Activate(ctx, keys[0], machine(1), "alpha", "1.0")
	if err != nil {
		t.Fatalf("Activate: %v", err)
	}
	if st, err := a.KeyOp(ctx, keys[0], wire.KeyOpSuspend, wire.Term{}); err != nil || st.Status != wire.StatusSuspended {
		t.Fatalf("suspend: %+v, %v", st, err)
	}
	_, err = app.Validate(ctx, res.LicenseID, machine(1), 1, false)
	wantStatus(t, err, wire.StatusSuspended)
	if _, err := a.KeyOp(ctx, keys[0], wire.KeyOpResume, wire.Term{}); err != nil {
		t.Fatalf("resume: %v", err)
	}
	if _, err := app.Validate(ctx, res.LicenseID, machine(1), 2, false); err != nil {
		t.Fatalf("validate after resume: %v", err)
	}
	before, _ := a.KeyOp(ctx, keys[0], wire.KeyOpStatus, wire.Term{})
	st, err := a.KeyOp(ctx, keys[0], wire.KeyOpRenew, wire.Term{Kind: wire.TermMonths, Value: 6})
	if err != nil || !st.Expiry.Equal(before.Expiry.AddDate(0, 6, 0)) {
		t.Fatalf("renew: %v -> %+v, %v", before.Expiry, st, err)
	}
	if st, err := a.KeyOp(ctx, keys[0], wire.KeyOpRevoke, wire.Term{}); err != nil || st.Status != wire.StatusRevoked {
		t.Fatalf("revoke: %+v, %v", st, err)
	}
	_, err = app.Validate(ctx, res.LicenseID, machine(1), 3, false)
	wantStatus(t, err, wire.StatusRevoked)
	_, err = a.KeyOp(ctx, keys[0], wire.KeyOpResume, wire.Term{})
	wantStatus(t, err, wire.StatusRevoked)
	if n, err := g.srv.Store().VerifyAudit(); err != nil || n == 0 {
		t.Fatalf("VerifyAudit = %d, %v", n, err)
	}
}

func TestShopRefusals(t *testing.T) {
	t.Parallel()
	g := startShopGateway(t)
	ctx := context.Background()
	// Registered for 127.0.0.2 only; the test connects from 127.0.0.1.
	farKey := g.registerShop(t, "far", 0, "127.0.0.2/32")
	_, err := g.shopClient(t, farKey).Mint(ctx, "F-1", "1AJS2", 1, clients.MintSpec{})
	wantStatus(t, err, wire.StatusShopNotAllowed)
	// From 127.0.0.2 the same shop gets in.
	mintFrom(t, g, "127.0.0.2", farKey)
	// An unregistered key (a stolen shop name is no use without its key).
	k, _ := channel.GenerateKey(rand.Reader)
	_, err = g.shopClient(t, k).Mint(ctx, "X-1", "1AJS2", 1, clients.MintSpec{})
	wantStatus(t, err, wire.StatusShopNotAllowed)

	// The refusal from the wrong address is audited (written off the
	// handshake path, so wait for it).
	deadline := time.Now().Add(hang.Timeout(t))
	for {
		log, err := g.srv.Store().AuditLog(0)
		if err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(log, func(e store.AuditEntry) bool { return e.Kind == "shop.refused" && e.Shop == "far" }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no audit entry for the refused shop")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Quota.
	q := g.addShop(t, "quota", 5, "127.0.0.1/32", "::1/128")
	if _, err := q.Mint(ctx, "Q-1", "1AJS2", 3, clients.MintSpec{}); err != nil {
		t.Fatalf("Mint: %v", err)
	}
	_, err = q.Mint(ctx, "Q-2", "1AJS2", 3, clients.MintSpec{})
	wantStatus(t, err, wire.StatusQuotaExceeded)
	if _, err := q.Mint(ctx, "Q-1", "1AJS2", 3, clients.MintSpec{}); err != nil {
		t.Fatalf("a retry does not count against the quota: %v", err)
	}
}

// TestChannelsDoNotMix sends shop requests on an app session and app
// requests on a shop session.
func TestChannelsDoNotMix(t *testing.T) {
	t.Parallel()
	g := startShopGateway(t)
	shopKey, _ := channel.GenerateKey(rand.Reader)
	sh := store.Shop{Name: "mix", PublicKey: shopKey.Public(), Products: []string{"1AJS2"},
		Networks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	if err := g.srv.Store().AddShop(sh); err != nil {
		t.Fatal(err)
	}
	if err := g.srv.ReloadShops(); err != nil {
		t.Fatal(err)
	}
	appKey, _ := channel.GenerateKey(rand.Reader)
	ctx := context.Background()
	conn, err := channel.Dial(ctx, g.card.Address, channel.ClientTLSConfig(g.card.TLSPin), slack(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseWithError(0, "")
	mint := wire.MintRequest{OrderID: []byte("O"), Count: 1}
	copy(mint.Product[:], "1AJS2")
	validate := wire.ValidateRequest{}
	for _, c := range []struct {
		pattern channel.Pattern
		static  channel.PrivateKey
		msg     wire.Message
	}{
		{channel.PatternIK, appKey, mint},
		{channel.PatternIK, appKey, wire.KeyOpRequest{Op: wire.KeyOpStatus}},
		{channel.PatternKK, shopKey, validate},
		{channel.PatternKK, shopKey, wire.TimeRequest{}},
	} {
		sess, err := channel.OpenSession(ctx, conn, channel.Config{Pattern: c.pattern, Static: c.static, RemoteStatic: g.card.NoiseKey, Limits: slack(t)})
		if err != nil {
			t.Fatalf("%v session: %v", c.pattern, err)
		}
		if err := sess.WriteFrame(wire.AppendFrame(nil, 7, c.msg)); err != nil {
			t.Fatal(err)
		}
		frame, err := sess.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		hdr, n, err := wire.ParseHeader(frame)
		if err != nil || hdr.Type != wire.TypeErrorResponse {
			t.Fatalf("%v session, %v: answer %v, %v; want an error response", c.pattern, c.msg.Type(), hdr.Type, err)
		}
		er, _, err := wire.ParseErrorResponse(frame[n:])
		if err != nil || er.Status != wire.StatusBadRequest {
			t.Fatalf("%v session, %v: status %v, %v; want BAD_REQUEST", c.pattern, c.msg.Type(), er.Status, err)
		}
		sess.Close()
	}
}

// BenchmarkMint10000 mints 10,000 keys per order through the shop channel,
// durably, end to end.
func BenchmarkMint10000(b *testing.B) {
	g := startShopGateway(b)
	shop := g.addShop(b, "bench", 0, "127.0.0.1/32", "::1/128")
	ctx := context.Background()
	if _, err := shop.Mint(ctx, "warm", "1AJS2", 1, clients.MintSpec{}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		keys, err := shop.Mint(ctx, "bench-"+strings.Repeat("x", i%3)+string(rune('a'+i%26))+time.Now().Format("150405.000000000"), "1AJS2", wire.MaxMintCount, clients.MintSpec{})
		if err != nil {
			b.Fatal(err)
		}
		if len(keys) != wire.MaxMintCount {
			b.Fatalf("%d keys", len(keys))
		}
	}
	b.ReportMetric(float64(b.N*wire.MaxMintCount)/time.Since(start).Seconds(), "keys/s")
}
