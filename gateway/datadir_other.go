//go:build !unix

package gateway

import "io/fs"

// fileOwner cannot tell a file's owner on this system.
func fileOwner(fi fs.FileInfo) (uid int, ok bool) { return -1, false }
