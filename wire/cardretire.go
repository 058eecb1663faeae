package wire

import (
	"encoding/hex"
	"fmt"
	"time"

	"github.com/tollgate/tollgate/keygen/composite"
)

// retireField is the card field that dates a lease key's retirement. Part
// of the card format:
//
//	retire-after <key id: 16 lowercase hex digits> <RFC 3339 time, UTC, to the second>
//
// It names a lease-key line of the same card by its key id
// (composite.PublicKey.ID), once at most per key. A client built before key
// rotation refuses a card with such a line (ErrCardField): a publisher
// ships it only with clients of this version or later.
const retireField = "retire-after"

// CardRetire says that the card's lease key KeyID is not trusted for new
// leases after After (Unix seconds). Leases it signed before stay good
// until they expire.
type CardRetire struct {
	KeyID [composite.IDSize]byte
	After int64
}

// RetireAfter returns when the lease key id retires according to the card,
// and false when the card gives it no date.
func (c *Card) RetireAfter(id [composite.IDSize]byte) (int64, bool) {
	for _, r := range c.Retire {
		if r.KeyID == id {
			return r.After, true
		}
	}
	return 0, false
}

// parseRetireLine parses the fields of a retire-after line, refusing a key
// id already dated in seen.
func parseRetireLine(f []string, seen []CardRetire) (CardRetire, error) {
	if len(f) != 3 {
		return CardRetire{}, fmt.Errorf("%w: %s takes 2 values, got %d", ErrCardSyntax, retireField, len(f)-1)
	}
	var r CardRetire
	raw, err := hex.DecodeString(f[1])
	if err != nil || len(raw) != composite.IDSize || hex.EncodeToString(raw) != f[1] {
		return CardRetire{}, fmt.Errorf("%w: %s: the key id must be %d lowercase hex digits", ErrCardValue, retireField, 2*composite.IDSize)
	}
	copy(r.KeyID[:], raw)
	t, err := time.Parse(time.RFC3339, f[2])
	if err != nil || t.UTC().Format(time.RFC3339) != f[2] || t.Unix() <= 0 {
		return CardRetire{}, fmt.Errorf("%w: %s: the date must be an RFC 3339 time in UTC to the second, as 2027-03-01T00:00:00Z", ErrCardValue, retireField)
	}
	r.After = t.Unix()
	for _, o := range seen {
		if o.KeyID == r.KeyID {
			return CardRetire{}, fmt.Errorf("%w: %s: key %s dated twice", ErrCardRepeated, retireField, f[1])
		}
	}
	return r, nil
}

// checkRetire checks that every retire-after line names a lease key of the
// card, and that not all of them retire (a card must keep a key to sign
// with).
func (c *Card) checkRetire() error {
	for _, r := range c.Retire {
		found := false
		for _, k := range c.LeaseKeys {
			if k.ID() == r.KeyID {
				found = true
				break
			}
		}
		if !found {
			return fmt.Errorf("%w: %s %x names no lease-key of the card", ErrCardValue, retireField, r.KeyID)
		}
	}
	if len(c.Retire) >= len(c.LeaseKeys) && len(c.LeaseKeys) > 0 {
		return fmt.Errorf("%w: every lease-key has a %s date: the key signing now must have none", ErrCardValue, retireField)
	}
	return nil
}

// appendRetire appends the card's retire-after lines, in order.
func (c *Card) appendRetire(b []byte) []byte {
	for _, r := range c.Retire {
		b = append(b, retireField+" "...)
		b = hex.AppendEncode(b, r.KeyID[:])
		b = append(b, ' ')
		b = time.Unix(r.After, 0).UTC().AppendFormat(b, time.RFC3339)
		b = append(b, '\n')
	}
	return b
}
