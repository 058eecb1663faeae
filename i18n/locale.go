package i18n

import (
	"regexp"
	"strings"
	"sync"
)

// Language returns the two-letter language code of a locale name as an
// operating system or a program gives it: "de_DE.UTF-8", "de-DE", "de",
// "sr_RS@latin", "ru-RU" (Windows). "C" and "POSIX" (with or without a
// codeset) are English. It returns false for anything else, such as ""
// or a three-letter code.
func Language(locale string) (string, bool) {
	s := locale
	if i := strings.IndexAny(s, ".@"); i >= 0 {
		s = s[:i]
	}
	if s == "C" || s == "POSIX" {
		return Fallback, true
	}
	lang := s
	if i := strings.IndexAny(s, "_-"); i >= 0 {
		lang = s[:i]
		if rest := s[i+1:]; rest == "" || len(rest) > 8 || !alnum(rest) {
			return "", false
		}
	}
	lang = strings.ToLower(lang)
	if !ValidLanguage(lang) {
		return "", false
	}
	return lang, true
}

func alnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// FromEnv returns the language of the messages locale as POSIX systems
// choose it: the first of LC_ALL, LC_MESSAGES and LANG that is set and not
// empty decides; a value that names no language, or none set, is English.
// getenv is os.Getenv, or a test's table.
func FromEnv(getenv func(string) string) string {
	for _, v := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if s := getenv(v); s != "" {
			if lang, ok := Language(s); ok {
				return lang
			}
			return Fallback
		}
	}
	return Fallback
}

// Recognize finds the message id whose English text is s, and the values
// of its placeholders: the way back from a sentence the client library
// wrote in English to the id, so that it can be told in another language.
// ok is false when no English text of the catalogue is s.
func Recognize(s string) (id string, args map[string]string, ok bool) {
	rec := recognizer()
	if id, ok := rec.exact[s]; ok {
		return id, nil, true
	}
	for _, t := range rec.templates {
		m := t.re.FindStringSubmatch(s)
		if m == nil {
			continue
		}
		args = make(map[string]string, len(t.names))
		for i, name := range t.names {
			args[name] = m[i+1]
		}
		return t.id, args, true
	}
	return "", nil, false
}

// template is an English text with placeholders, as a pattern.
type template struct {
	id    string
	re    *regexp.Regexp
	names []string // the placeholders, in the order of re's groups
}

var recognizer = sync.OnceValue(func() (r struct {
	exact     map[string]string
	templates []template
}) {
	r.exact = map[string]string{}
	for _, id := range IDs() {
		en := catalogue[Fallback][id]
		if len(Placeholders(en)) == 0 {
			r.exact[en] = id
			continue
		}
		t := template{id: id}
		var pat strings.Builder
		pat.WriteString("^")
		rest := en
		for {
			i := strings.IndexByte(rest, '{')
			j := strings.IndexByte(rest[max(i, 0):], '}')
			if i < 0 || j < 0 || !validName(rest[i+1:i+j]) {
				break
			}
			pat.WriteString(regexp.QuoteMeta(rest[:i]))
			pat.WriteString("(.+?)")
			t.names = append(t.names, rest[i+1:i+j])
			rest = rest[i+j+1:]
		}
		pat.WriteString(regexp.QuoteMeta(rest))
		pat.WriteString("$")
		t.re = regexp.MustCompile(pat.String())
		r.templates = append(r.templates, t)
	}
	return r
})
