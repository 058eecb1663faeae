package clienttest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// copyState copies a state directory, install key and all: what cloning a
// machine (or restoring an old backup) does.
func copyState(t *testing.T, from string) string {
	t.Helper()
	to := filepath.Join(t.TempDir(), "state")
	if err := os.MkdirAll(to, 0o700); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return to
}

// TestClonedStateRefused: a copy of an installation's state on a machine
// with the same fingerprint (a cloned virtual machine) is refused with
// INSTALL_CLONED as soon as it checks with the server after the original
// did, forgets the license, and the original keeps working. Two programs
// sharing one state directory are not a clone.
func TestClonedStateRefused(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	key := g.mint(t, 1, service.Spec{Policy: store.Policy{Level: 2, LeaseSeconds: 30 * 86400}})[0]
	ctx := context.Background()
	comps := machine("a", "02:00:00:00:00:01")
	real := open(t, g, "", comps, nil)
	activate(t, real, key)
	real.clock.Add(day + 1)
	want(t, "daily check", real.Check(ctx), true, clients.ReasonOK)

	clone := open(t, g, copyState(t, real.dir), comps, &fakeClock{t: real.clock.Now()})
	real.clock.Add(day + 1)
	want(t, "the original's next check", real.Check(ctx), true, clients.ReasonOK)
	clone.clock.Add(day + 1)
	d := clone.Check(ctx)
	want(t, "the clone's check", d, false, clients.ReasonRefused)
	if d.Status != wire.StatusInstallCloned || d.Action == "" {
		t.Fatalf("the clone's refusal: status %v, action %q", d.Status, d.Action)
	}
	want(t, "the clone afterwards", clone.Check(ctx), false, clients.ReasonNotActivated)
	real.clock.Add(day + 1)
	want(t, "the original after the clone", real.Check(ctx), true, clients.ReasonOK)

	// A second program on the original machine, sharing its state
	// directory: each check reserves its counter in the shared checks file.
	second := open(t, g, real.dir, comps, real.clock)
	for i := 0; i < 3; i++ {
		real.clock.Add(day + 1)
		want(t, "the first program", real.Check(ctx), true, clients.ReasonOK)
		want(t, "the second program", second.Check(ctx), true, clients.ReasonOK)
	}
}
