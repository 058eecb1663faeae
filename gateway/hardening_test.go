package gateway_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/gateway/adminapi"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/wire"
)

// clock is a gateway clock that a test moves forward.
type clock struct{ off atomic.Int64 }

func (c *clock) now() time.Time                { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *clock) advance(d time.Duration)       { c.off.Add(int64(d)) }
func withClock(c *clock) func(*gateway.Config) { return func(cfg *gateway.Config) { cfg.Now = c.now } }

// activatedOnClock starts a gateway on clk and activates a one-seat key
// on machine 1 with a new install.
func activatedOnClock(t *testing.T, clk *clock) (*testGateway, *clients.Client, *clients.ActivateResult) {
	t.Helper()
	g := startGateway(t, withClock(clk))
	key := g.mint(t, 1, service.Spec{Seats: 1})[0]
	c := g.client(t)
	res, err := c.Activate(context.Background(), key, machine(1), "alpha", "1.0")
	if err != nil {
		t.Fatalf("Activate: %v", err)
	}
	return g, c, res
}

// TestWantLeaseSignsOncePerInterval: an install that sets the want-lease
// flag on every validation (issue: "forced signing") gets a newly signed
// lease only when its current one is at least ten minutes old; in between
// it is sent the lease signed last, and the gateway signs nothing.
func TestWantLeaseSignsOncePerInterval(t *testing.T) {
	t.Parallel()
	var clk clock
	g, c, res := activatedOnClock(t, &clk)
	ctx := context.Background()
	signed := func() int64 { return g.srv.Stats()["leases_signed"] }
	before := signed()
	counter := uint64(0)
	want := func() *clients.ValidateResult {
		t.Helper()
		counter++
		v, err := c.Validate(ctx, res.LicenseID, machine(1), counter, true)
		if err != nil {
			t.Fatalf("Validate %d asking for a lease: %v", counter, err)
		}
		return v
	}
	for i := 0; i < 50; i++ {
		if v := want(); !bytes.Equal(v.Lease, res.Lease) {
			t.Fatalf("validation %d: a lease of %d bytes, not the one signed at activation", i, len(v.Lease))
		}
	}
	if n := signed() - before; n != 0 {
		t.Fatalf("50 validations asking for a lease signed %d leases; want 0", n)
	}
	clk.advance(10*time.Minute + time.Second)
	v := want()
	if v.Lease == nil || bytes.Equal(v.Lease, res.Lease) {
		t.Fatal("no fresh lease once the current one is ten minutes old")
	}
	l, err := wire.VerifyLease(v.Lease, g.card.LeaseKeys)
	if err != nil || l.Issued != clk.now().Unix() && l.Issued != clk.now().Unix()-1 {
		t.Fatalf("the fresh lease: %v, issued %d", err, l.Issued)
	}
	if again := want(); !bytes.Equal(again.Lease, v.Lease) {
		t.Fatal("right after the fresh lease, another one than it")
	}
	if n := signed() - before; n != 1 {
		t.Fatalf("leases signed: %d, want 1", n)
	}
}

// TestClonedInstallRefused: a copy of an install (its install key and
// counter, on a machine with the same fingerprint) that replays a counter
// the gateway has already seen is refused with INSTALL_CLONED, the install
// that is ahead keeps working, and the license is flagged.
func TestClonedInstallRefused(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	dir := g.srv.Identity().Dir
	keys := g.mint(t, 1, service.Spec{Seats: 1})
	ctx := context.Background()
	k, err := channel.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	install := func() *clients.Client {
		c, err := clients.New(clients.Config{Card: g.card, InstallKey: k, Timeout: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	real, clone := install(), install()
	res, err := real.Activate(ctx, keys[0], machine(1), "alpha", "1.0")
	if err != nil {
		t.Fatalf("Activate: %v", err)
	}
	for n := uint64(1); n <= 3; n++ {
		mustValidate(t, real, res.LicenseID, n)
	}
	// The copy was taken at counter 3: its next check sends 4, after the
	// real install already has.
	mustValidate(t, real, res.LicenseID, 4)
	_, err = clone.Validate(ctx, res.LicenseID, machine(1), 4, false)
	wantStatus(t, err, wire.StatusInstallCloned)
	_, err = clone.Validate(ctx, res.LicenseID, machine(1), 2, true)
	wantStatus(t, err, wire.StatusInstallCloned)
	mustValidate(t, real, res.LicenseID, 5)

	// Flagged off the validation path: wait for it, as long as the test may.
	var l adminapi.License
	for deadline := time.Now().Add(hang.Timeout(t)); ; time.Sleep(20 * time.Millisecond) {
		l = adminDo(t, dir, adminapi.OpLicenseShow, adminapi.LicenseKey{Key: keys[0].Display()})
		if l.FlaggedAt != 0 || time.Now().After(deadline) {
			break
		}
	}
	if l.FlaggedAt == 0 || !strings.Contains(l.FlagReason, "two machines") {
		t.Fatalf("license not flagged as a cloned install: at %d, %q", l.FlaggedAt, l.FlagReason)
	}
	if !strings.Contains(g.logs.String(), "install clone refused") {
		t.Fatal("the clone was not logged")
	}
}

func mustValidate(t *testing.T, c *clients.Client, id [16]byte, counter uint64) {
	t.Helper()
	if _, err := c.Validate(context.Background(), id, machine(1), counter, false); err != nil {
		t.Fatalf("Validate with counter %d: %v", counter, err)
	}
}

// TestStolenDatabaseHoldsNoFingerprint: the database does not hold the
// fingerprint hashes a client sends (they are keyed by the product code,
// which is public, so a low-entropy component could be found from them):
// neither in the activation record nor in a stored lease.
func TestStolenDatabaseHoldsNoFingerprint(t *testing.T) {
	t.Parallel()
	var clk clock
	g, c, res := activatedOnClock(t, &clk)
	ctx := context.Background()
	// A fingerprint with one component changed is still the machine; the
	// renewal past half the lease's life rewrites the activation.
	changed := machine(1)
	changed.C[0].Hash[0] ^= 1
	clk.advance(4 * 24 * time.Hour)
	v, err := c.Validate(ctx, res.LicenseID, changed, 1, true)
	if err != nil || v.Lease == nil {
		t.Fatalf("renewal: %v", err)
	}
	mustValidate(t, c, res.LicenseID, 2)
	dir := g.srv.Identity().Dir
	g.stop()

	// Every byte of the database's files: the write-ahead log and older
	// versions of records included (records are not compressed).
	var all []byte
	err = filepath.WalkDir(gateway.StorePath(dir), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		all = append(all, b...)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(all, res.LicenseID[:]) {
		t.Fatal("the scan does not see the activation records")
	}
	for _, fp := range []wire.Fingerprint{machine(1), changed} {
		for _, comp := range fp.Components() {
			if bytes.Contains(all, comp.Hash[:]) {
				t.Fatalf("the database holds the client's %v hash", comp.Kind)
			}
		}
	}
}

// TestOldLimitsSpellingWarned: a config file with the limits' old Go field
// names still configures the gateway, and the log says what to write.
func TestOldLimitsSpellingWarned(t *testing.T) {
	t.Parallel()
	g := startGateway(t, func(c *gateway.Config) {
		if err := gateway.ParseConfig([]byte(`{"limits":{"MaxStreamsPerConn":4}}`), c); err != nil {
			t.Fatal(err)
		}
	})
	if !strings.Contains(g.logs.String(), `write \"max_streams_per_conn\"`) {
		t.Fatalf("no warning naming the new spelling in the log:\n%s", g.logs.String())
	}
}
