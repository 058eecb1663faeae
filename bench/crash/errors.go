package crash

import "errors"

// Errors of package crash. Each says why a run could not be completed;
// what a completed run found is in its Result, not in an error.
var (
	// ErrConfig reports a Config that cannot be run; the command exits 2.
	ErrConfig = errors.New("crash: invalid configuration")
	// ErrTollgate reports that a tollgate command (build, init, keys mint,
	// serve, license show) failed or printed what the harness cannot read.
	ErrTollgate = errors.New("crash: tollgate command failed")
	// ErrHang reports a wait that reached its bound (minutes): the gateway
	// did not start, answer or stop.
	ErrHang = errors.New("crash: the gateway hangs")
)
