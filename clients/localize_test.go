package clients

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/i18n"
	"github.com/tollgate/tollgate/wire"
)

func TestLocalizeReasons(t *testing.T) {
	for _, lang := range i18n.Languages() {
		for r := range messages {
			d := localize(refuse(r, nil), lang, nil)
			want, _ := i18n.Lookup(lang, string(r))
			if d.MessageID != string(r) || d.Language != lang || d.Message != want {
				t.Errorf("%s in %s: %q %q %q, want %q", r, lang, d.MessageID, d.Language, d.Message, want)
			}
			if act, ok := i18n.Lookup(lang, string(r)+".action"); ok && d.Action != act {
				t.Errorf("%s in %s: action %q, want %q", r, lang, d.Action, act)
			}
		}
	}
}

func TestLocalizeComposed(t *testing.T) {
	// An action with a sentence added (undoActivation), a warning with a
	// number in it, and a sentence the catalogue does not know.
	d := Decision{Reason: ReasonWrongCard, Message: messages[ReasonWrongCard][0],
		Action:  messages[ReasonWrongCard][1] + " The seat this activation took has been freed again.",
		Warning: "The license must be checked with the license server within 3 day(s); connect to the internet before then."}
	ru := localize(d, "ru", nil)
	if want := catalogueText(t, "ru", "wrong-card.action") + " " + catalogueText(t, "ru", "seat-freed"); ru.Action != want {
		t.Errorf("composed action: %q, want %q", ru.Action, want)
	}
	if ru.Warning != "Лицензию нужно проверить на сервере лицензий в течение 3 дн.; до этого подключитесь к интернету." {
		t.Errorf("warning with days: %q", ru.Warning)
	}
	he := localize(Decision{Reason: ReasonRefused, Message: "A sentence nobody wrote into the catalogue.", Action: messages[ReasonRefused][1]}, "he", nil)
	if he.MessageID != "refused" || he.Language != "en" || he.Message != "A sentence nobody wrote into the catalogue." {
		t.Errorf("unknown sentence: %q %q %q", he.MessageID, he.Language, he.Message)
	}
	if he.Action != catalogueText(t, "he", "refused.action") {
		t.Errorf("unknown sentence: action %q", he.Action)
	}
	// The publisher's text comes first; English when the language has
	// neither.
	o := i18n.Overrides{"es": {"no-seat": "Sin puestos libres."}}
	if d := localize(refuse(ReasonNoSeat, nil), "es", o); d.Message != "Sin puestos libres." || d.Language != "es" {
		t.Errorf("override: %q in %q", d.Message, d.Language)
	}
	if d := localize(refuse(ReasonNoSeat, nil), "fr", o); d.Message != messages[ReasonNoSeat][0] || d.Language != "en" {
		t.Errorf("no French: %q in %q", d.Message, d.Language)
	}
	if d := Localize(refuse(ReasonExpired, nil), "de_AT.UTF-8"); d.Message != "Die Lizenz ist abgelaufen." || d.Language != "de" {
		t.Errorf("Localize de_AT: %q in %q", d.Message, d.Language)
	}
}

func catalogueText(t *testing.T, lang, id string) string {
	t.Helper()
	s, ok := i18n.Lookup(lang, id)
	if !ok {
		t.Fatalf("no %s text for %s", lang, id)
	}
	return s
}

func TestLanguageConfig(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"ru", "ru", true},
		{"he_IL.UTF-8", "he", true},
		{"es-MX", "es", true},
		{"fr", "fr", true},
		{"C", "en", true},
		{"russian", "", false},
		{"r", "", false},
	} {
		cfg := LicenseeConfig{Language: c.in}
		err := cfg.setLanguage()
		if (err == nil) != c.ok || c.ok && cfg.Language != c.want {
			t.Errorf("Language %q: %q, %v", c.in, cfg.Language, err)
		}
	}
}

// TestSentencesInCatalogue: every sentence this package writes into a
// Decision (a string literal, or a fmt.Sprintf format, given to Message,
// Action or Warning, or in the messages table) is in the English
// catalogue, so that it can be told in every language. A new sentence
// belongs in i18n/catalogue, in all of its languages.
func TestSentencesInCatalogue(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	check := func(pos token.Pos, e ast.Expr) {
		s, ok := sentence(e)
		if !ok || s == "" {
			return
		}
		checked++
		for _, part := range splitSentences(strings.TrimSpace(s)) {
			if _, _, ok := i18n.Recognize(part); !ok {
				t.Errorf("%s: %q is not in i18n/catalogue/en.json", fset.Position(pos), part)
			}
		}
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.AssignStmt:
				for i, lhs := range n.Lhs {
					if sel, ok := lhs.(*ast.SelectorExpr); ok && isTextField(sel.Sel.Name) && i < len(n.Rhs) && len(n.Lhs) == len(n.Rhs) {
						check(n.Pos(), n.Rhs[i])
					}
				}
			case *ast.CompositeLit:
				// Decisions and the messages table; not other packages'
				// types (wire.StatusError's messages are for logs).
				if id, ok := n.Type.(*ast.Ident); ok && id.Name != "Decision" {
					return true
				}
				if _, ok := n.Type.(*ast.SelectorExpr); ok {
					return true
				}
				for _, el := range n.Elts {
					kv, ok := el.(*ast.KeyValueExpr)
					if !ok {
						continue
					}
					if id, ok := kv.Key.(*ast.Ident); ok && isTextField(id.Name) {
						check(kv.Pos(), kv.Value)
					}
					if arr, ok := kv.Value.(*ast.CompositeLit); ok && isReasonKey(kv.Key) {
						for _, e := range arr.Elts {
							check(e.Pos(), e)
						}
					}
				}
			}
			return true
		})
	}
	if checked < 40 {
		t.Fatalf("only %d sentences found: the scan no longer sees them", checked)
	}
}

func isTextField(name string) bool {
	return name == "Message" || name == "Action" || name == "Warning"
}

func isReasonKey(e ast.Expr) bool {
	id, ok := e.(*ast.Ident)
	return ok && strings.HasPrefix(id.Name, "Reason")
}

// sentence returns the text of a string literal, or of a fmt.Sprintf
// format with its verbs made placeholders' values ("%s", "%d" -> "X"),
// or of a constant declared in this package.
func sentence(e ast.Expr) (string, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind == token.STRING {
			s, err := strconv.Unquote(e.Value)
			return s, err == nil
		}
	case *ast.CallExpr:
		if sel, ok := e.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Sprintf" && len(e.Args) > 0 {
			s, ok := sentence(e.Args[0])
			r := strings.NewReplacer("%s", "X", "%d", "7", "%v", "X", "%q", "X")
			return r.Replace(s), ok
		}
	case *ast.Ident:
		if e.Obj != nil {
			if vs, ok := e.Obj.Decl.(*ast.ValueSpec); ok && len(vs.Values) == 1 {
				return sentence(vs.Values[0])
			}
		}
	}
	return "", false
}

// splitSentences splits s at ". " into the sentences the catalogue holds:
// the longest prefixes it recognises, one after another.
func splitSentences(s string) []string {
	if _, _, ok := i18n.Recognize(s); ok {
		return []string{s}
	}
	for i := len(s) - 2; i > 0; i-- {
		if s[i] == '.' && s[i+1] == ' ' {
			if _, _, ok := i18n.Recognize(s[:i+1]); ok {
				return append([]string{s[:i+1]}, splitSentences(s[i+2:])...)
			}
		}
	}
	return []string{s}
}

// TestMessagesSavedAndCleared: the overrides of a lease are kept in the
// state's messages file, and a lease without any clears them.
func TestMessagesSavedAndCleared(t *testing.T) {
	dir := t.TempDir()
	raw, err := wire.EncodeLeaseMessages([]wire.LeaseMessage{{Lang: "ru", ID: "no-seat", Text: "Мест нет."}})
	if err != nil {
		t.Fatal(err)
	}
	var m productMessages
	if !m.set(raw) || m.o["ru"]["no-seat"] != "Мест нет." {
		t.Fatalf("set: %v", m.o)
	}
	if err := os.WriteFile(filepath.Join(dir, FileMessages), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := loadMessages(dir); got.o["ru"]["no-seat"] != "Мест нет." {
		t.Fatalf("loadMessages: %v", got.o)
	}
	// A damaged file is none.
	if err := os.WriteFile(filepath.Join(dir, FileMessages), raw[:len(raw)-1], 0o600); err != nil {
		t.Fatal(err)
	}
	if got := loadMessages(dir); got.o != nil {
		t.Fatalf("a damaged messages file gave %v", got.o)
	}
}

func init() {
	// Tests here compare English sentences, whatever the machine's locale.
	os.Setenv("LC_ALL", "C")
}
