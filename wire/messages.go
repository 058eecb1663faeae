package wire

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds of the product's message overrides a lease carries
// (Lease.Messages). Part of the wire format.
const (
	MaxMessageIDLen   = 64   // bytes of a message id
	MaxMessageTextLen = 1024 // bytes of one text
)

// LeaseMessage is one of a product's message overrides: the text its
// publisher set for message id ID in language Lang (two lowercase
// letters). The client shows it instead of its catalogue's text.
type LeaseMessage struct {
	Lang string
	ID   string
	Text string
}

// EncodeLeaseMessages encodes ms for Lease.Messages, sorted by language,
// then id. None is nil.
//
// Encoding (part of the wire format):
//
//	+-----------+-------------------------------------------------------------+
//	| count (2) | count x (lang (2) | id len (1) | id | text len (2) | text)   |
//	+-----------+-------------------------------------------------------------+
//
// count is 1 or more; lang is two of a-z; an id is 1 to MaxMessageIDLen
// bytes of a-z, 0-9, '.' and '-'; a text is 1 to MaxMessageTextLen bytes
// of UTF-8 without control or bidirectional layout characters. Entries
// are strictly ascending by (lang, id): one encoding per set. The whole is
// at most MaxLeaseMessages bytes; more is refused with a sentence giving
// the size.
func EncodeLeaseMessages(ms []LeaseMessage) ([]byte, error) {
	if len(ms) == 0 {
		return nil, nil
	}
	ms = slices.Clone(ms)
	slices.SortFunc(ms, compareLeaseMessages)
	n := 2
	for i, m := range ms {
		if err := m.check(); err != nil {
			return nil, err
		}
		if i > 0 && compareLeaseMessages(ms[i-1], m) == 0 {
			return nil, fmt.Errorf("%w: message %s (%s) twice", ErrInvalidField, m.ID, m.Lang)
		}
		n += 2 + 1 + len(m.ID) + 2 + len(m.Text)
	}
	if n > MaxLeaseMessages {
		return nil, fmt.Errorf("%w: the messages encode to %d bytes, more than the %d a lease carries: shorten or remove some", ErrInvalidField, n, MaxLeaseMessages)
	}
	b := make([]byte, 0, n)
	b = binary.BigEndian.AppendUint16(b, uint16(len(ms)))
	for _, m := range ms {
		b = append(b, m.Lang...)
		b = append(b, byte(len(m.ID)))
		b = append(b, m.ID...)
		b = binary.BigEndian.AppendUint16(b, uint16(len(m.Text)))
		b = append(b, m.Text...)
	}
	return b, nil
}

// ParseLeaseMessages parses Lease.Messages: all of b, strictly (see
// EncodeLeaseMessages). Empty b is no overrides.
func ParseLeaseMessages(b []byte) ([]LeaseMessage, error) {
	if len(b) == 0 {
		return nil, nil
	}
	if len(b) > MaxLeaseMessages {
		return nil, fmt.Errorf("%w: lease messages of %d bytes > %d", ErrTooLarge, len(b), MaxLeaseMessages)
	}
	d := decoder{b: b}
	count := int(d.u16())
	if d.err == nil && count == 0 {
		return nil, fmt.Errorf("%w: lease messages with a count of 0", ErrNonCanonical)
	}
	// Each entry takes at least its 5 bytes of language and lengths: the
	// count cannot promise more entries than the bytes left hold.
	if d.err == nil && count > (len(b)-2)/5 {
		return nil, fmt.Errorf("%w: lease messages count %d", ErrShort, count)
	}
	out := make([]LeaseMessage, 0, count)
	for i := 0; i < count && d.err == nil; i++ {
		lang := d.take(2)
		id := d.bytes8()
		text := d.bytes16()
		if d.err != nil {
			break
		}
		m := LeaseMessage{Lang: string(lang), ID: string(id), Text: string(text)}
		if err := m.check(); err != nil {
			return nil, err
		}
		if i > 0 && compareLeaseMessages(out[i-1], m) >= 0 {
			return nil, fmt.Errorf("%w: lease messages out of order at %s (%s)", ErrNonCanonical, m.ID, m.Lang)
		}
		out = append(out, m)
	}
	if d.err != nil {
		return nil, fmt.Errorf("%w: lease messages", d.err)
	}
	if d.off != len(b) {
		return nil, fmt.Errorf("%w: %d bytes after the lease messages", ErrTrailing, len(b)-d.off)
	}
	return out, nil
}

func compareLeaseMessages(a, b LeaseMessage) int {
	if c := strings.Compare(a.Lang, b.Lang); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

// check reports whether m is within the wire format's bounds.
func (m LeaseMessage) check() error {
	if len(m.Lang) != 2 || !lowerAZ(m.Lang[0]) || !lowerAZ(m.Lang[1]) {
		return fmt.Errorf("%w: message language %q: want two of a-z", ErrInvalidField, m.Lang)
	}
	if len(m.ID) == 0 || len(m.ID) > MaxMessageIDLen {
		return fmt.Errorf("%w: message id of %d bytes: want 1 to %d", ErrInvalidField, len(m.ID), MaxMessageIDLen)
	}
	for i := 0; i < len(m.ID); i++ {
		if c := m.ID[i]; !(lowerAZ(c) || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return fmt.Errorf("%w: message id %q: want a-z, 0-9, '.' and '-'", ErrInvalidField, m.ID)
		}
	}
	if len(m.Text) == 0 || len(m.Text) > MaxMessageTextLen {
		return fmt.Errorf("%w: message %s (%s) of %d bytes: want 1 to %d", ErrInvalidField, m.ID, m.Lang, len(m.Text), MaxMessageTextLen)
	}
	if !utf8.ValidString(m.Text) {
		return fmt.Errorf("%w: message %s (%s) is not UTF-8", ErrInvalidField, m.ID, m.Lang)
	}
	for _, r := range m.Text {
		if unicode.IsControl(r) || r == '\u200E' || r == '\u200F' || r == '\u061C' || r == '\uFEFF' ||
			r >= '\u202A' && r <= '\u202E' || r >= '\u2066' && r <= '\u2069' {
			return fmt.Errorf("%w: message %s (%s) holds the control or layout character U+%04X", ErrInvalidField, m.ID, m.Lang, r)
		}
	}
	return nil
}

func lowerAZ(c byte) bool { return c >= 'a' && c <= 'z' }
