package gateway_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/keygen/composite"
	"github.com/tollgate/tollgate/wire"
)

// TestInitSeveralAddresses: the card Init writes lists the addresses in the
// order given; no address, or one empty, is the default.
func TestInitSeveralAddresses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		addrs []string
		want  []string
	}{
		{"two", []string{"gw1.example.com:7443", "[::1]:7443"}, []string{"gw1.example.com:7443", "[::1]:7443"}},
		{"one", []string{"gw1.example.com:7443"}, []string{"gw1.example.com:7443"}},
		{"none", nil, []string{gateway.DefaultAddress}},
		{"one empty", []string{""}, []string{gateway.DefaultAddress}},
	} {
		dir := filepath.Join(t.TempDir(), "data")
		id, err := gateway.Init(dir, composite.MLDSA44Ed25519, tc.addrs...)
		if err != nil {
			t.Fatalf("%s: Init: %v", tc.name, err)
		}
		if got := id.Card.Addresses(); !slices.Equal(got, tc.want) {
			t.Errorf("%s: card lists %q, want %q", tc.name, got, tc.want)
		}
		card, err := wire.LoadCard(filepath.Join(dir, gateway.FileCard))
		if err != nil || !slices.Equal(card.Addresses(), tc.want) {
			t.Errorf("%s: the card file: %v, addresses %q", tc.name, err, card.Addresses())
		}
	}
}

// TestInitBadAddressesWriteNothing: a bad, empty or repeated address
// anywhere in the list, or too many, is ErrUsage before anything is
// written.
func TestInitBadAddressesWriteNothing(t *testing.T) {
	many := make([]string, wire.MaxCardAddresses+1)
	for i := range many {
		many[i] = fmt.Sprintf("127.0.0.%d:7443", i+1)
	}
	for _, tc := range []struct {
		name  string
		addrs []string
	}{
		{"bad second", []string{"gw1.example.com:7443", "gw2.example.com"}},
		{"empty second", []string{"gw1.example.com:7443", ""}},
		{"repeated", []string{"gw1.example.com:7443", "GW1.example.com:7443"}},
		{"too many", many},
	} {
		dir := filepath.Join(t.TempDir(), "data")
		_, err := gateway.Init(dir, composite.MLDSA44Ed25519, tc.addrs...)
		if !errors.Is(err, gateway.ErrUsage) {
			t.Errorf("%s: Init: %v, want ErrUsage", tc.name, err)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: a refused Init left %s behind (%v)", tc.name, dir, err)
		}
	}
}

// TestSetCardAddresses: the card is rewritten with the new list and the
// same keys; a bad list leaves it byte for byte as it was.
func TestSetCardAddresses(t *testing.T) {
	dir := t.TempDir()
	id, err := gateway.Init(dir, composite.MLDSA44Ed25519, "gw1.example.com:7443")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, gateway.FileCard)
	want := []string{"gw2.example.com:7443", "gw1.example.com:7443", "192.0.2.7:443"}
	card, err := gateway.SetCardAddresses(dir, want)
	if err != nil {
		t.Fatalf("SetCardAddresses: %v", err)
	}
	onDisk, err := wire.LoadCard(path)
	if err != nil {
		t.Fatalf("the rewritten card: %v", err)
	}
	for _, c := range []*wire.Card{card, onDisk} {
		if !slices.Equal(c.Addresses(), want) {
			t.Fatalf("card lists %q, want %q", c.Addresses(), want)
		}
		if c.NoiseKey != id.Card.NoiseKey || c.TLSPin != id.Card.TLSPin || len(c.LeaseKeys) != 1 || !c.LeaseKeys[0].Equal(id.Card.LeaseKeys[0]) {
			t.Fatalf("the rewritten card's keys differ from the identity's")
		}
	}
	if _, err := gateway.LoadIdentity(dir); err != nil {
		t.Fatalf("LoadIdentity after the rewrite: %v", err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("the card's mode: %v, %v", fi.Mode(), err)
	}

	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]string{nil, {"gw3.example.com"}, {"a:1", "A:1"}, {"a:1", "b:0"}} {
		if _, err := gateway.SetCardAddresses(dir, bad); !errors.Is(err, gateway.ErrUsage) {
			t.Errorf("SetCardAddresses(%q): %v, want ErrUsage", bad, err)
		}
		if after, err := os.ReadFile(path); err != nil || !bytes.Equal(after, before) {
			t.Fatalf("a refused SetCardAddresses(%q) changed the card (%v)", bad, err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name()[0] == '.' {
			t.Errorf("a temporary file was left behind: %s", e.Name())
		}
	}
	if _, err := gateway.SetCardAddresses(t.TempDir(), want); !errors.Is(err, gateway.ErrNoIdentity) {
		t.Errorf("SetCardAddresses without an identity: %v, want ErrNoIdentity", err)
	}
}
