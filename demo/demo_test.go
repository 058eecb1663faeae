package demo_test

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/demo"
	"github.com/tollgate/tollgate/keygen"
)

// steps returns the step lines of a demo's output: the failure messages
// show them, and not the demo's keys.
func steps(out string) string {
	var b strings.Builder
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "==> ") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

var dirLine = regexp.MustCompile(`==> initialising a gateway in (\S+)`)

// demoDir returns the temporary directory the demo said it used, and
// checks it is gone.
func demoDir(t *testing.T, out string) {
	t.Helper()
	m := dirLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("the demo named no directory:\n%s", steps(out))
	}
	if _, err := os.Stat(m[1]); !os.IsNotExist(err) {
		t.Fatalf("the demo left %s: %v", m[1], err)
	}
}

func TestDemo(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := demo.Run(context.Background(), &out); err != nil {
		t.Fatalf("Run: %v\n%s", err, steps(out.String()))
	}
	for _, want := range []string{"minted order DEMO-ORDER-1", "same 5 keys", "activated key", "validated the license: OK", "deactivated", "gateway stopped"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, steps(out.String()))
		}
	}
	// The five keys minted are printed, each a well-formed key of 1AJS2.
	keys := 0
	for _, l := range strings.Split(out.String(), "\n") {
		if k, err := keygen.ParseKey(strings.TrimSpace(l)); err == nil && k.Product().String() == "1AJS2" {
			keys++
		}
	}
	if keys != 5 {
		t.Errorf("the demo printed %d keys of 1AJS2, want 5", keys)
	}
	demoDir(t, out.String())
}

// TestDemoCancelled: a demo whose context is cancelled fails, and still
// stops its gateway and removes its directory.
func TestDemoCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out bytes.Buffer
	if err := demo.Run(ctx, &out); err == nil {
		t.Fatalf("a cancelled demo succeeded:\n%s", steps(out.String()))
	}
	if !strings.Contains(out.String(), "gateway stopped") {
		t.Errorf("a cancelled demo did not stop its gateway:\n%s", steps(out.String()))
	}
	demoDir(t, out.String())
}
