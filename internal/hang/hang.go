// Package hang gives tests waits that only a hang can reach: a test that
// waits for an answer, a process or an event waits as long as its own
// deadline allows, never a guess at how fast a loaded machine is.
package hang

import (
	"context"
	"testing"
	"time"
)

// Timeout returns the time left before the test's deadline (go test
// -timeout) less a margin to report the failure, or five minutes when the
// test has no deadline.
func Timeout(tb testing.TB) time.Duration {
	if t, ok := tb.(interface{ Deadline() (time.Time, bool) }); ok {
		if d, ok := t.Deadline(); ok {
			left := time.Until(d)
			return max(left-30*time.Second, left/2)
		}
	}
	return 5 * time.Minute
}

// Context returns a context that ends after Timeout, cancelled when the
// test ends.
func Context(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout(tb))
	tb.Cleanup(cancel)
	return ctx
}
