package keygen

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"sync"
)

// KeyHashLen is the size of a KeyHash. Part of the store format.
const KeyHashLen = sha256.Size

// MinSecretLen is the shortest secret NewHasher accepts.
const MinSecretLen = 32

// A KeyHash is HMAC-SHA-256(secret, canonical key): what the store keeps and
// looks a key up by instead of the key itself. Without the secret it says
// nothing about the key, and a key cannot be rebuilt from it.
type KeyHash [KeyHashLen]byte

// String returns "kh:" and the first 8 bytes in hex, enough to tell hashes
// apart in a log.
func (a KeyHash) String() string {
	var b [3 + 16]byte
	copy(b[:], "kh:")
	hex.Encode(b[3:], a[:8])
	return string(b[:])
}

// Equal reports whether a and b are equal, in time that does not depend on
// their contents.
func (a KeyHash) Equal(b KeyHash) bool { return subtle.ConstantTimeCompare(a[:], b[:]) == 1 }

// A Hasher computes KeyHashes with one server secret. It is safe for
// concurrent use and Hash does not allocate in the steady state. It must not
// be copied after first use.
type Hasher struct {
	// states holds *hmacState values. hmac.New precomputes the SHA-256
	// states after the padded secret blocks on its first Reset, so each
	// Hash costs two compressions and no allocation.
	states sync.Pool
}

// hmacState is one HMAC instance with room for its input and output, so
// that nothing passed to the hash.Hash interface escapes to the heap.
type hmacState struct {
	mac hash.Hash
	in  Key
	sum [KeyHashLen]byte
}

// NewHasher returns a Hasher for secret, which must be at least
// MinSecretLen bytes (it should be MinSecretLen bytes from crypto/rand);
// otherwise it fails with ErrSecret. The secret is copied. Changing it
// makes every stored hash unreachable.
func NewHasher(secret []byte) (*Hasher, error) {
	if len(secret) < MinSecretLen {
		return nil, ErrSecret
	}
	secret = append([]byte(nil), secret...)
	h := &Hasher{}
	h.states.New = func() any { return &hmacState{mac: hmac.New(sha256.New, secret)} }
	return h, nil
}

// Hash returns HMAC-SHA-256(secret, the KeyLen canonical bytes of k).
func (h *Hasher) Hash(k Key) KeyHash {
	s := h.states.Get().(*hmacState)
	s.in = k
	s.mac.Reset()
	s.mac.Write(s.in[:])
	s.mac.Sum(s.sum[:0])
	out := KeyHash(s.sum)
	clear(s.in[:])
	h.states.Put(s)
	return out
}

// tagDomain starts every Tag input, so that no tag is ever the hash of a
// key (a canonical key holds only 0-9A-Z).
const tagDomain = "tollgate tag\x00"

// Tag returns the first 8 bytes of HMAC-SHA-256(secret, a domain prefix,
// what, a zero byte, b): a short keyed hash of something the gateway should
// recognise again without keeping it, such as the network an activation
// came from. what names the kind of thing hashed, so that equal bytes of
// two kinds give unrelated tags.
func (h *Hasher) Tag(what string, b []byte) uint64 {
	s := h.states.Get().(*hmacState)
	s.mac.Reset()
	s.mac.Write([]byte(tagDomain))
	s.mac.Write([]byte(what))
	s.mac.Write([]byte{0})
	s.mac.Write(b)
	s.mac.Sum(s.sum[:0])
	out := binary.BigEndian.Uint64(s.sum[:8])
	h.states.Put(s)
	return out
}
