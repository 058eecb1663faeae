package gateway_test

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/gateway/gatewaytest"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/keygen/composite"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// slack is channel.Limits with the handshake limit raised to hang.Timeout:
// the 5 s default guards production gateways against slow peers, and is
// not what these tests check.
func slack(t testing.TB) channel.Limits {
	return channel.Limits{HandshakeTimeout: hang.Timeout(t)}
}

// testGateway is a real gateway on a loopback UDP port, in a temp dir.
type testGateway struct {
	srv  *gateway.Server
	card *wire.Card
	stop func()
	logs *gatewaytest.Logs // everything the gateway logged, at debug level
	g    *gatewaytest.Gateway
}

// Its handshake limit is hang.Timeout unless opts set another.
func startGateway(t testing.TB, opts ...func(*gateway.Config)) *testGateway {
	t.Helper()
	opts = append([]func(*gateway.Config){func(c *gateway.Config) { c.Limits = slack(t) }}, opts...)
	g := gatewaytest.Start(t, opts...)
	return &testGateway{srv: g.Server, card: g.Card, stop: g.Stop, logs: g.Logs, g: g}
}

func (g *testGateway) mint(t testing.TB, n int, spec service.Spec) []keygen.Key {
	t.Helper()
	return g.g.Mint(t, "1AJS2", n, spec)
}

func (g *testGateway) client(t testing.TB) *clients.Client {
	t.Helper()
	k, err := channel.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c, err := clients.New(clients.Config{Card: g.card, InstallKey: k, Limits: slack(t), Timeout: hang.Timeout(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// session opens a raw app session (a new install key) on its own
// connection, for tests that write frames a client would not.
func (g *testGateway) session(t testing.TB, ctx context.Context) *channel.Session {
	t.Helper()
	conn, err := channel.Dial(ctx, g.card.Address, channel.ClientTLSConfig(g.card.TLSPin), slack(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.CloseWithError(0, "") })
	k, _ := channel.GenerateKey(rand.Reader)
	sess, err := channel.OpenSession(ctx, conn, channel.Config{Pattern: channel.PatternIK, Static: k, RemoteStatic: g.card.NoiseKey, Limits: slack(t)})
	if err != nil {
		t.Fatal(err)
	}
	return sess
}

// machine returns the fingerprint of test machine i; no two share a component.
func machine(i int) wire.Fingerprint {
	id := strconv.Itoa(i)
	return clients.Fingerprint("1AJS2", []clients.RawComponent{
		{Kind: wire.KindMachineID, Value: "machine-" + id},
		{Kind: wire.KindMAC, Value: "02:00:00:00:00:" + id},
		{Kind: wire.KindDisk, Value: "disk-" + id},
	})
}

func wantStatus(t *testing.T, err error, want wire.Status) {
	t.Helper()
	var se *wire.StatusError
	if !errors.As(err, &se) || se.Status != want {
		t.Fatalf("got %v, want status %v", err, want)
	}
}

func TestEndToEnd(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	keys := g.mint(t, 3, service.Spec{Seats: 1, Entitlements: []string{"pro", "reports"}})
	ctx := context.Background()

	a := g.client(t)
	res, err := a.Activate(ctx, keys[0], machine(1), "alpha", "1.0")
	if err != nil {
		t.Fatalf("Activate: %v", err)
	}
	lease, err := wire.VerifyLease(res.Lease, g.card.LeaseKeys)
	if err != nil {
		t.Fatalf("lease: %v", err)
	}
	if !lease.Entitlements.Has("pro") || !lease.Entitlements.Has("reports") || lease.Entitlements.Has("admin") {
		t.Fatalf("lease entitlements wrong")
	}
	if lease.LicenseExpiry == 0 || lease.LicenseExpiry < time.Now().AddDate(1, 0, -1).Unix() {
		t.Fatalf("a 1-year term starting at activation should end in a year, got %d", lease.LicenseExpiry)
	}
	// Re-activating the same install on the same machine takes no second seat.
	if _, err := a.Activate(ctx, keys[0], machine(1), "alpha", "1.0"); err != nil {
		t.Fatalf("re-Activate: %v", err)
	}
	for i := 0; i < 200; i++ {
		v, err := a.Validate(ctx, res.LicenseID, machine(1), uint64(i+1), false)
		if err != nil {
			t.Fatalf("Validate %d: %v", i, err)
		}
		if v.Lease != nil {
			t.Fatalf("validation %d signed a lease the client did not need", i)
		}
	}
	// Asking for a lease while the current one is fresh gets the one
	// signed last (TestWantLeaseSignsOncePerInterval).
	v, err := a.Validate(ctx, res.LicenseID, machine(1), 1000, true)
	if err != nil || v.Lease == nil {
		t.Fatalf("Validate asking for a lease: %v, lease %d bytes", err, len(v.Lease))
	}
	if _, err := a.ServerTime(ctx); err != nil {
		t.Fatalf("ServerTime: %v", err)
	}

	// A second machine finds no seat; a copy of the install key on another
	// machine is refused.
	b := g.client(t)
	_, err = b.Activate(ctx, keys[0], machine(2), "beta", "1.0")
	wantStatus(t, err, wire.StatusNoSeats)
	_, err = a.Validate(ctx, res.LicenseID, machine(3), 2000, false)
	wantStatus(t, err, wire.StatusFingerprintMismatch)
	_, err = b.Validate(ctx, res.LicenseID, machine(2), 1, false)
	wantStatus(t, err, wire.StatusNotActivated)

	// Deactivate, then the second machine gets the seat.
	if err := a.Deactivate(ctx, res.LicenseID); err != nil {
		t.Fatalf("Deactivate: %v", err)
	}
	_, err = a.Validate(ctx, res.LicenseID, machine(1), 3000, false)
	wantStatus(t, err, wire.StatusNotActivated)
	if _, err := b.Activate(ctx, keys[0], machine(2), "beta", "1.0"); err != nil {
		t.Fatalf("Activate elsewhere after deactivation: %v", err)
	}

	// Refusals, each with its status; the gateway keeps serving.
	var unknown keygen.Key
	p, _ := keygen.ParseProductCode("1AJS2")
	if unknown, err = keygen.Mint(p, nil); err != nil {
		t.Fatal(err)
	}
	_, err = a.Activate(ctx, unknown, machine(1), "alpha", "1.0")
	wantStatus(t, err, wire.StatusNotFound)
	bad := keys[1]
	// A typo (another character of the alphabet: the wire refuses any
	// other byte as a malformed request): the check character no longer
	// matches.
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	bad[10] = alphabet[(strings.IndexByte(alphabet, bad[10])+1)%len(alphabet)]
	_, err = a.Activate(ctx, bad, machine(1), "alpha", "1.0")
	wantStatus(t, err, wire.StatusMalformedKey)
	var zero wire.Fingerprint
	zero.N = 2
	zero.C[0].Kind, zero.C[1].Kind = wire.KindMachineID, wire.KindMAC
	_, err = a.Activate(ctx, keys[1], zero, "alpha", "1.0")
	wantStatus(t, err, wire.StatusFingerprintRejected)

	// Suspend, revoke and expire through the store: seen by the very next
	// validation.
	lic, err := g.srv.Store().LicenseByID(res.LicenseID)
	if err != nil {
		t.Fatal(err)
	}
	mustValidateOK(t, b, res.LicenseID, 5)
	setState := func(s store.State) {
		if err := g.srv.Store().Update(lic.ID, func(tx *store.Tx) error { tx.License.State = s; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	setState(store.StateSuspended)
	_, err = b.Validate(ctx, res.LicenseID, machine(2), 10, false)
	wantStatus(t, err, wire.StatusSuspended)
	setState(store.StateActive)
	mustValidateOK(t, b, res.LicenseID, 6) // the refused 10 moved nothing
	setState(store.StateRevoked)
	_, err = b.Validate(ctx, res.LicenseID, machine(2), 11, false)
	wantStatus(t, err, wire.StatusRevoked)
	_, err = b.Activate(ctx, keys[0], machine(2), "beta", "1.0")
	wantStatus(t, err, wire.StatusRevoked)

	expired := g.mint(t, 1, service.Spec{AbsExpiry: time.Now().Add(-time.Hour).Unix()})
	_, err = a.Activate(ctx, expired[0], machine(1), "alpha", "1.0")
	wantStatus(t, err, wire.StatusExpired)

	// After all that, a fresh client is still served.
	c := g.client(t)
	if _, err := c.Activate(ctx, keys[2], machine(9), "gamma", "1.0"); err != nil {
		t.Fatalf("gateway stopped serving others: %v", err)
	}

	// The gateway logged what happened, and never a key.
	g.stop()
	logs := g.logs.String()
	if !strings.Contains(logs, "activated") {
		t.Fatalf("the gateway logged no activation")
	}
	for _, k := range append(keys, bad, unknown, expired[0]) {
		raw := k.Display()
		if strings.Contains(logs, raw) || strings.Contains(logs, strings.ReplaceAll(raw, "-", "")) || strings.Contains(logs, raw[6:17]) {
			t.Fatalf("the gateway logged a license key in the clear")
		}
	}
}

func mustValidateOK(t *testing.T, c *clients.Client, id [16]byte, counter uint64) {
	t.Helper()
	if _, err := c.Validate(context.Background(), id, machine(2), counter, false); err != nil {
		t.Fatalf("Validate with counter %d: %v", counter, err)
	}
}

func TestWrongServerKeyAndPin(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	keys := g.mint(t, 1, service.Spec{})
	ctx := context.Background()

	other, _ := channel.GenerateKey(rand.Reader)
	wrongKey := *g.card
	wrongKey.NoiseKey = other.Public()
	k, _ := channel.GenerateKey(rand.Reader)
	c, _ := clients.New(clients.Config{Card: &wrongKey, InstallKey: k, Limits: slack(t), Timeout: hang.Timeout(t)})
	defer c.Close()
	if _, err := c.Activate(ctx, keys[0], machine(1), "h", "1"); !errors.Is(err, clients.ErrHandshake) {
		t.Fatalf("wrong server key: %v, want ErrHandshake", err)
	}

	wrongPin := *g.card
	wrongPin.TLSPin[0] ^= 1
	c2, _ := clients.New(clients.Config{Card: &wrongPin, InstallKey: k, Limits: slack(t), Timeout: hang.Timeout(t)})
	defer c2.Close()
	if _, err := c2.Activate(ctx, keys[0], machine(1), "h", "1"); !errors.Is(err, clients.ErrHandshake) {
		t.Fatalf("wrong TLS pin: %v, want ErrHandshake", err)
	}

	if _, err := g.client(t).Activate(ctx, keys[0], machine(1), "h", "1"); err != nil {
		t.Fatalf("right card after wrong ones: %v", err)
	}
}

// TestTamperedAndOversizedFrames talks to the gateway through a raw session:
// a record with a flipped bit and a frame header announcing more than the
// maximum each end that session only.
func TestTamperedAndOversizedFrames(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	keys := g.mint(t, 1, service.Spec{})
	ctx := hang.Context(t)
	for _, tc := range []struct {
		name  string
		frame func() []byte
	}{
		{"oversized", func() []byte {
			// Far more than any validation can be: refused by its header.
			h := wire.Header{Type: wire.TypeValidateRequest, RequestID: 1, Length: 100000}
			return append(h.Append(nil), make([]byte, 100000)...)
		}},
		{"unknown type", func() []byte {
			return []byte{wire.ProtocolVersion, 0x55, 0, 0, 0, 1, 0, 0, 0, 0}
		}},
		{"future version", func() []byte {
			return []byte{wire.ProtocolVersion + 1, byte(wire.TypeTimeRequest), 0, 0, 0, 1, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sess := g.session(t, ctx)
			if err := sess.WriteFrame(tc.frame()); err != nil {
				t.Fatal(err)
			}
			sess.SetReadDeadline(time.Now().Add(hang.Timeout(t)))
			// The gateway answers with an error frame and/or ends the session.
			for {
				f, err := sess.ReadFrame()
				if errors.Is(err, os.ErrDeadlineExceeded) {
					t.Fatal("the gateway neither answered nor ended the session")
				}
				if err != nil {
					break
				}
				h, n, err := wire.ParseHeader(f)
				if err != nil || h.Type != wire.TypeErrorResponse {
					t.Fatalf("unexpected answer %v %v", h.Type, err)
				}
				e, _, err := wire.ParseErrorResponse(f[n:])
				if err != nil || e.Status == wire.StatusOK {
					t.Fatalf("error response: %v %v", e.Status, err)
				}
				if tc.name == "future version" && e.Status != wire.StatusUnsupportedVersion {
					t.Fatalf("future version answered %v, want UNSUPPORTED_VERSION", e.Status)
				}
			}
		})
	}
	t.Run("tampered record", func(t *testing.T) {
		conn, err := channel.Dial(ctx, g.card.Address, channel.ClientTLSConfig(g.card.TLSPin), slack(t))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.CloseWithError(0, "")
		str, err := conn.OpenStreamSync(ctx)
		if err != nil {
			t.Fatal(err)
		}
		k, _ := channel.GenerateKey(rand.Reader)
		tw := &tamper{ReadWriteCloser: str}
		sess, err := channel.ClientHandshake(tw, channel.Config{Pattern: channel.PatternIK, Static: k, RemoteStatic: g.card.NoiseKey, Limits: slack(t)})
		if err != nil {
			t.Fatal(err)
		}
		tw.flip.Store(true)
		req := wire.TimeRequest{}
		if err := sess.WriteFrame(wire.AppendFrame(nil, 1, req)); err != nil {
			t.Fatal(err)
		}
		str.SetReadDeadline(time.Now().Add(hang.Timeout(t)))
		if _, err := sess.ReadFrame(); err == nil {
			t.Fatal("the gateway answered a tampered record")
		}
	})
	if _, err := g.client(t).Activate(ctx, keys[0], machine(1), "h", "1"); err != nil {
		t.Fatalf("gateway stopped serving after bad frames: %v", err)
	}
}

// tamper flips one bit of the last byte of each write once armed.
type tamper struct {
	io.ReadWriteCloser
	flip atomic.Bool
}

func (w *tamper) Write(p []byte) (int, error) {
	if w.flip.Load() && len(p) > 0 {
		q := append([]byte(nil), p...)
		q[len(q)-1] ^= 1
		return w.ReadWriteCloser.Write(q)
	}
	return w.ReadWriteCloser.Write(p)
}

// TestSeatRace fires 500 concurrent activations from distinct machines at a
// 10-seat license: exactly 10 succeed.
func TestSeatRace(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	keys := g.mint(t, 1, service.Spec{Seats: 10})
	ctx := context.Background()
	const n = 500
	cs := make([]*clients.Client, n)
	for i := range cs {
		cs[i] = g.client(t)
		// Connect first, so the activations themselves race.
		if _, err := cs[i].ServerTime(ctx); err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
	}
	var ok, full atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range cs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			_, err := cs[i].Activate(ctx, keys[0], machine(i), "host", "1.0")
			var se *wire.StatusError
			switch {
			case err == nil:
				ok.Add(1)
			case errors.As(err, &se) && se.Status == wire.StatusNoSeats:
				full.Add(1)
			default:
				t.Errorf("activation %d: %v", i, err)
			}
		}(i)
	}
	close(start)
	wg.Wait()
	if ok.Load() != 10 || full.Load() != n-10 {
		t.Fatalf("%d activations succeeded, %d found no seat; want 10 and %d", ok.Load(), full.Load(), n-10)
	}
	lic, err := g.srv.Store().LicenseByKeyHash(g.srv.Identity().Hasher.Hash(keys[0]))
	if err != nil {
		t.Fatal(err)
	}
	acts, err := g.srv.Store().Activations(lic.ID)
	if err != nil || len(acts) != 10 {
		t.Fatalf("store holds %d activations (%v), want 10", len(acts), err)
	}
}

func TestInitRefusesToOverwrite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := gateway.Init(dir, composite.MLDSA65Ed25519, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := gateway.Init(dir, composite.MLDSA44Ed25519, ""); !errors.Is(err, gateway.ErrIdentityExists) {
		t.Fatalf("second Init = %v, want ErrIdentityExists", err)
	}
	for _, f := range []string{gateway.FileNoiseKey, gateway.FileTLSKey, gateway.FileLeaseKey, gateway.FileKeySecret} {
		if m := fileMode(t, filepath.Join(dir, f)); m != 0o600 {
			t.Errorf("%s has mode %o, want 600", f, m)
		}
	}
	id, err := gateway.LoadIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	if id.LeaseKey.Public().Scheme() != composite.MLDSA65Ed25519 || len(id.Card.LeaseKeys) != 1 {
		t.Fatalf("the identity does not hold the chosen ML-DSA-65 lease key")
	}
}

// TestKeyGuessesRateLimited: an address that tries too many unknown keys
// gets RATE_LIMITED for its unknown keys, while a key that exists still
// activates from that address (one guesser behind a company's NAT must not
// lock the office out) and the licenses it holds keep validating.
func TestKeyGuessesRateLimited(t *testing.T) {
	t.Parallel()
	g := startGateway(t, func(c *gateway.Config) { c.KeyGuessBurst, c.KeyGuessRefill = 3, time.Hour })
	keys := g.mint(t, 2, service.Spec{Seats: 2})
	ctx := context.Background()
	guesser := g.client(t)
	res, err := guesser.Activate(ctx, keys[0], machine(1), "alpha", "1.0")
	if err != nil {
		t.Fatalf("Activate: %v", err)
	}
	p, _ := keygen.ParseProductCode("1AJS2")
	guess := func() error {
		k, err := keygen.Mint(p, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = guesser.Activate(ctx, k, machine(1), "alpha", "1.0")
		return err
	}
	for i := 0; i < 3; i++ {
		wantStatus(t, guess(), wire.StatusNotFound)
	}
	wantStatus(t, guess(), wire.StatusRateLimited)
	// A malformed key from a limited address is limited too.
	var bad keygen.Key
	for i := range bad {
		bad[i] = 'A' // the check character does not match
	}
	_, err = guesser.Activate(ctx, bad, machine(1), "alpha", "1.0")
	wantStatus(t, err, wire.StatusRateLimited)
	// A colleague behind the same address activates a real key.
	if _, err := g.client(t).Activate(ctx, keys[1], machine(2), "beta", "1.0"); err != nil {
		t.Fatalf("a valid key from a limited address: %v", err)
	}
	wantStatus(t, guess(), wire.StatusRateLimited)
	if _, err := guesser.Validate(ctx, res.LicenseID, machine(1), 1, false); err != nil {
		t.Fatalf("Validate of a license already held: %v", err)
	}
}

// TestPipelinedSlowRequestsAnswered: a client that pipelines far more
// activations than a session answers at once (maxSlowPerSession) gets every
// one answered, in its own time, on the same session.
func TestPipelinedSlowRequestsAnswered(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	ctx := hang.Context(t)
	sess := g.session(t, ctx)
	const n = 300
	p, _ := keygen.ParseProductCode("1AJS2")
	go func() {
		for i := range n {
			key, _ := keygen.Mint(p, nil)
			req := wire.ActivateRequest{Key: key, Fingerprint: machine(i), Hostname: []byte("h"), AppVersion: []byte("1")}
			req.Nonce[0], req.Nonce[1] = byte(i), byte(i>>8)
			if sess.WriteFrame(wire.AppendFrame(nil, uint32(i+1), req)) != nil {
				return
			}
		}
	}()
	sess.SetReadDeadline(time.Now().Add(hang.Timeout(t)))
	seen := make(map[uint32]bool)
	for len(seen) < n {
		f, err := sess.ReadFrame()
		if err != nil {
			t.Fatalf("after %d answers: %v", len(seen), err)
		}
		h, nh, err := wire.ParseHeader(f)
		if err != nil || h.Type != wire.TypeErrorResponse {
			t.Fatalf("answer %v %v, want an error response", h.Type, err)
		}
		e, _, err := wire.ParseErrorResponse(f[nh:])
		if err != nil || (e.Status != wire.StatusNotFound && e.Status != wire.StatusRateLimited) {
			t.Fatalf("status %v %v, want NOT_FOUND or RATE_LIMITED", e.Status, err)
		}
		if seen[h.RequestID] || h.RequestID < 1 || h.RequestID > n {
			t.Fatalf("request id %d answered twice or never asked", h.RequestID)
		}
		seen[h.RequestID] = true
	}
}
