package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/internal/hang"
)

// The tollgate binary, built once per test run for the tests that run the
// command as an operator does (exit statuses, what goes to stdout and
// stderr).
var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// binary builds this command once and returns its path. The build can take
// minutes on a loaded machine with a cold cache: only a hang reaches its
// limit.
func binary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tollgate-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "tollgate")
		out, err := exec.CommandContext(hang.Context(t), "go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = errors.New(err.Error() + "\n" + string(out))
		}
	})
	if binErr != nil {
		t.Fatalf("go build: %v", binErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// ran is one run of the binary.
type ran struct {
	stdout, stderr string
	code           int
}

// exe runs the tollgate binary with args; a run that does not start fails
// the test.
func exe(t *testing.T, args ...string) ran {
	t.Helper()
	cmd := exec.CommandContext(hang.Context(t), binary(t), args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	r := ran{stdout: o.String(), stderr: e.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatalf("tollgate %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// TestBinaryHelpAndExitStatus runs the built command as an operator does:
// no arguments and an unknown command print the usage on stderr with exit
// status 2; every group's and every command's --help prints what it does
// with an example on stdout and exits 0, running nothing (demo included);
// an operator's mistake exits 2 and a refusal 1, each with one line on
// stderr, or with --json one object on stdout.
func TestBinaryHelpAndExitStatus(t *testing.T) {
	t.Parallel()
	if r := exe(t); r.code != 2 || !strings.Contains(r.stderr, "Usage:") || r.stdout != "" {
		t.Fatalf("tollgate with no arguments: %+v", r)
	}
	if r := exe(t, "frobnicate"); r.code != 2 || !strings.Contains(r.stderr, `unknown command "frobnicate"`) {
		t.Fatalf("tollgate frobnicate: %+v", r)
	}
	for group, subs := range groups {
		r := exe(t, group, "--help")
		if r.code != 0 || !strings.Contains(r.stdout, "Example:") {
			t.Errorf("tollgate %s --help: %+v", group, r)
		}
		for _, s := range subs {
			if !strings.Contains(r.stdout, "  "+s.name+" ") {
				t.Errorf("tollgate %s --help lacks %s", group, s.name)
			}
			sr := exe(t, group, s.name, "--help")
			if sr.code != 0 || !strings.Contains(sr.stdout, s.does) || !strings.Contains(sr.stdout, "Example:\n  tollgate "+group+" "+s.name) {
				t.Errorf("tollgate %s %s --help: %+v", group, s.name, sr)
			}
		}
		if r := exe(t, group); r.code != 2 {
			t.Errorf("tollgate %s with no subcommand: %+v, want exit status 2", group, r)
		}
	}
	for name, s := range single {
		r := exe(t, name, "--help")
		if r.code != 0 || !strings.Contains(r.stdout, s.does) || !strings.Contains(r.stdout, "Example:") {
			t.Errorf("tollgate %s --help: %+v", name, r)
		}
		if name == "demo" && strings.Contains(r.stdout+r.stderr, "activated") {
			t.Errorf("tollgate demo --help ran the demo: %+v", r)
		}
	}

	dir := t.TempDir()
	if r := exe(t, "init", "--data", dir); r.code != 0 {
		t.Fatalf("init: %+v", r)
	}
	// An operator's mistake: exit status 2, one line on stderr.
	if r := exe(t, "keys", "mint", "--data", dir, "--product", "1AJS2", "--years", "1", "--perpetual"); r.code != 2 || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || !strings.HasPrefix(r.stderr, "tollgate: ") {
		t.Errorf("keys mint with conflicting terms: %+v", r)
	}
	// A refusal: exit status 1; with --json, one object on stdout.
	if r := exe(t, "product", "add", "--data", dir, "--code", "1AJS2", "--name", "Lite"); r.code != 0 {
		t.Fatalf("product add: %+v", r)
	}
	r := exe(t, "product", "add", "--data", dir, "--code", "1AJS2", "--name", "Again", "--json")
	var e jsonError
	if err := json.Unmarshal([]byte(r.stdout), &e); err != nil || r.code != 1 || e.Error.Code != "exists" || r.stderr != "" {
		t.Errorf("product add --json of an existing code: %+v (%v)", r, err)
	}
	// Statistics come from a running gateway only.
	if r := exe(t, "stats", "--data", dir); r.code != 2 || !strings.Contains(r.stderr, "is not running") {
		t.Errorf("stats of a stopped gateway: %+v", r)
	}
	// Flags after the arguments.
	if r := exe(t, "product", "show", "1ajs2", "--data", dir, "--json"); r.code != 0 || !strings.HasPrefix(r.stdout, "{") {
		t.Errorf("product show CODE --data DIR --json: %+v", r)
	}
}

// TestBinaryOperatorMistakes runs, on the built command, what a publisher
// typed wrong on day one (issue 14): each is refused with the exit status
// a script can act on (2: not valid as given, 1: refused), one line on
// stderr that says what to do and is not labelled a configuration error,
// and changes nothing.
func TestBinaryOperatorMistakes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, args := range [][]string{
		{"init", "--data", dir},
		{"product", "add", "--data", dir, "--code", "1AJS2", "--name", "Lite", "--years", "1"},
	} {
		if r := exe(t, args...); r.code != 0 {
			t.Fatalf("%v: %+v", args, r)
		}
	}
	key := strings.TrimSpace(exe(t, "keys", "mint", "--data", dir, "--product", "1AJS2").stdout)
	k, _ := channel.GenerateKey(rand.Reader)
	k2, _ := channel.GenerateKey(rand.Reader)
	shop := []string{"shop", "add", "--data", dir, "--name", "acme", "--key", k.Public().String(), "--network", "198.51.100.0/24", "--product", "1AJS2"}
	if r := exe(t, shop...); r.code != 0 {
		t.Fatalf("shop add: %+v", r)
	}
	bad := filepath.Join(t.TempDir(), "bad")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"product", "add", "--data", dir, "--code", "1AJS2", "--name", "Renamed"}, 1, "tollgate product update"},
		{[]string{"shop", "add", "--data", dir, "--name", "acme", "--key", k2.Public().String(), "--network", "203.0.113.0/24", "--product", "1AJS2"}, 1, "tollgate shop update"},
		{[]string{"shop", "add", "--data", dir, "--name", "beta", "--key", k.Public().String(), "--network", "203.0.113.0/24", "--product", "1AJS2"}, 1, "already"},
		{[]string{"shop", "add", "--data", dir, "--name", "gamma", "--key", "noisepub:AAAA", "--network", "203.0.113.0/24", "--product", "9ZZZ9"}, 2, ""},
		{[]string{"init", "--data", bad, "--addr", "no-port"}, 2, "--addr"},
		{[]string{"keys", "mint", "--data", dir, "--product", "ÄÖÜ12"}, 2, `"ÄÖÜ12" is not a valid product code: 5 characters of 0-9A-Z`},
		{[]string{"keys", "mint", "--data", dir, "--product", "9ZZZ9"}, 2, "9ZZZ9 is not in the catalogue"},
		{[]string{"keys", "mint", "--data", dir, "--product", "1AJS2", "--years", "1", "--perpetual"}, 2, "cannot be given together"},
		{[]string{"license", "renew", "--data", dir, "--years", "1", "--months", "6", key}, 2, "cannot be given together"},
		{[]string{"license", "show", "--data", dir, "1AJS2-00000"}, 2, "not a valid license key"},
	} {
		r := exe(t, c.args...)
		line := strings.TrimSpace(r.stderr)
		if r.code != c.code || !strings.HasPrefix(line, "tollgate: ") || strings.Contains(line, "\n") ||
			!strings.Contains(line, c.want) || strings.Contains(line, "configuration") || strings.Contains(line, "tollgate: tollgate:") {
			t.Errorf("tollgate %s: exit %d, stderr %q; want exit %d and one line saying %q", strings.Join(c.args, " "), r.code, r.stderr, c.code, c.want)
		}
	}
	if _, err := os.Stat(bad); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("init with a bad --addr left %s behind", bad)
	}
	if out := exe(t, "product", "show", "--data", dir, "1AJS2").stdout; !strings.Contains(out, "Lite") {
		t.Errorf("a refused product add changed the product: %q", out)
	}
	if out := exe(t, "shop", "list", "--data", dir).stdout; strings.Contains(out, "beta") || strings.Contains(out, "gamma") || strings.Contains(out, "203.0.113") {
		t.Errorf("refused shop adds changed the shops: %q", out)
	}

	// A renewal says the term it gives (a 1-year key not yet activated:
	// 18 months from its first activation); resuming a revoked key says
	// revocation is final.
	if r := exe(t, "license", "renew", "--data", dir, "--months", "6", key); r.code != 0 || strings.Contains(r.stdout, "perpetual") || !strings.Contains(r.stdout, "18 month(s)") {
		t.Errorf("license renew --months 6: %+v", r)
	}
	exe(t, "license", "revoke", "--data", dir, key)
	if r := exe(t, "license", "resume", "--data", dir, key); r.code != 1 || !strings.Contains(r.stderr, "revocation is final") || strings.Contains(r.stderr, "tollgate: tollgate:") || strings.Contains(r.stderr, key) {
		t.Errorf("license resume of a revoked key: %+v", r)
	}
}
