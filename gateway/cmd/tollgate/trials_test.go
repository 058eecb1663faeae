package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/gateway/adminapi"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// TestTrialCommands: a product offers a keyless trial through product add
// and update; trial list shows and counts the trials started, as text and
// JSON, never a key.
func TestTrialCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tollgate(t, "init", "--data", dir)
	tollgate(t, "product", "add", "--data", dir, "--code", "1CJS2", "--name", "VSE 2.1 Pro", "--feature", "scan", "--feature", "update", "--keyless-trial", "14")
	if out := tollgate(t, "product", "show", "--data", dir, "1CJS2"); !strings.Contains(out, "keyless trial 14 day(s) features scan,update") {
		t.Fatalf("product show of a trial product: %q", out)
	}
	tollgate(t, "product", "update", "--data", dir, "--code", "1CJS2", "--trial-feature", "scan")
	var p store.Product
	decode(t, tollgate(t, "product", "show", "--data", dir, "1CJS2", "--json"), &p)
	if p.TrialOffer == nil || p.TrialOffer.Days != 14 || strings.Join(p.TrialOffer.Entitlements, ",") != "scan" || strings.Join(p.Entitlements, ",") != "scan,update" {
		t.Fatalf("the product after update: %+v", p)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"product", "update", "--data", dir, "--code", "1CJS2", "--keyless-trial", "400"}, "offer 1 to 366 days"},
		{[]string{"product", "add", "--data", dir, "--code", "1AJS2", "--name", "Lite", "--trial-feature", "scan"}, "--trial-feature needs --keyless-trial"},
		{[]string{"trial", "list", "--data", dir, "--product", "1c"}, "not a valid product code"},
	} {
		if _, _, err := runErr(c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("tollgate %s: %v, want an error saying %q", strings.Join(c.args, " "), err, c.want)
		}
	}
	if out := tollgate(t, "trial", "list", "--data", dir); out != "0 trial(s), 0 running\n" {
		t.Fatalf("trial list of none: %q", out)
	}

	// Two machines start trials (the service, on the stopped gateway's store).
	id, err := gateway.LoadIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := gateway.OpenStore(dir, gateway.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc := service.New(service.Config{Store: st, Keys: service.Keys{Hasher: id.Hasher, LeaseKey: id.LeaseKey, LeaseSeal: id.LeaseSeal}})
	var ids []string
	for i := range 2 {
		var static [32]byte
		rand.Read(static[:])
		peer := service.NewPeer(static, netip.MustParseAddr("192.0.2.1"))
		req := &wire.TrialRequest{Product: [wire.ProductSize]byte([]byte("1CJS2")), Hostname: []byte("pc-" + string(rune('a'+i)))}
		req.Fingerprint.N = 2
		req.Fingerprint.C[0].Kind, req.Fingerprint.C[1].Kind = wire.KindMachineID, wire.KindMAC
		rand.Read(req.Fingerprint.C[0].Hash[:])
		rand.Read(req.Fingerprint.C[1].Hash[:])
		g, err := svc.StartTrial(req, &peer)
		if err != nil {
			t.Fatalf("StartTrial: %v", err)
		}
		ids = append(ids, hex.EncodeToString(g.LicenseID[:]))
		// Once per machine: the machine again, under a new install.
		rand.Read(static[:])
		again := service.NewPeer(static, netip.MustParseAddr("192.0.2.1"))
		if _, err := svc.StartTrial(req, &again); !errors.Is(err, service.ErrTrialUsed) {
			t.Fatalf("a second trial of the machine: %v", err)
		}
	}
	svc.Close()
	st.Close()

	out := tollgate(t, "trial", "list", "--data", dir, "--product", "1cjs2")
	if !strings.Contains(out, "2 trial(s), 2 running") || !strings.Contains(out, ids[0]) || !strings.Contains(out, ids[1]) || !strings.Contains(out, "pc-a") {
		t.Fatalf("trial list: %q", out)
	}
	var l adminapi.TrialList
	decode(t, tollgate(t, "trial", "list", "--data", dir, "--json"), &l)
	if l.Count != 2 || l.Running != 2 || len(l.Trials) != 2 || l.Trials[0].Product != "1CJS2" || l.Trials[0].Ended || l.Trials[0].Ends <= l.Trials[0].Started {
		t.Fatalf("trial list --json: %+v", l)
	}
	if out := tollgate(t, "trial", "list", "--data", dir, "--product", "1AJS2"); out != "0 trial(s), 0 running\n" {
		t.Fatalf("trial list of another product: %q", out)
	}
	// The trial's license is an ordinary license to the operator.
	if out := tollgate(t, "license", "show", "--data", dir, ids[0]); !strings.Contains(out, "1CJS2") {
		t.Fatalf("license show of a trial: %q", out)
	}
	if out := tollgate(t, "audit", "--data", dir); strings.Count(out, "trial.start") != 2 {
		t.Fatalf("audit: want 2 trial.start entries: %q", out)
	}
}
