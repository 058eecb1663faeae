package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/gateway/adminapi"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/store"
)

// runErr runs a command and returns its stdout, stderr and error.
func runErr(args ...string) (string, string, error) {
	var out, errb bytes.Buffer
	err := run(args, &out, &errb)
	return out.String(), errb.String(), err
}

// TestAddNeverOverwrites: shop add and product add refuse what exists
// (ErrExists, naming the update command) and change nothing; a second shop
// with the same key, and a shop allowed a product not in the catalogue,
// are refused; shop update and product update change one on purpose, and
// the audit log says so.
func TestAddNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	tollgate(t, "init", "--data", dir)
	tollgate(t, "product", "add", "--data", dir, "--code", "1AJS2", "--name", "Lite")
	_, _, err := runErr("product", "add", "--data", dir, "--code", "1AJS2", "--name", "Renamed")
	if !errors.Is(err, store.ErrExists) || !strings.Contains(err.Error(), "tollgate product update") {
		t.Fatalf("product add of a catalogued code: %v, want store.ErrExists naming product update", err)
	}
	if out := tollgate(t, "product", "show", "--data", dir, "1AJS2"); !strings.Contains(out, "Lite") {
		t.Fatalf("a refused product add changed it: %q", out)
	}
	k, _ := channel.GenerateKey(rand.Reader)
	_, _, err = runErr("shop", "add", "--data", dir, "--name", "acme", "--key", k.Public().String(), "--network", "198.51.100.0/24", "--product", "1AJS3")
	if !errors.Is(err, gateway.ErrUsage) || !strings.Contains(err.Error(), "1AJS3 is not in the catalogue") {
		t.Fatalf("shop add of a product not in the catalogue: %v, want gateway.ErrUsage", err)
	}
	tollgate(t, "shop", "add", "--data", dir, "--name", "acme", "--key", k.Public().String(), "--network", "198.51.100.0/24", "--product", "1AJS2")
	k2, _ := channel.GenerateKey(rand.Reader)
	_, _, err = runErr("shop", "add", "--data", dir, "--name", "acme", "--key", k2.Public().String(), "--network", "203.0.113.0/24", "--product", "1AJS2")
	if !errors.Is(err, store.ErrExists) || !strings.Contains(err.Error(), "tollgate shop update") {
		t.Fatalf("shop add of a registered name: %v, want store.ErrExists naming shop update", err)
	}
	if _, _, err = runErr("shop", "add", "--data", dir, "--name", "beta", "--key", k.Public().String(), "--network", "203.0.113.0/24", "--product", "1AJS2"); !errors.Is(err, store.ErrExists) {
		t.Fatalf("shop add with acme's key: %v, want store.ErrExists", err)
	}
	if out := tollgate(t, "shop", "list", "--data", dir); !strings.Contains(out, k.Public().String()) || strings.Contains(out, "beta") || strings.Contains(out, "203.0.113") {
		t.Fatalf("refused shop adds changed the shops: %q", out)
	}

	if _, _, err := runErr("shop", "update", "--data", dir, "--name", "acme"); !errors.Is(err, gateway.ErrUsage) {
		t.Fatalf("shop update with nothing to change: %v, want gateway.ErrUsage", err)
	}
	if _, _, err := runErr("shop", "update", "--data", dir, "--name", "nobody", "--quota", "3"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("shop update of an unknown shop: %v, want store.ErrNotFound", err)
	}
	tollgate(t, "shop", "update", "--data", dir, "--name", "acme", "--quota", "9", "--key", k2.Public().String())
	out := tollgate(t, "shop", "list", "--data", dir)
	if !strings.Contains(out, "quota 9/day") || !strings.Contains(out, k2.Public().String()) || !strings.Contains(out, "198.51.100.0/24") {
		t.Fatalf("shop list after shop update: %q; want the new quota and key, the network kept", out)
	}
	tollgate(t, "product", "update", "--data", dir, "--code", "1AJS2", "--seats", "3")
	if out := tollgate(t, "product", "show", "--data", dir, "1AJS2"); !strings.Contains(out, "Lite") || !strings.Contains(out, "3 seat(s)") {
		t.Fatalf("product show after product update: %q; want the name kept, 3 seats", out)
	}
	if _, _, err := runErr("product", "update", "--data", dir, "--code", "9ZZZ9", "--name", "x"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("product update of an unknown code: %v, want store.ErrNotFound", err)
	}
	audit := tollgate(t, "audit", "--data", dir)
	for _, want := range []string{"product.add", "shop.add", "shop.update", "product.update"} {
		if !strings.Contains(audit, want) {
			t.Errorf("the audit log lacks %s:\n%s", want, audit)
		}
	}
}

// TestInitBadAddrLeavesNothing: init with a bad --addr writes nothing (a
// new directory is not even created, an existing one stays empty), and a
// good init in the same directory then succeeds.
func TestInitBadAddrLeavesNothing(t *testing.T) {
	for _, existing := range []bool{false, true} {
		dir := filepath.Join(t.TempDir(), "data")
		if existing {
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
		}
		for _, addr := range []string{"nohost", "bad addr:1", "host:"} {
			_, _, err := runErr("init", "--data", dir, "--addr", addr)
			if !errors.Is(err, gateway.ErrUsage) || !strings.Contains(err.Error(), "--addr") {
				t.Fatalf("init --addr %q: %v, want gateway.ErrUsage naming --addr", addr, err)
			}
			entries, err := os.ReadDir(dir)
			if existing && (err != nil || len(entries) != 0) || !existing && !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("init --addr %q left %v (%v)", addr, entries, err)
			}
		}
		tollgate(t, "init", "--data", dir, "--addr", "license.example.com:7443")
		if out := tollgate(t, "card", "--data", dir); !strings.Contains(out, "license.example.com:7443") {
			t.Fatalf("card after a good init: %q", out)
		}
	}
}

// TestOperatorInputErrors: conflicting terms, product codes counted in
// characters, keys mint of a product not in the catalogue and a revoked
// license's resume are refused with sentences that say what is wrong, not
// "invalid configuration", and never "tollgate:" twice.
func TestOperatorInputErrors(t *testing.T) {
	dir := t.TempDir()
	tollgate(t, "init", "--data", dir)
	tollgate(t, "product", "add", "--data", dir, "--code", "1AJS2", "--name", "Lite")
	key := strings.TrimSpace(tollgate(t, "keys", "mint", "--data", dir, "--product", "1AJS2"))
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"keys", "mint", "--product", "1AJS2", "--years", "1", "--perpetual"}, "--perpetual and --years cannot be given together"},
		{[]string{"keys", "mint", "--product", "1AJS2", "--months", "1", "--days", "3"}, "cannot be given together"},
		{[]string{"product", "add", "--code", "1AJS3", "--name", "x", "--years", "1", "--perpetual"}, "cannot be given together"},
		{[]string{"license", "renew", "--years", "1", "--months", "6", key}, "--months and --years cannot be given together"},
		{[]string{"keys", "mint", "--product", "ÄÖÜ12"}, `"ÄÖÜ12" is not a valid product code: 5 characters of 0-9A-Z`},
		{[]string{"product", "add", "--code", "ÄÖÜ12", "--name", "x"}, `"ÄÖÜ12" is not a valid product code: 5 characters of 0-9A-Z`},
		{[]string{"keys", "mint", "--product", "9ZZZ9"}, "9ZZZ9 is not in the catalogue"},
		{[]string{"license", "show", "1AJS2-00000"}, "not a valid license key"},
	} {
		_, _, err := runErr(append(c.args, "--data", dir)...)
		if !errors.Is(err, gateway.ErrUsage) || errors.Is(err, gateway.ErrConfig) || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "configuration") {
			t.Errorf("tollgate %s: %v; want gateway.ErrUsage saying %q", strings.Join(c.args, " "), err, c.want)
		}
		if exitStatus(err) != 2 {
			t.Errorf("tollgate %s: exit status %d, want 2", strings.Join(c.args, " "), exitStatus(err))
		}
	}
	if out := tollgate(t, "audit", "--data", dir); strings.Count(out, " mint") != 1 {
		t.Fatalf("refused mints were written:\n%s", out)
	}
	if out := tollgate(t, "keys", "mint", "--data", dir, "--product", "9ZZZ9", "--uncatalogued"); len(strings.TrimSpace(out)) == 0 {
		t.Fatalf("keys mint --uncatalogued printed no key")
	}
	tollgate(t, "license", "revoke", "--data", dir, key)
	_, _, err := runErr("license", "resume", "--data", dir, key)
	if err == nil || !strings.Contains(err.Error(), "revocation is final") || strings.Contains(err.Error(), "tollgate:") || strings.Contains(err.Error(), key) {
		t.Fatalf("license resume of a revoked key: %v; want it to say revocation is final", err)
	}
}

// TestFlagsAfterArguments: flags may follow a command's arguments (the help
// texts and exit statuses are TestBinaryHelpAndExitStatus's, on the built
// command).
func TestFlagsAfterArguments(t *testing.T) {
	dir := t.TempDir()
	tollgate(t, "init", "--data", dir)
	tollgate(t, "product", "add", "--data", dir, "--code", "1AJS2", "--name", "Lite")
	key := strings.TrimSpace(tollgate(t, "keys", "mint", "--data", dir, "--product", "1AJS2"))
	if out := tollgate(t, "license", "show", key, "--data", dir); !strings.Contains(out, "1AJS2") {
		t.Fatalf("license show KEY --data DIR: %q", out)
	}
	if out := tollgate(t, "product", "show", "1ajs2", "--data", dir, "--json"); !strings.HasPrefix(out, "{") {
		t.Fatalf("product show CODE --data DIR --json: %q", out)
	}
}

// TestJSON: --json prints one JSON object with snake_case keys for every
// command that prints, and an error as {"error": {"code", "status",
// "message"}} on stdout.
func TestJSON(t *testing.T) {
	dir := t.TempDir()
	var init map[string]string
	decode(t, tollgate(t, "init", "--data", dir, "--json"), &init)
	if init["card"] == "" {
		t.Fatalf("init --json: %v", init)
	}
	var msg map[string]string
	decode(t, tollgate(t, "product", "add", "--data", dir, "--code", "1AJS2", "--name", "Lite", "--json"), &msg)
	if msg["message"] != "product 1AJS2 added" {
		t.Fatalf("product add --json: %v", msg)
	}
	var minted mintedJSON
	decode(t, tollgate(t, "keys", "mint", "--data", dir, "--product", "1AJS2", "--count", "2", "--json"), &minted)
	if len(minted.Keys) != 2 || minted.Product != "1AJS2" {
		t.Fatalf("keys mint --json: %+v", minted)
	}
	key := minted.Keys[0]
	var lic adminapi.License
	out := tollgate(t, "license", "show", "--data", dir, key, "--json")
	decode(t, out, &lic)
	if lic.License.Product != "1AJS2" || lic.Status == "" || lic.Term == "" || strings.Contains(out, key) {
		t.Fatalf("license show --json: %s", out)
	}
	for _, args := range [][]string{
		{"product", "list"}, {"product", "show", "1AJS2"}, {"shop", "list"}, {"license", "flagged"},
		{"license", "suspend", key}, {"license", "renew", "--months", "6", key}, {"audit"}, {"audit", "--verify"},
		{"card"}, {"license", "list"}, {"license", "deactivate-machine", key, "00000000"},
	} {
		out, _, _ := runErr(append(args, "--data", dir, "--json")...) // an error is JSON too
		var v any
		decode(t, out, &v)
		snakeCase(t, strings.Join(args, " "), v)
	}
	backup := filepath.Join(t.TempDir(), "b.tar")
	for _, args := range [][]string{{"backup", "--data", dir, "--out", backup}, {"restore", "--in", backup, "--data", filepath.Join(t.TempDir(), "r")}} {
		out := tollgate(t, append(args, "--json")...)
		var v map[string]any
		decode(t, out, &v)
		snakeCase(t, args[0], v)
		if v["files"] == nil {
			t.Fatalf("%s --json: %s", args[0], out)
		}
	}
	stdout, _, err := runErr("product", "add", "--data", dir, "--code", "1AJS2", "--name", "Again", "--json")
	var e jsonError
	decode(t, stdout, &e)
	if !errors.As(err, new(errReported)) || !errors.Is(err, store.ErrExists) || e.Error.Code != "exists" || !strings.Contains(e.Error.Message, "product update") {
		t.Fatalf("product add --json of an existing code: %v, stdout %q", err, stdout)
	}
	tollgate(t, "license", "revoke", "--data", dir, key)
	stdout, _, _ = runErr("license", "resume", "--data", dir, "--json", key)
	decode(t, stdout, &e)
	if e.Error.Code != "revoked" || e.Error.Status != "REVOKED" || !strings.Contains(e.Error.Message, "revocation is final") {
		t.Fatalf("license resume --json of a revoked key: %q", stdout)
	}
	stdout, _, err = runErr("keys", "mint", "--data", dir, "--product", "1AJS2", "--years", "1", "--perpetual", "--json")
	decode(t, stdout, &e)
	if exitStatus(err) != 2 || e.Error.Code != "usage" {
		t.Fatalf("keys mint --json with conflicting terms: %v, %q", err, stdout)
	}
}

func decode(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("not one JSON object: %v\n%s", err, s)
	}
}

// snakeCase fails the test for an object key in v that is not snake_case
// (stats counters and the like are names, not keys: none is printed here).
func snakeCase(t *testing.T, what string, v any) {
	t.Helper()
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			for _, r := range k {
				if unicode.IsUpper(r) || r == '-' || r == ' ' {
					t.Errorf("%s --json: key %q is not snake_case", what, k)
					break
				}
			}
			snakeCase(t, what, e)
		}
	case []any:
		for _, e := range x {
			snakeCase(t, what, e)
		}
	}
}
