package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var testMessages = []LeaseMessage{
	{Lang: "ru", ID: "no-seat", Text: "Мест нет."},
	{Lang: "he", ID: "refused.revoked", Text: "הרישיון בוטל."},
}

// TestLeaseMessagesGolden: the encoding is part of the wire format; the
// golden file pins it (sorted by language, then id).
func TestLeaseMessagesGolden(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "lease-messages.golden"))
	if err != nil {
		t.Fatal(err)
	}
	want := unhex(t, string(raw))
	got, err := EncodeLeaseMessages(testMessages)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("encoding differs from the golden file at byte %d\n got %x\nwant %x", firstDiff(got, want), got, want)
	}
	ms, err := ParseLeaseMessages(want)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ms, []LeaseMessage{testMessages[1], testMessages[0]}) {
		t.Fatalf("ParseLeaseMessages(golden) = %q", ms)
	}
}

func TestLeaseMessagesEmpty(t *testing.T) {
	b, err := EncodeLeaseMessages(nil)
	if b != nil || err != nil {
		t.Fatalf("EncodeLeaseMessages(nil) = %x, %v", b, err)
	}
	ms, err := ParseLeaseMessages(nil)
	if ms != nil || err != nil {
		t.Fatalf("ParseLeaseMessages(nil) = %v, %v", ms, err)
	}
}

func TestLeaseMessagesRefused(t *testing.T) {
	good, err := EncodeLeaseMessages(testMessages)
	if err != nil {
		t.Fatal(err)
	}
	entry := func(lang, id, text string) []byte {
		b := append([]byte(lang), byte(len(id)))
		b = append(b, id...)
		b = binary.BigEndian.AppendUint16(b, uint16(len(text)))
		return append(b, text...)
	}
	set := func(entries ...[]byte) []byte {
		b := binary.BigEndian.AppendUint16(nil, uint16(len(entries)))
		for _, e := range entries {
			b = append(b, e...)
		}
		return b
	}
	for _, c := range []struct {
		name string
		b    []byte
		want error
	}{
		{"short", good[:len(good)-1], ErrShort},
		{"trailing", append(bytes.Clone(good), 0), ErrTrailing},
		{"count zero", []byte{0, 0}, ErrNonCanonical},
		{"count too large", []byte{0xff, 0xff, 'r', 'u'}, ErrShort},
		{"one byte", []byte{0}, ErrShort},
		{"out of order", set(entry("ru", "no-seat", "a"), entry("he", "no-seat", "b")), ErrNonCanonical},
		{"duplicate", set(entry("ru", "no-seat", "a"), entry("ru", "no-seat", "b")), ErrNonCanonical},
		{"upper language", set(entry("RU", "no-seat", "a")), ErrInvalidField},
		{"language digit", set(entry("r1", "no-seat", "a")), ErrInvalidField},
		{"empty id", set(entry("ru", "", "a")), ErrInvalidField},
		{"id upper", set(entry("ru", "No-seat", "a")), ErrInvalidField},
		{"id too long", set(entry("ru", strings.Repeat("a", MaxMessageIDLen+1), "a")), ErrInvalidField},
		{"empty text", set(entry("ru", "no-seat", "")), ErrInvalidField},
		{"text too long", set(entry("ru", "no-seat", strings.Repeat("a", MaxMessageTextLen+1))), ErrInvalidField},
		{"not utf-8", set(entry("ru", "no-seat", "a\xffb")), ErrInvalidField},
		{"newline", set(entry("ru", "no-seat", "a\nb")), ErrInvalidField},
		{"bidi mark", set(entry("he", "no-seat", "א\u200Fב")), ErrInvalidField},
		{"bidi isolate", set(entry("he", "no-seat", "\u2067אב\u2069")), ErrInvalidField},
		{"too large", make([]byte, MaxLeaseMessages+1), ErrTooLarge},
	} {
		ms, err := ParseLeaseMessages(c.b)
		if !errors.Is(err, c.want) || ms != nil {
			t.Errorf("%s: ParseLeaseMessages = %v, %v; want %v", c.name, ms, err, c.want)
		}
	}
}

func TestEncodeLeaseMessagesRefused(t *testing.T) {
	if _, err := EncodeLeaseMessages([]LeaseMessage{{"ru", "no-seat", "a"}, {"ru", "no-seat", "b"}}); !errors.Is(err, ErrInvalidField) {
		t.Errorf("a duplicate: %v", err)
	}
	if _, err := EncodeLeaseMessages([]LeaseMessage{{"ru", "no-seat", "a\u202Eb"}}); !errors.Is(err, ErrInvalidField) {
		t.Errorf("a bidi override: %v", err)
	}
	// Just past the size a lease carries: refused with the size.
	var many []LeaseMessage
	for _, lang := range []string{"aa", "ab", "ac", "ad", "ae", "af", "ag"} {
		many = append(many, LeaseMessage{lang, "no-seat", strings.Repeat("x", MaxMessageTextLen)})
	}
	_, err := EncodeLeaseMessages(many)
	if !errors.Is(err, ErrInvalidField) || !strings.Contains(err.Error(), "bytes, more than the 6144") {
		t.Errorf("too many messages: %v", err)
	}
	b, err := EncodeLeaseMessages(many[:5])
	if err != nil || len(b) > MaxLeaseMessages {
		t.Fatalf("five texts of 1 KiB: %d bytes, %v", len(b), err)
	}
	// A lease carries them, signed.
	l := testLease(t)
	l.Messages = b
	if _, err := ParseLeaseMessages(l.Messages); err != nil {
		t.Fatal(err)
	}
}
