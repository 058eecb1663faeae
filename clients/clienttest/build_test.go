package clienttest

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/tollgate/tollgate/internal/hang"
)

// binDir holds the commands built for this test run, each built once.
var (
	binDir  string
	binMu   sync.Mutex
	binDone = map[string]error{}
)

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "tollgate-clienttest-bin")
	if err != nil {
		panic(err)
	}
	binDir = d
	code := m.Run()
	os.RemoveAll(d)
	os.Exit(code)
}

// binary builds ../cmd/<name> for this machine once per test run and
// returns its path. The build can take minutes on a loaded machine with a
// cold cache: only a hang may reach its limit.
func binary(t *testing.T, name string) string {
	t.Helper()
	binMu.Lock()
	defer binMu.Unlock()
	exe := filepath.Join(binDir, name)
	err, done := binDone[name]
	if !done {
		ctx, cancel := context.WithTimeout(context.Background(), hang.Timeout(t))
		defer cancel()
		var out []byte
		if out, err = exec.CommandContext(ctx, "go", "build", "-o", exe, "../cmd/"+name).CombinedOutput(); err != nil {
			err = &buildError{err, out}
		}
		binDone[name] = err
	}
	if err != nil {
		t.Fatalf("go build %s: %v", name, err)
	}
	return exe
}

type buildError struct {
	err error
	out []byte
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + string(e.out) }

// result is one run of a command.
type result struct {
	stdout, stderr string
	code           int
}

// runBinary runs exe with args; a run that does not start fails the test.
func runBinary(t *testing.T, exe string, args ...string) result {
	t.Helper()
	cmd := exec.CommandContext(hang.Context(t), exe, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	r := result{stdout: o.String(), stderr: e.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s %v: %v", filepath.Base(exe), args, err)
	}
	return r
}

// expect fails the test unless r exited with code and its stdout and
// stderr together hold every one of want.
func (r result) expect(t *testing.T, what string, code int, want ...string) {
	t.Helper()
	all := r.stdout + r.stderr
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Fatalf("%s: exit %d, output %q; want %q", what, r.code, all, w)
		}
	}
	if r.code != code {
		t.Fatalf("%s: exit %d, want %d; output %q", what, r.code, code, all)
	}
}

var snakeKey = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// jsonAnswer decodes r's stdout as one JSON object with a status and a
// message and snake_case keys throughout, and returns it.
func (r result) jsonAnswer(t *testing.T, what string) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	if err := dec.Decode(&m); err != nil || dec.More() {
		t.Fatalf("%s: stdout is not one JSON object (%v): %q", what, err, r.stdout)
	}
	if s, _ := m["status"].(string); s == "" {
		t.Fatalf("%s: JSON without a status: %q", what, r.stdout)
	}
	if s, _ := m["message"].(string); s == "" {
		t.Fatalf("%s: JSON without a message: %q", what, r.stdout)
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if !snakeKey.MatchString(k) {
					t.Fatalf("%s: JSON key %q is not snake_case: %q", what, k, r.stdout)
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(m)
	return m
}
