package main

import (
	"bytes"
	"errors"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/internal/pgtest"
	"github.com/tollgate/tollgate/store"
)

// TestInitSharedStore: init --store reaches the database and makes its
// schema before writing anything, and records the connection string in
// DIR/store (0600); the operator commands then work on the database
// directly, with no gateway running, and a copy of DIR (a second node)
// sees what the first wrote. migrate --status says the schema is the
// newest; backup refuses, saying how to back the database up.
func TestInitSharedStore(t *testing.T) {
	t.Parallel()
	u := pgtest.URL(t)
	dir := filepath.Join(t.TempDir(), "node1")
	tollgate(t, "init", "--data", dir, "--store", u)
	fi, err := os.Stat(filepath.Join(dir, gateway.FileStore))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("DIR/store: %v, %v; want mode 0600", fi, err)
	}
	if _, err := os.Stat(filepath.Join(dir, gateway.DirDB)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("an embedded store was made beside the shared one: %v", err)
	}
	tollgate(t, "product", "add", "--data", dir, "--code", "1AJS2", "--name", "Lite")
	key := strings.TrimSpace(tollgate(t, "keys", "mint", "--data", dir, "--product", "1AJS2"))

	node2 := filepath.Join(t.TempDir(), "node2")
	if err := os.Mkdir(node2, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, name := range append(gateway.IdentityFiles, gateway.FileStore) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(node2, name), b, gateway.FileMode(name))
	}
	tollgate(t, "license", "suspend", "--data", node2, key)
	if out := tollgate(t, "license", "show", "--data", dir, key); !strings.Contains(out, "suspended") {
		t.Fatalf("node 1 does not see node 2's suspension: %q", out)
	}
	if out := tollgate(t, "migrate", "--data", dir, "--status"); !strings.Contains(out, "the newest this tollgate knows") {
		t.Fatalf("migrate --status: %q", out)
	}
	if out, _, err := runErr("audit", "--data", dir, "--verify"); err != nil {
		t.Fatalf("audit --verify: %v %s", err, out)
	}
	_, _, err = runErr("backup", "--data", dir, "--out", filepath.Join(t.TempDir(), "b.tar"))
	if !errors.Is(err, gateway.ErrUsage) || !strings.Contains(err.Error(), "pg_dump") {
		t.Fatalf("backup of a PostgreSQL gateway: %v, want a refusal naming pg_dump", err)
	}
}

// TestInitSharedStoreRefused: a database that cannot be reached, or that
// refuses the login, stops init before it writes anything, with an error
// that names the address and never the password.
func TestInitSharedStoreRefused(t *testing.T) {
	t.Parallel()
	server := pgtest.Server(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	wrong, err := url.Parse(server)
	if err != nil {
		t.Fatal(err)
	}
	const secret = "not-the-password-4f1c"
	wrong.User = url.UserPassword(wrong.User.Username(), secret)
	unreachable := "postgres://tollgate:" + secret + "@" + closed + "/tollgate?sslmode=disable&connect_timeout=5"
	for _, c := range []struct {
		name, url, want string
		is              error
	}{
		{"unreachable", unreachable, closed, store.ErrUnavailable},
		{"wrong password", wrong.String(), "check the password", store.ErrConfig},
		{"not postgres", "mysql://u:" + secret + "@127.0.0.1/x", "not a postgres:// URL", gateway.ErrConfig},
	} {
		dir := filepath.Join(t.TempDir(), "data")
		stdout, stderr, err := runErr("init", "--data", dir, "--store", c.url)
		if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: init: %v; want %v saying %q", c.name, err, c.is, c.want)
		}
		if err != nil && strings.Contains(err.Error()+stdout+stderr, secret) {
			t.Errorf("%s: the password was shown: %v", c.name, err)
		}
		if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: init refused left %s behind (%v)", c.name, dir, err)
		}
	}
	var o, e bytes.Buffer
	if err := run([]string{"migrate", "--data", t.TempDir()}, &o, &e); !errors.Is(err, gateway.ErrUsage) {
		t.Errorf("migrate of an embedded store: %v, want a usage error", err)
	}
}
