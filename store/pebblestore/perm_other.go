//go:build !unix

package pebblestore

import (
	"os"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// chmodFile does nothing: this system keeps permissions in ACLs, which a
// new file inherits from its directory, not in mode bits.
func chmodFile(f vfs.File, name string, mode os.FileMode) error { return nil }
