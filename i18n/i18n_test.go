package i18n

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// The languages the issue asks for: none may go missing from the build.
var required = []string{"de", "en", "es", "he", "ru"}

func TestCatalogueLanguages(t *testing.T) {
	if got := Languages(); !slices.Equal(got, required) {
		t.Fatalf("Languages() = %v, want %v", got, required)
	}
}

// TestCatalogueComplete: every id of English is in every language, no
// language has an id English lacks, each text uses exactly English's
// placeholders, and holds no control or layout character.
func TestCatalogueComplete(t *testing.T) {
	ids := IDs()
	if len(ids) < 60 {
		t.Fatalf("only %d ids: the catalogue did not load", len(ids))
	}
	for _, lang := range Languages() {
		if len(catalogue[lang]) != len(ids) {
			for id := range catalogue[lang] {
				if !Known(id) {
					t.Errorf("%s.json: id %q is not in en.json", lang, id)
				}
			}
		}
		for _, id := range ids {
			text, ok := Lookup(lang, id)
			if !ok {
				t.Errorf("%s.json: id %q missing", lang, id)
				continue
			}
			en, _ := Lookup(Fallback, id)
			if got, want := Placeholders(text), Placeholders(en); !slices.Equal(got, want) {
				t.Errorf("%s %s: placeholders %v, English has %v", lang, id, got, want)
			}
			if err := CheckText(text); err != nil {
				t.Errorf("%s %s: %v", lang, id, err)
			}
			if strings.Count(text, "{") != strings.Count(text, "}") || strings.Contains(text, "%") {
				t.Errorf("%s %s: stray brace or printf verb in %q", lang, id, text)
			}
			if lang != Fallback && text == en {
				t.Errorf("%s %s: not translated (the English text)", lang, id)
			}
		}
	}
}

// TestEveryMessageFilled: every id, in every language, comes out of Text
// with every placeholder filled and in the language asked for.
func TestEveryMessageFilled(t *testing.T) {
	for _, lang := range Languages() {
		for _, id := range IDs() {
			en, _ := Lookup(Fallback, id)
			args := map[string]string{}
			for _, p := range Placeholders(en) {
				args[p] = "<" + p + "-value>"
			}
			text, used := Text(nil, lang, id, args)
			if used != lang {
				t.Errorf("Text(%s, %s) used %q", lang, id, used)
			}
			if strings.ContainsAny(text, "{}") {
				t.Errorf("Text(%s, %s) = %q: a placeholder left unfilled", lang, id, text)
			}
			for p, v := range args {
				if !strings.Contains(text, v) {
					t.Errorf("Text(%s, %s) = %q: {%s} not in it", lang, id, text, p)
				}
			}
		}
	}
}

func TestHebrewIsHebrewRussianIsCyrillic(t *testing.T) {
	for _, id := range IDs() {
		he, _ := Lookup("he", id)
		ru, _ := Lookup("ru", id)
		if !strings.ContainsFunc(he, func(r rune) bool { return r >= 0x05D0 && r <= 0x05EA }) {
			t.Errorf("he %s: no Hebrew letter in %q", id, he)
		}
		if !strings.ContainsFunc(ru, func(r rune) bool { return r >= 0x0410 && r <= 0x044F }) {
			t.Errorf("ru %s: no Cyrillic letter in %q", id, ru)
		}
	}
}

// TestEnglishTextsDistinct: Recognize finds a sentence's id from its
// English text, so two ids may share one only if they share it in every
// language.
func TestEnglishTextsDistinct(t *testing.T) {
	seen := map[string]string{}
	for _, id := range IDs() {
		en, _ := Lookup(Fallback, id)
		if other, ok := seen[en]; ok {
			for _, lang := range Languages() {
				a, _ := Lookup(lang, other)
				b, _ := Lookup(lang, id)
				if a != b {
					t.Errorf("ids %s and %s have the same English text %q but differ in %s", other, id, en, lang)
				}
			}
		}
		seen[en] = id
	}
}

func TestRecognize(t *testing.T) {
	for _, id := range IDs() {
		en, _ := Lookup(Fallback, id)
		args := map[string]string{}
		for _, p := range Placeholders(en) {
			args[p] = "V" + p
		}
		got, gotArgs, ok := Recognize(Fill(en, args))
		if gotEn, _ := Lookup(Fallback, got); !ok || gotEn != en {
			t.Errorf("Recognize(English of %s) = %q, %v", id, got, ok)
		}
		for p, v := range args {
			if gotArgs[p] != v {
				t.Errorf("Recognize(English of %s): {%s} = %q, want %q", id, p, gotArgs[p], v)
			}
		}
	}
	if _, _, ok := Recognize("Some sentence nobody wrote."); ok {
		t.Error("Recognize matched a sentence not in the catalogue")
	}
	id, args, ok := Recognize("The license must be checked with the license server within 3 day(s); connect to the internet before then.")
	if !ok || id != "warning.check-within" || args["days"] != "3" {
		t.Errorf("Recognize(check-within 3) = %q %v %v", id, args, ok)
	}
}

func TestLanguage(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string
		ok   bool
	}{
		{"de_DE.UTF-8", "de", true},
		{"de_DE", "de", true},
		{"de", "de", true},
		{"ru_RU.KOI8-R", "ru", true},
		{"he_IL.UTF-8", "he", true},
		{"es-419", "es", true},
		{"ru-RU", "ru", true},
		{"EN_us", "en", true},
		{"sr_RS@latin", "sr", true},
		{"fr_FR", "fr", true}, // a language without a catalogue: Text falls back
		{"C", "en", true},
		{"C.UTF-8", "en", true},
		{"POSIX", "en", true},
		{"", "", false},
		{"deu", "", false},
		{"d", "", false},
		{"de_", "", false},
		{"de_DE/../x", "", false},
		{"1a_B", "", false},
	} {
		got, ok := Language(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("Language(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestFromEnv(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, "en"},
		{map[string]string{"LANG": "de_DE.UTF-8"}, "de"},
		{map[string]string{"LANG": "de_DE.UTF-8", "LC_MESSAGES": "ru_RU.UTF-8"}, "ru"},
		{map[string]string{"LANG": "de_DE.UTF-8", "LC_MESSAGES": "ru_RU.UTF-8", "LC_ALL": "he_IL.UTF-8"}, "he"},
		{map[string]string{"LANG": "es_ES.UTF-8", "LC_ALL": ""}, "es"},
		{map[string]string{"LANG": "ru_RU.UTF-8", "LC_MESSAGES": "C"}, "en"},
		{map[string]string{"LANG": "garbage!"}, "en"},
	} {
		if got := FromEnv(func(k string) string { return c.env[k] }); got != c.want {
			t.Errorf("FromEnv(%v) = %q, want %q", c.env, got, c.want)
		}
	}
}

func TestTextOrder(t *testing.T) {
	o := Overrides{
		"ru": {"refused.revoked": "Ключ отозван поставщиком."},
		"en": {"no-seat": "All seats are taken."},
		"fr": {"refused.suspended": "La licence est suspendue."},
	}
	for _, c := range []struct{ lang, id, want, used string }{
		{"ru", "refused.revoked", "Ключ отозван поставщиком.", "ru"},           // the override
		{"ru", "refused.suspended", "Действие лицензии приостановлено.", "ru"}, // the catalogue in ru
		{"ru", "no-seat", "Все места этой лицензии заняты на других компьютерах.", "ru"},
		{"de", "no-seat", "Alle Plätze dieser Lizenz sind auf anderen Computern belegt.", "de"}, // the catalogue in de before the override in en
		{"fr", "refused.suspended", "La licence est suspendue.", "fr"},                          // a language of the publisher's own
		{"fr", "no-seat", "All seats are taken.", "en"},                                         // then English: the override
		{"fr", "refused.revoked", "The license has been revoked.", "en"},
		{"ru", "no-such-id", "", ""},
	} {
		text, used := Text(o, c.lang, c.id, nil)
		if text != c.want || used != c.used {
			t.Errorf("Text(%s, %s) = %q (%s), want %q (%s)", c.lang, c.id, text, used, c.want, c.used)
		}
	}
}

func TestFill(t *testing.T) {
	for _, c := range []struct {
		in   string
		args map[string]string
		want string
	}{
		{"within {days} day(s)", map[string]string{"days": "3"}, "within 3 day(s)"},
		{"{held} then {product} then {held}", map[string]string{"held": "A", "product": "B"}, "A then B then A"},
		{"no {such} name", map[string]string{"days": "3"}, "no {such} name"},
		{"a {Bad Name} and {days", map[string]string{"days": "3"}, "a {Bad Name} and {days"},
		{"value {days} not re-expanded", map[string]string{"days": "{days}"}, "value {days} not re-expanded"},
	} {
		if got := Fill(c.in, c.args); got != c.want {
			t.Errorf("Fill(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestCheckOverride(t *testing.T) {
	for _, c := range []struct {
		lang, id, text, wantErr string
	}{
		{"ru", "refused.revoked", "Ключ отозван.", ""},
		{"he", "warning.check-within", "בדקו בתוך {days} ימים.", ""},
		{"fr", "no-seat", "Toutes les places sont prises.", ""},
		{"he", "warning.check-within", "בדקו עכשיו.", ""}, // fewer placeholders is fine
		{"RU", "no-seat", "x", "two-letter code"},
		{"rus", "no-seat", "x", "two-letter code"},
		{"ru", "no-such-id", "x", "not in the catalogue"},
		{"ru", "no-seat", "", "empty"},
		{"ru", "no-seat", "Мест нет {days}.", "this message has none"},
		{"ru", "warning.check-within", "{day} дн.", "has only {days}"},
		{"he", "no-seat", "\u202Bאין מקום\u202C", "U+202B"},
		{"he", "no-seat", "אין\u200Fמקום", "U+200F"},
		{"ru", "no-seat", "строка\nвторая", "U+000A"},
		{"ru", "no-seat", "bad \xff utf-8", "UTF-8"},
		{"ru", "no-seat", strings.Repeat("я", MaxText), "bytes"},
	} {
		err := CheckOverride(c.lang, c.id, c.text)
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("CheckOverride(%s, %s, %q) = %v, want nil", c.lang, c.id, c.text, err)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("CheckOverride(%s, %s, %q) = %v, want an error saying %q", c.lang, c.id, c.text, err, c.wantErr)
		}
	}
	if err := (Overrides{"ru": {}}).Check(); err == nil {
		t.Error("an empty language was accepted")
	}
	if !utf8.ValidString(strings.Repeat("я", MaxText/2)) || CheckText(strings.Repeat("я", MaxText/2)) != nil {
		t.Error("a text of exactly MaxText bytes was refused")
	}
}
