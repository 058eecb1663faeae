package gateway_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/gateway/adminapi"
	"github.com/tollgate/tollgate/gateway/gatewaytest"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/keygen/composite"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// adminCall runs one operation on the gateway of dir, as the CLI does:
// directly on a stopped gateway's store, through a running one's socket.
func adminCall[Req, Resp any](dir string, op adminapi.Op[Req, Resp], req Req) (Resp, error) {
	c, err := gateway.OpenAdmin(dir)
	if err != nil {
		var zero Resp
		return zero, err
	}
	defer c.Close()
	return adminapi.Call(c, op, req)
}

// adminDo is adminCall, failing the test on an error.
func adminDo[Req, Resp any](t *testing.T, dir string, op adminapi.Op[Req, Resp], req Req) Resp {
	t.Helper()
	resp, err := adminCall(dir, op, req)
	if err != nil {
		t.Fatalf("%s: %v", op.Name, err)
	}
	return resp
}

func TestAdminOnStoppedGateway(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := gateway.Init(dir, composite.MLDSA44Ed25519, ""); err != nil {
		t.Fatal(err)
	}
	// A bundle covers products of the catalogue: the one it covers first.
	adminDo(t, dir, adminapi.OpProductAdd, store.Product{Code: "1AJS2", Name: "Lite", Entitlements: []string{"scan"}})
	p := store.Product{Code: "2XYZ1", Name: "Suite", Term: store.Term{Kind: store.TermMonths, Value: 6}, Seats: 5, Bundle: []string{"1AJS2"}}
	adminDo(t, dir, adminapi.OpProductAdd, p)
	if r := adminDo(t, dir, adminapi.OpProductShow, adminapi.ProductCode{Code: "2XYZ1"}); r.Seats != 5 {
		t.Fatalf("product.show = %+v", r)
	}
	k, _ := channel.GenerateKey(rand.Reader)
	sh := adminapi.Shop{Name: "acme", PublicKey: k.Public().String(), Networks: []string{"192.0.2.0/24", "2001:db8::1"}, Products: []string{"2XYZ1"}}
	adminDo(t, dir, adminapi.OpShopAdd, sh)
	r := adminDo(t, dir, adminapi.OpShopList, adminapi.None{})
	if len(r.Shops) != 1 || r.Shops[0].PublicKey != sh.PublicKey || len(r.Shops[0].Networks) != 2 || r.Shops[0].Networks[1] != "2001:db8::1/128" {
		t.Fatalf("shop.list = %+v", r.Shops)
	}
	bad := sh
	bad.Networks = []string{"not-a-network"}
	if _, err := adminCall(dir, adminapi.OpShopAdd, bad); !errors.Is(err, gateway.ErrUsage) {
		t.Fatalf("a bad network: %v; want gateway.ErrUsage", err)
	}
	adminDo(t, dir, adminapi.OpShopRemove, adminapi.ShopName{Name: "acme"})
	if r := adminDo(t, dir, adminapi.OpAuditVerify, adminapi.None{}); r.Entries != 4 {
		t.Fatalf("audit.verify checked %d entries, want 4 (two products, a shop added and removed)", r.Entries)
	}
	if _, err := adminCall(dir, adminapi.OpLicenseShow, adminapi.LicenseKey{Key: "1AJS2-00000-00000-00000-00000-00000"}); !errors.Is(err, gateway.ErrUsage) {
		t.Fatalf("an invalid key: %v; want gateway.ErrUsage", err)
	}
}

func TestAdminThroughSocketWhileRunning(t *testing.T) {
	t.Parallel()
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
	sh := adminapi.Shop{Name: "live", PublicKey: k.Public().String(), Networks: []string{"127.0.0.1", "::1"}, Products: []string{"1AJS2"}}
	adminDo(t, dir, adminapi.OpShopAdd, sh)
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
	l := adminDo(t, dir, adminapi.OpLicenseShow, adminapi.LicenseKey{Key: keys[0].Display()})
	if l.Status != "OK" || len(l.Activations) != 1 || l.License.Shop != "live" {
		t.Fatalf("license.show = %+v", l)
	}
	adminDo(t, dir, adminapi.OpLicenseReset, adminapi.LicenseKey{Key: keys[0].Display()})
	_, err = app.Validate(ctx, res.LicenseID, machine(1), 1, false)
	wantStatus(t, err, wire.StatusNotActivated)
	adminDo(t, dir, adminapi.OpLicenseRevoke, adminapi.LicenseKey{Key: keys[0].Display()})
	if st, err := shop.KeyOp(ctx, keys[0], wire.KeyOpStatus, wire.Term{}); err != nil || st.Status != wire.StatusRevoked {
		t.Fatalf("status after an operator revoke: %+v, %v", st, err)
	}
	kinds := map[string]bool{}
	for _, e := range adminDo(t, dir, adminapi.OpAudit, adminapi.AuditQuery{}).Entries {
		kinds[e.Kind] = true
	}
	for _, k := range []string{"shop.add", "mint", "license.reset", "license.revoke"} {
		if !kinds[k] {
			t.Errorf("audit has no %s entry", k)
		}
	}
	adminDo(t, dir, adminapi.OpShopRemove, adminapi.ShopName{Name: "live"})
	shop.Close()
	_, err = shop.Mint(ctx, "L-2", "1AJS2", 1, clients.MintSpec{})
	wantStatus(t, err, wire.StatusShopNotAllowed)
	if r := adminDo(t, dir, adminapi.OpAuditVerify, adminapi.None{}); r.Entries == 0 {
		t.Fatalf("audit.verify checked nothing")
	}
	g.stop()
	if _, err := os.Stat(gateway.AdminSocketPath(dir)); !os.IsNotExist(err) {
		t.Fatalf("the admin socket is left after shutdown: %v", err)
	}
}

// TestAdminErrorsKeepIdentity: an operation's error matches, with
// errors.Is, the error the gateway met (store, service and gateway
// errors), and says the same sentence, through a running gateway's admin
// socket as on a stopped gateway's store; and a refused operation changes
// nothing.
func TestAdminErrorsKeepIdentity(t *testing.T) {
	t.Parallel()
	g := startShopGateway(t)
	dir := g.srv.Identity().Dir
	waitAdmin(t, dir, g.logs)
	running := g.mint(t, 1, service.Spec{Seats: 1})[0]

	stopped := t.TempDir()
	id, err := gateway.Init(stopped, composite.MLDSA44Ed25519, "")
	if err != nil {
		t.Fatal(err)
	}
	st, err := gateway.OpenStore(stopped, gateway.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := keygen.ParseProductCode("1AJS2")
	stoppedKeys, err := service.MintKeys(st, id.Hasher, p, 1, service.Spec{Seats: 1}, time.Now())
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}

	t.Run("socket", func(t *testing.T) {
		c, err := gateway.DialAdmin(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		checkAdminErrors(t, c, running, stoppedKeys[0])
	})
	t.Run("stopped", func(t *testing.T) {
		c, err := gateway.OpenAdmin(stopped)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		checkAdminErrors(t, c, stoppedKeys[0], running)
	})
}

// checkAdminErrors runs refused operations with c: known is a key of its
// gateway, unknown one of another gateway.
func checkAdminErrors(t *testing.T, c *adminapi.Client, known, unknown keygen.Key) {
	t.Helper()
	auditBefore, err := c.VerifyAudit()
	if err != nil {
		t.Fatal(err)
	}
	var seen []error
	is := func(what string, err error, want error, msg string, not ...error) {
		t.Helper()
		seen = append(seen, err)
		if !errors.Is(err, want) || err.Error() != msg {
			t.Errorf("%s: %v; want an error matching %v saying %q", what, err, want, msg)
		}
		for _, n := range not {
			if errors.Is(err, n) {
				t.Errorf("%s: %v matches %v too", what, err, n)
			}
		}
	}
	_, err = c.ShowLicense(unknown.Display())
	is("license.show of an unknown key", err, store.ErrNotFound, "no license has this key", gateway.ErrUsage, service.ErrRevoked, store.ErrCorrupt)
	is("license.show of an unknown key", err, service.ErrNotFound, "no license has this key")
	err = c.RemoveShop("nobody")
	is("shop.remove of an unknown shop", err, store.ErrNotFound, `store: not found: shop "nobody"`, service.ErrRevoked)
	_, err = c.Product("9ZZZ9")
	is("product.show of an unknown product", err, store.ErrNotFound, `store: not found: product "9ZZZ9"`)

	if _, err := c.RevokeLicense(known.Display()); err != nil {
		t.Fatal(err)
	}
	_, err = c.RenewLicense(known.Display(), store.Term{})
	is("license.renew of a revoked license", err, service.ErrRevoked, "this license was revoked, and revocation is final: it cannot be renewed; mint a new key instead", service.ErrSuspended, service.ErrExpired, store.ErrNotFound)
	var se *service.Error
	if !errors.As(err, &se) || se.Kind != service.KindRevoked || !strings.Contains(se.Msg, "revocation is final") {
		t.Errorf("license.renew of a revoked license: errors.As found %#v; want a refusal of kind revoked", se)
	}
	if st, _, _ := service.StatusOf(err); st != wire.StatusRevoked {
		t.Errorf("license.renew of a revoked license: status %v; want REVOKED", st)
	}

	_, err = c.ShowLicense("not a license key")
	is("license.show of a malformed key", err, gateway.ErrUsage, "invalid command: not a valid license key, nor a license id (32 hex digits, or the first 8 or more of them)", store.ErrNotFound)
	k, _ := channel.GenerateKey(rand.Reader)
	err = c.AddShop(adminapi.Shop{Name: "bad", PublicKey: k.Public().String(), Networks: []string{"not-a-network"}, Products: []string{"1AJS2"}})
	is("shop.add with a bad network", err, gateway.ErrUsage, `invalid command: network "not-a-network" is not a CIDR prefix or address`)
	err = c.Call("license.erase", adminapi.LicenseKey{Key: known.Display()}, &adminapi.License{})
	is("an unknown operation", err, adminapi.ErrUnknownOp, `adminapi: unknown operation "license.erase"`, gateway.ErrUsage)
	err = c.AddProduct(store.Product{Code: "1AJS9", Name: "Too many", Seats: 101})
	if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "BAD_REQUEST") || !strings.Contains(err.Error(), "1..100") {
		t.Errorf("product.add of 101 seats: %v; want store.ErrInvalid saying BAD_REQUEST and 1..100", err)
	}
	for _, e := range append(seen, err) {
		if e != nil && (strings.Contains(e.Error(), known.Display()) || strings.Contains(e.Error(), unknown.Display())) {
			t.Errorf("an error shows a license key")
		}
	}

	// Nothing refused was done.
	if shops, err := c.Shops(); err != nil || len(shops) != 0 {
		t.Errorf("shops after refused operations: %v, %v", shops, err)
	}
	if _, err := c.Product("1AJS9"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a refused product was saved: %v", err)
	}
	if l, err := c.ShowLicense(known.Display()); err != nil || l.Status != "REVOKED" {
		t.Errorf("the revoked license: %q, %v", l.Status, err)
	}
	if n, err := c.VerifyAudit(); err != nil || n != auditBefore+1 {
		t.Errorf("audit after one revoke and refused operations: %d entries, %v; want %d", n, err, auditBefore+1)
	}
}

// TestAdminSocketMalformedRequests: a line that is not a request, a
// request of an unknown operation, and a body not of the operation's type
// are each answered with an error of their code, on the same connection,
// and change nothing.
func TestAdminSocketMalformedRequests(t *testing.T) {
	t.Parallel()
	g := startShopGateway(t)
	dir := g.srv.Identity().Dir
	waitAdmin(t, dir, g.logs)
	c, err := net.Dial("unix", gateway.AdminSocketPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(hang.Timeout(t))) // only a hang reaches it
	rd := bufio.NewReader(c)
	ask := func(line string) adminapi.Answer {
		t.Helper()
		if _, err := c.Write([]byte(line + "\n")); err != nil {
			t.Fatal(err)
		}
		b, err := rd.ReadBytes('\n')
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		var a adminapi.Answer
		if err := json.Unmarshal(b, &a); err != nil {
			t.Fatalf("%s: answer %q: %v", line, b, err)
		}
		return a
	}
	for _, c := range []struct {
		line, want string
		code       adminapi.Code
	}{
		{`not json`, "adminapi: malformed request: not a JSON request line", adminapi.CodeMalformed},
		{`{"op":"shop.drop","body":{"name":"x"}}`, `adminapi: unknown operation "shop.drop"`, adminapi.CodeUnknownOp},
		{`{"cmd":"shop.list"}`, `adminapi: unknown operation ""`, adminapi.CodeUnknownOp},
		{`{"op":"shop.add"}`, "adminapi: malformed request: shop.add has no body", adminapi.CodeMalformed},
		{`{"op":"shop.add","body":{"name":7}}`, "adminapi: malformed request: the body of shop.add: json: cannot unmarshal", adminapi.CodeMalformed},
		{`{"op":"shop.add","body":{"name":"x","public_key":"noisepub:x","networks":["0.0.0.0/0"],"products":["1AJS2"],"admin":true}}`, `adminapi: malformed request: the body of shop.add: json: unknown field "admin"`, adminapi.CodeMalformed},
		{`{"op":"product.show","body":["1AJS2"]}`, "adminapi: malformed request: the body of product.show", adminapi.CodeMalformed},
	} {
		a := ask(c.line)
		if a.Code != c.code || !strings.HasPrefix(a.Error, c.want) || a.Body != nil {
			t.Errorf("%s: answered %+v; want code %s and %q", c.line, a, c.code, c.want)
		}
	}
	// The connection still answers, and nothing was done.
	if a := ask(`{"op":"shop.list"}`); a.Error != "" || string(a.Body) != `{"shops":[]}` {
		t.Fatalf("shop.list after malformed requests: %+v", a)
	}
	if a := ask(`{"op":"audit","body":{}}`); a.Error != "" || strings.Contains(string(a.Body), "shop.add") {
		t.Fatalf("audit after malformed requests: %+v", a)
	}
}

// waitAdmin waits until the gateway serving dir answers on its admin
// socket, or has logged why it opened none. An answer, not a connection:
// the socket accepts connections from its bind, before the gateway has
// set its mode (0600), and only the gateway's serve loop, started after
// that, answers; a test that changes or checks the socket's mode must not
// race the gateway's own chmod.
func waitAdmin(t *testing.T, dir string, logs *gatewaytest.Logs) {
	t.Helper()
	for deadline := time.Now().Add(hang.Timeout(t)); ; time.Sleep(5 * time.Millisecond) {
		if c, err := gateway.DialAdmin(dir); err == nil {
			_, err = adminapi.Call(c, adminapi.OpStats, adminapi.None{})
			c.Close()
			if err == nil {
				return
			}
		}
		if strings.Contains(logs.String(), "no admin socket") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gateway opened no admin socket before the test's deadline:\n%s", logs.String())
		}
	}
}

func socketAt(path string) bool {
	fi, err := os.Lstat(path)
	return err == nil && fi.Mode()&os.ModeSocket != 0
}
