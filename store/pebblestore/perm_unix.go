//go:build unix

package pebblestore

import (
	"os"

	"github.com/cockroachdb/pebble/v2/vfs"
	"golang.org/x/sys/unix"
)

// chmodFile sets the mode of f, open at name, through its descriptor when
// it has one.
func chmodFile(f vfs.File, name string, mode os.FileMode) error {
	if fd := f.Fd(); fd != vfs.InvalidFd {
		return unix.Fchmod(int(fd), uint32(mode))
	}
	return os.Chmod(name, mode)
}
