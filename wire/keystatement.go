package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/tollgate/tollgate/keygen/composite"
)

// Key statement format constants. Part of the wire format.
const (
	// KeyStatementMagic opens every encoded key statement.
	KeyStatementMagic = "TGKS"
	// KeyStatementVersion is the only key statement version
	// ParseKeyStatement reads.
	KeyStatementVersion = 1
	// KeyStatementContext is the composite signature context of a key
	// statement: a statement's signature can never be taken for a lease's
	// (LeaseContext), though the same key signs both.
	KeyStatementContext = "tollgate-key-statement-v1"
)

// keyStatementContext is KeyStatementContext as the bytes Sign and Verify
// take.
var keyStatementContext = []byte(KeyStatementContext)

// Key statement errors. ParseKeyStatement returns ErrKeyStatementMagic or
// one of the parse errors (ErrShort, ErrTrailing, ErrInvalidField,
// ErrUnsupportedVersion); VerifyKeyStatement adds the two below. None of
// them carries key material.
var (
	ErrKeyStatementMagic     = errors.New("wire: not a tollgate key statement")
	ErrKeyStatementKey       = errors.New("wire: key statement signed by a key that is not trusted")
	ErrKeyStatementSignature = errors.New("wire: key statement signature does not verify")
)

// KeyStatement is a gateway's word, signed with its lease-signing key of
// the time, that another key signs its leases from a given time on: how an
// installed app whose card lists only the earlier key learns the new one
// after the operator rotated it (`tollgate keys rotate`). It travels in
// Lease.Statement, in every lease the new key signs.
//
// Encoding (part of the wire format; integers big-endian, times int64 Unix
// seconds):
//
//	 0       4     5            6
//	+-------+-----+------------+-----------------------------------------+
//	| magic | ver | new scheme | new public key (1344 or 1984)           |
//	+-------+-----+------------+-----------------------------------------+
//	+----------+------------------+--------+-------------+-----------+
//	| from (8) | retire-after (8) | scheme | key id (8)  | signature |
//	+----------+------------------+--------+-------------+-----------+
//	                                 u8                     2484 or 3373
//
// The magic is KeyStatementMagic and ver is KeyStatementVersion. New scheme
// and new public key are the introduced key (composite.PublicKey.Bytes,
// its size fixed by its scheme). From is when it began to sign (> 0).
// Retire-after is when the signing key stops being trusted for new leases,
// 0 for not announced, else not before From. Scheme and key id are the
// signing key's (composite.PublicKey.ID), which is never the new key. The
// signature covers every byte before it under KeyStatementContext.
//
// With ML-DSA-44 keys on both sides a statement is 3,859 bytes and fits a
// lease (MaxLeaseStatement); any ML-DSA-65 key makes it too large for one.
type KeyStatement struct {
	NewKey      *composite.PublicKey
	From        int64
	RetireAfter int64
	Scheme      composite.Scheme       // the signing key's scheme; set by SignKeyStatement
	KeyID       [composite.IDSize]byte // the signing key's id; set by SignKeyStatement
	Sig         []byte                 // set by SignKeyStatement; parsed, it points into the input
}

// KeyStatementLen returns the size of the statement that a key of scheme
// signer makes about a new key of scheme newKey, or 0 when either scheme
// is unknown. A rotation compares it with MaxLeaseStatement.
func KeyStatementLen(newKey, signer composite.Scheme) int {
	if !newKey.Known() || !signer.Known() {
		return 0
	}
	return len(KeyStatementMagic) + 1 + 1 + newKey.PublicKeySize() + 8 + 8 + 1 + composite.IDSize + signer.SignatureSize()
}

// ParseKeyStatement parses an encoded key statement, which must be all of
// b. It checks the structure and the field rules, not the signature: use
// VerifyKeyStatement for a statement from anywhere but memory. Sig points
// into b. On error the statement is zero.
func ParseKeyStatement(b []byte) (KeyStatement, error) {
	if !bytes.HasPrefix(b, []byte(KeyStatementMagic)) {
		if len(b) < len(KeyStatementMagic) && bytes.HasPrefix([]byte(KeyStatementMagic), b) {
			return KeyStatement{}, ErrShort
		}
		return KeyStatement{}, ErrKeyStatementMagic
	}
	d := decoder{b: b, off: len(KeyStatementMagic)}
	if v := d.u8(); d.err == nil && v != KeyStatementVersion {
		return KeyStatement{}, fmt.Errorf("%w: key statement version %d", ErrUnsupportedVersion, v)
	}
	ns := composite.Scheme(d.u8())
	if d.err == nil && !ns.Known() {
		return KeyStatement{}, fmt.Errorf("%w: key statement new key scheme %d", ErrInvalidField, uint8(ns))
	}
	raw := d.take(ns.PublicKeySize())
	var s KeyStatement
	s.From = d.i64()
	s.RetireAfter = d.i64()
	s.Scheme = composite.Scheme(d.u8())
	d.copy(s.KeyID[:])
	if d.err == nil && !s.Scheme.Known() {
		return KeyStatement{}, fmt.Errorf("%w: key statement signature scheme %d", ErrInvalidField, uint8(s.Scheme))
	}
	s.Sig = d.take(s.Scheme.SignatureSize())
	if err := d.end(); err != nil {
		return KeyStatement{}, err
	}
	k, err := composite.ParsePublicKey(ns, raw)
	if err != nil {
		return KeyStatement{}, fmt.Errorf("%w: key statement new key: %w", ErrInvalidField, err)
	}
	s.NewKey = k
	if err := s.checkFields(); err != nil {
		return KeyStatement{}, err
	}
	return s, nil
}

// checkFields checks every field but Sig.
func (s *KeyStatement) checkFields() error {
	switch {
	case s.NewKey == nil || !s.NewKey.Scheme().Known():
		return fmt.Errorf("%w: key statement without a new key", ErrInvalidField)
	case s.From <= 0:
		return fmt.Errorf("%w: key statement from time %d", ErrInvalidField, s.From)
	case s.RetireAfter != 0 && s.RetireAfter < s.From:
		return fmt.Errorf("%w: key statement retires its signer before the new key begins", ErrInvalidField)
	case s.RetireAfter < 0:
		return fmt.Errorf("%w: key statement retire-after time %d", ErrInvalidField, s.RetireAfter)
	case !s.Scheme.Known():
		return fmt.Errorf("%w: key statement signature scheme %d", ErrInvalidField, int(s.Scheme))
	case s.KeyID == s.NewKey.ID():
		return fmt.Errorf("%w: key statement signed by the key it introduces", ErrInvalidField)
	}
	return nil
}

// Len returns the encoded size.
func (s *KeyStatement) Len() int {
	if s.NewKey == nil {
		return 0
	}
	return KeyStatementLen(s.NewKey.Scheme(), s.Scheme)
}

// Append appends the encoding of s, signature included, to b. It encodes s
// as it is: a statement that did not come from ParseKeyStatement or
// SignKeyStatement may encode to bytes the parser refuses.
func (s *KeyStatement) Append(b []byte) []byte {
	return append(s.appendSigned(b), s.Sig...)
}

// appendSigned appends the bytes the signature covers.
func (s *KeyStatement) appendSigned(b []byte) []byte {
	b = append(b, KeyStatementMagic...)
	b = append(b, KeyStatementVersion, byte(s.NewKey.Scheme()))
	b = append(b, s.NewKey.Bytes()...)
	b = binary.BigEndian.AppendUint64(b, uint64(s.From))
	b = binary.BigEndian.AppendUint64(b, uint64(s.RetireAfter))
	b = append(b, byte(s.Scheme))
	return append(b, s.KeyID[:]...)
}

// SignKeyStatement sets s.Scheme and s.KeyID from k, checks s, signs it and
// returns the encoding; s.Sig then points into it. It refuses a statement
// the parser would refuse (a key introducing itself among them). On error
// s is unchanged.
func SignKeyStatement(s *KeyStatement, k *composite.PrivateKey) ([]byte, error) {
	pub := k.Public()
	if pub == nil {
		return nil, fmt.Errorf("wire: signing key statement: %w", composite.ErrNilKey)
	}
	u := *s
	u.Scheme, u.KeyID, u.Sig = pub.Scheme(), pub.ID(), nil
	if err := u.checkFields(); err != nil {
		return nil, err
	}
	b := u.appendSigned(make([]byte, 0, u.Len()))
	sig, err := k.Sign(b, keyStatementContext)
	if err != nil {
		return nil, fmt.Errorf("wire: signing key statement: %w", err)
	}
	b = append(b, sig...)
	u.Sig = b[len(b)-len(sig):]
	*s = u
	return b, nil
}

// VerifyKeyStatement parses an encoded statement, which must be all of b,
// finds its signing key among keys by its ID and verifies the signature.
// It returns ErrKeyStatementKey when no key has the statement's key id and
// ErrKeyStatementSignature when the signature does not verify; parse
// errors as ParseKeyStatement. Which keys to trust, and until when, is the
// caller's policy.
func VerifyKeyStatement(b []byte, keys []*composite.PublicKey) (KeyStatement, error) {
	s, err := ParseKeyStatement(b)
	if err != nil {
		return KeyStatement{}, err
	}
	signed := b[:len(b)-len(s.Sig)]
	found := false
	for _, k := range keys {
		if k == nil || k.ID() != s.KeyID {
			continue
		}
		found = true
		if k.Verify(signed, keyStatementContext, s.Sig) {
			return s, nil
		}
	}
	if !found {
		return KeyStatement{}, ErrKeyStatementKey
	}
	return KeyStatement{}, ErrKeyStatementSignature
}
