package clienttest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/store"
)

// TestClientCommand runs the Linux tollgate-client binary against the test
// gateway: each command, its sentences and its exit code.
func TestClientCommand(t *testing.T) {
	t.Parallel()
	ctx := hang.Context(t)
	tmp := t.TempDir()
	exe := binary(t, "tollgate-client")
	g := startGateway(t)
	key := g.mint(t, 1, service.Spec{Seats: 1, Entitlements: []string{"pro"}, Policy: store.Policy{Level: 3, OnlineDays: 7, WarnDays: 2, LeaseSeconds: 30 * 86400}})[0]
	card := filepath.Join(tmp, "server.card")
	if err := os.WriteFile(card, g.card.Marshal(), 0o600); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(tmp, "state")
	run := func(args ...string) (stdout, stderr string, code int) {
		t.Helper()
		cmd := exec.CommandContext(ctx, exe, append([]string{"--card", card, "--state", state}, args...)...)
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return o.String(), e.String(), code
	}
	expect := func(what string, code, wantCode int, text, want string) {
		t.Helper()
		if code != wantCode || !strings.Contains(text, want) {
			t.Fatalf("%s: exit %d, output %q; want exit %d and %q", what, code, text, wantCode, want)
		}
	}

	_, e, code := run("--product", product, "validate")
	expect("validate before activation", code, 1, e, "No license is activated")
	_, e, code = run("activate", "not-a-key")
	expect("activate a typo", code, 1, e, "not a valid license key")
	if strings.Contains(e, key.Display()) {
		t.Fatalf("the key was printed")
	}
	o, e, code := run("activate", key.Display())
	expect("activate", code, 0, o+e, "activated on this machine")
	o, _, code = run("validate")
	expect("validate", code, 0, o, "the license server confirmed it")
	expect("validate", code, 0, o, "Features: pro.")
	o, _, code = run("status")
	expect("status", code, 0, o, "Validation level:    3 (check-required)")
	expect("status", code, 0, o, "Server check due by: ")
	o, _, code = run("--json", "status")
	expect("status --json", code, 0, o, `"product": "1AJS2"`)
	o, _, code = run("status", "--json") // a flag after the command
	expect("status --json after the command", code, 0, o, `"status": "ok"`)
	o, _, code = run("fingerprint")
	expect("fingerprint", code, 0, o, "Nothing changed since the license was activated.")
	if strings.Contains(o, "machine-id") {
		if id, err := os.ReadFile("/etc/machine-id"); err == nil && strings.Contains(o, strings.TrimSpace(string(id))) {
			t.Fatalf("the raw machine id was printed")
		}
	}
	o, _, code = run("time")
	expect("time", code, 0, o, "Server time:")

	o, _, code = run("deactivate")
	expect("deactivate", code, 0, o, "the seat is free")
	_, e, code = run("validate")
	expect("validate after deactivation", code, 1, e, "No license is activated")

	// The server gone and no lease: could not decide.
	if _, _, code = run("activate", key.Display()); code != 0 {
		t.Fatalf("re-activate: exit %d", code)
	}
	if err := os.Remove(filepath.Join(state, "lease")); err != nil {
		t.Fatal(err)
	}
	g.stop()
	_, e, code = run("validate")
	expect("validate, server gone, no lease", code, 2, e, "cannot be reached")
	_, e, code = run("deactivate")
	expect("deactivate, server gone", code, 2, e, "could not be reached")
}
