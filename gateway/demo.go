package gateway

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"time"

	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/keygen/composite"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// ErrDemo reports a step of the demo that did not go as it should.
var ErrDemo = errors.New("gateway: demo step failed")

// RunDemo shows a whole round trip and prints each step to w: in a
// temporary directory it initialises a gateway, serves it on loopback,
// registers a shop for 127.0.0.1 and mints 5 keys of 1AJS2 through the
// real shop channel (Noise KK), then, as an app would (Noise IK),
// activates one key, validates it, shows the lease and deactivates. It
// stops the gateway and removes the directory before returning, whatever
// happens.
//
// The gateway may not import the client library (DESIGN.md, Parts), so
// the demo speaks the protocol with internal/channel and wire directly,
// one request at a time; clients.ShopClient and clients.Client do the
// same with pipelining.
func RunDemo(ctx context.Context, w io.Writer) (err error) {
	step := func(format string, args ...any) { fmt.Fprintf(w, "==> "+format+"\n", args...) }
	dir, err := os.MkdirTemp("", "tollgate-demo-")
	if err != nil {
		return fmt.Errorf("gateway: demo: %w", err)
	}
	defer os.RemoveAll(dir)

	step("initialising a gateway in %s", dir)
	if _, err := Init(dir, composite.MLDSA44Ed25519, DefaultAddress); err != nil {
		return err
	}
	srv, err := New(Config{Dir: dir, Listen: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
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
	sh := store.Shop{Name: "demo-shop", PublicKey: shopKey.Public(), Products: []string{"1AJS2", "1AJS3", "1AJS4"},
		Networks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, DailyQuota: 1000, Created: time.Now().Unix()}
	if err := srv.Store().PutShop(sh); err != nil {
		return err
	}
	if err := srv.ReloadShops(); err != nil {
		return err
	}
	step("shop %q registered: key %s, may connect from 127.0.0.1/32, quota 1000 keys a day", sh.Name, shopKey.Public())

	conn, err := channel.Dial(ctx, card.Address, channel.ClientTLSConfig(card.TLSPin), channel.Limits{})
	if err != nil {
		return err
	}
	defer conn.CloseWithError(0, "demo done")

	shop, err := channel.OpenSession(ctx, conn, channel.Config{Pattern: channel.PatternKK, Static: shopKey, RemoteStatic: card.NoiseKey})
	if err != nil {
		return err
	}
	defer shop.Close()
	mint := wire.MintRequest{Nonce: demoNonce(), OrderID: []byte("DEMO-ORDER-1"), Count: 5}
	copy(mint.Product[:], "1AJS2")
	body, err := demoRoundTrip(shop, mint, wire.TypeMintResponse)
	if err != nil {
		return err
	}
	mr, _, err := wire.ParseMintResponse(body)
	if err != nil || mr.Nonce != mint.Nonce || mr.Count != 5 {
		return fmt.Errorf("%w: mint answer", ErrDemo)
	}
	plain, err := wire.OpenKeys(shopKey, mint.AppendOrder(nil), mr.Sealed) // sealed to the shop: only its key opens them
	if err != nil {
		return fmt.Errorf("%w: the minted keys do not open with the shop's key", ErrDemo)
	}
	step("shop minted order DEMO-ORDER-1 over Noise KK: 5 keys of 1AJS2, sealed to the shop's key (durable before the answer)")
	keys := make([]keygen.Key, mr.Count)
	for i := range keys {
		if keys[i], err = keygen.ParseCanonical(plain[i*keygen.KeyLen : (i+1)*keygen.KeyLen]); err != nil {
			return fmt.Errorf("%w: minted key %d", ErrDemo, i)
		}
		fmt.Fprintf(w, "      %s\n", keys[i].Display())
	}
	mint.Nonce = demoNonce()
	if body, err = demoRoundTrip(shop, mint, wire.TypeMintResponse); err != nil {
		return err
	}
	again, _, err := wire.ParseMintResponse(body)
	if err != nil || string(again.Sealed) != string(mr.Sealed) {
		return fmt.Errorf("%w: a retried order returned other keys", ErrDemo)
	}
	step("the shop retried the same order: the same 5 keys came back, nothing new was minted")

	installKey, err := channel.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	app, err := channel.OpenSession(ctx, conn, channel.Config{Pattern: channel.PatternIK, Static: installKey, RemoteStatic: card.NoiseKey})
	if err != nil {
		return err
	}
	defer app.Close()
	fp := demoFingerprint()
	act := wire.ActivateRequest{Nonce: demoNonce(), Key: keys[0], Fingerprint: fp, Hostname: []byte("demo-pc"), AppVersion: []byte("2.1.0")}
	if body, err = demoRoundTrip(app, act, wire.TypeActivateResponse); err != nil {
		return err
	}
	ar, _, err := wire.ParseActivateResponse(body)
	if err != nil || ar.Nonce != act.Nonce {
		return fmt.Errorf("%w: activation answer", ErrDemo)
	}
	lease, err := wire.VerifyLease(ar.Lease, card.LeaseKeys)
	if err != nil {
		return fmt.Errorf("%w: lease: %w", ErrDemo, err)
	}
	step("app activated key %s on host demo-pc over Noise IK: license %x", keys[0], ar.LicenseID[:4])

	val := wire.ValidateRequest{Nonce: demoNonce(), LicenseID: ar.LicenseID, Counter: 1, Fingerprint: fp}
	if body, err = demoRoundTrip(app, val, wire.TypeValidateResponse); err != nil {
		return err
	}
	vr, _, err := wire.ParseValidateResponse(body)
	if err != nil || vr.Nonce != val.Nonce || vr.Status != wire.StatusOK {
		return fmt.Errorf("%w: validation answer", ErrDemo)
	}
	step("app validated the license: %v, server time %s", vr.Status, time.Unix(vr.ServerTime, 0).UTC().Format(time.RFC3339))

	step("the signed lease (%d bytes, %v signature verified against the card):", len(ar.Lease), lease.Scheme)
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

	deact := wire.DeactivateRequest{Nonce: demoNonce(), LicenseID: ar.LicenseID}
	if _, err = demoRoundTrip(app, deact, wire.TypeDeactivateResponse); err != nil {
		return err
	}
	step("app deactivated: the seat is free for another machine")
	return nil
}

// demoRoundTrip sends m on sess and returns the body of the answer, which
// must be of type want; an error answer is returned as its *wire.StatusError.
func demoRoundTrip(sess *channel.Session, m wire.Message, want wire.Type) ([]byte, error) {
	if err := sess.WriteFrame(wire.AppendFrame(nil, 1, m)); err != nil {
		return nil, err
	}
	frame, err := sess.ReadFrame()
	if err != nil {
		return nil, err
	}
	hdr, n, err := wire.ParseHeader(frame)
	if err != nil {
		return nil, err
	}
	body := append([]byte(nil), frame[n:]...)
	if hdr.Type == wire.TypeErrorResponse {
		er, _, err := wire.ParseErrorResponse(body)
		if err != nil {
			return nil, err
		}
		return nil, er.Err()
	}
	if hdr.Type != want {
		return nil, fmt.Errorf("%w: answer of type %v, want %v", ErrDemo, hdr.Type, want)
	}
	return body, nil
}

func demoNonce() (n [wire.NonceSize]byte) {
	rand.Read(n[:])
	return n
}

// demoFingerprint is a made-up machine with three components.
func demoFingerprint() wire.Fingerprint {
	var f wire.Fingerprint
	for i, k := range []wire.ComponentKind{wire.KindMachineID, wire.KindMAC, wire.KindDisk} {
		h := sha256.Sum256([]byte{byte(k), 'd', 'e', 'm', 'o'})
		f.C[i] = wire.FPComponent{Kind: k, Hash: [wire.FPHashSize]byte(h[:wire.FPHashSize])}
	}
	f.N = 3
	return f
}
