package clients

import (
	"fmt"
	"os"
	"path/filepath"
)

// DefaultStateDir returns where an installation of product keeps its
// state: /var/lib/tollgate/<product> for a system-wide install, else
// $XDG_STATE_HOME/tollgate/<product> (~/.local/state when unset).
func DefaultStateDir(product string, system bool) (string, error) {
	if system {
		return filepath.Join("/var/lib/tollgate", product), nil
	}
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "tollgate", product), nil
	}
	h, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("%w: no state directory: %w", ErrConfig, err)
	}
	return filepath.Join(h, ".local", "state", "tollgate", product), nil
}
