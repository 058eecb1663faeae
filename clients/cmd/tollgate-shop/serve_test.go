package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/clients/bridge"
	"github.com/tollgate/tollgate/gateway/gatewaytest"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/internal/hang"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/store"
)

func TestCheckListen(t *testing.T) {
	for _, c := range []struct {
		addr          string
		remote, token bool
		ok            bool
	}{
		{"127.0.0.1:8088", false, false, true},
		{"[::1]:8088", false, false, true},
		{"localhost:8088", false, false, true},
		{"0.0.0.0:8088", false, false, false},
		{":8088", false, false, false},
		{"192.0.2.7:8088", true, false, false},
		{"192.0.2.7:8088", true, true, true},
		{"[::]:8088", false, true, false},
		{"8088", false, false, false},
	} {
		if err := checkListen(c.addr, c.remote, c.token); (err == nil) != c.ok {
			t.Errorf("checkListen(%q, remote %v, token %v) = %v, want ok %v", c.addr, c.remote, c.token, err, c.ok)
		}
	}
}

// TestServeRefusals: serve refuses, with exit 2 and a sentence saying
// what to do, a reachable address without --allow-remote and a token, a
// secret file others may read or that is empty, and webhooks without
// their secret or state; the secrets never appear in what it prints.
func TestServeRefusals(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	token := write("token", "tok-5ecret-value\n", 0o600)
	openToken := write("token.open", "tok-5ecret-value\n", 0o644)
	empty := write("empty", " \n", 0o600)
	secret := write("whsec", "whsec-5ecret-value\n", 0o600)
	openSecret := write("whsec.open", "whsec-5ecret-value\n", 0o640)
	hook := "http://127.0.0.1:9/hook"
	state := filepath.Join(dir, "state")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--listen", "0.0.0.0:8088"}, "--allow-remote"},
		{[]string{"--listen", "0.0.0.0:8088", "--allow-remote"}, "--token-file"},
		{[]string{"--listen", "0.0.0.0:8088", "--allow-remote", "--token-file", openToken}, "chmod 600"},
		{[]string{"--token-file", empty}, "empty"},
		{[]string{"--token-file", filepath.Join(dir, "none")}, "cannot read"},
		{[]string{"--webhook", hook, "--state", state}, "--webhook-secret-file"},
		{[]string{"--webhook", hook, "--webhook-secret-file", secret}, "--state"},
		{[]string{"--webhook", hook, "--webhook-secret-file", openSecret, "--state", state}, "chmod 600"},
		{[]string{"--webhook", "ftp://127.0.0.1/hook?k=q-5ecret", "--webhook-secret-file", secret, "--state", state}, "not an absolute"},
		{[]string{"--webhook-secret-file", secret}, "without --webhook"},
		{[]string{"--webhook", hook, "--webhook-secret-file", secret, "--state", state, "--webhook-retry-for", "0s"}, "positive"},
		{[]string{"--webhook-secret", "whsec-5ecret-value"}, "not defined"},
		{[]string{"extra"}, "no arguments"},
	} {
		var out, errb bytes.Buffer
		code := run(append([]string{"serve", "--card", filepath.Join(dir, "no.card")}, c.args...), &out, &errb)
		all := out.String() + errb.String()
		if code != 2 || !strings.Contains(all, c.want) {
			t.Errorf("serve %q: exit %d, %q; want 2 and %q", c.args, code, all, c.want)
		}
		if strings.Contains(all, "5ecret") {
			t.Errorf("serve %q printed a secret: %q", c.args, all)
		}
	}
	// Remote with a token passes the checks and fails on the missing card.
	var out, errb bytes.Buffer
	code := run([]string{"serve", "--listen", "0.0.0.0:0", "--allow-remote", "--token-file", token, "--card", filepath.Join(dir, "no.card")}, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "server card") {
		t.Fatalf("serve with --allow-remote and a token, no card: exit %d, %q", code, errb.String())
	}
}

// syncBuffer is a buffer safe for a command writing while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServe runs 'tollgate-shop serve' against a real gateway: an order
// placed over HTTP with the bearer token is minted, and the command ends
// cleanly when its context ends.
func TestServe(t *testing.T) {
	g := gatewaytest.Start(t)
	if _, err := service.LoadDemoCatalogue(g.Server.Store()); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	k, err := channel.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keyFile, cardFile, tokenFile := filepath.Join(dir, "shop.key"), filepath.Join(dir, "server.card"), filepath.Join(dir, "token")
	if err := channel.WritePrivateKeyFile(keyFile, k); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cardFile, g.Card.Marshal(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tokenFile, []byte("serve-test-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sh := store.Shop{Name: "acme", PublicKey: k.Public(), Products: []string{"1AJS2"}, Networks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	if err := g.Server.Store().AddShop(sh); err != nil {
		t.Fatal(err)
	}
	if err := g.Server.ReloadShops(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(hang.Context(t))
	defer cancel()
	var stdout, stderr syncBuffer
	exit := make(chan int, 1)
	go func() {
		exit <- runContext(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--card", cardFile, "--key", keyFile, "--token-file", tokenFile}, &stdout, &stderr)
	}()
	urlRE := regexp.MustCompile(`url=(http://127\.0\.0\.1:\d+)`)
	var base string
	for deadline := time.Now().Add(hang.Timeout(t)); base == ""; {
		if m := urlRE.FindStringSubmatch(stderr.String()); m != nil {
			base = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %s", stderr.String())
		} else {
			time.Sleep(10 * time.Millisecond)
		}
	}
	req, _ := http.NewRequestWithContext(ctx, "POST", base+"/v1/orders", strings.NewReader(`{"order_id":"S-1","product":"1AJS2","count":2}`))
	req.Header.Set("Authorization", "Bearer serve-test-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var o bridge.OrderResponse
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(body, &o) != nil || len(o.Keys) != 2 {
		t.Fatalf("POST /v1/orders: %d %s", resp.StatusCode, body)
	}
	cancel()
	if code := <-exit; code != 0 {
		t.Fatalf("serve exited %d: %s", code, stderr.String())
	}
	if strings.Contains(stderr.String(), o.Keys[0]) || strings.Contains(stderr.String(), "serve-test-token") {
		t.Fatalf("the log holds a key or the token")
	}
}
