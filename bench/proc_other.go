//go:build !linux

package bench

import "time"

// procCPU is Linux only: elsewhere the gateway's CPU time is not measured.
func procCPU(pid int) (time.Duration, error) { return 0, ErrProc }

// procRSS is Linux only: elsewhere the gateway's memory is not measured.
func procRSS(pid int) (int64, error) { return 0, ErrProc }
