// Package wine finds Wine for the tests that run Windows builds under it,
// and names files as Windows programs under Wine see them.
package wine

import (
	"os"
	"os/exec"
	"strings"
)

// Find returns Debian's wine64 loader (it is not on PATH without the
// "wine" wrapper package), or "" when Wine is not installed.
func Find() string {
	if p, err := exec.LookPath("wine64"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/lib/wine/wine64"); err == nil {
		return "/usr/lib/wine/wine64"
	}
	return ""
}

// Path names a Unix path as Wine's Z: drive shows it to a Windows program.
func Path(p string) string { return "Z:" + strings.ReplaceAll(p, "/", `\`) }
