//go:build unix

package clients

import (
	"os"
	"syscall"
)

// lockFile takes an exclusive lock on f, waiting for another process that
// holds one; closing f releases it.
func lockFile(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			return err
		}
	}
}
