package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/gateway/adminapi"
	"github.com/tollgate/tollgate/wire"
)

// TestKeysTransportCommands runs keys announce-transport, switch-transport
// and retire-transport on a stopped gateway: the card gains the next-*
// lines, then names the new keys alone; a backup taken between switch and
// retire carries the previous keys and a restored directory loads them;
// nothing printed holds a private key; refusals out of order are usage
// errors that say what to run.
func TestKeysTransportCommands(t *testing.T) {
	dir := t.TempDir()
	tollgate(t, "init", "--data", dir)
	list := func(args ...string) adminapi.TransportKeys {
		t.Helper()
		var ks adminapi.TransportKeys
		if err := json.Unmarshal([]byte(tollgate(t, append(args, "--json")...)), &ks); err != nil {
			t.Fatal(err)
		}
		return ks
	}
	card0, err := wire.ParseCard([]byte(tollgate(t, "card", "--data", dir)))
	if err != nil {
		t.Fatal(err)
	}
	if ks := list("keys", "transport", "--data", dir); len(ks.Keys) != 1 || ks.Keys[0].Role != "current" {
		t.Fatalf("transport keys of a new gateway: %+v", ks.Keys)
	}
	if _, _, err := runErr("keys", "switch-transport", "--data", dir); !errors.Is(err, gateway.ErrUsage) || !strings.Contains(err.Error(), "announce-transport") {
		t.Fatalf("switch before announce: %v", err)
	}
	out := tollgate(t, "keys", "announce-transport", "--data", dir)
	if !strings.Contains(out, "switch-transport") || !strings.Contains(out, "next ") {
		t.Fatalf("announce said %q", out)
	}
	card1, err := wire.ParseCard([]byte(tollgate(t, "card", "--data", dir)))
	if err != nil || !card1.HasNextNoiseKey() || !card1.HasNextTLSPin() || card1.NoiseKey != card0.NoiseKey {
		t.Fatalf("the announced card: %v", err)
	}
	if _, _, err := runErr("keys", "announce-transport", "--data", dir); !errors.Is(err, gateway.ErrUsage) {
		t.Fatalf("announce twice: %v", err)
	}
	out = tollgate(t, "keys", "switch-transport", "--data", dir)
	if !strings.Contains(out, "retire-transport") || !strings.Contains(out, "previous") {
		t.Fatalf("switch said %q", out)
	}
	card2, err := wire.ParseCard([]byte(tollgate(t, "card", "--data", dir)))
	if err != nil || card2.NoiseKey != card1.NextNoiseKey || card2.TLSPin != card1.NextTLSPin || card2.HasNextNoiseKey() {
		t.Fatalf("the switched card: %v", err)
	}
	secrets, err := os.ReadFile(filepath.Join(dir, gateway.FileTransportKeys))
	if err != nil {
		t.Fatal(err)
	}
	priv := strings.Fields(strings.Split(string(secrets), "\n")[1])[2]
	if strings.Contains(out, priv) {
		t.Fatal("switch-transport printed a private key")
	}

	tar := filepath.Join(t.TempDir(), "b.tar")
	tollgate(t, "backup", "--data", dir, "--out", tar)
	restored := filepath.Join(t.TempDir(), "r")
	tollgate(t, "restore", "--in", tar, "--data", restored)
	if ks := list("keys", "transport", "--data", restored); len(ks.Keys) != 2 || ks.Keys[1].Role != "previous" {
		t.Fatalf("restored transport keys: %+v", ks.Keys)
	}

	tollgate(t, "keys", "retire-transport", "--data", dir)
	if ks := list("keys", "transport", "--data", dir); len(ks.Keys) != 1 {
		t.Fatalf("after retire: %+v", ks.Keys)
	}
	if _, _, err := runErr("keys", "retire-transport", "--data", dir); !errors.Is(err, gateway.ErrUsage) {
		t.Fatalf("retire twice: %v", err)
	}
	if _, _, err := runErr("keys", "transport", "--data", dir, "extra"); !errors.Is(err, gateway.ErrUsage) {
		t.Fatalf("an extra argument: %v", err)
	}
}
