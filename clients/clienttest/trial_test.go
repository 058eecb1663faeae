package clienttest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

const trialProduct = "1CJS2"

// openTrial opens a Licensee of trialProduct in dir on the machine comps.
func openTrial(t testing.TB, g *testGateway, code, dir string, comps func() []clients.RawComponent) *clients.Licensee {
	t.Helper()
	l, err := clients.OpenLicensee(clients.LicenseeConfig{
		Card: g.card, Product: code, StateDir: dir, Components: comps,
		Timeout: hang.Timeout(t), Hostname: "trial-host", AppVersion: "1.0",
	})
	if err != nil {
		t.Fatalf("OpenLicensee: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// TestTrialEndToEnd runs a keyless trial over real QUIC through the client
// library: the trial starts and Check allows the trial's entitlements;
// asked again, it is still the same trial; the state directory wiped (a
// reinstall, a network card changed too), the machine is refused
// trial-used; a product without a trial is no-trial; a bought key
// activated in the trial's state directory converts it: the same install
// holds the bought key's seat, the trial's seat is freed, and Check
// allows the bought entitlements.
func TestTrialEndToEnd(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	st := g.srv.Store()
	err := st.AddProduct(store.Product{Code: trialProduct, Name: "VSE 2.1 Pro, 1 client", Seats: 1,
		Term: store.Term{Kind: store.TermYears, Value: 1}, Entitlements: []string{"quarantine", "scan", "update"},
		Policy:     store.Policy{Level: 2, LeaseSeconds: 7 * 86400},
		TrialOffer: &store.TrialOffer{Days: 14, Entitlements: []string{"scan"}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "state")
	a := openTrial(t, g, trialProduct, dir, machine("a", "mac-a"))
	d := a.StartTrial(ctx)
	want(t, "StartTrial", d, true, clients.ReasonOK)
	if !slices.Equal(d.Entitlements, []string{"scan"}) {
		t.Fatalf("the trial grants %v, want [scan]", d.Entitlements)
	}
	want(t, "CheckNow of the trial", a.CheckNow(ctx), true, clients.ReasonOK)
	want(t, "StartTrial again", a.StartTrial(ctx), true, clients.ReasonOffline)

	ts, err := st.Trials(trialProduct)
	if err != nil || len(ts) != 1 {
		t.Fatalf("Trials = %+v, %v; want 1", ts, err)
	}
	trial := ts[0]
	if ends := time.Unix(trial.Ends, 0); ends.Before(time.Now().AddDate(0, 0, 13)) || ends.After(time.Now().AddDate(0, 0, 15)) {
		t.Fatalf("the trial ends %v, want in 14 days", ends)
	}

	// The state directory wiped: a new install on the same machine.
	wiped := filepath.Join(t.TempDir(), "state")
	b := openTrial(t, g, trialProduct, wiped, machine("a", "mac-a2"))
	d = b.StartTrial(ctx)
	want(t, "StartTrial after a reinstall", d, false, clients.ReasonTrialUsed)
	if d.Status != wire.StatusTrialUsed || d.Action == "" {
		t.Fatalf("trial-used decision: status %v, action %q", d.Status, d.Action)
	}
	want(t, "Check after the refused trial", b.Check(ctx), false, clients.ReasonNotActivated)

	// A product that offers no trial.
	c := openTrial(t, g, "1AJS2", filepath.Join(t.TempDir(), "state"), machine("c", "mac-c"))
	d = c.StartTrial(ctx)
	want(t, "StartTrial of a product without a trial", d, false, clients.ReasonNoTrial)
	if d.Status != wire.StatusNoTrial {
		t.Fatalf("no-trial decision: status %v", d.Status)
	}

	// Conversion: a bought key in the trial's state directory.
	prod, err := st.ProductByCode(trialProduct)
	if err != nil {
		t.Fatal(err)
	}
	key := g.g.Mint(t, trialProduct, 1, service.ProductSpec(&prod))[0]
	d = a.Activate(ctx, key)
	want(t, "Activate a bought key over the trial", d, true, clients.ReasonOK)
	if !slices.Equal(d.Entitlements, []string{"quarantine", "scan", "update"}) {
		t.Fatalf("the bought key grants %v", d.Entitlements)
	}
	bought, err := st.LicenseByKeyHash(g.srv.Identity().Hasher.Hash(key))
	if err != nil || bought.Trial {
		t.Fatalf("the bought license: %+v, %v", bought, err)
	}
	acts, err := st.Activations(bought.ID)
	if err != nil || len(acts) != 1 || acts[0].Install != trial.Install {
		t.Fatalf("the bought key's activations %v, %v: want one, of the trial's install", len(acts), err)
	}
	if acts, err := st.Activations(trial.License); err != nil || len(acts) != 0 {
		t.Fatalf("the trial still holds %d seats (%v) after the conversion", len(acts), err)
	}
	want(t, "CheckNow after the conversion", a.CheckNow(ctx), true, clients.ReasonOK)
	// Asking for the trial again keeps the bought license.
	d = a.StartTrial(ctx)
	if !d.Allowed || !slices.Equal(d.Entitlements, []string{"quarantine", "scan", "update"}) {
		t.Fatalf("StartTrial after the conversion: %+v", d)
	}
	a.Close()
	// The state directory reopened holds the bought license.
	re := openTrial(t, g, trialProduct, dir, machine("a", "mac-a"))
	d = re.CheckNow(ctx)
	want(t, "CheckNow of the reopened state", d, true, clients.ReasonOK)
	if !slices.Equal(d.Entitlements, []string{"quarantine", "scan", "update"}) {
		t.Fatalf("the reopened state grants %v", d.Entitlements)
	}
}

// TestClientTrialCommand runs tollgate-client trial against the test
// gateway: the trial starts and validates with its features; another state
// folder on this machine is refused trial-used; a product without a trial
// no-trial; each with its exit code.
func TestClientTrialCommand(t *testing.T) {
	t.Parallel()
	ctx := hang.Context(t)
	tmp := t.TempDir()
	exe := binary(t, "tollgate-client")
	g := startGateway(t)
	err := g.srv.Store().AddProduct(store.Product{Code: trialProduct, Name: "VSE 2.1 Pro", Entitlements: []string{"scan", "update"},
		Policy: store.Policy{Level: 2, LeaseSeconds: 7 * 86400}, TrialOffer: &store.TrialOffer{Days: 14, Entitlements: []string{"scan"}}})
	if err != nil {
		t.Fatal(err)
	}
	card := filepath.Join(tmp, "server.card")
	if err := os.WriteFile(card, g.card.Marshal(), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(state string, args ...string) (string, int) {
		t.Helper()
		cmd := exec.CommandContext(ctx, exe, append([]string{"--card", card, "--state", filepath.Join(tmp, state)}, args...)...)
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return o.String() + e.String(), code
	}
	expect := func(what string, out string, code, wantCode int, want string) {
		t.Helper()
		if code != wantCode || !strings.Contains(out, want) {
			t.Fatalf("%s: exit %d, output %q; want exit %d and %q", what, code, out, wantCode, want)
		}
	}
	out, code := run("a", "--product", trialProduct, "trial")
	expect("trial", out, code, 0, "The trial is running on this computer until ")
	out, code = run("a", "validate")
	expect("validate the trial", out, code, 0, "Features: scan.")
	out, code = run("b", "--product", trialProduct, "trial", "--json")
	expect("trial in another state folder", out, code, 1, `"status": "trial-used"`)
	out, code = run("c", "--product", product, "trial")
	expect("trial of a product without one", out, code, 1, "offers no trial")
	out, code = run("d", "trial")
	expect("trial without a product", out, code, 2, "--product CODE")
}
