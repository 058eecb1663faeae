package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/clients/bridge"
)

// TestEventsFailed: 'events --failed' prints the events the bridge gave
// up, one JSON object a line, as its state directory keeps them.
func TestEventsFailed(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if code := run([]string{"events", "--failed", "--state", dir}, &out, &errb); code != 0 || out.Len() != 0 || !strings.Contains(errb.String(), "no failed events") {
		t.Fatalf("no failed events: exit %d, %q, %q", code, out.String(), errb.String())
	}
	want := []bridge.FailedEvent{
		{Event: bridge.EventJSON{ID: 3, Type: "revoked", Time: time.Unix(1_800_000_000, 0).UTC(), License: "00ff", Order: "W-1", Product: "1AJS2"},
			GaveUp: time.Unix(1_800_090_000, 0).UTC(), Webhooks: []bridge.FailedWebhook{{URL: "https://shop.test/hook", Attempts: 12, Last: "answered 500"}}},
		{Event: bridge.EventJSON{ID: 9, Type: "activated", Time: time.Unix(1_800_000_100, 0).UTC(), License: "0a0b", Order: "W-2", Product: "1AJS2", Seat: 1, Seats: 2, Machine: "pc"},
			GaveUp: time.Unix(1_800_090_100, 0).UTC(), Webhooks: []bridge.FailedWebhook{{URL: "https://shop.test/hook", Attempts: 12, Last: "connection failed"}}},
	}
	b, _ := json.Marshal(want)
	if err := os.WriteFile(filepath.Join(dir, "failed.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if code := run([]string{"events", "--failed", "--state", dir}, &out, &errb); code != 0 {
		t.Fatalf("events --failed: exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2: %q", len(lines), out.String())
	}
	for i, l := range lines {
		var got bridge.FailedEvent
		if err := json.Unmarshal([]byte(l), &got); err != nil || got.Event.ID != want[i].Event.ID || got.Webhooks[0].Last != want[i].Webhooks[0].Last {
			t.Fatalf("line %d: %v, %q", i, err, l)
		}
	}
	out.Reset()
	if code := run([]string{"events", "--failed", "--state", dir, "--json"}, &out, &errb); code != 0 || !strings.Contains(out.String(), `"2 events not delivered."`) {
		t.Fatalf("events --failed --json: exit %d, %s", code, out.String())
	}
	for _, args := range [][]string{
		{"events"},
		{"events", "--failed", "--follow", "--state", dir},
		{"events", "--failed"},
		{"events", "--failed", "--state", filepath.Join(dir, "none")},
	} {
		if code := run(args, &out, &errb); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
}
