package gateway

import (
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/hang"
)

// TestSlowGroupBound: a session runs at most maxSlowPerSession requests off
// its read loop; the next start waits until one of them ends. (The 200 ms
// in which the extra start must not happen cannot fail the test on a slow
// machine: a late start is not one that happens too early.)
func TestSlowGroupBound(t *testing.T) {
	var g slowGroup
	release := make(chan struct{})
	for range maxSlowPerSession {
		g.start(func() { <-release })
	}
	started := make(chan struct{})
	go func() {
		g.start(func() {})
		close(started)
	}()
	select {
	case <-started:
		t.Fatalf("request %d started while %d were running", maxSlowPerSession+1, maxSlowPerSession)
	case <-time.After(200 * time.Millisecond):
	}
	release <- struct{}{} // one ends
	// Only a hang keeps the waiting start from going on now: wait until the
	// test's own deadline is near.
	select {
	case <-started:
	case <-time.After(hang.Timeout(t)):
		t.Fatal("a request did not start after one ended")
	}
	close(release)
	g.wg.Wait()
}
