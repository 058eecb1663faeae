package main

import (
	"bytes"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/service"
)

// listJSON runs license list --json with args and returns its ids and
// what it said on stderr.
func listJSON(t *testing.T, dir string, args ...string) ([]string, string) {
	t.Helper()
	stdout, stderr := runOut(t, append([]string{"license", "list", "--data", dir, "--json"}, args...)...)
	var page struct {
		Licenses []struct {
			ID      string `json:"id"`
			Product string `json:"product"`
			State   string `json:"state"`
		} `json:"licenses"`
		Next string `json:"next"`
	}
	if err := json.Unmarshal([]byte(stdout), &page); err != nil {
		t.Fatalf("license list --json: %v\n%s", err, stdout)
	}
	var ids []string
	for _, l := range page.Licenses {
		ids = append(ids, l.ID)
	}
	if page.Next != "" && !strings.Contains(stderr, "--after "+page.Next) {
		t.Errorf("a page with more after it does not say how to list them: %q", stderr)
	}
	return ids, stderr
}

// TestLicenseListAndIDs: license list selects by product and state, pages
// with --limit and --after, exports JSON and CSV without keys; every
// license command takes the id it prints, or its first 8 hex digits.
func TestLicenseListAndIDs(t *testing.T) {
	dir := t.TempDir()
	tollgate(t, "init", "--data", dir)
	tollgate(t, "product", "add", "--data", dir, "--code", "2BKT3", "--name", "Suite")
	lite := strings.Fields(tollgate(t, "keys", "mint", "--data", dir, "--product", "1AJS2", "--uncatalogued", "--count", "3"))
	suite := strings.Fields(tollgate(t, "keys", "mint", "--data", dir, "--product", "2BKT3", "--count", "2"))
	all, _ := listJSON(t, dir)
	if len(all) != 5 {
		t.Fatalf("license list: %d licenses, want 5", len(all))
	}
	suiteIDs, _ := listJSON(t, dir, "--product", "2bkt3")
	if len(suiteIDs) != 2 {
		t.Fatalf("license list --product 2BKT3: %d licenses, want 2", len(suiteIDs))
	}
	for _, id := range suiteIDs {
		if len(id) != 32 {
			t.Fatalf("a listed id %q is not 32 hex digits", id)
		}
	}

	// By its id, and by the 8 hex digits logs print.
	id := suiteIDs[0]
	tollgate(t, "license", "suspend", "--data", dir, id)
	if out := tollgate(t, "license", "show", "--data", dir, id[:8]); !strings.Contains(out, "license "+id) || !strings.Contains(out, "suspended") {
		t.Fatalf("license show by an id prefix: %q", out)
	}
	if got, _ := listJSON(t, dir, "--state", "suspended"); len(got) != 1 || got[0] != id {
		t.Fatalf("license list --state suspended: %v, want [%s]", got, id)
	}
	tollgate(t, "license", "resume", "--data", dir, strings.ToUpper(id))
	if got, _ := listJSON(t, dir, "--state", "suspended"); len(got) != 0 {
		t.Fatalf("after resume by id: %v still suspended", got)
	}
	unknown := "00000000" + id[8:]
	if id[:8] == "00000000" {
		unknown = "11111111" + id[8:]
	}
	err := run([]string{"license", "show", "--data", dir, unknown}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), unknown) {
		t.Fatalf("license show of an unknown id: %v, want it to name the id", err)
	}

	// Pages.
	seen := map[string]bool{}
	var after []string
	for pages := 0; ; pages++ {
		ids, stderr := listJSON(t, dir, append([]string{"--limit", "2"}, after...)...)
		for _, id := range ids {
			if seen[id] {
				t.Fatalf("license %s on two pages", id)
			}
			seen[id] = true
		}
		i := strings.Index(stderr, "--after ")
		if i < 0 {
			break
		}
		after = []string{"--after", strings.TrimSpace(stderr[i+len("--after "):])}
		if pages > 5 {
			t.Fatal("no last page")
		}
	}
	if len(seen) != 5 {
		t.Fatalf("pages of 2 listed %d licenses, want 5", len(seen))
	}

	// CSV, and no key anywhere.
	stdout, stderr := runOut(t, "license", "list", "--data", dir, "--csv")
	rows, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
	if err != nil || len(rows) != 6 || rows[0][0] != "id" {
		t.Fatalf("license list --csv: %d rows, %v\n%s", len(rows), err, stdout)
	}
	text := tollgate(t, "license", "list", "--data", dir)
	for _, k := range append(lite, suite...) {
		if strings.Contains(stdout+stderr+text, k) {
			t.Fatal("license list printed a license key")
		}
	}
	if err := run([]string{"license", "list", "--data", dir, "--state", "gone"}, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
		t.Fatal("license list --state gone succeeded")
	}
}

// TestDeactivateMachine: on a running gateway, license show names each
// machine by an id with its hostname, and deactivate-machine frees that
// one seat, by the license's id, leaving the others to validate.
func TestDeactivateMachine(t *testing.T) {
	dir := t.TempDir()
	tollgate(t, "init", "--data", dir)
	key, err := keygen.ParseKey(strings.TrimSpace(tollgate(t, "keys", "mint", "--data", dir, "--product", "1AJS2", "--uncatalogued", "--seats", "3")))
	if err != nil {
		t.Fatal(err)
	}
	s := serveDir(t, dir)
	var ins []installed
	for i, host := range []string{"desk", "laptop", "studio"} {
		in, err := activateOver(hang.Context(t), t, s.card, key, i, host)
		if err != nil {
			t.Fatalf("activate %s: %v", host, err)
		}
		ins = append(ins, in)
	}
	id := hex.EncodeToString(ins[0].license[:])
	if ids, _ := listJSON(t, dir, "--product", "1AJS2"); len(ids) != 1 || ids[0] != id {
		t.Fatalf("license list through the admin socket: %v, want [%s]", ids, id)
	}
	show := tollgate(t, "license", "show", "--data", dir, id)
	for i, host := range []string{"desk", "laptop", "studio"} {
		if !strings.Contains(show, service.MachineID(ins[i].install)+"  "+host+" (app 1.0), first seen ") {
			t.Fatalf("license show does not list machine %s with its id: %q", host, show)
		}
	}
	out := tollgate(t, "license", "deactivate-machine", "--data", dir, id[:8], service.MachineID(ins[1].install))
	if !strings.Contains(out, "seats       2 used of 3") || strings.Contains(out, "laptop") {
		t.Fatalf("deactivate-machine: %q", out)
	}
	if strings.Contains(out, key.Display()) {
		t.Fatal("deactivate-machine printed the key")
	}
	for i, in := range ins {
		err := validateOver(t, s.card, in)
		if (i == 1) != (err != nil) {
			t.Fatalf("validation of machine %d after deactivating machine 1: %v", i, err)
		}
	}
	err = run([]string{"license", "deactivate-machine", "--data", dir, id, service.MachineID(ins[1].install)}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "license show") {
		t.Fatalf("deactivating it again: %v, want a refusal saying where machines are listed", err)
	}
	if audit := tollgate(t, "audit", "--data", dir); !strings.Contains(audit, "license.deactivate-machine") || !strings.Contains(audit, service.MachineID(ins[1].install)) {
		t.Fatalf("the audit log lacks the deactivation: %q", audit)
	}
}
