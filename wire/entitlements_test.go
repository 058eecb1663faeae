package wire

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func mustEntitlements(t testing.TB, names ...string) Entitlements {
	t.Helper()
	e, err := NewEntitlements(names...)
	if err != nil {
		t.Fatalf("NewEntitlements: %v", err)
	}
	return e
}

func names(e Entitlements) []string {
	var s []string
	for n := range e.All() {
		s = append(s, string(n))
	}
	return s
}

func TestEntitlements(t *testing.T) {
	e := mustEntitlements(t, "sync", "export", "a.b_c-9")
	want := unhex(t, `
		03                  # 3 names, ascending
		07 612e625f632d39   # "a.b_c-9"
		06 6578706f7274     # "export"
		04 73796e63         # "sync"
	`)
	if got := e.Append(nil); !bytes.Equal(got, want) {
		t.Fatalf("Append = %x, want %x", got, want)
	}
	if e.Len() != len(want) || e.Count() != 3 {
		t.Fatalf("Len() = %d, Count() = %d; want %d, 3", e.Len(), e.Count(), len(want))
	}
	if got := strings.Join(names(e), " "); got != "a.b_c-9 export sync" {
		t.Fatalf("All yields %q", got)
	}
	for _, n := range []string{"a.b_c-9", "export", "sync"} {
		if !e.Has(n) {
			t.Errorf("Has(%q) = false", n)
		}
	}
	for _, n := range []string{"", "expor", "exports", "SYNC"} {
		if e.Has(n) {
			t.Errorf("Has(%q) = true", n)
		}
	}

	p, n, err := ParseEntitlements(append(want, 0xee)) // the parser reads a prefix: the byte after is not its business
	if err != nil || n != len(want) {
		t.Fatalf("ParseEntitlements: n = %d, err = %v", n, err)
	}
	if !p.Equal(e) || !e.Equal(p) {
		t.Fatalf("parsed set is not Equal to the built one")
	}
	if mustEntitlements(t, "sync", "export").Equal(e) {
		t.Fatalf("Equal ignores a missing name")
	}
	for i := range len(want) {
		if p, n, err := ParseEntitlements(want[:i]); !errors.Is(err, ErrShort) || n != 0 || !isZero(p) {
			t.Errorf("prefix of %d bytes: n = %d, err = %v", i, n, err)
		}
	}

	if a := testing.AllocsPerRun(100, func() { _, _, _ = ParseEntitlements(want) }); a != 0 {
		t.Errorf("ParseEntitlements: %v allocations", a)
	}
	if a := testing.AllocsPerRun(100, func() {
		for n := range p.All() {
			_ = n
		}
		_ = p.Has("sync")
	}); a != 0 {
		t.Errorf("All and Has: %v allocations", a)
	}

	// Stopping early.
	for n := range e.All() {
		if string(n) != "a.b_c-9" {
			t.Fatalf("first name %q", n)
		}
		break
	}
}

func TestEntitlementsEmpty(t *testing.T) {
	var zero Entitlements
	built := mustEntitlements(t)
	parsed, n, err := ParseEntitlements([]byte{0})
	if err != nil || n != 1 {
		t.Fatalf("ParseEntitlements(00): %d, %v", n, err)
	}
	for _, e := range []Entitlements{zero, built, parsed} {
		if e.Count() != 0 || e.Len() != 1 || !bytes.Equal(e.Append(nil), []byte{0}) || !e.Equal(zero) || e.Has("") {
			t.Errorf("empty set %+v misbehaves", e)
		}
		for range e.All() {
			t.Errorf("empty set yields a name")
		}
	}
}

func TestNewEntitlementsErrors(t *testing.T) {
	many := make([]string, MaxEntitlements+1)
	for i := range many {
		many[i] = string(rune('a'+i/26)) + string(rune('a'+i%26))
	}
	for _, c := range []struct {
		name  string
		names []string
		want  error
	}{
		{"max names", many[:MaxEntitlements], nil},
		{"too many names", many, ErrInvalidField},
		{"max length", []string{strings.Repeat("x", MaxEntitlementLen)}, nil},
		{"too long", []string{strings.Repeat("x", MaxEntitlementLen+1)}, ErrInvalidField},
		{"empty name", []string{"a", ""}, ErrInvalidField},
		{"upper case", []string{"Export"}, ErrInvalidField},
		{"space", []string{"ex port"}, ErrInvalidField},
		{"slash", []string{"ex/port"}, ErrInvalidField},
		{"non-ASCII", []string{"expört"}, ErrInvalidField},
		{"duplicate", []string{"sync", "export", "sync"}, ErrNonCanonical},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, err := NewEntitlements(c.names...)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if err != nil {
				if !isZero(e) {
					t.Fatalf("non-zero set returned with an error")
				}
				return
			}
			enc := e.Append(nil)
			p, n, err := ParseEntitlements(enc)
			if err != nil || n != len(enc) || !p.Equal(e) || e.Count() != len(c.names) {
				t.Fatalf("round trip: n = %d, err = %v", n, err)
			}
		})
	}
}

func TestParseEntitlementsBad(t *testing.T) {
	for _, c := range []struct {
		name, hex string
		want      error
	}{
		{"count 33", "21" + strings.Repeat("0161", 33), ErrInvalidField},
		{"empty name", "01 00", ErrInvalidField},
		{"name 65 bytes", "01 41" + strings.Repeat("61", 65), ErrInvalidField},
		{"upper case", "01 01 41", ErrInvalidField},
		{"NUL", "01 01 00", ErrInvalidField},
		{"out of order", "02 01 62 01 61", ErrNonCanonical},
		{"prefix after name", "02 02 6161 01 61", ErrNonCanonical},
		{"duplicate", "02 01 61 01 61", ErrNonCanonical},
		{"count beyond data", "03 01 61 01 62", ErrShort},
		{"name beyond data", "01 05 6161", ErrShort},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, n, err := ParseEntitlements(unhex(t, c.hex))
			if !errors.Is(err, c.want) || n != 0 || !isZero(e) {
				t.Fatalf("n = %d, err = %v; want 0, %v", n, err, c.want)
			}
		})
	}
}
