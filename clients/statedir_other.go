//go:build !linux && !windows

package clients

import (
	"fmt"
	"os"
	"path/filepath"
)

// DefaultStateDir returns where an installation of product keeps its
// state: the user's configuration directory, tollgate/<product>.
func DefaultStateDir(product string, system bool) (string, error) {
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("%w: no state directory: %w", ErrConfig, err)
	}
	return filepath.Join(d, "tollgate", product), nil
}
