package clienttest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/keygen/composite"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// clientCLI runs tollgate-client with a card and a state directory.
type clientCLI struct {
	t           *testing.T
	exe         string
	card, state string
}

func newClientCLI(t *testing.T, g *testGateway) clientCLI {
	t.Helper()
	tmp := t.TempDir()
	card := filepath.Join(tmp, "server.card")
	if err := os.WriteFile(card, g.card.Marshal(), 0o600); err != nil {
		t.Fatal(err)
	}
	return clientCLI{t: t, exe: binary(t, "tollgate-client"), card: card, state: filepath.Join(tmp, "state")}
}

func (c clientCLI) run(args ...string) result {
	c.t.Helper()
	return runBinary(c.t, c.exe, append([]string{"--card", c.card, "--state", c.state}, args...)...)
}

// operator applies op to key's license in process, through the gateway's
// own store, as 'tollgate license OP' does.
func operator(t *testing.T, g *testGateway, key keygen.Key, op service.LicenseOp) {
	t.Helper()
	if _, err := service.ApplyLicenseOp(g.srv.Store(), g.srv.Identity().Hasher, key, op, store.Term{}, "", time.Now()); err != nil {
		t.Fatalf("operator %s: %v", op, err)
	}
}

// TestValidateAsksServer: 'tollgate-client validate' asks the server, so
// an operator's suspension is seen at once, and a resumption too;
// 'validate --offline' and 'status' decide from the saved lease alone.
// With the server gone, validate falls back to the lease and says so.
func TestValidateAsksServer(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	// Level 1 with a month's lease: Check alone would not ask the server
	// for two weeks.
	key := g.mint(t, 1, service.Spec{Seats: 1, Policy: store.Policy{Level: 1, LeaseSeconds: 30 * 86400}})[0]
	c := newClientCLI(t, g)
	c.run("activate", key.Display()).expect(t, "activate", 0, "activated on this machine")
	c.run("validate").expect(t, "validate", 0, "the license server confirmed it")

	operator(t, g, key, service.OpSuspend)
	c.run("validate", "--offline").expect(t, "validate --offline, suspended on the server", 0, "checked offline against the saved lease")
	c.run("status").expect(t, "status, suspended on the server", 0, "The saved license is valid")
	r := c.run("validate")
	r.expect(t, "validate, suspended", 1, "The license is suspended.")
	m := c.run("--json", "validate").jsonAnswer(t, "validate --json, suspended")
	if m["status"] != "refused" || m["server_status"] != "SUSPENDED" || m["allowed"] != false {
		t.Fatalf("validate --json, suspended: %v", m)
	}
	// A refusal is final offline too: the lease is dropped.
	c.run("validate", "--offline").expect(t, "validate --offline after the refusal", 1)

	operator(t, g, key, service.OpResume)
	c.run("validate").expect(t, "validate, resumed", 0, "the license server confirmed it")
	c.run("validate", "--offline").expect(t, "validate --offline, resumed", 0, "checked offline")

	g.stop()
	c.run("validate").expect(t, "validate, server gone", 0, "checked offline against the saved lease", "could not be asked")
	m = c.run("validate", "--json").jsonAnswer(t, "validate --json, server gone")
	if m["status"] != "offline" || m["allowed"] != true || (m["contact"] != "unreachable" && m["contact"] != "timeout") {
		t.Fatalf("validate --json, server gone: %v", m)
	}
}

// TestWrongCardFreesSeat: a card whose lease key is not the gateway's
// (here another gateway's) gets a lease it cannot verify. The client says
// so, with exit 3 and reason wrong-card, not as a network failure, and
// frees the seat the activation took: another machine can then activate
// the one-seat key.
func TestWrongCardFreesSeat(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	key := g.mint(t, 1, service.Spec{Seats: 1})[0]
	other, err := gateway.Init(t.TempDir(), composite.MLDSA44Ed25519, "127.0.0.1:7443")
	if err != nil {
		t.Fatal(err)
	}
	wrong := *g.card
	wrong.LeaseKeys = other.Card.LeaseKeys
	c := newClientCLI(t, g)
	if err := os.WriteFile(c.card, wrong.Marshal(), 0o600); err != nil {
		t.Fatal(err)
	}
	r := c.run("--explicit", "machine-1", "activate", key.Display())
	r.expect(t, "activate with a wrong card", 3, "not signed by the key in this program's server card", "seat this activation took has been freed")
	if strings.Contains(r.stdout+r.stderr, "internet connection") {
		t.Fatalf("a wrong card reported as a network problem: %q", r.stderr)
	}
	m := c.run("--explicit", "machine-1", "--json", "activate", key.Display()).jsonAnswer(t, "activate --json with a wrong card")
	if m["status"] != "wrong-card" || m["allowed"] != false {
		t.Fatalf("activate --json with a wrong card: %v", m)
	}
	c.run("--explicit", "machine-1", "status").expect(t, "status after the wrong card", 1, "No license is activated")

	right := newClientCLI(t, g)
	right.run("--explicit", "machine-2", "activate", key.Display()).expect(t, "another machine, right card, one-seat key", 0, "activated on this machine")
}

// TestActivateKeepsHeldLicense: activating a key of another product into a
// state directory holding a license is refused (the held license's seat
// would be lost), and says to deactivate first; a damaged install.key with
// a license held is not replaced, and the message says what to do.
func TestActivateKeepsHeldLicense(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	key := g.mint(t, 1, service.Spec{Seats: 1})[0]
	otherKey := g.g.Mint(t, "2BKT3", 1, service.Spec{Seats: 1})[0]
	c := newClientCLI(t, g)
	c.run("activate", key.Display()).expect(t, "activate", 0)

	c.run("activate", otherKey.Display()).expect(t, "activate another product into the same state", 1,
		"already holds the license of product "+product, "Deactivate it first ('tollgate-client --state "+c.state+" deactivate')")
	m := c.run("--json", "activate", otherKey.Display()).jsonAnswer(t, "activate --json, another product")
	if m["status"] != "other-license-held" {
		t.Fatalf("activate --json, another product: %v", m)
	}
	if got := clientsSavedProduct(c.state); got != product {
		t.Fatalf("the state now holds product %q, want %s", got, product)
	}
	c.run("validate").expect(t, "the held license after the refusal", 0, "the license server confirmed it")
	// Deactivated first, the other product activates there.
	c.run("deactivate").expect(t, "deactivate", 0)
	c.run("activate", otherKey.Display()).expect(t, "the other product, after deactivation", 0)
	c.run("deactivate").expect(t, "deactivate the other product", 0)
	c.run("activate", key.Display()).expect(t, "activate again", 0)

	// install.key damaged while the license is held.
	keyFile := filepath.Join(c.state, "install.key")
	if err := os.WriteFile(keyFile, []byte("damaged\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"validate", "status", "deactivate"} {
		r := c.run(cmd)
		r.expect(t, cmd+" with a damaged install.key", 1, "install key is damaged", "Restore install.key from a backup", "free this machine's seat")
		if b, _ := os.ReadFile(keyFile); string(b) != "damaged\n" {
			t.Fatalf("%s replaced the damaged install.key", cmd)
		}
	}
	m = c.run("--json", "activate", key.Display()).jsonAnswer(t, "activate --json, damaged install.key")
	if m["status"] != "install-key-damaged" {
		t.Fatalf("activate --json, damaged install.key: %v", m)
	}
}

func clientsSavedProduct(dir string) string {
	b, _ := os.ReadFile(filepath.Join(dir, "license"))
	if f := strings.Fields(string(b)); len(f) == 2 {
		return f[1]
	}
	return ""
}

// TestClientHelpAndFlags: help for the command and each subcommand (what
// it does, an example), exit 2 and usage without a command, flags after
// the command, and usage errors in JSON on stdout.
func TestClientHelpAndFlags(t *testing.T) {
	t.Parallel()
	exe := binary(t, "tollgate-client")
	run := func(args ...string) result { t.Helper(); return runBinary(t, exe, args...) }
	r := run()
	r.expect(t, "no arguments", 2, "Usage:", "activate KEY")
	run("--help").expect(t, "--help", 0, "Usage:", "validate", "--offline")
	run("help").expect(t, "help", 0, "Usage:")
	for _, cmd := range []string{"activate", "validate", "status", "deactivate", "fingerprint", "time"} {
		for _, args := range [][]string{{cmd, "--help"}, {"--help", cmd}, {"help", cmd}, {cmd, "-h"}} {
			r := run(args...)
			r.expect(t, strings.Join(args, " "), 0, "Usage: tollgate-client [flags] "+cmd, "Example")
			if strings.Contains(r.stdout+r.stderr, "not a valid license key") {
				t.Fatalf("%v: treated as a key", args)
			}
		}
	}
	run("frobnicate").expect(t, "unknown command", 2, "Unknown command")
	run("status", "extra").expect(t, "an extra argument", 2, "takes 0 argument")
	run("status", "--offline").expect(t, "--offline on status", 2, "validate only")
	run("--nonsense", "status").expect(t, "an unknown flag", 2, "nonsense")
	for _, args := range [][]string{{"--json"}, {"frobnicate", "--json"}, {"--json", "--nonsense", "status"}, {"activate", "not-a-key", "--json"}, {"--json", "--card", "/nonexistent", "--product", product, "status"}} {
		r := run(args...)
		m := r.jsonAnswer(t, strings.Join(args, " "))
		if r.code == 0 || m["status"] == "ok" {
			t.Fatalf("%v: exit %d, %v", args, r.code, m)
		}
	}
	m := run("activate", "not-a-key", "--json").jsonAnswer(t, "a malformed key, JSON")
	if m["status"] != "malformed-key" {
		t.Fatalf("a malformed key, JSON: %v", m)
	}
}

// TestClientJSONEverywhere: every tollgate-client subcommand answers
// --json with one JSON object with status and message, snake_case keys.
func TestClientJSONEverywhere(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	key := g.mint(t, 1, service.Spec{Entitlements: []string{"pro"}})[0]
	c := newClientCLI(t, g)
	for _, step := range []struct {
		args   []string
		status string
	}{
		{[]string{"activate", key.Display()}, "ok"},
		{[]string{"validate"}, "ok"},
		{[]string{"validate", "--offline"}, "offline"},
		{[]string{"status"}, "ok"},
		{[]string{"fingerprint"}, "ok"},
		{[]string{"time"}, "ok"},
		{[]string{"deactivate"}, "ok"},
		{[]string{"deactivate"}, "not-activated"},
		{[]string{"validate"}, "not-activated"},
		{[]string{"status"}, "not-activated"},
	} {
		what := strings.Join(step.args, " ") + " --json"
		m := c.run(append(step.args, "--json")...).jsonAnswer(t, what)
		if m["status"] != step.status {
			t.Fatalf("%s: status %v, want %s: %v", what, m["status"], step.status, m)
		}
	}
	_ = wire.StatusOK
}
