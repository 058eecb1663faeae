package channel

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"strings"
	"sync/atomic"

	"github.com/cloudflare/circl/dh/x25519"
)

// Key sizes.
const (
	// KeySize is the size of an X25519 private or public key.
	KeySize = 32
	// KeyIDSize is the size of a key id, the first bytes of SHA-256 of a
	// public key. Part of the wire format: a KK initiator sends its own.
	KeyIDSize = 8

	publicPrefix     = "noisepub:"
	privatePrefix    = "noisepriv:"
	privateRedacted  = privatePrefix + "REDACTED"
	maxKeyFileSize   = 1024
	privateKeyHeader = "# Tollgate Noise static private key. Keep it secret: never ship it, never share it.\n"
)

// PrivateKey is an X25519 static private key: the gateway's, an app
// install's or a shop's. It prints as "noisepriv:REDACTED" whatever the
// verb and refuses to be marshalled as text, so it cannot end up in a log
// line or a config dump by accident.
type PrivateKey [KeySize]byte

// PublicKey is an X25519 static public key. It prints as "noisepub:"
// followed by the standard base64 of the key.
type PublicKey [KeySize]byte

// GenerateKey returns a new private key read from rand, crypto/rand if
// rand is nil.
func GenerateKey(rand io.Reader) (PrivateKey, error) {
	if rand == nil {
		rand = cryptoRand
	}
	var k PrivateKey
	if _, err := io.ReadFull(rand, k[:]); err != nil {
		return PrivateKey{}, fmt.Errorf("channel: generating a key: %w", err)
	}
	return k, nil
}

var cryptoRand = rand.Reader

// Public returns the public key of k.
func (k PrivateKey) Public() PublicKey {
	var pub x25519.Key
	x25519.KeyGen(&pub, (*x25519.Key)(&k))
	return PublicKey(pub)
}

// staticPair is a static key with its public half. Deriving the public
// half costs an X25519 scalar multiplication, a fifth of one side's work
// in a handshake; a gateway handshakes with one static key all day, an
// app with its install key, and a load generator with many install keys:
// staticOf keeps the pairs of the last keys used. ss keeps the
// static-static secret with the last peer known in advance (dh.go).
type staticPair struct {
	priv PrivateKey
	pub  PublicKey
	ss   atomic.Pointer[staticShared]
}

// statics is a direct-mapped cache of pairs, indexed by a keyed hash of the
// private key (so the slot says nothing about the key).
var (
	statics    [64]atomic.Pointer[staticPair]
	staticSeed = maphash.MakeSeed()
)

// staticOf returns k's pair, from statics when k is there.
func staticOf(k PrivateKey) *staticPair {
	slot := &statics[maphash.Bytes(staticSeed, k[:])%uint64(len(statics))]
	if p := slot.Load(); p != nil && p.priv.Equal(k) {
		return p
	}
	p := &staticPair{priv: k, pub: k.Public()}
	slot.Store(p)
	return p
}

// IsZero reports whether k is all zeros, the value of an unset key.
func (k PrivateKey) IsZero() bool { return k == PrivateKey{} }

// Equal reports whether k and o are the same key, in constant time.
func (k PrivateKey) Equal(o PrivateKey) bool { return subtle.ConstantTimeCompare(k[:], o[:]) == 1 }

// String returns "noisepriv:REDACTED", never the key.
func (k PrivateKey) String() string { return privateRedacted }

// GoString returns "noisepriv:REDACTED", never the key.
func (k PrivateKey) GoString() string { return privateRedacted }

// Format prints "noisepriv:REDACTED" for every verb, %x and %v included.
func (k PrivateKey) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, privateRedacted) }

// MarshalText refuses: a private key is written with WritePrivateKeyFile
// only.
func (k PrivateKey) MarshalText() ([]byte, error) {
	return nil, errors.New("channel: a private key is never marshalled as text")
}

// IsZero reports whether k is all zeros, the value of an unset key.
func (k PublicKey) IsZero() bool { return k == PublicKey{} }

// Equal reports whether k and o are the same key, in constant time.
func (k PublicKey) Equal(o PublicKey) bool { return subtle.ConstantTimeCompare(k[:], o[:]) == 1 }

// ID returns the key id of k: the first KeyIDSize bytes of SHA-256(k).
// A KK initiator sends it in the clear so the responder can find the key.
func (k PublicKey) ID() [KeyIDSize]byte {
	h := sha256.Sum256(k[:])
	return [KeyIDSize]byte(h[:KeyIDSize])
}

// String returns "noisepub:" and the standard base64 of k.
func (k PublicKey) String() string { return publicPrefix + base64.StdEncoding.EncodeToString(k[:]) }

// MarshalText returns the String form.
func (k PublicKey) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText parses the String form, like ParsePublicKey.
func (k *PublicKey) UnmarshalText(b []byte) error {
	p, err := ParsePublicKey(string(b))
	if err != nil {
		return err
	}
	*k = p
	return nil
}

// ParsePublicKey parses a public key in its String form, "noisepub:" and
// canonical standard base64 of 32 bytes.
func ParsePublicKey(s string) (PublicKey, error) {
	v, ok := strings.CutPrefix(s, publicPrefix)
	if !ok {
		return PublicKey{}, fmt.Errorf("%w: a public key starts with %q", ErrKey, publicPrefix)
	}
	var k PublicKey
	if err := decodeKey(k[:], []byte(v)); err != nil {
		return PublicKey{}, fmt.Errorf("%w: public key: %w", ErrKey, err)
	}
	return k, nil
}

// decodeKey decodes canonical standard base64 of exactly len(dst) bytes.
// Its errors never quote the input.
func decodeKey(dst, s []byte) error {
	if len(s) != base64.StdEncoding.EncodedLen(len(dst)) {
		return fmt.Errorf("want %d base64 characters, got %d", base64.StdEncoding.EncodedLen(len(dst)), len(s))
	}
	// Strict refuses non-zero padding bits; the length check above and
	// the absence of CR and LF (the only characters the decoder skips)
	// leave one encoding per key.
	for i := 0; i < len(s); i++ {
		if s[i] == '\r' || s[i] == '\n' {
			return errors.New("line break inside the key")
		}
	}
	var buf [KeySize + 2]byte // Decode wants DecodedLen(len(s)) bytes of room
	defer clear(buf[:])
	if base64.StdEncoding.DecodedLen(len(s)) > len(buf) {
		return errors.New("too long")
	}
	n, err := base64.StdEncoding.Strict().Decode(buf[:], s)
	if err != nil || n != len(dst) {
		return errors.New("not canonical base64")
	}
	copy(dst, buf[:n])
	return nil
}

// WritePrivateKeyFile writes k to a new file at path with mode 0600. It
// never overwrites: if path exists it fails with an error wrapping
// os.ErrExist. The file holds a comment line and "noisepriv:" followed by
// the standard base64 of the key.
func WritePrivateKeyFile(path string, k PrivateKey) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("channel: writing private key: %w", err)
	}
	b := AppendPrivateKeyFile(nil, k)
	_, err = f.Write(b)
	clear(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("channel: writing private key: %w", err)
	}
	return nil
}

// AppendPrivateKeyFile appends to b the content of a private key file
// holding k, as WritePrivateKeyFile writes it, for a caller that replaces
// a key file atomically (a rotation). Clear the result after use.
func AppendPrivateKeyFile(b []byte, k PrivateKey) []byte {
	b = append(b, privateKeyHeader...)
	b = append(b, privatePrefix...)
	b = base64.StdEncoding.AppendEncode(b, k[:])
	return append(b, '\n')
}

// ReadPrivateKeyFile reads a private key written by WritePrivateKeyFile:
// lines starting with '#' and blank lines are skipped, exactly one line
// must hold the key; LF or CRLF line ends. It does not check the file's
// permissions. Its errors say what is wrong, never with what.
func ReadPrivateKeyFile(path string) (PrivateKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return PrivateKey{}, fmt.Errorf("channel: reading private key: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	defer clear(b)
	if err != nil {
		return PrivateKey{}, fmt.Errorf("channel: reading private key: %w", err)
	}
	if len(b) > maxKeyFileSize {
		return PrivateKey{}, fmt.Errorf("%w: %s: larger than %d bytes", ErrKeyFile, path, maxKeyFileSize)
	}
	var (
		k     PrivateKey
		found bool
	)
	for n, rest := 1, b; len(rest) > 0; n++ {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte{'\n'})
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		if found {
			return PrivateKey{}, fmt.Errorf("%w: %s: line %d: a second key line", ErrKeyFile, path, n)
		}
		v, ok := bytes.CutPrefix(line, []byte(privatePrefix))
		if !ok {
			return PrivateKey{}, fmt.Errorf("%w: %s: line %d: the key line starts with %q", ErrKeyFile, path, n, privatePrefix)
		}
		if err := decodeKey(k[:], v); err != nil {
			return PrivateKey{}, fmt.Errorf("%w: %s: line %d: %w", ErrKeyFile, path, n, err)
		}
		found = true
	}
	if !found {
		return PrivateKey{}, fmt.Errorf("%w: %s: no key line", ErrKeyFile, path)
	}
	return k, nil
}
