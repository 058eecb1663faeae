package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
)

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--no-such-flag"},
		{"--cycles", "0"},
		{"--cycles", "-3"},
		{"--seats", "0"},
		{"--concurrency", "500", "--licenses", "1"},
		{"--run-min", "2s", "--run-max", "1s"},
		{"--run-min", "soon"},
		{"stray"},
		{"--nodes", "2"},
		{"--nodes", "0"},
	} {
		var stderr bytes.Buffer
		if code := run(context.Background(), args, io.Discard, &stderr); code != 2 {
			t.Errorf("%q: exit %d, want 2 (%s)", args, code, stderr.String())
		} else if stderr.Len() == 0 {
			t.Errorf("%q: exit 2 without a word", args)
		}
	}
}

func TestHelp(t *testing.T) {
	var out bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, &out, io.Discard); code != 0 {
		t.Fatalf("--help: exit %d", code)
	}
	for _, f := range []string{"cycles", "concurrency", "licenses", "seats", "installs", "run-min", "run-max", "tollgate", "data", "keep", "seed", "store", "nodes"} {
		if !strings.Contains(out.String(), "-"+f) {
			t.Errorf("--help does not describe --%s", f)
		}
	}
}
