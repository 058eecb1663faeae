package tollgate_test

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/tollgate/tollgate"

// rule states, for the packages under one folder, which of the module's
// packages and which outside modules they may import directly, and which
// packages must not appear anywhere among their dependencies. It is
// DESIGN.md's "Parts" table, kept true by TestImportRules.
type rule struct {
	folder    string   // module-relative folder; its sub-packages follow the same rule
	internal  []string // module-relative folders this one may import
	external  []string // import path prefixes outside the module and the standard library
	forbidden []string // prefixes that must not be among the transitive dependencies
}

var (
	quic    = "github.com/quic-go/quic-go"
	pebble  = "github.com/cockroachdb/pebble"
	noise   = "github.com/flynn/noise"
	circl   = "github.com/cloudflare/circl"
	ristr   = "github.com/dgraph-io/ristretto"
	pgx     = "github.com/jackc/pgx/v5"
	prom    = "github.com/prometheus/client_golang"
	gateway = module + "/gateway"
	store   = module + "/store"
	clients = module + "/clients"
	bench   = module + "/bench"
	service = module + "/service"
	channel = module + "/internal/channel"
	demo    = module + "/demo"
)

var rules = []rule{
	{folder: "wire", internal: []string{"wire", "keygen/composite"}, external: []string{circl},
		forbidden: []string{quic, pebble, noise, ristr, gateway, store, clients, bench, demo}},
	{folder: "keygen", internal: []string{"keygen"}, external: []string{circl},
		forbidden: []string{quic, pebble, noise, ristr, gateway, store, clients, bench, demo, module + "/wire"}},
	{folder: "internal/channel", internal: []string{"internal/channel", "wire", "keygen"}, external: []string{quic, noise, circl, "golang.org/x/"},
		forbidden: []string{pebble, ristr, gateway, service, store, clients, bench}},
	{folder: "i18n", internal: []string{"i18n"},
		forbidden: []string{quic, pebble, noise, ristr, circl, gateway, store, service, clients, bench, demo, module + "/wire"}},
	{folder: "internal/atomicfile", internal: []string{"internal/atomicfile"},
		forbidden: []string{quic, pebble, noise, ristr, gateway, store, clients, bench}},
	{folder: "internal/hang", internal: []string{"internal/hang"},
		forbidden: []string{quic, pebble, noise, ristr, gateway, store, clients, bench}},
	{folder: "internal/freeport", internal: []string{"internal/freeport"},
		forbidden: []string{quic, pebble, noise, ristr, gateway, store, clients, bench}},
	{folder: "internal/cputime", internal: []string{"internal/cputime"},
		forbidden: []string{quic, pebble, noise, ristr, gateway, store, clients, bench}},
	{folder: "internal/wine", internal: []string{"internal/wine"},
		forbidden: []string{quic, pebble, noise, ristr, gateway, store, clients, bench}},
	{folder: "internal/quicinitial", internal: []string{"internal/quicinitial"},
		forbidden: []string{quic, pebble, noise, ristr, gateway, store, clients, bench}},
	{folder: "store", internal: []string{"store", "i18n", "wire", "keygen", "internal/atomicfile"}, external: []string{ristr, circl},
		forbidden: []string{quic, pebble, noise, gateway, service, clients, bench, demo}},
	{folder: "store/pebblestore", internal: []string{"store", "wire", "keygen", "internal/atomicfile"}, external: []string{pebble, "golang.org/x/"},
		forbidden: []string{quic, noise, gateway, service, clients, bench, demo}},
	{folder: "internal/pgtest", internal: []string{"internal/pgtest"}, external: []string{pgx},
		forbidden: []string{quic, pebble, noise, ristr, gateway, store, clients, bench}},
	{folder: "store/pgstore", internal: []string{"store", "wire", "keygen"}, external: []string{pgx},
		forbidden: []string{quic, pebble, noise, gateway, service, clients, bench, demo}},
	{folder: "store/storetest", internal: []string{"store", "wire", "keygen"},
		forbidden: []string{quic, pebble, noise, gateway, service, clients, bench, demo}},
	{folder: "clients", internal: []string{"clients", "i18n", "wire", "keygen", "internal/channel", "internal/atomicfile"}, external: []string{quic, noise, circl, "golang.org/x/"},
		forbidden: []string{pebble, ristr, gateway, service, store, bench, demo}},
	{folder: "clients/bridge", internal: []string{"clients", "i18n", "wire", "keygen", "internal/channel", "internal/atomicfile"}, external: []string{prom},
		forbidden: []string{pebble, ristr, gateway, service, store, bench, demo}},
	{folder: "service", internal: []string{"service", "store", "i18n", "wire", "keygen"}, external: []string{circl, "golang.org/x/"},
		forbidden: []string{quic, pebble, noise, gateway, clients, bench, demo, channel}},
	{folder: "gateway", internal: []string{"gateway", "service", "i18n", "wire", "keygen", "store", "internal/channel", "internal/atomicfile"}, external: []string{quic, noise, pebble, ristr, circl, "golang.org/x/"},
		forbidden: []string{clients, bench, demo}},
	// The operator's CLI runs the demo, and through it the client library.
	{folder: "gateway/cmd", internal: []string{"gateway", "demo", "service", "i18n", "wire", "keygen", "store", "internal"}, external: []string{"golang.org/x/"},
		forbidden: []string{bench}},
	// The demo uses the gateway and the client library as a program does.
	{folder: "demo", internal: []string{"demo", "gateway", "service", "store", "clients", "i18n", "wire", "keygen", "internal"},
		forbidden: []string{bench}},
}

func TestImportRules(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}|{{join .Imports \" \"}}|{{join .Deps \" \"}}", "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		parts := strings.SplitN(line, "|", 3)
		if len(parts) != 3 {
			t.Fatalf("unexpected go list line %q", line)
		}
		pkg, imports, deps := parts[0], strings.Fields(parts[1]), strings.Fields(parts[2])
		r, ok := ruleFor(pkg)
		if !ok {
			continue
		}
		checked++
		for _, imp := range imports {
			if !allowed(r, imp) {
				t.Errorf("%s imports %s, which docs/DESIGN.md does not allow for %s/", pkg, imp, r.folder)
			}
		}
		for _, f := range r.forbidden {
			for _, d := range deps {
				if d == f || strings.HasPrefix(d, f+"/") {
					t.Errorf("%s depends on %s (forbidden for %s/; the first of its packages found)", pkg, d, r.folder)
					break
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no package matched any rule: the rules table is stale")
	}
}

func ruleFor(pkg string) (rule, bool) {
	rel, ok := strings.CutPrefix(pkg, module+"/")
	if !ok {
		return rule{}, false
	}
	best, found := rule{}, false
	for _, r := range rules {
		if under(rel, r.folder) && len(r.folder) > len(best.folder) {
			best, found = r, true
		}
	}
	return best, found
}

func under(rel, folder string) bool { return rel == folder || strings.HasPrefix(rel, folder+"/") }

func allowed(r rule, imp string) bool {
	if rel, ok := strings.CutPrefix(imp, module+"/"); ok {
		for _, in := range r.internal {
			if under(rel, in) {
				return true
			}
		}
		return false
	}
	first, _, _ := strings.Cut(imp, "/")
	if !strings.Contains(first, ".") {
		return true // the standard library
	}
	for _, e := range r.external {
		if strings.HasPrefix(imp, e) {
			return true
		}
	}
	return false
}

// TestImportRulesCatch proves the checker refuses what DESIGN.md forbids, so
// TestImportRules cannot pass by matching nothing.
func TestImportRulesCatch(t *testing.T) {
	t.Parallel()
	cases := []struct {
		pkg, imp string
		ok       bool
	}{
		{module + "/wire", "encoding/binary", true},
		{module + "/wire", module + "/keygen/composite", true},
		{module + "/wire", quic, false},
		{module + "/wire", module + "/store", false},
		{module + "/keygen", pebble + "/v2", false},
		{module + "/clients/cmd/tollgate-client", module + "/gateway", false},
		{module + "/clients", module + "/store", false},
		{module + "/clients", quic, true},
		{module + "/gateway", module + "/clients", false},
		{module + "/gateway/cmd/tollgate", module + "/store", true},
		{module + "/gateway/cmd/tollgate", module + "/demo", true},
		{module + "/gateway/cmd/tollgate", module + "/bench", false},
		{module + "/gateway/cmd/tollgate", module + "/clients", false},
		{module + "/gateway", module + "/demo", false},
		{module + "/gateway/adminapi", module + "/demo", false},
		{module + "/gateway", module + "/service", true},
		{module + "/service", module + "/demo", false},
		{module + "/service", module + "/gateway", false},
		{module + "/store", module + "/demo", false},
		{module + "/demo", module + "/clients", true},
		{module + "/demo", module + "/gateway", true},
		{module + "/demo", module + "/bench", false},
		{module + "/store", pebble + "/v2", false},
		{module + "/store/pebblestore", pebble + "/v2", true},
		{module + "/store/pebblestore", module + "/store", true},
		{module + "/store/storetest", pebble + "/v2", false},
	}
	for _, c := range cases {
		r, found := ruleFor(c.pkg)
		if !found {
			t.Fatalf("no rule for %s", c.pkg)
		}
		if got := allowed(r, c.imp); got != c.ok {
			t.Errorf("allowed(%s imports %s) = %v, want %v", c.pkg, c.imp, got, c.ok)
		}
	}
}
