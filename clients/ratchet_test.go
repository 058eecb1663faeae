package clients

import (
	"crypto/rand"
	"testing"
	"time"

	"github.com/tollgate/tollgate/keygen/composite"
)

// TestRatchetSavedInSmallSteps: a program that checks every few seconds
// moves the clock ratchet by small steps; the saved ratchet must follow
// within a minute, not stay at the last server contact, so that a restart
// with the clock set back cannot make an expired lease good again. Close
// saves how far it went.
func TestRatchetSavedInSmallSteps(t *testing.T) {
	k, err := composite.GenerateKey(composite.MLDSA44Ed25519, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	l := localLicensee(t, k, nil)
	start := time.Unix(locNow, 0)
	l.mu.Lock()
	l.advance(start)
	now := start
	for range 100 { // 100 checks, 5 s apart: 500 s
		now = now.Add(5 * time.Second)
		l.advance(now)
	}
	l.mu.Unlock()
	saved, _, err := LoadState(l.cfg.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	if behind := now.Unix() - saved.Trusted; behind > 60 {
		t.Fatalf("the saved ratchet is %d s behind the clock after 100 small steps, want at most 60", behind)
	}
	end := now.Add(30 * time.Second)
	l.mu.Lock()
	l.advance(end)
	l.mu.Unlock()
	l.Close()
	if saved, _, err = LoadState(l.cfg.StateDir); err != nil {
		t.Fatal(err)
	}
	if saved.Trusted != end.Unix() {
		t.Fatalf("Close saved the ratchet at %d, want %d", saved.Trusted, end.Unix())
	}
}
