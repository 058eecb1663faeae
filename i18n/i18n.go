// Package i18n is the catalogue of the messages an end user sees (not
// activated, no seats, expired, suspended, offline too long, ...) in
// German, English, Spanish, Russian and Hebrew, keyed by stable message
// ids, and the rules a publisher's overrides of them follow.
//
// The ids are the client's reasons ("no-seat", "license-expired", ...),
// "<id>.action" for what the user can do about it, and a few more for the
// refusals and warnings that need their own sentence ("refused.revoked",
// "warning.check-within", ...). A text may hold named placeholders such as
// {days}; every language uses exactly the placeholders English uses for
// that id. No text holds control or bidirectional layout characters: the
// Hebrew is plain right-to-left text, laid out by whatever shows it.
//
// It uses the standard library only, so that every part may import it.
package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Fallback is the language used when the user's has no catalogue, or its
// catalogue (and the publisher) has no text for an id.
const Fallback = "en"

//go:embed catalogue/*.json
var files embed.FS

// catalogue maps a language to its id -> text table.
var catalogue = load()

// load reads the embedded catalogue. A file that does not parse is a
// build mistake the package's tests catch; it panics at start.
func load() map[string]map[string]string {
	ents, err := files.ReadDir("catalogue")
	if err != nil {
		panic(fmt.Sprintf("i18n: embedded catalogue: %v", err))
	}
	out := make(map[string]map[string]string, len(ents))
	for _, e := range ents {
		lang, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok {
			continue
		}
		b, err := files.ReadFile("catalogue/" + e.Name())
		if err != nil {
			panic(fmt.Sprintf("i18n: embedded catalogue %s: %v", e.Name(), err))
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			panic(fmt.Sprintf("i18n: embedded catalogue %s: %v", e.Name(), err))
		}
		out[lang] = m
	}
	if out[Fallback] == nil {
		panic("i18n: embedded catalogue has no " + Fallback + ".json")
	}
	return out
}

// Languages returns the languages of the catalogue, sorted.
func Languages() []string {
	out := make([]string, 0, len(catalogue))
	for l := range catalogue {
		out = append(out, l)
	}
	slices.Sort(out)
	return out
}

// IDs returns every message id of the catalogue, sorted.
func IDs() []string {
	out := make([]string, 0, len(catalogue[Fallback]))
	for id := range catalogue[Fallback] {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// Known reports whether id is a message id of the catalogue.
func Known(id string) bool {
	_, ok := catalogue[Fallback][id]
	return ok
}

// Has reports whether the catalogue has a file for lang.
func Has(lang string) bool { return catalogue[lang] != nil }

// Lookup returns the catalogue's text of id in lang, placeholders unfilled,
// and whether it has one.
func Lookup(lang, id string) (string, bool) {
	t, ok := catalogue[lang][id]
	return t, ok
}

// Overrides are a product's own texts, set by its publisher: language ->
// message id -> text. They come before the catalogue's texts.
type Overrides map[string]map[string]string

// Text returns the text of id for a user of language lang, its
// placeholders filled from args, and the language it is in: the
// publisher's override in lang, else the catalogue's text in lang, else
// the override in English, else the catalogue's English. It returns ""
// and "" for an id neither knows.
func Text(o Overrides, lang, id string, args map[string]string) (text, used string) {
	for _, l := range []string{lang, Fallback} {
		if t, ok := o[l][id]; ok {
			return Fill(t, args), l
		}
		if t, ok := catalogue[l][id]; ok {
			return Fill(t, args), l
		}
	}
	return "", ""
}

// Fill replaces each {name} of text whose name args holds by its value;
// other braces are left as they are.
func Fill(text string, args map[string]string) string {
	if len(args) == 0 || !strings.Contains(text, "{") {
		return text
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(text, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(text[i:], '}')
		if j < 0 {
			break
		}
		name := text[i+1 : i+j]
		if v, ok := args[name]; ok && validName(name) {
			b.WriteString(text[:i])
			b.WriteString(v)
		} else {
			b.WriteString(text[:i+j+1])
		}
		text = text[i+j+1:]
	}
	b.WriteString(text)
	return b.String()
}

// Placeholders returns the names of text's placeholders ({name}: a to z,
// 0 to 9 and '-'), sorted, each once.
func Placeholders(text string) []string {
	var out []string
	for {
		i := strings.IndexByte(text, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(text[i:], '}')
		if j < 0 {
			break
		}
		if name := text[i+1 : i+j]; validName(name) && !slices.Contains(out, name) {
			out = append(out, name)
		}
		text = text[i+j+1:]
	}
	slices.Sort(out)
	return out
}

func validName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// MaxText is the most bytes of one override's text.
const MaxText = 1024

// CheckText reports whether text may be shown to a user: valid UTF-8, not
// empty, at most MaxText bytes, and free of control characters and of the
// bidirectional marks and embeddings (U+200E, U+200F, U+202A to U+202E,
// U+2066 to U+2069, U+061C) that would garble a terminal.
func CheckText(text string) error {
	switch {
	case text == "":
		return fmt.Errorf("the text is empty")
	case len(text) > MaxText:
		return fmt.Errorf("the text is %d bytes, more than the %d allowed", len(text), MaxText)
	case !utf8.ValidString(text):
		return fmt.Errorf("the text is not valid UTF-8")
	}
	for _, r := range text {
		if unicode.IsControl(r) || isBidiControl(r) || r == '\uFEFF' {
			return fmt.Errorf("the text holds the control or layout character U+%04X: write plain text (right-to-left languages need no marks)", r)
		}
	}
	return nil
}

func isBidiControl(r rune) bool {
	return r == '\u200E' || r == '\u200F' || r == '\u061C' || r >= '\u202A' && r <= '\u202E' || r >= '\u2066' && r <= '\u2069'
}

// ValidLanguage reports whether lang is a language code overrides may
// use: two lowercase letters (ISO 639-1), in the catalogue or not.
func ValidLanguage(lang string) bool {
	return len(lang) == 2 && lang[0] >= 'a' && lang[0] <= 'z' && lang[1] >= 'a' && lang[1] <= 'z'
}

// CheckOverride reports whether a publisher may set text as the message
// id in language lang, with a sentence that says what to change: lang is
// two lowercase letters, id is a message id of the catalogue, text passes
// CheckText and uses only placeholders the English text of id has.
func CheckOverride(lang, id, text string) error {
	if !ValidLanguage(lang) {
		return fmt.Errorf("language %q: want a two-letter code such as de, en, es, ru or he", lang)
	}
	en, ok := catalogue[Fallback][id]
	if !ok {
		return fmt.Errorf("message id %q is not in the catalogue: the ids are those 'tollgate product messages ids' lists", id)
	}
	if err := CheckText(text); err != nil {
		return fmt.Errorf("message %s (%s): %w", id, lang, err)
	}
	have := Placeholders(en)
	for _, p := range Placeholders(text) {
		if !slices.Contains(have, p) {
			if len(have) == 0 {
				return fmt.Errorf("message %s (%s): placeholder {%s}: this message has none", id, lang, p)
			}
			return fmt.Errorf("message %s (%s): placeholder {%s}: this message has only {%s}", id, lang, p, strings.Join(have, "}, {"))
		}
	}
	return nil
}

// Check reports whether every override of o passes CheckOverride.
func (o Overrides) Check() error {
	for _, lang := range sortedKeys(o) {
		if len(o[lang]) == 0 {
			return fmt.Errorf("language %q has no messages: remove it", lang)
		}
		for _, id := range sortedKeys(o[lang]) {
			if err := CheckOverride(lang, id, o[lang][id]); err != nil {
				return err
			}
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
