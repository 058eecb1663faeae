package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/gateway/adminapi"
	"github.com/tollgate/tollgate/store"
)

// TestFloatingProductFlags: product add --floating takes a checkout time
// within 10 s .. 24 h (15 minutes by default) and refuses others with the
// range; product show says the seats are floating; update can turn it on
// for an existing product only with a usable checkout time.
func TestFloatingProductFlags(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tollgate(t, "init", "--data", dir)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--floating", "--checkout", "5s"}, "10s to 24h"},
		{[]string{"--floating", "--checkout", "25h"}, "10s to 24h"},
		{[]string{"--floating", "--checkout", "90500ms"}, "whole seconds"},
		{[]string{"--checkout", "15m"}, "give --floating too"},
		{[]string{"--floating", "--checkout", "15m", "--lease-days", "1"}, "give one"},
	} {
		args := append([]string{"product", "add", "--data", dir, "--code", "1FJS9", "--name", "Floating"}, c.args...)
		if msg := tollgateFails(t, args...); !strings.Contains(msg, c.want) {
			t.Errorf("product add %s: %q, want %q", strings.Join(c.args, " "), msg, c.want)
		}
	}
	tollgate(t, "product", "add", "--data", dir, "--code", "1FJS9", "--name", "Floating", "--seats", "10", "--floating")
	if out := tollgate(t, "product", "show", "--data", dir, "1FJS9"); !strings.Contains(out, "floating (checkout 15m0s)") {
		t.Fatalf("product show: %q", out)
	}
	tollgate(t, "product", "update", "--data", dir, "--code", "1FJS9", "--checkout", "30m")
	var p store.Product
	if err := json.Unmarshal([]byte(tollgate(t, "product", "show", "--data", dir, "1FJS9", "--json")), &p); err != nil {
		t.Fatal(err)
	}
	if !p.Policy.Floating || p.Policy.LeaseSeconds != 1800 {
		t.Fatalf("after update --checkout 30m: %+v", p.Policy)
	}
	// A product with a 7-day lease needs a checkout time to float.
	tollgate(t, "product", "add", "--data", dir, "--code", "1AJS8", "--name", "Node-locked", "--lease-days", "7")
	if msg := tollgateFails(t, "product", "update", "--data", dir, "--code", "1AJS8", "--floating"); !strings.Contains(msg, "--checkout") {
		t.Fatalf("update --floating of a product with a 7-day lease: %q", msg)
	}
	tollgate(t, "product", "update", "--data", dir, "--code", "1AJS8", "--floating", "--checkout", "10m")
}

// TestPrintFloatingSeats: license show lists a floating license's seats
// held and until when, then the machines bound that hold none; --json
// carries them as floating_seats.
func TestPrintFloatingSeats(t *testing.T) {
	t.Parallel()
	now := time.Now().Unix()
	l := adminapi.License{Status: "OK"}
	l.License.Product, l.License.Seats = "1FJS3", 2
	l.License.Policy = store.Policy{Level: 1, LeaseSeconds: 900, Floating: true}
	l.Activations = []store.Activation{
		{Install: [32]byte{1}, Hostname: "held-late", LeaseExpiry: now + 800, LastSeen: now},
		{Install: [32]byte{2}, Hostname: "gone", LeaseExpiry: now - 100, LastSeen: now - 1000},
		{Install: [32]byte{3}, Hostname: "held-soon", LeaseExpiry: now + 100, LastSeen: now},
	}
	var b bytes.Buffer
	printLicense(&b, l)
	out := b.String()
	for _, want := range []string{"2 held of 2 floating (3 machine(s) bound)", "floating seats, checked out for 15m0s", "seat held", "no seat", "last held until"} {
		if !strings.Contains(out, want) {
			t.Errorf("license show lacks %q:\n%s", want, out)
		}
	}
	if i, j, k := strings.Index(out, "held-soon"), strings.Index(out, "held-late"), strings.Index(out, "gone"); !(i < j && j < k) {
		t.Errorf("seats not listed held first, earliest end first:\n%s", out)
	}
	b.Reset()
	if err := writeJSON(&b, asLicenseJSON(l)); err != nil {
		t.Fatal(err)
	}
	var j struct {
		License       store.License `json:"license"`
		FloatingSeats []struct {
			Hostname string `json:"hostname"`
			Held     bool   `json:"held"`
			Until    int64  `json:"until"`
		} `json:"floating_seats"`
	}
	if err := json.Unmarshal(b.Bytes(), &j); err != nil {
		t.Fatal(err)
	}
	if len(j.FloatingSeats) != 3 || !j.FloatingSeats[0].Held || j.FloatingSeats[0].Until != now+100 || j.FloatingSeats[2].Held || !j.License.Policy.Floating {
		t.Fatalf("license show --json: %s", b.String())
	}
}
