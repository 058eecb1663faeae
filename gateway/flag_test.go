package gateway_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/gateway/adminapi"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/service"
)

// TestSharedKeyFlagged: a one-seat key moved from machine to machine
// (activate, deactivate, the next one) is flagged once more machines than
// FlagMachinesPerSeat have activated it. Flagging refuses nothing; it is
// audited, logged without the key, listed by license.flagged, shown by
// license.show and cleared by license.unflag, all through the running
// gateway's admin socket.
func TestSharedKeyFlagged(t *testing.T) {
	t.Parallel()
	g := startGateway(t, func(c *gateway.Config) { c.FlagMachinesPerSeat = 2 })
	dir := g.srv.Identity().Dir
	keys := g.mint(t, 2, service.Spec{Seats: 1})
	ctx := context.Background()
	show := func(k keygen.Key) adminapi.License {
		t.Helper()
		return adminDo(t, dir, adminapi.OpLicenseShow, adminapi.LicenseKey{Key: k.Display()})
	}
	move := func(k keygen.Key, m int) {
		t.Helper()
		c := g.client(t)
		res, err := c.Activate(ctx, k, machine(m), "host", "1.0")
		if err != nil {
			t.Fatalf("activation on machine %d: %v (flagging refuses nothing)", m, err)
		}
		// Activating the same install again is the same machine.
		if _, err := c.Activate(ctx, k, machine(m), "host", "1.0"); err != nil {
			t.Fatalf("activation on machine %d again: %v", m, err)
		}
		if err := c.Deactivate(ctx, res.LicenseID); err != nil {
			t.Fatalf("deactivation on machine %d: %v", m, err)
		}
	}
	for m := 1; m <= 3; m++ {
		move(keys[0], m)
		l := show(keys[0])
		if l.Machines != m || l.Networks != 1 || l.WindowDays != 30 {
			t.Fatalf("after machine %d: seen on %d machines from %d networks in %d days", m, l.Machines, l.Networks, l.WindowDays)
		}
		if flagged := l.FlaggedAt != 0; flagged != (m == 3) {
			t.Fatalf("after machine %d of a one-seat key (2 per seat allowed): flagged %v", m, flagged)
		}
	}
	move(keys[1], 9)
	fl := adminDo(t, dir, adminapi.OpLicenseFlagged, adminapi.None{}).Licenses
	if len(fl) != 1 || fl[0].License.ID != show(keys[0]).License.ID || !strings.Contains(fl[0].FlagReason, "3 machines") {
		t.Fatalf("license.flagged = %+v, want the first key's license, on 3 machines", fl)
	}
	var audited bool
	for _, e := range adminDo(t, dir, adminapi.OpAudit, adminapi.AuditQuery{}).Entries {
		audited = audited || e.Kind == "license.flag" && strings.Contains(e.Detail, "3 machines")
	}
	if !audited {
		t.Fatal("no license.flag entry in the audit log")
	}
	logs := g.logs.String()
	if !strings.Contains(logs, "license flagged") {
		t.Fatal("the flag was not logged")
	}
	for _, k := range keys {
		if strings.Contains(logs, k.Display()) || strings.Contains(logs, string(k[:])) {
			t.Fatal("the gateway logged a license key")
		}
	}

	adminDo(t, dir, adminapi.OpLicenseUnflag, adminapi.LicenseKey{Key: keys[0].Display()})
	if l := show(keys[0]); l.FlaggedAt != 0 || l.Machines != 0 {
		t.Fatalf("after unflag: flagged at %d, %d machines", l.FlaggedAt, l.Machines)
	}
	if fl := adminDo(t, dir, adminapi.OpLicenseFlagged, adminapi.None{}).Licenses; len(fl) != 0 {
		t.Fatalf("license.flagged after unflag: %d", len(fl))
	}
	// Counting starts anew: one more machine is not three.
	move(keys[0], 4)
	if l := show(keys[0]); l.FlaggedAt != 0 || l.Machines != 1 {
		t.Fatalf("a machine after unflag: flagged at %d, %d machines", l.FlaggedAt, l.Machines)
	}
}

// TestFlaggingOff: a negative flag_window_days records nothing.
func TestFlaggingOff(t *testing.T) {
	t.Parallel()
	g := startGateway(t, func(c *gateway.Config) { c.FlagWindowDays = -1; c.FlagMachinesPerSeat = 1 })
	keys := g.mint(t, 1, service.Spec{Seats: 1})
	ctx := context.Background()
	for m := 1; m <= 3; m++ {
		c := g.client(t)
		res, err := c.Activate(ctx, keys[0], machine(m), "host", "1.0")
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Deactivate(ctx, res.LicenseID); err != nil {
			t.Fatal(err)
		}
	}
	l := adminDo(t, g.srv.Identity().Dir, adminapi.OpLicenseShow, adminapi.LicenseKey{Key: keys[0].Display()})
	if l.FlaggedAt != 0 || l.Machines != 0 {
		t.Fatalf("flagging off: flagged at %d, %d machines recorded", l.FlaggedAt, l.Machines)
	}
}
