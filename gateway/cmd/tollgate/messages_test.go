package main

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/store"
)

// TestProductMessagesStopped: on a stopped gateway, 'product messages'
// sets, lists and unsets a product's own texts (audited as product
// updates), refuses what a client could not show with exit status 2 and a
// sentence saying what to change, and 'ids' lists the catalogue.
func TestProductMessagesStopped(t *testing.T) {
	dir := t.TempDir()
	tollgate(t, "init", "--data", dir)
	tollgate(t, "product", "add", "--data", dir, "--code", "1AJS2", "--name", "Lite")
	tollgate(t, "product", "messages", "set", "--data", dir, "1ajs2", "he", "refused.suspended", "הרישיון מושעה עד לתשלום.")
	tollgate(t, "product", "messages", "set", "--data", dir, "1AJS2", "ru", "warning.check-within", "Проверьте лицензию в течение {days} дн.")
	out := tollgate(t, "product", "messages", "list", "--data", dir, "1AJS2", "--json")
	var got struct {
		Product  string `json:"product"`
		Messages []struct{ Lang, ID, Text string }
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("list --json: %v\n%s", err, out)
	}
	if got.Product != "1AJS2" || len(got.Messages) != 2 || got.Messages[0].Lang != "he" || got.Messages[1].Text != "Проверьте лицензию в течение {days} дн." {
		t.Fatalf("list --json = %+v", got)
	}
	for _, c := range []struct {
		args []string
		want string
		is   error
	}{
		{[]string{"set", "1AJS2", "ru", "no-such-id", "x"}, "not in the catalogue", gateway.ErrUsage},
		{[]string{"set", "1AJS2", "russian", "no-seat", "x"}, "two-letter code", gateway.ErrUsage},
		{[]string{"set", "1AJS2", "ru", "no-seat", "{days} мест нет"}, "this message has none", gateway.ErrUsage},
		{[]string{"set", "1AJS2", "he", "no-seat", "\u200Fאין מקום"}, "U+200F", gateway.ErrUsage},
		{[]string{"set", "1AJS2", "ru", "no-seat"}, "usage: tollgate product messages set", gateway.ErrUsage},
		{[]string{"set", "9ZZZ9", "ru", "no-seat", "x"}, "not found", store.ErrNotFound},
		{[]string{"unset", "1AJS2", "ru", "no-seat"}, "has no text of its own", store.ErrNotFound},
	} {
		args := append([]string{"product", "messages", c.args[0], "--data", dir}, c.args[1:]...)
		_, _, err := runErr(args...)
		if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("tollgate %s: %v, want %v saying %q", strings.Join(c.args, " "), err, c.is, c.want)
		}
		if exitStatus(err) != map[bool]int{true: 2, false: 1}[errors.Is(c.is, gateway.ErrUsage)] {
			t.Errorf("tollgate %s: exit status %d", strings.Join(c.args, " "), exitStatus(err))
		}
	}
	tollgate(t, "product", "messages", "unset", "--data", dir, "1AJS2", "he", "refused.suspended")
	if out := tollgate(t, "product", "messages", "list", "--data", dir, "1AJS2"); strings.Contains(out, "he ") || !strings.Contains(out, "ru  warning.check-within") {
		t.Fatalf("list after unset: %q", out)
	}
	if out := tollgate(t, "audit", "--data", dir); strings.Count(out, "product.update") != 3 {
		t.Fatalf("audit log: want 3 product updates:\n%s", out)
	}
	if out := tollgate(t, "product", "messages", "ids", "--lang", "ru"); !strings.Contains(out, "refused.revoked") || !strings.Contains(out, "Лицензия отозвана.") {
		t.Fatalf("ids --lang ru: %q", out)
	}
	if _, _, err := runErr("product", "messages", "ids", "--lang", "xx"); !errors.Is(err, gateway.ErrUsage) {
		t.Fatalf("ids --lang xx: %v", err)
	}
}
