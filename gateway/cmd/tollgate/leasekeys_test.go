package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/gateway/adminapi"
	"github.com/tollgate/tollgate/wire"
)

// TestKeysRotateCommand runs keys list, rotate and retire on a stopped
// gateway: the rotation adds a key that signs, the card lists both (the
// new one first, the old one with its retire date), a backup carries the
// set and a restored directory loads it; and each refusal is a usage error
// that says what to do.
func TestKeysRotateCommand(t *testing.T) {
	dir := t.TempDir()
	tollgate(t, "init", "--data", dir)
	keysOf := func(args ...string) adminapi.LeaseKeys {
		t.Helper()
		var ks adminapi.LeaseKeys
		if err := json.Unmarshal([]byte(tollgate(t, append(args, "--json")...)), &ks); err != nil {
			t.Fatal(err)
		}
		return ks
	}
	before := keysOf("keys", "list", "--data", dir)
	if len(before.Keys) != 1 || !before.Keys[0].Signing || before.Keys[0].RetireAfter != 0 {
		t.Fatalf("keys of a new gateway: %+v", before.Keys)
	}
	out := tollgate(t, "keys", "rotate", "--data", dir, "--retire-after", "2099-03-01")
	if !strings.Contains(out, "lease key rotated") || !strings.Contains(out, "retires after 2099-03-01T00:00:00Z") {
		t.Fatalf("keys rotate said %q", out)
	}
	after := keysOf("keys", "list", "--data", dir)
	if len(after.Keys) != 2 || !after.Keys[0].Signing || after.Keys[1].ID != before.Keys[0].ID || after.Keys[0].Since == 0 {
		t.Fatalf("keys after the rotation: %+v", after.Keys)
	}
	card, err := wire.ParseCard([]byte(tollgate(t, "card", "--data", dir)))
	if err != nil {
		t.Fatalf("the card after a rotation: %v", err)
	}
	if len(card.LeaseKeys) != 2 || len(card.Retire) != 1 || card.Retire[0].After != time.Date(2099, 3, 1, 0, 0, 0, 0, time.UTC).Unix() {
		t.Fatalf("the card lists %d keys and %d retire dates", len(card.LeaseKeys), len(card.Retire))
	}
	retired := keysOf("keys", "retire", "--data", dir, "--after", "2099-04-01", after.Keys[1].ID[:6])
	if retired.Keys[1].RetireAfter != time.Date(2099, 4, 1, 0, 0, 0, 0, time.UTC).Unix() {
		t.Fatalf("keys after retire: %+v", retired.Keys)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"keys", "retire", "--data", dir, "--after", "2099-04-01", after.Keys[0].ID}, "rotate first"},
		{[]string{"keys", "retire", "--data", dir, "--after", "2099-04-01", "ffff"}, "keys list"},
		{[]string{"keys", "retire", "--data", dir, "--after", "2099-04-01", "ab"}, "at least the first 4"},
		{[]string{"keys", "rotate", "--data", dir, "--retire-after", "2001-01-01"}, "in the past"},
		{[]string{"keys", "rotate", "--data", dir, "--scheme", "mldsa65-ed25519"}, "more than a lease carries"},
	} {
		_, _, err := runErr(c.args...)
		if !errors.Is(err, gateway.ErrUsage) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want a usage error saying %q", c.args, err, c.want)
		}
	}
	if ks := keysOf("keys", "list", "--data", dir); len(ks.Keys) != 2 || ks.Keys[0].ID != after.Keys[0].ID {
		t.Fatalf("refusals changed the keys: %+v", ks.Keys)
	}

	tar := filepath.Join(t.TempDir(), "b.tar")
	tollgate(t, "backup", "--data", dir, "--out", tar)
	restored := filepath.Join(t.TempDir(), "r")
	tollgate(t, "restore", "--in", tar, "--data", restored)
	if ks := keysOf("keys", "list", "--data", restored); len(ks.Keys) != 2 || ks.Keys[0].ID != after.Keys[0].ID || ks.Keys[1].RetireAfter != retired.Keys[1].RetireAfter {
		t.Fatalf("restored keys: %+v", ks.Keys)
	}

	// A damaged key file is refused, saying what to do.
	b, err := os.ReadFile(filepath.Join(dir, gateway.FileLeaseKey))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, gateway.FileLeaseKey), []byte(strings.Replace(string(b), "earlier ", "earlier  x", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runErr("keys", "list", "--data", dir); !errors.Is(err, gateway.ErrIdentityCorrupt) || !strings.Contains(err.Error(), "restore it from a backup") {
		t.Fatalf("keys list on a damaged lease.key: %v", err)
	}
}

// TestKeysRotateRunning rotates a running gateway's key with the command:
// it goes through the admin socket, and the gateway signs with the new key
// at once, without a restart.
func TestKeysRotateRunning(t *testing.T) {
	dir := t.TempDir()
	tollgate(t, "init", "--data", dir)
	s := serveDir(t, dir)
	before := s.srv.Identity().Signer.Public()
	tollgate(t, "keys", "rotate", "--data", dir)
	after := s.srv.Identity().Signer.Public()
	if after.Equal(before) {
		t.Fatal("the running gateway still signs with the old key")
	}
	var ks adminapi.LeaseKeys
	if err := json.Unmarshal([]byte(tollgate(t, "keys", "list", "--data", dir, "--json")), &ks); err != nil {
		t.Fatal(err)
	}
	if len(ks.Keys) != 2 || ks.Keys[0].ID != fmt.Sprintf("%x", after.ID()) {
		t.Fatalf("keys list after a rotation of a running gateway: %+v", ks.Keys)
	}
}
