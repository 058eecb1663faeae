package wire

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/keygen/composite"
)

func TestArmorLease(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
	}{
		{"hello", "-----BEGIN TOLLGATE LEASE-----\naGVsbG8=\n-----END TOLLGATE LEASE-----\n"},
		{strings.Repeat("\x00", 48), "-----BEGIN TOLLGATE LEASE-----\n" + strings.Repeat("A", 64) + "\n-----END TOLLGATE LEASE-----\n"},
		{strings.Repeat("\x00", 49), "-----BEGIN TOLLGATE LEASE-----\n" + strings.Repeat("A", 64) + "\nAA==\n-----END TOLLGATE LEASE-----\n"},
	} {
		got := ArmorLease([]byte(tc.in))
		if string(got) != tc.want {
			t.Errorf("ArmorLease(%d bytes) =\n%s\nwant\n%s", len(tc.in), got, tc.want)
		}
		back, err := DearmorLease(got)
		if err != nil || string(back) != tc.in {
			t.Errorf("DearmorLease(ArmorLease(%d bytes)) = %d bytes, %v", len(tc.in), len(back), err)
		}
	}

	_, b, k := signedTestLease(t, composite.MLDSA65Ed25519)
	text := ArmorLease(b)
	lines := strings.Split(strings.TrimSuffix(string(text), "\n"), "\n")
	for i, line := range lines[1 : len(lines)-2] {
		if len(line) != 64 {
			t.Fatalf("armor line %d is %d characters, want 64", i+2, len(line))
		}
	}
	if n := len(lines[len(lines)-2]); n < 1 || n > 64 {
		t.Fatalf("last armor line is %d characters", n)
	}
	for name, variant := range map[string]string{
		"as written":      string(text),
		"CRLF":            strings.ReplaceAll(string(text), "\n", "\r\n"),
		"no final LF":     strings.TrimSuffix(string(text), "\n"),
		"no final CRLF":   strings.TrimSuffix(strings.ReplaceAll(string(text), "\n", "\r\n"), "\r\n"),
		"mixed LF, CRLF ": strings.Replace(string(text), "\n", "\r\n", 3),
	} {
		got, err := DearmorLease([]byte(variant))
		if err != nil || !bytes.Equal(got, b) {
			t.Errorf("DearmorLease(%s) = %d bytes, %v", name, len(got), err)
			continue
		}
		if _, err := VerifyLease(got, []*composite.PublicKey{k.Public()}); err != nil {
			t.Errorf("DearmorLease(%s): VerifyLease: %v", name, err)
		}
	}
}

func TestDearmorLeaseRejects(t *testing.T) {
	_, b, _ := signedTestLease(t, composite.MLDSA44Ed25519)
	good := string(ArmorLease(b))
	const h, f = "-----BEGIN TOLLGATE LEASE-----\n", "-----END TOLLGATE LEASE-----\n"
	lines := strings.SplitAfter(good, "\n")
	body := strings.Join(lines[1:len(lines)-2], "")
	for _, tc := range []struct{ name, text string }{
		{"empty", ""},
		{"body only", body},
		{"no header", body + f},
		{"no footer", h + body},
		{"footer cut", h + body + f[:10]},
		{"empty body", h + f},
		{"blank line in body", h + "\n" + body + f},
		{"blank line before footer", h + body + "\n" + f},
		{"text before header", "lease:\n" + good},
		{"space before header", " " + good},
		{"blank line before header", "\n" + good},
		{"text after footer", good + "x"},
		{"second newline after footer", good + "\n"},
		{"second lease", good + good},
		{"header without newline", strings.TrimSuffix(h, "\n")},
		{"other header", strings.Replace(good, "TOLLGATE LEASE", "TOLLGATE LICENSE", 1)},
		{"lower-case header", strings.Replace(good, "BEGIN", "begin", 1)},
		{"header with trailing space", strings.Replace(good, "-----\n", "----- \n", 1)},
		{"body line with trailing space", h + strings.TrimSuffix(lines[1], "\n") + " \n" + strings.Join(lines[2:], "")},
		{"body line with a tab", h + "\t" + body + f},
		{"short line in the middle", h + lines[1][:60] + "\n" + lines[1][60:] + strings.Join(lines[2:], "")},
		{"long line", h + strings.TrimSuffix(lines[1], "\n") + lines[2] + strings.Join(lines[3:], "")},
		{"CR in a line", h + lines[1][:32] + "\r" + lines[1][32:] + strings.Join(lines[2:], "")},
		{"bare CR line ends", strings.ReplaceAll(good, "\n", "\r")},
		{"URL-safe alphabet", h + "aGV-bG8_\n" + f},
		{"unpadded", h + "aGVsbG8\n" + f},
		{"padding in the middle", h + "aGVs=G8=\n" + f},
		{"padding then data", h + "aGVsbG8=\naGVsbG8=\n" + f},
		{"non-zero padding bits", h + "aGVsbG9=\n" + f},
		{"padding on a full line", h + strings.Repeat("A", 61) + "A==\nAAAA\n" + f},
		{"three pads", h + "A===\n" + f},
		{"UTF-8 BOM", "\ufeff" + good},
	} {
		if got, err := DearmorLease([]byte(tc.text)); !errors.Is(err, ErrArmor) || got != nil {
			t.Errorf("DearmorLease(%s) = %d bytes, %v; want ErrArmor", tc.name, len(got), err)
		}
	}
}
