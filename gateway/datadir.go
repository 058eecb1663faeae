package gateway

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
)

// checkDataDir refuses a data directory that a user other than the
// gateway's own, or root, could change: whoever can write in it can put
// their own keys, store or admin socket where the gateway looks for them.
// It must be writable by its owner only, and its owner must be the
// gateway's user or root. A directory that does not exist is left to
// LoadIdentity, which says to run init. Windows keeps permissions in ACLs,
// not mode bits: it is not checked there.
func checkDataDir(dir string) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("gateway: data directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%w: data directory %s is not a directory", ErrConfig, dir)
	}
	if runtime.GOOS == "windows" {
		return nil
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("%w: data directory %s can be written by its group or by others (mode %#o), who could replace the gateway's keys, store or admin socket: run `chmod 700 %s`", ErrConfig, dir, perm, dir)
	}
	if uid, ok := fileOwner(fi); ok && uid != os.Geteuid() && uid != 0 {
		return fmt.Errorf("%w: data directory %s belongs to uid %d, who could replace the gateway's keys, store or admin socket, and the gateway runs as uid %d: run the gateway as uid %d, or `chown -R %d %s`", ErrConfig, dir, uid, os.Geteuid(), uid, os.Geteuid(), dir)
	}
	return nil
}
