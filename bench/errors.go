package bench

import "errors"

// Errors of package bench.
var (
	// ErrConfig reports a Config that cannot be run; the command exits 2.
	ErrConfig = errors.New("bench: invalid configuration")
	// ErrSetup reports that the gateway could not be prepared for the
	// scenario (minting, activating, registering a shop).
	ErrSetup = errors.New("bench: setup failed")
	// ErrChild reports that a child process (the embedded gateway or the
	// echo server) did not start or stopped on its own.
	ErrChild = errors.New("bench: child process failed")
	// ErrProc reports that a process's CPU time or memory could not be
	// read (not Linux, or the process is gone).
	ErrProc = errors.New("bench: cannot read process statistics")
	// ErrBroken reports a load that stopped making progress: a connection
	// was lost or requests went unanswered.
	ErrBroken = errors.New("bench: load broken")
)
