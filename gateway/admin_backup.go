package gateway

import (
	"fmt"
	"net"
	"path/filepath"
	"time"

	"github.com/tollgate/tollgate/gateway/adminapi"
)

// snapshot answers store.snapshot: a consistent copy of the store written
// by the gateway, the store's only writer, into req.Dir.
func (a *Admin) snapshot(req adminapi.Snapshot) (adminapi.None, error) {
	if !filepath.IsAbs(req.Dir) {
		return adminapi.None{}, fmt.Errorf("%w: the snapshot directory %q is not an absolute path", ErrConfig, req.Dir)
	}
	return adminapi.None{}, a.St.Snapshot(req.Dir)
}

// Running reports whether a gateway serves the data directory dir: its
// admin socket answers.
func Running(dir string) bool {
	c, err := net.DialTimeout("unix", AdminSocketPath(dir), 2*time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
