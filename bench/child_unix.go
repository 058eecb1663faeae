//go:build unix

package bench

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// Signals of the child protocol (see child.go).
var (
	sigFree    os.Signal = syscall.SIGUSR1
	sigProfile os.Signal = syscall.SIGUSR2
)

// controlSignals returns channels that receive sigFree and sigProfile, and
// a function that stops delivering them.
func controlSignals() (free, profile <-chan os.Signal, stop func()) {
	f, p := make(chan os.Signal, 1), make(chan os.Signal, 1)
	signal.Notify(f, syscall.SIGUSR1)
	signal.Notify(p, syscall.SIGUSR2)
	return f, p, func() { signal.Stop(f); signal.Stop(p) }
}

// stopContext is done when the process receives SIGTERM or SIGINT.
func stopContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
}

// terminate asks p to stop cleanly.
func terminate(p *os.Process) { p.Signal(syscall.SIGTERM) }
