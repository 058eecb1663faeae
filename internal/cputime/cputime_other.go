//go:build !unix

// Package cputime tells the CPU time the process has used, for the
// benchmarks that report CPU per operation beside wall time.
package cputime

import "time"

// Process returns 0: the CPU time is not measured on this system.
func Process() time.Duration { return 0 }
