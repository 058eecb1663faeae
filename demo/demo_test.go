package demo_test

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/demo"
	"github.com/tollgate/tollgate/i18n"
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
	models(t, out.String())
	demoDir(t, out.String())
}

// models checks the walk through the licensing models (models.go): each
// step, in order, with its outcome, and no key of theirs printed whole.
func models(t *testing.T, out string) {
	t.Helper()
	de, ok := i18n.Lookup("de", "trial-used")
	if !ok {
		t.Fatal("no German text for trial-used")
	}
	want := []string{
		// Floating: 2 seats, the third machine refused with a time, then
		// given the seat freed by a check-in.
		"==> floating: the shop minted order DEMO-FLOAT-1: key 1FJS3-*****-*****-*****-*****-****",
		"with 2 concurrent seats",
		"==> machine float-1 starts the program and checks a seat out: allowed (ok): ",
		"      lease         level floating, checked out until ",
		"==> machine float-2 starts the program and checks a seat out: allowed (ok): ",
		"==> machine float-3 starts the program and asks for a seat: refused (no-seat): Every seat of this license is in use",
		"      retry at      ",
		"==> machine float-1 closes the program: the library checks its seat in; the gateway counts 1 of 2 seats held",
		"==> machine float-3 asks again, at once: allowed (ok): ",
		// Trial: started with its end and features, then refused on a
		// reinstall, in English and German.
		"==> trial: machine trial-pc starts VSE 2.1 Pro's (1CJS2) keyless trial, without a key: allowed (ok): The trial is running on this computer until ",
		"      trial ends    ",
		"(in 14 days)",
		"      entitlements  scan\n",
		"asks for the trial again: refused (trial-used): This computer has already had its trial of the program.",
		"      message       id trial-used, language en",
		`==> the same again, told in German (LicenseeConfig.Language "de"): refused (trial-used): ` + de,
		"      message       id trial-used, language de",
		// Bundle: the suite's key licenses Pro and Firewall, each with its
		// own entitlements, and not Lite.
		"==> bundle: the shop minted order DEMO-SUITE-1: key 1SJS2-*****-",
		"==> machine suite-pc activates the suite's key in VSE Pro's program (1CJS2): allowed (ok): ",
		"      entitlements  quarantine scan update\n",
		"==> CheckProduct 1CJS2: allowed (",
		"      entitlements  quarantine scan update\n",
		"==> CheckProduct 1FJS2: allowed (",
		"      entitlements  firewall update\n",
		"==> CheckProduct 1AJS2 (VSE Lite, not in the suite): refused (wrong-product): ",
		// Plug-in: refused without its base, allowed beside it.
		"==> plug-in: the shop minted order DEMO-MAIL-1: key 1MJS2-*****-",
		"==> machine mail-pc activates Mail Shield (LicenseeConfig.Base 1CJS2), Pro not activated there: refused (base-missing): ",
		"==> machine mail-pc activates VSE Pro (1CJS2) on the same installation: allowed (ok): ",
		"==> machine mail-pc activates Mail Shield again: allowed (ok): ",
		"      entitlements  mail-scan\n",
		"==> gateway stopped",
	}
	rest := out
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("the demo's output lacks, in its place, %q:\n%s", w, steps(out))
		}
		rest = rest[i+len(w):]
	}
	// The models' keys are printed redacted only.
	for _, f := range strings.Fields(out) {
		if k, err := keygen.ParseKey(f); err == nil && k.Product().String() != "1AJS2" {
			t.Errorf("the demo printed a key of %s whole", k.Product())
		}
	}
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
