package wire

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
)

// Air-gapped machines. A machine that never reaches the gateway writes an
// activation request file; someone carries it to a connected machine,
// where the operator (or a shop's portal) has the gateway answer it with
// a lease, which is carried back and installed. Deactivating such a
// machine writes a release proof the operator imports to free the seat.
//
// Both files are authenticated as coming from the holder of the install's
// X25519 static key (the key whose SHA-256 is the install id, as on the
// Noise path) and bound to one gateway, without signatures: a key shared
// by the install and the gateway, from X25519(install private key,
// gateway's Noise static public key from the card) = X25519(gateway
// private key, install public key), is derived with HKDF-SHA-256 (the
// file's nonce as salt, its label, the install's and the gateway's public
// keys as info) and
//   - in a request, seals the license key with AES-256-GCM (a zero
//     nonce: the key is new for each request nonce), everything before it
//     as associated data: only that gateway can read the key, and the tag
//     authenticates the whole request;
//   - in a release proof, is the HMAC-SHA-256 key of a MAC over everything
//     before it.
//
// Only the install and the gateway can derive the key: whoever carries a
// file can neither read the license key nor change a byte unnoticed.
const (
	// OfflineRequestMagic opens an encoded activation request.
	OfflineRequestMagic = "TGAR"
	// OfflineReleaseMagic opens an encoded release proof.
	OfflineReleaseMagic = "TGRL"
	// OfflineVersion is the only version of either file this package
	// reads and writes.
	OfflineVersion = 1
	// OfflineRequestLabel and OfflineReleaseLabel begin the HKDF info of
	// each file's key, so that a key derived for one use is never the key
	// of another.
	OfflineRequestLabel = "tollgate offline activation request v1"
	OfflineReleaseLabel = "tollgate offline release proof v1"
	// OfflineTagSize is the size of the AEAD tag after the sealed key.
	OfflineTagSize = 16
	// OfflineMACSize is the size of a release proof's MAC.
	OfflineMACSize = sha256.Size
	// InstallKeySize is the size of an install's X25519 static public key.
	InstallKeySize = 32

	offlineRequestHeader = "-----BEGIN TOLLGATE ACTIVATION REQUEST-----"
	offlineRequestFooter = "-----END TOLLGATE ACTIVATION REQUEST-----"
	offlineReleaseHeader = "-----BEGIN TOLLGATE RELEASE PROOF-----"
	offlineReleaseFooter = "-----END TOLLGATE RELEASE PROOF-----"
)

// offlineRequestFixed is the size of the fields from the magic to the
// created time.
const offlineRequestFixed = len(OfflineRequestMagic) + 1 + ProductSize + InstallKeySize + NonceSize + 8

// offlineSealedSize is the size of the sealed key: the key and its tag.
const offlineSealedSize = KeySize + OfflineTagSize

// maxOfflineRequestLen is the largest encoded activation request.
const maxOfflineRequestLen = offlineRequestFixed + maxFingerprintLen + 1 + MaxHostnameLen + 1 + MaxAppVersionLen + offlineSealedSize

// OfflineReleaseLen is the size of an encoded release proof.
const OfflineReleaseLen = len(OfflineReleaseMagic) + 1 + InstallKeySize + LicenseIDSize + 8 + NonceSize + 8 + OfflineMACSize

// OfflineRequest is an air-gapped machine's activation request.
//
// Encoding (part of the offline file format; integers big-endian, times
// int64 Unix seconds by the machine's clock):
//
//	 0       4     5             10                   42            58
//	+-------+-----+-------------+--------------------+-------------+-------------+
//	| magic | ver | product (5) | install key (32)   | nonce (16)  | created (8) |
//	+-------+-----+-------------+--------------------+-------------+-------------+
//	 66
//	+-------------+-----+----------+-----+-------------+--------------------+----------+
//	| fingerprint | len | hostname | len | app version | sealed key (30)    | tag (16) |
//	+-------------+-----+----------+-----+-------------+--------------------+----------+
//	  1+9n          u8    0..64      u8    0..32
//
// The magic is OfflineRequestMagic, ver OfflineVersion, the install key
// the install's X25519 static public key (not all zeros), created > 0;
// product, fingerprint, hostname and app version follow ActivateRequest's
// rules. The sealed key and tag are SealOfflineRequest's; the armored file
// is the encoding between "-----BEGIN TOLLGATE ACTIVATION REQUEST-----"
// lines (ArmorOfflineRequest).
type OfflineRequest struct {
	Product     [ProductSize]byte
	InstallKey  [InstallKeySize]byte
	Nonce       [NonceSize]byte
	Created     int64
	Fingerprint Fingerprint
	Hostname    []byte // parsed, points into the input
	AppVersion  []byte // parsed, points into the input
	Sealed      [offlineSealedSize]byte
}

// ParseOfflineRequest parses an encoded activation request, which must be
// all of b. Hostname and AppVersion point into b. It does not open the
// sealed key: see OpenOfflineRequest.
func ParseOfflineRequest(b []byte) (OfflineRequest, int, error) {
	var m OfflineRequest
	d, err := offlineHeader(b, OfflineRequestMagic)
	if err != nil {
		return m, 0, err
	}
	d.copy(m.Product[:])
	d.copy(m.InstallKey[:])
	d.copy(m.Nonce[:])
	m.Created = d.i64()
	m.Fingerprint = sub(&d, "fingerprint", ParseFingerprint)
	m.Hostname = d.bytes8()
	m.AppVersion = d.bytes8()
	d.copy(m.Sealed[:])
	if err := d.end(); err != nil {
		return OfflineRequest{}, 0, err
	}
	if err := m.Check(); err != nil {
		return OfflineRequest{}, 0, err
	}
	return m, len(b), nil
}

// offlineHeader checks the magic and version at the start of b (ErrShort
// for a prefix of the magic, ErrInvalidField for another magic,
// ErrUnsupportedVersion for another version) and returns a decoder past
// them.
func offlineHeader(b []byte, magic string) (decoder, error) {
	what := map[string]string{OfflineRequestMagic: "activation request", OfflineReleaseMagic: "release proof"}[magic]
	if !bytes.HasPrefix(b, []byte(magic)) {
		if len(b) < len(magic) && bytes.HasPrefix([]byte(magic), b) {
			return decoder{}, ErrShort
		}
		return decoder{}, fmt.Errorf("%w: not a tollgate %s", ErrInvalidField, what)
	}
	d := decoder{b: b, off: len(magic)}
	if v := d.u8(); d.err == nil && v != OfflineVersion {
		return decoder{}, fmt.Errorf("%w: %s version %d", ErrUnsupportedVersion, what, v)
	}
	return d, nil
}

// Check reports whether ParseOfflineRequest would accept m's encoding.
func (m *OfflineRequest) Check() error {
	if err := checkKeyChars("product", m.Product[:]); err != nil {
		return err
	}
	if m.InstallKey == [InstallKeySize]byte{} {
		return fmt.Errorf("%w: install key is zero", ErrInvalidField)
	}
	if m.Created <= 0 {
		return fmt.Errorf("%w: activation request time %d", ErrInvalidField, m.Created)
	}
	return checkMachine(&m.Fingerprint, m.Hostname, m.AppVersion)
}

// Len returns the encoded size.
func (m *OfflineRequest) Len() int {
	return offlineRequestFixed + m.Fingerprint.Len() + 1 + len(m.Hostname) + 1 + len(m.AppVersion) + offlineSealedSize
}

// Append appends the encoding of m to b.
func (m *OfflineRequest) Append(b []byte) []byte {
	return append(m.appendSigned(b), m.Sealed[:]...)
}

// appendSigned appends the fields the tag authenticates: all but the
// sealed key.
func (m *OfflineRequest) appendSigned(b []byte) []byte {
	b = append(b, OfflineRequestMagic...)
	b = append(b, OfflineVersion)
	b = append(b, m.Product[:]...)
	b = append(b, m.InstallKey[:]...)
	b = append(b, m.Nonce[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(m.Created))
	b = m.Fingerprint.Append(b)
	b = append(b, byte(len(m.Hostname)))
	b = append(b, m.Hostname...)
	b = append(b, byte(len(m.AppVersion)))
	return append(b, m.AppVersion...)
}

// InstallID returns the install id of the request's install key: its
// SHA-256, as the gateway names an install on the Noise path.
func (m *OfflineRequest) InstallID() [InstallKeyHashSize]byte { return sha256.Sum256(m.InstallKey[:]) }

// offlineKey derives the key a file of label shares between the install
// of installPub and the gateway of gatewayPub, from their X25519 shared
// secret, with the file's nonce as salt. A low-order public key, whose
// shared secret is zero, is ErrInvalidField.
func offlineKey(label string, priv *ecdh.PrivateKey, peer, installPub, gatewayPub []byte, nonce *[NonceSize]byte) ([]byte, error) {
	pub, err := ecdh.X25519().NewPublicKey(peer)
	if err != nil {
		return nil, fmt.Errorf("%w: public key: %w", ErrInvalidField, err)
	}
	shared, err := priv.ECDH(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: the key exchange with this public key gives nothing", ErrInvalidField)
	}
	info := make([]byte, 0, len(label)+1+2*InstallKeySize)
	info = append(append(append(append(info, label...), 0), installPub...), gatewayPub...)
	k, err := hkdf.Key(sha256.New, shared, nonce[:], string(info), 32)
	clear(shared)
	return k, err
}

// offlineAEAD returns the AEAD a request's key is sealed with.
func offlineAEAD(key []byte) (cipher.AEAD, error) {
	blk, err := aes.NewCipher(key)
	clear(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(blk)
}

// offlineZeroNonce is the AEAD nonce of every request: each request's key
// is derived with its own 16-byte random nonce as salt, so a key seals
// one message only.
var offlineZeroNonce [12]byte

// SealOfflineRequest seals key (a license key in canonical form) into m
// for the gateway of gatewayPub (the card's Noise key), with the install's
// X25519 private key installPriv, whose public key it sets as m's install
// key; the other fields must be set. It returns the encoded request.
func SealOfflineRequest(m *OfflineRequest, key *[KeySize]byte, installPriv, gatewayPub *[32]byte) ([]byte, error) {
	priv, err := ecdh.X25519().NewPrivateKey(installPriv[:])
	if err != nil {
		return nil, fmt.Errorf("%w: install key: %w", ErrInvalidField, err)
	}
	copy(m.InstallKey[:], priv.PublicKey().Bytes())
	if err := m.Check(); err != nil {
		return nil, err
	}
	if err := checkKeyChars("license key", key[:]); err != nil {
		return nil, err
	}
	k, err := offlineKey(OfflineRequestLabel, priv, gatewayPub[:], m.InstallKey[:], gatewayPub[:], &m.Nonce)
	if err != nil {
		return nil, err
	}
	aead, err := offlineAEAD(k)
	if err != nil {
		return nil, err
	}
	ad := m.appendSigned(make([]byte, 0, m.Len()))
	out := aead.Seal(ad, offlineZeroNonce[:], key[:], ad)
	copy(m.Sealed[:], out[len(ad):])
	return out, nil
}

// OpenOfflineRequest opens the license key sealed in m with the gateway's
// X25519 private key gatewayPriv. A request sealed to another gateway, or
// changed in any byte since it was sealed, is ErrOfflineSeal; the key
// returned is the caller's secret.
func OpenOfflineRequest(m *OfflineRequest, gatewayPriv *[32]byte) ([KeySize]byte, error) {
	var key [KeySize]byte
	priv, err := ecdh.X25519().NewPrivateKey(gatewayPriv[:])
	if err != nil {
		return key, fmt.Errorf("%w: gateway key: %w", ErrInvalidField, err)
	}
	gwPub := priv.PublicKey().Bytes()
	k, err := offlineKey(OfflineRequestLabel, priv, m.InstallKey[:], m.InstallKey[:], gwPub, &m.Nonce)
	if err != nil {
		return key, fmt.Errorf("%w: %w", ErrOfflineSeal, err)
	}
	aead, err := offlineAEAD(k)
	if err != nil {
		return key, err
	}
	ad := m.appendSigned(make([]byte, 0, m.Len()))
	pt, err := aead.Open(nil, offlineZeroNonce[:], m.Sealed[:], ad)
	if err != nil || len(pt) != KeySize {
		return key, ErrOfflineSeal
	}
	copy(key[:], pt)
	clear(pt)
	return key, nil
}

// ArmorOfflineRequest returns the armored text of an encoded request.
func ArmorOfflineRequest(b []byte) []byte {
	return armor(offlineRequestHeader, offlineRequestFooter, b)
}

// DearmorOfflineRequest returns the encoded request in armored text, as
// strictly as DearmorLease reads a lease.
func DearmorOfflineRequest(text []byte) ([]byte, error) {
	return dearmor(offlineRequestHeader, offlineRequestFooter, text)
}

// OfflineRelease is the proof an air-gapped machine writes when it gives
// its license up: the operator imports it to free the machine's seat.
//
// Encoding (part of the offline file format; integers big-endian, times
// int64 Unix seconds):
//
//	 0       4     5                   37                53                61
//	+-------+-----+-------------------+-----------------+-----------------+
//	| magic | ver | install key (32)  | license id (16) | lease issued (8)|
//	+-------+-----+-------------------+-----------------+-----------------+
//	 61            77             85          117
//	+-------------+--------------+-----------+
//	| nonce (16)  | created (8)  | MAC (32)  |
//	+-------------+--------------+-----------+
//
// The magic is OfflineReleaseMagic, ver OfflineVersion, the install key
// not all zeros. Lease issued is the issue time of the lease the machine
// gave up (the gateway's clock), so that the gateway can tell a proof
// from an activation of the same install made after it (a proof carried
// in again later must not free a later seat); created (the machine's
// clock) is > 0. The MAC is SignOfflineRelease's; the armored file is the
// encoding between "-----BEGIN TOLLGATE RELEASE PROOF-----" lines.
type OfflineRelease struct {
	InstallKey  [InstallKeySize]byte
	LicenseID   [LicenseIDSize]byte
	LeaseIssued int64
	Nonce       [NonceSize]byte
	Created     int64
	MAC         [OfflineMACSize]byte
}

// ParseOfflineRelease parses an encoded release proof, which must be all
// of b. It does not verify the MAC: see VerifyOfflineRelease.
func ParseOfflineRelease(b []byte) (OfflineRelease, int, error) {
	var m OfflineRelease
	d, err := offlineHeader(b, OfflineReleaseMagic)
	if err != nil {
		return m, 0, err
	}
	d.copy(m.InstallKey[:])
	d.copy(m.LicenseID[:])
	m.LeaseIssued = d.i64()
	d.copy(m.Nonce[:])
	m.Created = d.i64()
	d.copy(m.MAC[:])
	if err := d.end(); err != nil {
		return OfflineRelease{}, 0, err
	}
	if err := m.Check(); err != nil {
		return OfflineRelease{}, 0, err
	}
	return m, len(b), nil
}

// Check reports whether ParseOfflineRelease would accept m's encoding.
func (m *OfflineRelease) Check() error {
	switch {
	case m.InstallKey == [InstallKeySize]byte{}:
		return fmt.Errorf("%w: install key is zero", ErrInvalidField)
	case m.LeaseIssued <= 0:
		return fmt.Errorf("%w: release proof lease issue time %d", ErrInvalidField, m.LeaseIssued)
	case m.Created <= 0:
		return fmt.Errorf("%w: release proof time %d", ErrInvalidField, m.Created)
	}
	return nil
}

// Len returns the encoded size, OfflineReleaseLen.
func (m *OfflineRelease) Len() int { return OfflineReleaseLen }

// Append appends the encoding of m to b.
func (m *OfflineRelease) Append(b []byte) []byte { return append(m.appendSigned(b), m.MAC[:]...) }

func (m *OfflineRelease) appendSigned(b []byte) []byte {
	b = append(b, OfflineReleaseMagic...)
	b = append(b, OfflineVersion)
	b = append(b, m.InstallKey[:]...)
	b = append(b, m.LicenseID[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(m.LeaseIssued))
	b = append(b, m.Nonce[:]...)
	return binary.BigEndian.AppendUint64(b, uint64(m.Created))
}

// InstallID returns the install id of the proof's install key.
func (m *OfflineRelease) InstallID() [InstallKeyHashSize]byte { return sha256.Sum256(m.InstallKey[:]) }

// SignOfflineRelease sets m's install key from installPriv and its MAC
// for the gateway of gatewayPub; the other fields must be set. It returns
// the encoded proof.
func SignOfflineRelease(m *OfflineRelease, installPriv, gatewayPub *[32]byte) ([]byte, error) {
	priv, err := ecdh.X25519().NewPrivateKey(installPriv[:])
	if err != nil {
		return nil, fmt.Errorf("%w: install key: %w", ErrInvalidField, err)
	}
	copy(m.InstallKey[:], priv.PublicKey().Bytes())
	if err := m.Check(); err != nil {
		return nil, err
	}
	k, err := offlineKey(OfflineReleaseLabel, priv, gatewayPub[:], m.InstallKey[:], gatewayPub[:], &m.Nonce)
	if err != nil {
		return nil, err
	}
	mac := hmac.New(sha256.New, k)
	clear(k)
	b := m.appendSigned(make([]byte, 0, OfflineReleaseLen))
	mac.Write(b)
	mac.Sum(m.MAC[:0])
	return append(b, m.MAC[:]...), nil
}

// VerifyOfflineRelease checks m's MAC with the gateway's X25519 private
// key gatewayPriv: a proof made for another gateway, or changed in any
// byte, is ErrOfflineSeal.
func VerifyOfflineRelease(m *OfflineRelease, gatewayPriv *[32]byte) error {
	priv, err := ecdh.X25519().NewPrivateKey(gatewayPriv[:])
	if err != nil {
		return fmt.Errorf("%w: gateway key: %w", ErrInvalidField, err)
	}
	k, err := offlineKey(OfflineReleaseLabel, priv, m.InstallKey[:], m.InstallKey[:], priv.PublicKey().Bytes(), &m.Nonce)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrOfflineSeal, err)
	}
	mac := hmac.New(sha256.New, k)
	clear(k)
	mac.Write(m.appendSigned(make([]byte, 0, OfflineReleaseLen)))
	if subtle.ConstantTimeCompare(mac.Sum(nil), m.MAC[:]) != 1 {
		return ErrOfflineSeal
	}
	return nil
}

// ArmorOfflineRelease returns the armored text of an encoded proof.
func ArmorOfflineRelease(b []byte) []byte {
	return armor(offlineReleaseHeader, offlineReleaseFooter, b)
}

// DearmorOfflineRelease returns the encoded proof in armored text, as
// strictly as DearmorLease reads a lease.
func DearmorOfflineRelease(text []byte) ([]byte, error) {
	return dearmor(offlineReleaseHeader, offlineReleaseFooter, text)
}

// ErrOfflineSeal is an activation request or release proof that was not
// made for this gateway (another gateway's card), or was changed after it
// was made.
var ErrOfflineSeal = errors.New("wire: the file was not made for this license server, or was changed since")
