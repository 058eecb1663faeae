package gateway_test

import (
	"context"
	"crypto/rand"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/gateway/gatewaytest"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/keygen/composite"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

func adminDo(t *testing.T, dir string, req gateway.AdminRequest) gateway.AdminResponse {
	t.Helper()
	resp, err := gateway.AdminDo(dir, req)
	if err != nil {
		t.Fatalf("%s: %v", req.Cmd, err)
	}
	return resp
}

func TestAdminOnStoppedGateway(t *testing.T) {
	dir := t.TempDir()
	if _, err := gateway.Init(dir, composite.MLDSA44Ed25519, ""); err != nil {
		t.Fatal(err)
	}
	p := store.Product{Code: "2XYZ1", Name: "Suite", Term: store.Term{Kind: store.TermMonths, Value: 6}, Seats: 5, Bundle: []string{"1AJS2"}}
	adminDo(t, dir, gateway.AdminRequest{Cmd: "product.add", Product: &p})
	if r := adminDo(t, dir, gateway.AdminRequest{Cmd: "product.show", Name: "2XYZ1"}); len(r.Products) != 1 || r.Products[0].Seats != 5 {
		t.Fatalf("product.show = %+v", r)
	}
	k, _ := channel.GenerateKey(rand.Reader)
	sh := gateway.AdminShop{Name: "acme", PublicKey: k.Public().String(), Networks: []string{"192.0.2.0/24", "2001:db8::1"}, Products: []string{"2XYZ1"}}
	adminDo(t, dir, gateway.AdminRequest{Cmd: "shop.add", Shop: &sh})
	r := adminDo(t, dir, gateway.AdminRequest{Cmd: "shop.list"})
	if len(r.Shops) != 1 || r.Shops[0].PublicKey != sh.PublicKey || len(r.Shops[0].Networks) != 2 || r.Shops[0].Networks[1] != "2001:db8::1/128" {
		t.Fatalf("shop.list = %+v", r.Shops)
	}
	bad := sh
	bad.Networks = []string{"not-a-network"}
	if _, err := gateway.AdminDo(dir, gateway.AdminRequest{Cmd: "shop.add", Shop: &bad}); err == nil {
		t.Fatalf("a bad network was accepted")
	}
	adminDo(t, dir, gateway.AdminRequest{Cmd: "shop.remove", Name: "acme"})
	if r := adminDo(t, dir, gateway.AdminRequest{Cmd: "audit.verify"}); r.Verified != 3 {
		t.Fatalf("audit.verify checked %d entries, want 3", r.Verified)
	}
	if _, err := gateway.AdminDo(dir, gateway.AdminRequest{Cmd: "license.show", Key: "1AJS2-00000-00000-00000-00000-00000"}); err == nil {
		t.Fatalf("an invalid key was accepted")
	}
}

func TestAdminThroughSocketWhileRunning(t *testing.T) {
	g := startShopGateway(t)
	dir := g.srv.Identity().Dir
	waitAdmin(t, dir, g.logs)
	fi, err := os.Stat(gateway.AdminSocketPath(dir))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin socket: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	if m := fileMode(t, filepath.Join(dir, gateway.DirRun)); m != 0o700 {
		t.Fatalf("the admin socket's directory has mode %v; want 0700", m)
	}
	// The store is locked by the gateway, so these go through the socket.
	k, _ := channel.GenerateKey(rand.Reader)
	sh := gateway.AdminShop{Name: "live", PublicKey: k.Public().String(), Networks: []string{"127.0.0.1", "::1"}, Products: []string{"1AJS2"}}
	adminDo(t, dir, gateway.AdminRequest{Cmd: "shop.add", Shop: &sh})
	shop := g.shopClient(t, k)
	ctx := context.Background()
	keys, err := shop.Mint(ctx, "L-1", "1AJS2", 1, clients.MintSpec{})
	if err != nil {
		t.Fatalf("Mint by a shop registered through the socket: %v", err)
	}
	app := g.client(t)
	res, err := app.Activate(ctx, keys[0], machine(1), "alpha", "1.0")
	if err != nil {
		t.Fatal(err)
	}
	r := adminDo(t, dir, gateway.AdminRequest{Cmd: "license.show", Key: keys[0].Display()})
	if r.License == nil || r.License.Status != "OK" || len(r.License.Activations) != 1 || r.License.License.Shop != "live" {
		t.Fatalf("license.show = %+v", r.License)
	}
	adminDo(t, dir, gateway.AdminRequest{Cmd: "license.reset", Key: keys[0].Display()})
	_, err = app.Validate(ctx, res.LicenseID, machine(1), 1, false)
	wantStatus(t, err, wire.StatusNotActivated)
	adminDo(t, dir, gateway.AdminRequest{Cmd: "license.revoke", Key: keys[0].Display()})
	if st, err := shop.KeyOp(ctx, keys[0], wire.KeyOpStatus, wire.Term{}); err != nil || st.Status != wire.StatusRevoked {
		t.Fatalf("status after an operator revoke: %+v, %v", st, err)
	}
	r = adminDo(t, dir, gateway.AdminRequest{Cmd: "audit"})
	kinds := map[string]bool{}
	for _, e := range r.Audit {
		kinds[e.Kind] = true
	}
	for _, k := range []string{"shop.put", "mint", "license.reset", "license.revoke"} {
		if !kinds[k] {
			t.Errorf("audit has no %s entry", k)
		}
	}
	adminDo(t, dir, gateway.AdminRequest{Cmd: "shop.remove", Name: "live"})
	shop.Close()
	_, err = shop.Mint(ctx, "L-2", "1AJS2", 1, clients.MintSpec{})
	wantStatus(t, err, wire.StatusShopNotAllowed)
	if r := adminDo(t, dir, gateway.AdminRequest{Cmd: "audit.verify"}); r.Verified == 0 {
		t.Fatalf("audit.verify checked nothing")
	}
	g.stop()
	if _, err := os.Stat(gateway.AdminSocketPath(dir)); !os.IsNotExist(err) {
		t.Fatalf("the admin socket is left after shutdown: %v", err)
	}
}

// waitAdmin waits until the gateway serving dir accepts connections on
// its admin socket, or has logged why it opened none.
func waitAdmin(t *testing.T, dir string, logs *gatewaytest.Logs) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(5 * time.Millisecond) {
		if c, err := net.Dial("unix", gateway.AdminSocketPath(dir)); err == nil {
			c.Close()
			return
		}
		if strings.Contains(logs.String(), "no admin socket") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gateway opened no admin socket within a minute:\n%s", logs.String())
		}
	}
}

func socketAt(path string) bool {
	fi, err := os.Lstat(path)
	return err == nil && fi.Mode()&os.ModeSocket != 0
}
