package clienttest

import (
	"context"
	"crypto/rand"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/keygen/composite"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// operatorBinary builds the operator's tollgate command once per test run.
func operatorBinary(t *testing.T) string {
	t.Helper()
	binMu.Lock()
	defer binMu.Unlock()
	exe := filepath.Join(binDir, "tollgate")
	err, done := binDone["tollgate"]
	if !done {
		ctx, cancel := context.WithTimeout(context.Background(), hang.Timeout(t))
		defer cancel()
		var out []byte
		if out, err = exec.CommandContext(ctx, "go", "build", "-o", exe, "../../gateway/cmd/tollgate").CombinedOutput(); err != nil {
			err = &buildError{err, out}
		}
		binDone["tollgate"] = err
	}
	if err != nil {
		t.Fatalf("go build tollgate: %v", err)
	}
	return exe
}

// airGapped returns a copy of the gateway's card whose only address cannot
// be reached: the machine that holds it never talks to the gateway.
func airGapped(g *testGateway) *wire.Card {
	c := *g.card
	c.SetAddresses([]string{"192.0.2.1:7443"}) // TEST-NET-1: never routed
	return &c
}

// TestOfflineCommands: a machine that never reaches the gateway activates
// through files, end to end with the real commands: tollgate-client
// request writes the request, the operator's tollgate license answer
// (through the running gateway's admin socket) answers it, tollgate-client
// import installs the lease and validate --offline allows; a second
// machine online finds no seat; tollgate-client release writes the proof,
// tollgate license release frees the seat, and the second machine then
// activates over QUIC. The key never shows in a file or an output.
func TestOfflineCommands(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	key := g.mint(t, 1, service.Spec{Seats: 1})[0]
	client, op := binary(t, "tollgate-client"), operatorBinary(t)
	dir := t.TempDir()
	cardFile := filepath.Join(dir, "server.card")
	if err := os.WriteFile(cardFile, airGapped(g).Marshal(), 0o644); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	reqFile, leaseFile, proofFile := filepath.Join(dir, "activation.req"), filepath.Join(dir, "activation.lease"), filepath.Join(dir, "release.proof")
	air := func(args ...string) result {
		return runBinary(t, client, append(args, "--card", cardFile, "--state", state, "--explicit", "airgap-machine-1")...)
	}
	data := g.srv.Identity().Dir

	r := air("request", key.Display(), "--out", reqFile)
	r.expect(t, "request", 0, "Activation request written")
	text, err := os.ReadFile(reqFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(text), "-----BEGIN TOLLGATE ACTIVATION REQUEST-----\n") {
		t.Fatal("the request file is not armored")
	}
	for _, s := range []string{string(text), r.stdout, r.stderr} {
		if strings.Contains(s, key.String()) || strings.Contains(s, key.Display()) {
			t.Fatal("the license key is readable in the request or the output")
		}
	}
	air("request", key.Display()).expect(t, "request without --out", 2, "--out")

	runBinary(t, op, "license", "answer", "--data", data, reqFile, "--out", leaseFile).expect(t, "license answer", 0, "activated", leaseFile)
	// Answered again: the same seat.
	runBinary(t, op, "license", "answer", "--data", data, reqFile, "--out", leaseFile).expect(t, "license answer again", 0, "activated")

	air("import", leaseFile).expect(t, "import", 0, "activated on this machine")
	air("validate", "--offline").expect(t, "validate offline", 0, "valid")
	// Imported again: its request is answered already.
	air("import", leaseFile).expect(t, "import again", 1, "does not answer an activation request")

	online := open(t, g, "", machine("2", "mac-2"), nil)
	want(t, "online machine, seat taken offline", online.Activate(context.Background(), key), false, clients.ReasonNoSeat)

	air("release", "--out", proofFile).expect(t, "release", 0, "released")
	air("validate", "--offline").expect(t, "validate after release", 1, "No license")
	if b, err := os.ReadFile(proofFile); err != nil || !strings.HasPrefix(string(b), "-----BEGIN TOLLGATE RELEASE PROOF-----\n") {
		t.Fatalf("release proof: %v", err)
	}
	runBinary(t, op, "license", "release", "--data", data, proofFile).expect(t, "license release", 0, "seat is free")
	activate(t, online, key)
	// The same proof again: that seat is gone.
	r = runBinary(t, op, "license", "release", "--data", data, proofFile, "--json")
	r.expect(t, "license release again", 1, `"status":"NOT_ACTIVATED"`, "has no seat on the machine")
	// A file that is not a request: a bad request, saying what it is.
	runBinary(t, op, "license", "answer", "--data", data, proofFile).expect(t, "answer a proof", 1, "not an activation request file")
}

// TestOfflineLibrary: the client library's air-gapped activation against
// a real gateway, answered through the shop channel (a customer portal):
// the lease is refused by another installation (lease-foreign), on
// another machine (other-machine), under another gateway's card
// (wrong-card) and when it answers no request made here
// (request-mismatch); imported, Check allows without asking the server;
// released, the proof frees the seat for another machine. The shop
// answers only for its own licenses, and a request sealed for another
// gateway is REQUEST_MISMATCH.
func TestOfflineLibrary(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	shop := newShopClient(t, g)
	key := g.mint(t, 1, service.Spec{Seats: 1, Shop: "acme"})[0]
	foreign := g.mint(t, 1, service.Spec{Seats: 1})[0]
	ctx := context.Background()

	card := airGapped(g)
	m := openWithCard(t, card, "", machine("air", "mac-air"))
	reqText, err := m.RequestOffline(key)
	if err != nil {
		t.Fatal(err)
	}
	ans, err := shop.AnswerOffline(ctx, reqText)
	if err != nil {
		t.Fatalf("AnswerOffline: %v", err)
	}
	// Another installation on the same machine.
	other := openWithCard(t, card, "", machine("air", "mac-air"))
	want(t, "another installation", other.ImportLease(ans.Lease), false, clients.ReasonLeaseForeign)
	// The same installation on another machine.
	moved := openWithCard(t, card, m.dir, machine("elsewhere", "mac-x"))
	want(t, "another machine", moved.ImportLease(ans.Lease), false, clients.ReasonOtherMachine)
	// A card of another gateway's lease key.
	k, err := composite.GenerateKey(composite.MLDSA44Ed25519, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	wrong := *card
	wrong.LeaseKeys = []*composite.PublicKey{k.Public()}
	wrongCard := openWithCard(t, &wrong, m.dir, machine("air", "mac-air"))
	want(t, "another gateway's card", wrongCard.ImportLease(ans.Lease), false, clients.ReasonWrongCard)
	// An altered lease.
	altered := []byte(strings.Replace(string(ans.Lease), "A", "B", 1))
	if d := m.ImportLease(altered); d.Allowed || (d.Reason != clients.ReasonLeaseInvalid && d.Reason != clients.ReasonWrongCard) {
		t.Fatalf("altered lease: %s", d.Reason)
	}

	want(t, "import", m.ImportLease(ans.Lease), true, clients.ReasonOK)
	d := m.Check(ctx)
	want(t, "check offline", d, true, clients.ReasonOffline)
	if d.Contact != "" {
		t.Fatalf("the check tried the server (%s): an air-gapped machine must not need it", d.Contact)
	}
	want(t, "imported twice", m.ImportLease(ans.Lease), false, clients.ReasonRequestMismatch)

	// The shop's refusals: another shop's license, another gateway.
	fm := openWithCard(t, card, "", machine("air2", "mac-air2"))
	freq, err := fm.RequestOffline(foreign)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := shop.AnswerOffline(ctx, freq); wire.StatusOf(err) != wire.StatusNotFound {
		t.Fatalf("another shop's license: %v, want NOT_FOUND", err)
	}
	elsewhere := *card
	var nk channel.PrivateKey
	rand.Read(nk[:])
	elsewhere.NoiseKey = nk.Public()
	em := openWithCard(t, &elsewhere, "", machine("air3", "mac-air3"))
	ereq, err := em.RequestOffline(key)
	if err != nil {
		t.Fatal(err)
	}
	_, err = shop.AnswerOffline(ctx, ereq)
	if wire.StatusOf(err) != wire.StatusRequestMismatch || strings.Contains(err.Error(), key.String()) {
		t.Fatalf("a request for another gateway: %v, want REQUEST_MISMATCH", err)
	}
	if _, err := shop.AnswerOffline(ctx, []byte("hello")); err == nil {
		t.Fatal("junk answered")
	}

	// The seat is held: an online machine is refused; released, it is free.
	online := open(t, g, "", machine("2", "mac-2"), nil)
	want(t, "online machine", online.Activate(ctx, key), false, clients.ReasonNoSeat)
	proof, err := m.ReleaseOffline()
	if err != nil {
		t.Fatal(err)
	}
	want(t, "after release", m.CheckOffline(), false, clients.ReasonNotActivated)
	if again, err := m.ReleaseOffline(); err != nil || string(again) != string(proof) {
		t.Fatalf("release again: %v (same proof: %v)", err, string(again) == string(proof))
	}
	id, err := shop.ReleaseOffline(ctx, proof)
	if err != nil {
		t.Fatalf("ReleaseOffline: %v", err)
	}
	if lic, _ := g.srv.Store().Activations(id); len(lic) != 0 {
		t.Fatalf("%d seats after the release", len(lic))
	}
	if _, err := shop.ReleaseOffline(ctx, proof); wire.StatusOf(err) != wire.StatusNotActivated {
		t.Fatalf("released twice: %v, want NOT_ACTIVATED", err)
	}
	activate(t, online, key)
}

// openWithCard opens a Licensee under card, which need not be reachable.
func openWithCard(t *testing.T, card *wire.Card, dir string, comps func() []clients.RawComponent) install {
	t.Helper()
	if dir == "" {
		dir = filepath.Join(t.TempDir(), "state")
	}
	clock := &fakeClock{t: time.Now()}
	l, err := clients.OpenLicensee(clients.LicenseeConfig{
		Card: card, Product: product, StateDir: dir, Components: comps, Now: clock.Now,
		Timeout: hang.Timeout(t), Hostname: "air-host", AppVersion: "1.0",
	})
	if err != nil {
		t.Fatalf("OpenLicensee: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return install{l, dir, clock}
}

// newShopClient registers the shop "acme" (product 1AJS2, loopback) with
// the gateway and returns its client.
func newShopClient(t *testing.T, g *testGateway) *clients.ShopClient {
	t.Helper()
	k, err := channel.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	registerShop(t, g, "acme", k)
	c, err := clients.NewShop(clients.ShopConfig{Card: g.card, ShopKey: k, Timeout: hang.Timeout(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// registerShop registers shop name with key k for product 1AJS2 from
// loopback, the catalogue loaded.
func registerShop(t *testing.T, g *testGateway, name string, k channel.PrivateKey) {
	t.Helper()
	if _, err := service.LoadDemoCatalogue(g.srv.Store()); err != nil {
		t.Fatal(err)
	}
	sh := store.Shop{Name: name, PublicKey: k.Public(), Products: []string{product},
		Networks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	if err := g.srv.Store().AddShop(sh); err != nil {
		t.Fatal(err)
	}
	if err := g.srv.ReloadShops(); err != nil {
		t.Fatal(err)
	}
}
