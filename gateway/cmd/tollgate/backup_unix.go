//go:build unix

package main

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// shareWithGateway gives dir, made by root for a running gateway's
// snapshot, to the owner of the data directory data (the gateway's
// user), so that the gateway can write into it.
func shareWithGateway(dir, data string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	fi, err := os.Stat(data)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st.Uid == 0 {
		return nil
	}
	if err := os.Chown(dir, int(st.Uid), int(st.Gid)); err != nil {
		return fmt.Errorf("giving the snapshot's directory to the gateway's user: %w", err)
	}
	return nil
}

// processAlive reports whether a process with this id may still run (it
// exists, whoever owns it).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
