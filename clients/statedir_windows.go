package clients

import (
	"fmt"
	"os"
	"path/filepath"
)

// DefaultStateDir returns where an installation of product keeps its
// state: %ProgramData%\Tollgate\<product>, for user and system installs
// alike (Windows programs are installed per machine).
func DefaultStateDir(product string, system bool) (string, error) {
	d := os.Getenv("ProgramData")
	if d == "" {
		return "", fmt.Errorf("%w: %%ProgramData%% is not set", ErrConfig)
	}
	return filepath.Join(d, "Tollgate", product), nil
}
