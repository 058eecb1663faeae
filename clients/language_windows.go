package clients

import (
	"golang.org/x/sys/windows"

	"github.com/tollgate/tollgate/i18n"
)

// systemLanguage returns the language of the user's Windows display
// language (the first of GetUserPreferredUILanguages, such as "de-DE"),
// or English when it cannot be read.
func systemLanguage() string {
	langs, err := windows.GetUserPreferredUILanguages(windows.MUI_LANGUAGE_NAME)
	if err == nil {
		for _, s := range langs {
			if lang, ok := i18n.Language(s); ok {
				return lang
			}
		}
	}
	return i18n.Fallback
}
