package gateway

import (
	"testing"
	"time"
)

// TestSlowGroupBound: a session runs at most maxSlowPerSession requests off
// its read loop; the next start waits until one of them ends.
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
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("a request did not start after one ended")
	}
	close(release)
	g.wg.Wait()
}
