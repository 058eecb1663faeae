package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/bench"
)

func TestMain(m *testing.M) {
	bench.RunChildIfRequested()
	os.Exit(m.Run())
}

func TestBadFlags(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys.txt")
	if err := os.WriteFile(keys, []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"--no-such-flag"},
		{"--scenario", "nope"},
		{"--conns", "-1"},
		{"--rate", "fast"},
		{"--rate", "1.5x"},
		{"--duration", "0s"},
		{"--batch", "20000"},
		{"--mix", "validate=1,teleport=2"},
		{"--scheme", "rsa"},
		{"--addr", "127.0.0.1:7443"},
		{"--card", "server.card"},
		{"--embedded=false"},
		{"--addr", "127.0.0.1:7443", "--card", filepath.Join(dir, "missing.card")},
		{"--inflight", "3", "--streams", "2"},
		{"stray"},
	} {
		var stderr bytes.Buffer
		if code := run(context.Background(), args, io.Discard, &stderr); code != 2 {
			t.Errorf("%q: exit %d, want 2 (%s)", args, code, stderr.String())
		} else if !strings.Contains(stderr.String(), "tollgate-bench") && !strings.Contains(stderr.String(), "flag") {
			t.Errorf("%q: no clear error: %q", args, stderr.String())
		}
	}
	var out bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, &out, io.Discard); code != 0 || !strings.Contains(out.String(), "-ceiling") {
		t.Errorf("--help: exit %d, %q", code, out.String())
	}
}

// TestJSON checks what the issue asks of --json: one JSON object on
// standard output with the figures, the progress lines on standard error.
func TestJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a gateway")
	}
	report := filepath.Join(t.TempDir(), "report.html")
	var stdout, stderr bytes.Buffer
	args := []string{"--scenario", "validate", "--embedded", "--duration", "400ms", "--warmup", "100ms", "--ceiling", "--json",
		"--conns", "1", "--inflight", "4", "--licenses", "8", "--report", report}
	if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	dec := json.NewDecoder(&stdout)
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("stdout is not a JSON object: %v", err)
	}
	if dec.More() {
		t.Fatalf("more than one JSON value on stdout")
	}
	for _, k := range []string{"scenario", "requests_per_sec", "p50_us", "p90_us", "p99_us", "p999_us", "max_us", "errors",
		"ceiling_requests_per_sec", "ratio", "gateway_cpu_us_per_req"} {
		if _, ok := m[k]; !ok {
			t.Errorf("no %q in %v", k, m)
		}
	}
	if rps, _ := m["requests_per_sec"].(float64); rps <= 0 || m["scenario"] != "validate" {
		t.Errorf("scenario %v at %v req/s", m["scenario"], m["requests_per_sec"])
	}
	if c, _ := m["ceiling_requests_per_sec"].(float64); c <= 0 {
		t.Errorf("ceiling %v", m["ceiling_requests_per_sec"])
	}
	if !strings.Contains(stderr.String(), "validate") || !strings.Contains(stderr.String(), "req/s") {
		t.Errorf("no progress line on stderr: %q", stderr.String())
	}
	page, err := os.ReadFile(report)
	if err != nil || !bytes.Contains(page, []byte("<svg")) {
		t.Errorf("report: %v", err)
	}
}
