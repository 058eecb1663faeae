package wire

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

// retiringCard is the test card with its second lease key retiring on
// 2027-03-01.
func retiringCard(tb testing.TB) *Card {
	c := cardForTest(tb)
	c.Retire = []CardRetire{{KeyID: c.LeaseKeys[1].ID(), After: time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC).Unix()}}
	return c
}

// TestCardRetire checks the retire-after line: it round-trips, names its
// key, and every malformed, repeated or dangling line is refused.
func TestCardRetire(t *testing.T) {
	c := retiringCard(t)
	enc := c.Marshal()
	line := "retire-after " + strings.ToLower(hexID(c.LeaseKeys[1].ID())) + " 2027-03-01T00:00:00Z\n"
	if !bytes.HasSuffix(enc, []byte(line)) {
		t.Fatalf("the card does not end with %q", line)
	}
	got, err := ParseCard(enc)
	if err != nil || !cardEqual(c, got) {
		t.Fatalf("round trip: %v", err)
	}
	if r, ok := got.RetireAfter(c.LeaseKeys[1].ID()); !ok || r != c.Retire[0].After {
		t.Fatal("RetireAfter of the retiring key")
	}
	if _, ok := got.RetireAfter(c.LeaseKeys[0].ID()); ok {
		t.Fatal("RetireAfter of the key without a date")
	}
	base := string(enc[:len(enc)-len(line)])
	id0, id1 := hexID(c.LeaseKeys[0].ID()), hexID(c.LeaseKeys[1].ID())
	for _, bad := range []struct {
		line string
		want error
	}{
		{"retire-after " + id1 + "\n", ErrCardSyntax},
		{"retire-after " + id1 + " 2027-03-01T00:00:00Z x\n", ErrCardSyntax},
		{"retire-after " + strings.ToUpper(id1) + " 2027-03-01T00:00:00Z\n", ErrCardValue},
		{"retire-after " + id1[:14] + " 2027-03-01T00:00:00Z\n", ErrCardValue},
		{"retire-after " + id1 + " 2027-03-01\n", ErrCardValue},
		{"retire-after " + id1 + " 2027-03-01T01:00:00+01:00\n", ErrCardValue},
		{"retire-after " + id1 + " 1970-01-01T00:00:00Z\n", ErrCardValue},
		{"retire-after 0011223344556677 2027-03-01T00:00:00Z\n", ErrCardValue},
		{line + line, ErrCardRepeated},
		{line + "retire-after " + id0 + " 2027-03-01T00:00:00Z\n", ErrCardValue},
	} {
		if got, err := ParseCard([]byte(base + bad.line)); !errors.Is(err, bad.want) || got != nil {
			t.Errorf("%q: %v, want %v", bad.line, err, bad.want)
		}
	}
}

func hexID(id [8]byte) string {
	const digits = "0123456789abcdef"
	var b []byte
	for _, x := range id {
		b = append(b, digits[x>>4], digits[x&15])
	}
	return string(b)
}
