//go:build !windows

package clients

import (
	"os"

	"github.com/tollgate/tollgate/i18n"
)

// systemLanguage returns the language of the user's messages locale: the
// first of LC_ALL, LC_MESSAGES and LANG that is set, "C" and "POSIX" being
// English; English when none is.
func systemLanguage() string { return i18n.FromEnv(os.Getenv) }
