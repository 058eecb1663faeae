//go:build !unix

package bench

import (
	"context"
	"os"
	"os/signal"
)

// Without SIGUSR1 and SIGUSR2 the child cannot be asked to free memory or
// to start profiling.
var sigFree, sigProfile os.Signal

func controlSignals() (free, profile <-chan os.Signal, stop func()) {
	return nil, nil, func() {}
}

func stopContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt)
}

func terminate(p *os.Process) { p.Kill() }
