package clients

import (
	"fmt"

	"github.com/tollgate/tollgate/i18n"
)

// localized returns d told in the Licensee's language: its Message,
// Action and Warning in that language (the product's overrides from its
// leases first, then the catalogue, then English), MessageID the id of its
// message and Language the language its Message is in. Every exported
// method that returns a Decision returns it through here.
func (l *Licensee) localized(d Decision) Decision {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.st.Lease != nil {
		l.refreshMessages()
	}
	return localize(d, l.cfg.Language, l.msgs.o)
}

// localize is localized for language lang and overrides o.
func localize(d Decision, lang string, o i18n.Overrides) Decision {
	id, text, used := translate(d.Message, lang, o)
	if id == "" {
		// A sentence the catalogue does not know stays as written, in
		// English; the reason stands for its id.
		id, used = string(d.Reason), i18n.Fallback
	}
	d.MessageID, d.Message, d.Language = id, text, used
	_, d.Action, _ = translate(d.Action, lang, o)
	_, d.Warning, _ = translate(d.Warning, lang, o)
	return d
}

// translate tells the English sentence s in lang: the id of its first
// sentence, the text, and the language the first sentence came out in. s
// may be sentences of the catalogue one after another ("A. B."), each
// told on its own; what is not recognised is left as it is, with id "".
func translate(s, lang string, o i18n.Overrides) (id, text, used string) {
	if s == "" {
		return "", "", ""
	}
	if id, args, ok := i18n.Recognize(s); ok {
		text, used = i18n.Text(o, lang, id, args)
		return id, text, used
	}
	// Sentences joined with a space: try each end of a sentence as the
	// boundary (bounded by the sentence ends in s).
	for i := 0; i+1 < len(s); i++ {
		if s[i] != '.' || s[i+1] != ' ' {
			continue
		}
		first, rest := s[:i+1], s[i+2:]
		id, args, ok := i18n.Recognize(first)
		if !ok {
			continue
		}
		if rid, restText, _ := translate(rest, lang, o); rid != "" {
			text, used = i18n.Text(o, lang, id, args)
			return id, text + " " + restText, used
		}
	}
	return "", s, i18n.Fallback
}

// setLanguage turns c.Language into a two-letter code: the user's when
// it is zero, ErrConfig when it names no language.
func (c *LicenseeConfig) setLanguage() error {
	if c.Language == "" {
		c.Language = systemLanguage()
		return nil
	}
	lang, ok := i18n.Language(c.Language)
	if !ok {
		return fmt.Errorf("%w: language %q: want a code such as \"de\", or a locale such as \"de_DE.UTF-8\"", ErrConfig, c.Language)
	}
	c.Language = lang
	return nil
}

// Localize returns d told in language lang (a code such as "de" or a
// locale name such as "de_DE.UTF-8"; "" is the user's, as
// LicenseeConfig.Language) from the catalogue alone, for a Decision a
// program made itself or received in English (over a pipe, from a log).
// A Licensee's Decisions are already in its language, with the product's
// own texts.
func Localize(d Decision, lang string) Decision {
	c := LicenseeConfig{Language: lang}
	if c.setLanguage() != nil {
		c.Language = i18n.Fallback
	}
	return localize(d, c.Language, nil)
}
