package main

import (
	"bytes"
	"strings"
	"testing"
)

// tollgateFails runs a command that must fail and returns its error text.
func tollgateFails(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(args, &out, &errb)
	if err == nil {
		t.Fatalf("tollgate %s succeeded:\n%s", strings.Join(args, " "), out.String())
	}
	return err.Error()
}

// TestSeatBounds: 'keys mint --seats' and 'product add' refuse more seats
// than the catalogue allows, with BAD_REQUEST and the range in the error,
// and mint or save nothing; a count above 32 bits is refused, not wrapped
// around to a small one; a site license goes higher.
func TestSeatBounds(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tollgate(t, "init", "--data", dir) // the demo catalogue: 1AJS2 has no stated maximum
	for _, seats := range []string{"101", "4294967295", "4294967301"} {
		msg := tollgateFails(t, "keys", "mint", "--data", dir, "--product", "1AJS2", "--uncatalogued", "--seats", seats)
		if !strings.Contains(msg, "BAD_REQUEST") || !strings.Contains(msg, "1..100") {
			t.Errorf("keys mint --seats %s: %q, want BAD_REQUEST and the range 1..100", seats, msg)
		}
	}
	// A product not in the catalogue is bounded by the default too.
	if msg := tollgateFails(t, "keys", "mint", "--data", dir, "--product", "9ZZZ9", "--uncatalogued", "--seats", "101"); !strings.Contains(msg, "1..100") {
		t.Errorf("keys mint of an uncatalogued product with 101 seats: %q", msg)
	}
	if out := tollgate(t, "audit", "--data", dir); strings.Contains(out, "mint") {
		t.Fatalf("a refused mint was written:\n%s", out)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--seats", "101"}, "1..100"},
		{[]string{"--seats", "4294967297"}, "1..100"},
		{[]string{"--max-seats", "500"}, "needs a site license"},
		{[]string{"--site-license"}, "1 to 100000"},
		{[]string{"--site-license", "--max-seats", "100001"}, "100000"},
		{[]string{"--site-license", "--max-seats", "500", "--seats", "501"}, "1..500"},
	} {
		args := append([]string{"product", "add", "--data", dir, "--code", "1AJS9", "--name", "Site"}, c.args...)
		if msg := tollgateFails(t, args...); !strings.Contains(msg, "BAD_REQUEST") || !strings.Contains(msg, c.want) {
			t.Errorf("product add %s: %q, want BAD_REQUEST and %q", strings.Join(c.args, " "), msg, c.want)
		}
	}
	if msg := tollgateFails(t, "product", "show", "--data", dir, "1AJS9"); !strings.Contains(msg, "not found") {
		t.Fatalf("a refused product was saved: %q", msg)
	}

	tollgate(t, "product", "add", "--data", dir, "--code", "1AJS9", "--name", "Site", "--site-license", "--max-seats", "500", "--seats", "200")
	if out := tollgate(t, "product", "show", "--data", dir, "1AJS9"); !strings.Contains(out, "200 seat(s) (at most 500, site license)") {
		t.Fatalf("product show: %q", out)
	}
	tollgate(t, "keys", "mint", "--data", dir, "--product", "1AJS9", "--seats", "500")
	if msg := tollgateFails(t, "keys", "mint", "--data", dir, "--product", "1AJS9", "--seats", "501"); !strings.Contains(msg, "1..500") {
		t.Fatalf("keys mint --seats 501 of a 500-seat site license: %q", msg)
	}
}
