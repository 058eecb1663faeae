package clienttest

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/store"
)

// shopCLI runs tollgate-shop as the shop "acme", registered with the test
// gateway.
type shopCLI struct {
	t              *testing.T
	exe            string
	card, key, dir string
}

func newShopCLI(t *testing.T, g *testGateway) shopCLI {
	t.Helper()
	dir := t.TempDir()
	s := shopCLI{t: t, exe: binary(t, "tollgate-shop"), dir: dir, card: filepath.Join(dir, "server.card"), key: filepath.Join(dir, "shop.key")}
	s.exec("keygen", "--out", s.key).expect(t, "keygen", 0)
	k, err := channel.ReadPrivateKeyFile(s.key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := service.LoadDemoCatalogue(g.srv.Store()); err != nil {
		t.Fatal(err)
	}
	sh := store.Shop{Name: "acme", PublicKey: k.Public(), Products: []string{product},
		Networks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	if err := g.srv.Store().AddShop(sh); err != nil {
		t.Fatal(err)
	}
	if err := g.srv.ReloadShops(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.card, g.card.Marshal(), 0o644); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s shopCLI) exec(args ...string) result {
	s.t.Helper()
	return runBinary(s.t, s.exe, args...)
}

// conn runs a command that talks to the gateway; the connection flags go
// after the command's other arguments.
func (s shopCLI) conn(args ...string) result {
	s.t.Helper()
	return s.exec(append(args, "--card", s.card, "--key", s.key)...)
}

// TestShopCommand: tollgate-shop against a real gateway: a key another
// shop (here the operator) sold is "no license of this shop", its own keys
// answer; flags after the keys; --json on every command, errors included.
func TestShopCommand(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	s := newShopCLI(t, g)
	foreign := g.mint(t, 1, service.Spec{})[0]

	r := s.conn("status", foreign.Display())
	r.expect(t, "status of another shop's key", 1, "No license of this shop has this key")
	if strings.Contains(r.stdout+r.stderr, foreign.Display()) {
		t.Fatalf("the key was printed in full: %q", r.stderr)
	}
	m := s.conn("status", foreign.Display(), "--json").jsonAnswer(t, "status --json of another shop's key")
	res, _ := m["results"].([]any)
	if m["status"] != "failed" || len(res) != 1 {
		t.Fatalf("status --json of another shop's key: %v", m)
	}
	if one := res[0].(map[string]any); one["server_status"] != "NOT_FOUND" || !strings.Contains(one["message"].(string), "No license of this shop has this key") {
		t.Fatalf("status --json of another shop's key: %v", one)
	}

	m = s.conn("mint", "--product", product, "--order", "WEB-1", "--json").jsonAnswer(t, "mint --json")
	keys, _ := m["keys"].([]any)
	if m["status"] != "ok" || len(keys) != 1 {
		t.Fatalf("mint --json: status %v, %d keys; want ok and 1", m["status"], len(keys)) // not the keys
	}
	own := keys[0].(string)
	s.conn("status", own).expect(t, "status of the shop's key", 0, "OK  product "+product)
	m = s.conn("suspend", own, "--json").jsonAnswer(t, "suspend --json")
	if res, _ := m["results"].([]any); m["status"] != "ok" || len(res) != 1 || res[0].(map[string]any)["license_status"] != "SUSPENDED" {
		t.Fatalf("suspend --json: %v", m)
	}
	s.conn("resume", own).expect(t, "resume", 0, "OK")
	s.conn("--json", "renew", "--years", "1", own).jsonAnswer(t, "renew --json, flags first")

	// Errors in JSON on stdout.
	for _, args := range [][]string{
		{"status", "not-a-key"},
		{"mint", "--product", product},
		{"status"},
		{"frobnicate"},
	} {
		r := s.conn(append(args, "--json")...)
		m := r.jsonAnswer(t, strings.Join(args, " ")+" --json")
		if r.code == 0 || m["status"] == "ok" {
			t.Fatalf("%v --json: exit %d, %v", args, r.code, m)
		}
	}
	r = s.exec("status", own, "--card", filepath.Join(s.dir, "missing.card"), "--json")
	if m := r.jsonAnswer(t, "status, no card"); r.code != 1 || !strings.Contains(m["message"].(string), "server card") {
		t.Fatalf("status without a card: exit %d, %v", r.code, m)
	}
	m = s.exec("keygen", "--out", s.key, "--json").jsonAnswer(t, "keygen --json over an existing key")
	if m["status"] != "exists" {
		t.Fatalf("keygen --json over an existing key: %v", m)
	}
	m = s.exec("keygen", "--out", filepath.Join(s.dir, "second.key"), "--json").jsonAnswer(t, "keygen --json")
	if m["status"] != "ok" || m["public_key"] == "" {
		t.Fatalf("keygen --json: %v", m)
	}
}

// TestShopHelp: no arguments is usage and exit 2; help and each command's
// --help say what it does, with an example, and exit 0.
func TestShopHelp(t *testing.T) {
	t.Parallel()
	exe := binary(t, "tollgate-shop")
	runBinary(t, exe).expect(t, "no arguments", 2, "Usage:", "mint")
	runBinary(t, exe, "--help").expect(t, "--help", 0, "Usage:", "keygen")
	for _, cmd := range []string{"keygen", "mint", "suspend", "resume", "revoke", "renew", "status"} {
		for _, args := range [][]string{{cmd, "--help"}, {"help", cmd}, {"-h", cmd}} {
			runBinary(t, exe, args...).expect(t, strings.Join(args, " "), 0, "Usage: tollgate-shop "+cmd, "Example:", "tollgate-shop "+cmd+" ")
		}
	}
}
