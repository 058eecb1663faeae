package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/internal/channel"
)

func TestKeygen(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "shop.key")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"keygen", "--out", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("keygen: exit %d: %s", code, stderr.String())
	}
	fi, err := os.Stat(out)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key file: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	k, err := channel.ReadPrivateKeyFile(out)
	if err != nil {
		t.Fatalf("reading the key back: %v", err)
	}
	pub, err := os.ReadFile(out + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	want := k.Public().String()
	if strings.TrimSpace(string(pub)) != want || strings.TrimSpace(stdout.String()) != want {
		t.Fatalf("public key file and output do not match the private key")
	}
	before, _ := os.ReadFile(out)
	if code := run([]string{"keygen", "--out", out}, &stdout, &stderr); code == 0 {
		t.Fatalf("keygen overwrote an existing key")
	}
	if after, _ := os.ReadFile(out); !bytes.Equal(before, after) {
		t.Fatalf("the existing key changed")
	}
}

func TestUsageErrors(t *testing.T) {
	var stdout, stderr bytes.Buffer
	for _, args := range [][]string{
		{"frobnicate"},
		{"mint", "--product", "1AJS2"},
		{"mint", "--order", "O", "--product", "1AJS2", "--years", "1", "--months", "2"},
		{"status"},
	} {
		if code := run(args, &stdout, &stderr); code != 2 {
			t.Errorf("%q: exit %d, want 2 (usage)", args, code)
		}
	}
}
