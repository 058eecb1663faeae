package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/gateway/adminapi"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/store"
)

func tollgate(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if err := run(args, &out, &errb); err != nil {
		t.Fatalf("tollgate %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

func TestOperatorCommandsOnStoppedGateway(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tollgate(t, "init", "--data", dir)
	tollgate(t, "product", "add", "--data", dir, "--code", "1ajs2", "--name", "VSE 2.1 Lite", "--seats", "2", "--feature", "scan", "--level", "3", "--online-days", "14", "--warn-days", "3")
	if out := tollgate(t, "product", "show", "--data", dir, "1AJS2"); !strings.Contains(out, "VSE 2.1 Lite") || !strings.Contains(out, "level 3") {
		t.Fatalf("product show: %q", out)
	}
	k, _ := channel.GenerateKey(rand.Reader)
	tollgate(t, "shop", "add", "--data", dir, "--name", "acme", "--key", k.Public().String(), "--network", "198.51.100.0/24", "--network", "2001:db8::/48", "--product", "1AJS2", "--quota", "500")
	if out := tollgate(t, "shop", "list", "--data", dir); !strings.Contains(out, "acme") || !strings.Contains(out, "2001:db8::/48") || !strings.Contains(out, "quota 500/day") {
		t.Fatalf("shop list: %q", out)
	}
	key := strings.TrimSpace(tollgate(t, "keys", "mint", "--data", dir, "--product", "1AJS2"))
	for _, op := range []string{"suspend", "resume", "renew", "reset", "unflag", "revoke"} {
		tollgate(t, "license", op, "--data", dir, key)
	}
	out := tollgate(t, "license", "show", "--data", dir, key)
	if !strings.Contains(out, "REVOKED") || !strings.Contains(out, "seen on     0 machine(s), from 0 network(s), in the last 30 days") || strings.Contains(out, key) {
		t.Fatalf("license show: %q (must show the state and never the key)", out)
	}
	if out := tollgate(t, "license", "flagged", "--data", dir); out != "no license is flagged\n" {
		t.Fatalf("license flagged: %q", out)
	}
	out = tollgate(t, "audit", "--data", dir)
	for _, want := range []string{"product.add", "shop.add", "license.suspend", "license.revoke"} {
		if !strings.Contains(out, want) {
			t.Errorf("audit lacks %s", want)
		}
	}
	if strings.Contains(out, key) {
		t.Fatalf("the audit log shows a license key")
	}
	if out := tollgate(t, "audit", "--data", dir, "--verify"); !strings.Contains(out, "intact") {
		t.Fatalf("audit --verify: %q", out)
	}
	tollgate(t, "shop", "remove", "--data", dir, "acme")
	var o, e bytes.Buffer
	if err := run([]string{"shop", "remove", "--data", dir, "acme"}, &o, &e); err == nil {
		t.Fatalf("removing a missing shop succeeded")
	}
}

// TestPrintFlagged: a flagged license says so, why, and how to clear it;
// the list names the shop and order a publisher finds the customer by.
func TestPrintFlagged(t *testing.T) {
	t.Parallel()
	l := adminapi.License{Status: "OK", FlaggedAt: 1764000000, FlagReason: "activated on 4 machines in 30 days, for 1 seat(s)",
		Machines: 4, Networks: 2, WindowDays: 30}
	l.License.Shop, l.License.Order, l.License.Product = "acme", "A-1001", "1AJS2"
	var b bytes.Buffer
	printLicense(&b, l)
	for _, want := range []string{"FLAGGED     2025-11-24T16:00:00Z: activated on 4 machines", "tollgate license unflag", "seen on     4 machine(s), from 2 network(s), in the last 30 days"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("license show lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	printFlagged(&b, []adminapi.License{l})
	if want := `1AJS2  flagged 2025-11-24T16:00:00Z: activated on 4 machines in 30 days, for 1 seat(s)  (shop acme, order "A-1001")`; !strings.Contains(b.String(), want) {
		t.Errorf("license flagged: %q, want %q", b.String(), want)
	}
}

func TestPrintStats(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	printStats(&b, map[string]int64{"sessions_open": 3, "answers_validate_ok": 120})
	want := fmt.Sprintf("%-44s %d\n%-44s %d\n", "answers_validate_ok", 120, "sessions_open", 3)
	if b.String() != want {
		t.Fatalf("stats printed %q, want %q", b.String(), want)
	}
	dir := t.TempDir()
	tollgate(t, "init", "--data", dir)
	// The store held open, as by a gateway starting: stats dials the admin
	// socket only, and says the gateway is not running (it never opens the
	// store, whose lock the starting gateway needs).
	st, err := gateway.OpenStore(dir, gateway.StoreOptions{CacheEntries: 16})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var o, e bytes.Buffer
	if err := run([]string{"stats", "--data", dir}, &o, &e); err == nil || !strings.Contains(err.Error(), "is not running") || !strings.Contains(err.Error(), "tollgate serve") {
		t.Fatalf("stats of a stopped gateway: %v", err)
	}
}

// TestLicenseNotFound: a key no license of this gateway has is refused
// with an error that is store.ErrNotFound and says to check the key,
// without showing it.
func TestLicenseNotFound(t *testing.T) {
	t.Parallel()
	dir, other := t.TempDir(), t.TempDir()
	tollgate(t, "init", "--data", dir)
	tollgate(t, "init", "--data", other)
	key := strings.TrimSpace(tollgate(t, "keys", "mint", "--data", other, "--product", "1AJS2", "--uncatalogued"))
	var o, e bytes.Buffer
	err := run([]string{"license", "suspend", "--data", dir, key}, &o, &e)
	if !errors.Is(err, store.ErrNotFound) || err.Error() != "no license has this key; check it" {
		t.Fatalf("license suspend of another gateway's key: %v; want store.ErrNotFound saying to check it", err)
	}
	if strings.Contains(err.Error()+o.String()+e.String(), key) {
		t.Fatalf("the refusal shows the key")
	}
}

// TestOperatorCommandsOnRunningGateway: through a running gateway's admin
// socket the commands print what they print on a stopped one, and their
// errors are still of their kind: a service refusal, not found, a config
// error.
func TestOperatorCommandsOnRunningGateway(t *testing.T) {
	t.Parallel()
	dir, other := t.TempDir(), t.TempDir()
	tollgate(t, "init", "--data", dir)
	tollgate(t, "init", "--data", other)
	key := strings.TrimSpace(tollgate(t, "keys", "mint", "--data", dir, "--product", "1AJS2", "--uncatalogued"))
	otherKey := strings.TrimSpace(tollgate(t, "keys", "mint", "--data", other, "--product", "1AJS2", "--uncatalogued"))
	serveDir(t, dir)

	var counters map[string]int64
	if err := json.Unmarshal([]byte(tollgate(t, "stats", "--data", dir, "--json")), &counters); err != nil || len(counters) == 0 {
		t.Fatalf("stats --json of a running gateway: %v, %v", counters, err)
	}
	tollgate(t, "license", "revoke", "--data", dir, key)
	out := tollgate(t, "license", "show", "--data", dir, key)
	if strings.Contains(out, key) {
		t.Fatal("license show printed the key")
	}
	if !strings.Contains(out, "REVOKED") {
		t.Fatalf("license show: %q, want the state REVOKED", out)
	}
	var o, e bytes.Buffer
	err := run([]string{"license", "renew", "--data", dir, key}, &o, &e)
	if !errors.Is(err, service.ErrRevoked) || !strings.Contains(err.Error(), "revocation is final") || strings.Contains(err.Error(), "tollgate:") {
		t.Errorf("license renew of a revoked license: %v; want service.ErrRevoked saying revocation is final", err)
	}
	err = run([]string{"license", "show", "--data", dir, otherKey}, &o, &e)
	if !errors.Is(err, store.ErrNotFound) || err.Error() != "no license has this key; check it" {
		t.Errorf("license show of another gateway's key: %v; want store.ErrNotFound saying to check it", err)
	}
	k, _ := channel.GenerateKey(rand.Reader)
	err = run([]string{"shop", "add", "--data", dir, "--name", "acme", "--key", k.Public().String(), "--network", "nowhere", "--product", "1AJS2"}, &o, &e)
	if !errors.Is(err, gateway.ErrUsage) || errors.Is(err, gateway.ErrConfig) || !strings.Contains(err.Error(), `network "nowhere"`) {
		t.Errorf("shop add with a bad network: %v; want gateway.ErrUsage", err)
	}
	if out := tollgate(t, "shop", "list", "--data", dir); out != "" {
		t.Errorf("shop list after a refused shop add: %q", out)
	}
	if strings.Contains(o.String()+e.String(), key) || strings.Contains(o.String()+e.String(), otherKey) {
		t.Errorf("a command printed a license key")
	}
}
