package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/clients"
	"github.com/tollgate/tollgate/gateway/gatewaytest"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/wire"
)

// TestResetSeatCommand: 'tollgate-shop reset-seat' against a real gateway
// frees the seat of the machine named, saying how many resets are left
// (text and --json); the same machine again fails NOT_ACTIVATED; a
// request naming no seat, or two ways, is a usage error.
func TestResetSeatCommand(t *testing.T) {
	g := gatewaytest.Start(t)
	if _, err := service.LoadDemoCatalogue(g.Server.Store()); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keyFile, cardFile := filepath.Join(dir, "shop.key"), filepath.Join(dir, "server.card")
	var out, errb bytes.Buffer
	if code := run([]string{"keygen", "--out", keyFile}, &out, &errb); code != 0 {
		t.Fatalf("keygen: exit %d: %s", code, errb.String())
	}
	k, err := channel.ReadPrivateKeyFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	sh := store.Shop{Name: "acme", PublicKey: k.Public(), Products: []string{"1AJS2"},
		Networks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	if err := g.Server.Store().AddShop(sh); err != nil {
		t.Fatal(err)
	}
	if err := g.Server.ReloadShops(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cardFile, g.Card.Marshal(), 0o644); err != nil {
		t.Fatal(err)
	}
	shop := func(args ...string) (int, string, string) {
		out.Reset()
		errb.Reset()
		code := run(append(args, "--card", cardFile, "--key", keyFile), &out, &errb)
		return code, out.String(), errb.String()
	}
	if code, o, e := shop("mint", "--product", "1AJS2", "--order", "R-1", "--seats", "2"); code != 0 {
		t.Fatalf("mint: %d %s %s", code, o, e)
	}
	key, err := keygen.ParseKey(strings.TrimSpace(out.String()))
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"pc-1", "pc-2"} {
		ik, _ := channel.GenerateKey(rand.Reader)
		c, err := clients.New(clients.Config{Card: g.Card, InstallKey: ik, Timeout: hang.Timeout(t)})
		if err != nil {
			t.Fatal(err)
		}
		fp := clients.Fingerprint("1AJS2", []clients.RawComponent{{Kind: wire.KindMachineID, Value: host}, {Kind: wire.KindDisk, Value: host}})
		if _, err := c.Activate(context.Background(), key, fp, host, "1.0"); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	code, o, e := shop("reset-seat", "--machine", "pc-1", key.Display())
	if code != 0 || !strings.Contains(o, "1 seat(s) freed, 1 of 2 in use; 2 self-service reset(s) left") {
		t.Fatalf("reset-seat: %d %q %q", code, o, e)
	}
	if code, _, e := shop("reset-seat", "--machine", "pc-1", key.Display()); code != 1 || !strings.Contains(e, "NOT_ACTIVATED") {
		t.Fatalf("reset-seat of a machine holding no seat: %d %q", code, e)
	}
	code, o, _ = shop("reset-seat", "--json", "--all", key.Display())
	var js struct {
		Status     string `json:"status"`
		Freed      int    `json:"freed"`
		ResetsLeft int    `json:"resets_left"`
		Key        string `json:"key"`
	}
	if err := json.Unmarshal([]byte(o), &js); err != nil || code != 0 || js.Status != "ok" || js.Freed != 1 || js.ResetsLeft != 1 {
		t.Fatalf("reset-seat --all --json: %d %s (%v)", code, o, err)
	}
	if strings.Contains(o, key.Display()) {
		t.Fatal("the JSON answer holds the whole key")
	}
	for _, args := range [][]string{{"reset-seat", key.Display()}, {"reset-seat", "--all", "--machine", "pc-2", key.Display()}, {"reset-seat", "--all"}} {
		if code, _, _ := shop(args...); code != 2 {
			t.Errorf("%q: exit %d, want 2 (usage)", args, code)
		}
	}
}
