package gateway_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// rawMint sends one MintRequest on a new shop session and returns the
// answer, which must be a MintResponse.
func rawMint(t *testing.T, g *testGateway, k channel.PrivateKey, req wire.MintRequest) wire.MintResponse {
	t.Helper()
	ctx := hang.Context(t)
	conn, err := channel.Dial(ctx, g.card.Address, channel.ClientTLSConfig(g.card.TLSPin), channel.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseWithError(0, "")
	sess, err := channel.OpenSession(ctx, conn, channel.Config{Pattern: channel.PatternKK, Static: k, RemoteStatic: g.card.NoiseKey})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	rand.Read(req.Nonce[:])
	if err := sess.WriteFrame(wire.AppendFrame(nil, 1, req)); err != nil {
		t.Fatal(err)
	}
	frame, err := sess.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	hdr, n, err := wire.ParseHeader(frame)
	if err != nil || hdr.Type != wire.TypeMintResponse {
		t.Fatalf("mint answer %v, %v", hdr.Type, err)
	}
	resp, _, err := wire.ParseMintResponse(frame[n:])
	if err != nil || resp.Nonce != req.Nonce {
		t.Fatalf("mint answer: %v (nonce echoed: %v)", err, resp.Nonce == req.Nonce)
	}
	resp.Sealed = bytes.Clone(resp.Sealed)
	return resp
}

// legacyAEAD is the order-sealing key older gateways derived from the key
// hash secret in dir: HKDF-SHA256 of the secret, "tollgate order seal v1",
// as AES-256-GCM.
func legacyAEAD(t *testing.T, dir string) cipher.AEAD {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, gateway.FileKeySecret))
	if err != nil {
		t.Fatal(err)
	}
	secret, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	key, err := hkdf.Key(sha256.New, secret, nil, "tollgate order seal v1", 32)
	if err != nil {
		t.Fatal(err)
	}
	blk, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(blk)
	if err != nil {
		t.Fatal(err)
	}
	return aead
}

// keyForms returns the forms a key could be found in: canonical, its
// random part, the grouped display form, and the random part's value as
// 16 raw bytes.
func keyForms(k keygen.Key) [][]byte {
	random := string(k[keygen.ProductCodeLen : keygen.KeyLen-1])
	v, ok := new(big.Int).SetString(strings.ToLower(random), 36)
	forms := [][]byte{k[:], []byte(random), []byte(k.Display())}
	if ok {
		forms = append(forms, v.FillBytes(make([]byte, 16)))
	}
	return forms
}

// TestMintedKeysSealedToShop: the gateway keeps an order's keys only
// sealed to the shop. The MINT answer carries the sealed bytes the order
// record keeps, the same on a retry, and the shop's key opens them to the
// keys the client library returned. With the gateway stopped, its whole
// data directory (key hash secret, Noise key and all) holds no minted key
// in any form, the old keyhash-derived order key does not open the record,
// and neither does the gateway's own private key.
func TestMintedKeysSealedToShop(t *testing.T) {
	t.Parallel()
	g := startShopGateway(t)
	shopKey := g.registerShop(t, "acme", 0, "127.0.0.0/8", "::1/128")
	shop := g.shopClient(t, shopKey)
	ctx := context.Background()
	spec := clients.MintSpec{Term: wire.Term{Kind: wire.TermYears, Value: 2}, Seats: 2, Entitlements: []string{"scan"}}
	keys, err := shop.Mint(ctx, "ORD-1", "1AJS2", 25, spec)
	if err != nil {
		t.Fatalf("Mint: %v", err)
	}
	again, err := shop.Mint(ctx, "ORD-1", "1AJS2", 25, spec)
	if err != nil || !slices.Equal(keys, again) {
		t.Fatalf("Mint retry: %v (same keys: %v)", err, slices.Equal(keys, again))
	}

	// The same order, sent by hand: the answer is the record's sealed bytes.
	req := wire.MintRequest{OrderID: []byte("ORD-1"), Count: 25,
		Spec: wire.MintSpec{Term: spec.Term, Seats: spec.Seats}}
	copy(req.Product[:], "1AJS2")
	if req.Spec.Entitlements, err = wire.NewEntitlements(spec.Entitlements...); err != nil {
		t.Fatal(err)
	}
	r1, r2 := rawMint(t, g, shopKey, req), rawMint(t, g, shopKey, req)
	o, err := g.srv.Store().OrderByID("acme", "ORD-1")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r1.Sealed, o.Sealed) || !bytes.Equal(r2.Sealed, o.Sealed) || r1.Count != 25 {
		t.Errorf("retries answered other sealed bytes than the order record keeps")
	}
	plain, err := wire.OpenKeys(shopKey, req.AppendOrder(nil), r1.Sealed)
	if err != nil {
		t.Fatalf("the shop's key does not open the answer: %v", err)
	}
	for i, k := range keys {
		if !bytes.Equal(plain[i*keygen.KeyLen:(i+1)*keygen.KeyLen], k[:]) {
			t.Fatalf("key %d opened from the answer differs from the one Mint returned", i)
		}
	}

	// Everything a thief of the data directory has, once the gateway stopped.
	dir := g.srv.Identity().Dir
	order := req.AppendOrder(nil)
	g.stop()
	var files int
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		for i, k := range keys {
			for _, f := range keyForms(k) {
				if bytes.Contains(b, f) {
					t.Errorf("%s holds minted key %d (a %d-byte form)", path, i, len(f))
				}
			}
		}
		return nil
	})
	if err != nil || files == 0 {
		t.Fatalf("walking %s: %d files, %v", dir, files, err)
	}
	aead := legacyAEAD(t, dir)
	ns := aead.NonceSize()
	if _, err := aead.Open(nil, o.Sealed[:ns], o.Sealed[ns:], []byte("acme\x00ORD-1")); err == nil {
		t.Errorf("the key derived from keyhash.secret opens the order's keys")
	}
	id, err := gateway.LoadIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wire.OpenKeys(id.Noise, order, o.Sealed); err == nil {
		t.Fatalf("the gateway's own private key opens the order's keys")
	}
}

// TestLegacyOrderRetry: an order an older gateway wrote, its keys sealed
// with the keyhash-derived key, still answers a retry: the gateway opens
// it and seals the keys to the shop for the answer, and leaves the record
// as it was.
func TestLegacyOrderRetry(t *testing.T) {
	t.Parallel()
	g := startShopGateway(t)
	shopKey := g.registerShop(t, "acme", 0, "127.0.0.0/8", "::1/128")
	st := g.srv.Store()
	req := wire.MintRequest{OrderID: []byte("OLD-1"), Count: 3}
	copy(req.Product[:], "1AJS2")
	p, _ := keygen.ParseProductCode("1AJS2")
	keys, err := keygen.MintBatch(p, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	// As an older gateway wrote it: licenses, and the keys under the
	// legacy AEAD (nonce first; shop and order id as associated data).
	aead := legacyAEAD(t, g.srv.Identity().Dir)
	old := store.Order{Shop: "acme", ID: "OLD-1", Request: req.AppendOrder(nil), Count: 3, Product: "1AJS2"}
	_, _, err = st.MintOrder(old, 0, func() ([]store.License, []byte, error) {
		ls := make([]store.License, len(keys))
		var plain []byte
		for i, k := range keys {
			ls[i] = store.License{KeyHash: g.srv.Identity().Hasher.Hash(k), Product: "1AJS2", Seats: 1,
				Term: store.Term{Kind: store.TermYears, Value: 1}, Created: time.Now().Unix(), Shop: "acme", Order: "OLD-1"}
			ls[i].ID = store.IDFor(ls[i].KeyHash)
			plain = append(plain, k[:]...)
		}
		sealed := make([]byte, aead.NonceSize())
		rand.Read(sealed)
		return ls, aead.Seal(sealed, sealed, plain, []byte("acme\x00OLD-1")), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	before, err := st.OrderByID("acme", "OLD-1")
	if err != nil {
		t.Fatal(err)
	}
	got, err := g.shopClient(t, shopKey).Mint(context.Background(), "OLD-1", "1AJS2", 3, clients.MintSpec{})
	if err != nil {
		t.Fatalf("retry of an order an older gateway wrote: %v", err)
	}
	if !slices.Equal(got, keys) {
		t.Fatalf("the retry returned other keys")
	}
	after, err := st.OrderByID("acme", "OLD-1")
	if err != nil || !bytes.Equal(after.Sealed, before.Sealed) {
		t.Fatalf("the legacy order record changed: %v", err)
	}
}
