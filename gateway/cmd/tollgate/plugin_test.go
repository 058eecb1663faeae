package main

import (
	"strings"
	"testing"
)

// TestProductBundleAndBase: 'product add --bundle CODE,CODE' completes the
// bundle's entitlements, scoped by the covered products' codes, and shows
// what it covers; '--base CODE' makes a plug-in; a bundle of an unknown
// product and a plug-in of a plug-in are refused with what to do, and
// nothing is saved.
func TestProductBundleAndBase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tollgate(t, "init", "--data", dir)
	tollgate(t, "product", "add", "--data", dir, "--code", "1AJS2", "--name", "Lite", "--feature", "scan")
	tollgate(t, "product", "add", "--data", dir, "--code", "1BJS2", "--name", "Basic", "--feature", "scan", "--feature", "update")
	tollgate(t, "product", "add", "--data", dir, "--code", "2AJS2", "--name", "Office Suite", "--bundle", "1ajs2,1BJS2", "--feature", "suite")
	out := tollgate(t, "product", "show", "--data", dir, "2AJS2")
	for _, want := range []string{"bundle of 1AJS2,1BJS2", "features suite,1ajs2.scan,1bjs2.scan,1bjs2.update"} {
		if !strings.Contains(out, want) {
			t.Errorf("product show of the bundle: %q, want %q in it", out, want)
		}
	}
	tollgate(t, "product", "add", "--data", dir, "--code", "2BJS2", "--name", "Add-on", "--base", "1bjs2", "--feature", "addon")
	if out := tollgate(t, "product", "show", "--data", dir, "2BJS2"); !strings.Contains(out, "plug-in of 1BJS2") {
		t.Errorf("product show of the plug-in: %q", out)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--bundle", "1AJS2,9ZZZ9"}, "9ZZZ9, is not in the catalogue; add it first"},
		{[]string{"--base", "2BJS2"}, "is itself a plug-in"},
		{[]string{"--base", "1AJS2", "--bundle", "1BJS2"}, "cannot be both"},
	} {
		args := append([]string{"product", "add", "--data", dir, "--code", "2CJS2", "--name", "x"}, c.args...)
		if msg := tollgateFails(t, args...); !strings.Contains(msg, c.want) {
			t.Errorf("product add %s: %q, want %q", strings.Join(c.args, " "), msg, c.want)
		}
	}
	if msg := tollgateFails(t, "product", "show", "--data", dir, "2CJS2"); !strings.Contains(msg, "not found") {
		t.Fatalf("a refused product was saved: %q", msg)
	}
}
