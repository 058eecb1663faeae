//go:build !unix && !windows

package clients

import "os"

// lockFile does nothing where the system offers no file locks: two
// processes sharing a state directory may then send the same counter.
func lockFile(*os.File) error { return nil }
