// Package demo is the round trip 'tollgate demo' shows: a gateway in a
// temporary directory, a shop minting keys over the shop channel, and an
// app activating, validating and deactivating one of them, each step
// printed. It uses the gateway, the service's catalogue, the typed admin
// API and the client library as any program does; the gateway packages
// never import it (importrules_test.go).
package demo

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/gateway/adminapi"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/keygen/composite"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/wire"
)

// ErrStep reports a step of the demo that did not go as it should.
var ErrStep = errors.New("demo: step failed")

// Run shows a whole round trip and prints each step to w: in a temporary
// directory it initialises a gateway, serves it on loopback, registers a
// shop for 127.0.0.1 (through the typed admin API) and mints 5 keys of
// 1AJS2 with the shop client (Noise KK), then, as an app would with the
// client library (Noise IK), activates one key, validates it, shows the
// lease and deactivates. Then it walks through the licensing models of the
// demo catalogue with clients.Licensee on several made-up machines
// (models.go): a floating key's seats checked out, refused no-seat and
// checked in; a keyless trial, and a reinstall refused trial-used (in
// English and German); a bundle's key licensing two products; a plug-in
// refused base-missing until its base is activated. It stops the gateway
// and removes the directory before returning, whatever happens.
func Run(ctx context.Context, w io.Writer) (err error) {
	step := func(format string, args ...any) { fmt.Fprintf(w, "==> "+format+"\n", args...) }
	dir, err := os.MkdirTemp("", "tollgate-demo-")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer os.RemoveAll(dir)

	step("initialising a gateway in %s", dir)
	if _, err := gateway.Init(dir, composite.MLDSA44Ed25519, gateway.DefaultAddress); err != nil {
		return err
	}
	srv, err := gateway.New(gateway.Config{Dir: dir, Listen: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return err
	}
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sctx) }()
	defer func() {
		stop()
		if serr := <-served; err == nil && serr != nil {
			err = serr
		}
		step("gateway stopped; %s removed", dir)
	}()
	card := *srv.Identity().Card
	card.Address = srv.Addr().String()
	step("gateway listening on %s (QUIC), server key %s", card.Address, channel.PublicKey(card.NoiseKey))

	n, err := service.LoadDemoCatalogue(srv.Store())
	if err != nil {
		return err
	}
	step("catalogue: %d VSE 2.1 products loaded (1AJS2 = VSE 2.1 Lite for Windows, 1 client, 1 year)", n)

	shopKey, err := channel.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	// The operator's command, in process: the socket would serve the same
	// API, but this program already holds the running gateway.
	admin := (&gateway.Admin{St: srv.Store(), Hasher: srv.Identity().Hasher, Reload: srv.ReloadShops}).Client()
	sh := adminapi.Shop{Name: "demo-shop", PublicKey: shopKey.Public().String(), Products: []string{"1AJS2", "1AJS3", "1AJS4", "1FJS3", "1CJS2", "1SJS2", "1MJS2"},
		Networks: []string{"127.0.0.1/32"}, DailyQuota: 1000}
	if err := admin.AddShop(sh); err != nil {
		return err
	}
	step("shop %q registered: key %s, may connect from 127.0.0.1/32, quota 1000 keys a day", sh.Name, sh.PublicKey)

	shop, err := clients.NewShop(clients.ShopConfig{Card: &card, ShopKey: shopKey})
	if err != nil {
		return err
	}
	defer shop.Close()
	keys, err := shop.Mint(ctx, "DEMO-ORDER-1", "1AJS2", 5, clients.MintSpec{})
	if err != nil {
		return err
	}
	step("shop minted order DEMO-ORDER-1 over Noise KK: 5 keys of 1AJS2, sealed to the shop's key (durable before the answer)")
	for _, k := range keys {
		fmt.Fprintf(w, "      %s\n", k.Display())
	}
	again, err := shop.Mint(ctx, "DEMO-ORDER-1", "1AJS2", 5, clients.MintSpec{})
	if err != nil {
		return err
	}
	if !slices.EqualFunc(keys, again, func(a, b keygen.Key) bool { return a.Equal(b) }) {
		return fmt.Errorf("%w: a retried order returned other keys", ErrStep)
	}
	step("the shop retried the same order: the same 5 keys came back, nothing new was minted")

	installKey, err := channel.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	app, err := clients.New(clients.Config{Card: &card, InstallKey: installKey})
	if err != nil {
		return err
	}
	defer app.Close()
	fp := clients.Fingerprint("1AJS2", machine)
	act, err := app.Activate(ctx, keys[0], fp, "demo-pc", "2.1.0")
	if err != nil {
		return err
	}
	lease, err := wire.VerifyLease(act.Lease, card.LeaseKeys) // Activate verified it; this reads it
	if err != nil {
		return fmt.Errorf("%w: lease: %w", ErrStep, err)
	}
	step("app activated key %s on host demo-pc over Noise IK: license %x", keys[0], act.LicenseID[:4])

	val, err := app.Validate(ctx, act.LicenseID, fp, 1, false)
	if err != nil {
		return err
	}
	step("app validated the license: %v, server time %s", wire.StatusOK, val.ServerTime.UTC().Format(time.RFC3339))

	step("the signed lease (%d bytes, %v signature verified against the card):", len(act.Lease), lease.Scheme)
	fmt.Fprintf(w, "      product       %s\n", lease.Product[:])
	fmt.Fprintf(w, "      license id    %x\n", lease.LicenseID)
	fmt.Fprintf(w, "      issued        %s\n", time.Unix(lease.Issued, 0).UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "      lease expiry  %s (works offline until then)\n", time.Unix(lease.LeaseExpiry, 0).UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "      license until %s\n", time.Unix(lease.LicenseExpiry, 0).UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "      level         %v\n", lease.Level)
	fmt.Fprintf(w, "      entitlements ")
	for e := range lease.Entitlements.All() {
		fmt.Fprintf(w, " %s", e)
	}
	fmt.Fprintf(w, "\n      fingerprint   %d components\n", lease.Fingerprint.N)

	if err := app.Deactivate(ctx, act.LicenseID); err != nil {
		return err
	}
	step("app deactivated: the seat is free for another machine")

	return runModels(ctx, w, step, &card, srv, shop, filepath.Join(dir, "machines"))
}

// machine is a made-up machine with three components; the client library
// hashes them, salted by the product, as it does a real machine's.
var machine = []clients.RawComponent{
	{Kind: wire.KindMachineID, Value: "demo-machine-id"},
	{Kind: wire.KindMAC, Value: "02:00:00:de:00:01"},
	{Kind: wire.KindDisk, Value: "demo-disk-serial"},
}
