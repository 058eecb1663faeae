package clienttest

import (
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// mintCatalogue mints one key of catalogue product code, with seats seats.
func (g *testGateway) mintCatalogue(t *testing.T, code string, seats uint32) keygen.Key {
	t.Helper()
	prod, err := g.srv.Store().ProductByCode(code)
	if err != nil {
		t.Fatal(err)
	}
	spec := service.ProductSpec(&prod)
	spec.Seats = seats
	return g.g.Mint(t, code, 1, spec)[0]
}

// openProduct opens the Licensee of program code in dir on machine m1;
// base and baseDir make it a plug-in's.
func openProduct(t *testing.T, g *testGateway, code, dir, base, baseDir string) *clients.Licensee {
	t.Helper()
	l, err := clients.OpenLicensee(clients.LicenseeConfig{
		Card: g.card, Product: code, StateDir: dir, Components: machine("m1", "aa:bb"),
		Timeout: hang.Timeout(t), Hostname: "test-host", AppVersion: "1.0", Base: base, BaseStateDir: baseDir,
	})
	if err != nil {
		t.Fatalf("OpenLicensee %s: %v", code, err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func wantEntitlements(t *testing.T, what string, d clients.Decision, ents ...string) {
	t.Helper()
	if !slices.Equal(d.Entitlements, ents) {
		t.Errorf("%s: entitlements %q, want %q", what, d.Entitlements, ents)
	}
}

// TestBundleKeyEndToEnd: over real QUIC, a key of the demo suite (1SJS2:
// Pro and Firewall) activates from VSE Pro's program, which gets Pro's
// entitlements; CheckProduct answers Firewall with its own and Lite with
// wrong-product; Lite's program activating the suite's key is refused
// wrong-product and the seat it took is freed again.
func TestBundleKeyEndToEnd(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	if _, err := service.LoadDemoCatalogue(g.srv.Store()); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	suite := g.mintCatalogue(t, "1SJS2", 2)
	pro := openProduct(t, g, "1CJS2", filepath.Join(t.TempDir(), "pro"), "", "")
	d := pro.Activate(ctx, suite)
	want(t, "Pro's program activates the suite's key", d, true, clients.ReasonOK)
	wantEntitlements(t, "Pro from the suite", d, "quarantine", "scan", "update")
	wantEntitlements(t, "Pro's check", pro.CheckNow(ctx), "quarantine", "scan", "update")

	d = pro.CheckProduct(ctx, "1FJS2")
	want(t, "CheckProduct Firewall", d, true, d.Reason)
	wantEntitlements(t, "Firewall from the suite", d, "firewall", "update")
	wantEntitlements(t, "the suite itself", pro.CheckProduct(ctx, "1SJS2"), "suite")
	d = pro.CheckProduct(ctx, "1AJS2")
	want(t, "CheckProduct Lite", d, false, clients.ReasonWrongProduct)
	if !strings.Contains(d.Message, "1AJS2") || len(d.Entitlements) != 0 {
		t.Errorf("wrong product: %q, entitlements %q", d.Message, d.Entitlements)
	}

	lite := openProduct(t, g, "1AJS2", filepath.Join(t.TempDir(), "lite"), "", "")
	d = lite.Activate(ctx, suite)
	want(t, "Lite's program activates the suite's key", d, false, clients.ReasonWrongProduct)
	if !strings.Contains(d.Message, "1SJS2") {
		t.Errorf("the refusal does not name the key's product: %q", d.Message)
	}
	id := store.IDFor(g.srv.Identity().Hasher.Hash(suite))
	if as, err := g.srv.Store().Activations(id); err != nil || len(as) != 1 {
		t.Fatalf("the suite's seats after the refused activation: %d, %v; want 1 (Pro's)", len(as), err)
	}
	want(t, "Lite's program after the refusal", lite.CheckOffline(), false, clients.ReasonNotActivated)
}

// TestPluginEndToEnd: over real QUIC, the Mail Shield plug-in (1MJS2, of
// Pro) is refused base-missing while Pro is not activated on this
// installation, by the client and, for a Pro license held elsewhere, by
// the gateway (BASE_MISSING with a sentence); once Pro is activated in
// the base's state directory the plug-in activates and checks, and after
// Pro is deactivated the plug-in is refused base-missing offline.
func TestPluginEndToEnd(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	if _, err := service.LoadDemoCatalogue(g.srv.Store()); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	mail := g.mintCatalogue(t, "1MJS2", 1)
	proKey := g.mintCatalogue(t, "1CJS2", 2)
	baseDir := filepath.Join(t.TempDir(), "pro")
	plugin := openProduct(t, g, "1MJS2", filepath.Join(t.TempDir(), "mail"), "1CJS2", baseDir)

	d := plugin.Activate(ctx, mail)
	want(t, "the plug-in without its base", d, false, clients.ReasonBaseMissing)
	if !strings.Contains(d.Message, "1CJS2") || d.Action == "" {
		t.Errorf("base missing: %q / %q", d.Message, d.Action)
	}

	// Pro activated on another installation does not count: the gateway
	// refuses the plug-in's key named beside it.
	elsewhere := openProduct(t, g, "1CJS2", filepath.Join(t.TempDir(), "elsewhere"), "", "")
	want(t, "Pro elsewhere", elsewhere.Activate(ctx, proKey), true, clients.ReasonOK)
	otherID := store.IDFor(g.srv.Identity().Hasher.Hash(proKey))
	static, err := channel.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := clients.New(clients.Config{Card: g.card, InstallKey: static, Timeout: hang.Timeout(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	fp := clients.Fingerprint("1MJS2", machine("m1", "aa:bb")())
	_, err = raw.ActivatePlugin(ctx, mail, otherID, fp, "test-host", "1.0")
	var se *wire.StatusError
	if !errors.As(err, &se) || se.Status != wire.StatusBaseMissing || !strings.Contains(se.Message, "activate 1CJS2 here first") {
		t.Fatalf("the plug-in beside Pro of another install: %v, want BASE_MISSING saying what to do", err)
	}

	pro := openProduct(t, g, "1CJS2", baseDir, "", "")
	want(t, "Pro on this installation", pro.Activate(ctx, proKey), true, clients.ReasonOK)
	d = plugin.Activate(ctx, mail)
	want(t, "the plug-in beside Pro", d, true, clients.ReasonOK)
	wantEntitlements(t, "the plug-in", d, "mail-scan")
	want(t, "the plug-in's check", plugin.CheckNow(ctx), true, clients.ReasonOK)
	mailID := store.IDFor(g.srv.Identity().Hasher.Hash(mail))
	if as, err := g.srv.Store().Activations(mailID); err != nil || len(as) != 1 {
		t.Fatalf("the plug-in's seats: %d, %v", len(as), err)
	}

	if err := pro.Deactivate(ctx); err != nil {
		t.Fatal(err)
	}
	want(t, "the plug-in once Pro is deactivated", plugin.CheckOffline(), false, clients.ReasonBaseMissing)
	want(t, "the plug-in's check once Pro is deactivated", plugin.Check(ctx), false, clients.ReasonBaseMissing)
}

// TestPluginAndBundleCLI: tollgate-client activates a plug-in with --base
// and --base-state: refused base-missing (exit 1, JSON status
// base-missing) until the base is activated in its state directory, then
// activated; a suite's key activates for Pro with --product and prints
// Pro's entitlements.
func TestPluginAndBundleCLI(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	if _, err := service.LoadDemoCatalogue(g.srv.Store()); err != nil {
		t.Fatal(err)
	}
	c := newClientCLI(t, g)
	tmp := t.TempDir()
	baseDir, mailDir := filepath.Join(tmp, "pro"), filepath.Join(tmp, "mail")
	mail, pro := g.mintCatalogue(t, "1MJS2", 1), g.mintCatalogue(t, "1CJS2", 1)
	plugin := func(args ...string) result {
		return runBinary(t, c.exe, append([]string{"--card", c.card, "--state", mailDir, "--product", "1MJS2", "--base", "1CJS2", "--base-state", baseDir}, args...)...)
	}
	r := plugin("--json", "activate", mail.Display())
	if a := r.jsonAnswer(t, "plug-in without base"); r.code != 1 || a["status"] != string(clients.ReasonBaseMissing) {
		t.Fatalf("the plug-in without its base: exit %d, %v", r.code, a)
	}
	runBinary(t, c.exe, "--card", c.card, "--state", baseDir, "activate", pro.Display()).expect(t, "activate Pro", 0, "activated")
	plugin("activate", mail.Display()).expect(t, "the plug-in beside Pro", 0, "activated")
	plugin("validate").expect(t, "the plug-in's validation", 0)

	suite := g.mintCatalogue(t, "1SJS2", 1)
	r = runBinary(t, c.exe, "--card", c.card, "--state", filepath.Join(tmp, "suite"), "--product", "1CJS2", "--json", "activate", suite.Display())
	a := r.jsonAnswer(t, "the suite's key for Pro")
	if ents, _ := a["entitlements"].([]any); r.code != 0 || len(ents) != 3 || ents[0] != "quarantine" {
		t.Fatalf("the suite's key for Pro: exit %d, %v", r.code, a)
	}
}
