//go:build unix

package gateway

import (
	"io/fs"
	"syscall"
)

// fileOwner returns the user id that owns the file fi describes.
func fileOwner(fi fs.FileInfo) (uid int, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return -1, false
	}
	return int(st.Uid), true
}
