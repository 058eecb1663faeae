package gateway

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/tollgate/tollgate/internal/atomicfile"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/keygen/composite"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/wire"
	"golang.org/x/crypto/chacha20poly1305"
)

// DefaultAddress is where a new gateway listens unless told otherwise.
const DefaultAddress = "127.0.0.1:7443"

// Identity is everything that makes a gateway itself: its keys, its
// certificate and its card.
type Identity struct {
	Dir      string
	Noise    channel.PrivateKey
	TLS      tls.Certificate
	Pin      [32]byte
	LeaseKey *composite.PrivateKey
	Hasher   *keygen.Hasher
	Card     *wire.Card
	// LeaseSeal seals the leases the store keeps (Activation.Private),
	// with a key derived from the key hash secret.
	LeaseSeal cipher.AEAD
	// LegacyOrders opens the keys of orders older gateways sealed
	// (legacyOrderOpener). Never used to seal.
	LegacyOrders cipher.AEAD
	// LeaseKeys is the set LeaseKey is the current key of (leasekeys.go),
	// and Signer signs with it; an admin rotation switches Signer.
	LeaseKeys *LeaseKeySet
	Signer    *service.LeaseSigner
	// Transport holds the next or previous Noise key and TLS certificate
	// during a rotation of them (transportkeys.go); never nil.
	Transport *TransportKeys
}

// serviceKeys returns the keys the license service decides with.
func (id *Identity) serviceKeys() service.Keys {
	keys := service.Keys{Hasher: id.Hasher, LeaseKey: id.LeaseKey, LeaseSeal: id.LeaseSeal, LegacyOrders: id.LegacyOrders, Noise: id.Noise, Signer: id.Signer}
	if id.Transport != nil {
		st := transportOf(id)
		keys.NoiseKeys = st.noiseKeys
	}
	return keys
}

// legacySealInfo separated the order-sealing key of older gateways from
// every other use of the key hash secret. Part of the on-disk format of
// the orders they wrote, which are still read.
const legacySealInfo = "tollgate order seal v1"

// legacyOrderOpener derives the AEAD with which older gateways sealed the
// keys kept in order records (AES-256-GCM, nonce first, shop and order id
// as associated data) from the key hash secret. This gateway only opens
// with it, to answer retries of those orders; it seals new orders' keys
// to the shop (wire.SealKeys), which it cannot open.
func legacyOrderOpener(secret []byte) (cipher.AEAD, error) {
	key, err := hkdf.Key(sha256.New, secret, nil, legacySealInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("gateway: legacy seal key: %w", err)
	}
	blk, err := aes.NewCipher(key)
	clear(key)
	if err != nil {
		return nil, fmt.Errorf("gateway: legacy seal key: %w", err)
	}
	return cipher.NewGCM(blk)
}

// leaseSealInfo separates the lease-sealing key from every other use of
// the key hash secret. Part of the on-disk format.
const leaseSealInfo = "tollgate lease seal v1"

// Init creates a new identity in dir, once: it refuses (ErrIdentityExists)
// when dir already holds any part of one, and writes private files with
// mode 0600, never overwriting. The card lists addrs, in order of
// preference (the gateways of one deployment, which share this identity);
// none, or a single empty one, means DefaultAddress. Every argument is
// checked before anything is written (a bad, repeated or empty address,
// or more than wire.MaxCardAddresses, is ErrUsage), and an Init that fails
// removes what it wrote: a failed init leaves nothing behind, and the next
// one starts afresh.
func Init(dir string, scheme composite.Scheme, addrs ...string) (_ *Identity, err error) {
	if len(addrs) == 0 || len(addrs) == 1 && addrs[0] == "" {
		addrs = []string{DefaultAddress}
	}
	if dir == "" {
		return nil, fmt.Errorf("%w: no data directory", ErrUsage)
	}
	for _, f := range []string{FileNoiseKey, FileTLSKey, FileLeaseKey, FileKeySecret, FileCard} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return nil, fmt.Errorf("%w: %s already has %s (delete the directory to start over)", ErrIdentityExists, dir, f)
		}
	}
	// Everything is made, and the card checked, before a file is written.
	nk, err := channel.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("gateway: noise key: %w", err)
	}
	cert, certPEM, keyPEM, err := channel.GenerateCertificate()
	if err != nil {
		return nil, fmt.Errorf("gateway: certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("gateway: certificate: %w", err)
	}
	lk, err := composite.GenerateKey(scheme, rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("gateway: lease key: %w", err)
	}
	card := &wire.Card{NoiseKey: nk.Public(), TLSPin: channel.Pin(leaf), LeaseKeys: []*composite.PublicKey{lk.Public()}}
	if err := card.SetAddresses(addrs); err != nil {
		return nil, fmt.Errorf("%w: --addr: %w", ErrUsage, err)
	}
	cardText := card.Marshal()
	if _, err := wire.ParseCard(cardText); err != nil {
		return nil, fmt.Errorf("gateway: the new card does not parse: %w", err)
	}
	secret := make([]byte, keygen.MinSecretLen)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("gateway: secret: %w", err)
	}
	leaseText := "tollgate-lease-key 1\n" + schemeName(scheme) + " " + base64.StdEncoding.EncodeToString(lk.Bytes()) + "\n"
	secretText := base64.StdEncoding.EncodeToString(secret) + "\n"

	undo, err := makeDir(dir)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			undo.undo()
		}
	}()
	undo.file(FileNoiseKey)
	if err := channel.WritePrivateKeyFile(filepath.Join(dir, FileNoiseKey), nk); err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	files := []struct {
		name string
		data []byte
		mode fs.FileMode
	}{
		{FileTLSKey, keyPEM, 0o600},
		{FileTLSCert, certPEM, 0o644},
		{FileLeaseKey, []byte(leaseText), 0o600},
		{FileKeySecret, []byte(secretText), 0o600},
		{FileCard, cardText, 0o644},
	}
	for _, f := range files {
		undo.file(f.name)
		if err := atomicfile.Create(filepath.Join(dir, f.name), f.data, f.mode); err != nil {
			return nil, fmt.Errorf("gateway: write %s: %w", f.name, err)
		}
	}
	return LoadIdentity(dir)
}

// SetCardAddresses rewrites the server card of the identity in dir so that
// it lists addrs, in order of preference, keeping its keys: for a
// deployment whose gateways move, or that gains or loses one (they share
// this identity). The identity must load whole (LoadIdentity), and the
// addresses are checked as Init checks them (ErrUsage) before the card is
// replaced, atomically; on error the card is as it was. It returns the
// new card. A gateway running on dir goes on with the card it loaded (it
// listens where Config.Listen says, whatever the card lists); the apps'
// copies of the card are the publisher's to replace.
func SetCardAddresses(dir string, addrs []string) (*wire.Card, error) {
	id, err := LoadIdentity(dir)
	if err != nil {
		return nil, err
	}
	card := *id.Card
	if err := card.SetAddresses(addrs); err != nil {
		return nil, fmt.Errorf("%w: --addr: %w", ErrUsage, err)
	}
	text := card.Marshal()
	if _, err := wire.ParseCard(text); err != nil {
		return nil, fmt.Errorf("gateway: the new card does not parse: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(dir, FileCard), text, 0o644); err != nil {
		return nil, fmt.Errorf("gateway: write %s: %w", FileCard, err)
	}
	return &card, nil
}

// initUndo removes what a failed Init wrote: its files, and the data
// directory if Init created it.
type initUndo struct {
	dir     string
	created bool
	files   []string
}

// makeDir creates dir (0700) if it is missing and returns the undo of an
// Init in it.
func makeDir(dir string) (*initUndo, error) {
	u := &initUndo{dir: dir}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		u.created = true
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("gateway: create data directory: %w", err)
	}
	return u, nil
}

// file notes that Init is about to write name.
func (u *initUndo) file(name string) { u.files = append(u.files, name) }

func (u *initUndo) undo() {
	for _, f := range u.files {
		os.Remove(filepath.Join(u.dir, f))
	}
	if u.created {
		os.Remove(u.dir) // only if empty: nothing of anyone else's goes
	}
}

// LoadIdentity reads the identity Init wrote in dir.
func LoadIdentity(dir string) (*Identity, error) {
	if _, err := os.Stat(filepath.Join(dir, FileNoiseKey)); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s (run `tollgate init --data %s` first)", ErrNoIdentity, dir, dir)
	}
	id := &Identity{Dir: dir}
	var err error
	if id.Noise, err = channel.ReadPrivateKeyFile(filepath.Join(dir, FileNoiseKey)); err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	if id.TLS, err = tls.LoadX509KeyPair(filepath.Join(dir, FileTLSCert), filepath.Join(dir, FileTLSKey)); err != nil {
		return nil, fmt.Errorf("gateway: TLS certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(id.TLS.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("gateway: TLS certificate: %w", err)
	}
	id.Pin = channel.Pin(leaf)
	if id.LeaseKeys, err = readLeaseKeySet(filepath.Join(dir, FileLeaseKey)); err != nil {
		return nil, err
	}
	id.LeaseKey, id.Signer = id.LeaseKeys.Current, id.LeaseKeys.signer()
	raw, err := os.ReadFile(filepath.Join(dir, FileKeySecret))
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	secret, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not base64", ErrIdentityCorrupt, FileKeySecret)
	}
	if id.Hasher, err = keygen.NewHasher(secret); err != nil {
		return nil, fmt.Errorf("gateway: %s: %w", FileKeySecret, err)
	}
	id.LegacyOrders, err = legacyOrderOpener(secret)
	if err != nil {
		clear(secret)
		return nil, err
	}
	key, err := hkdf.Key(sha256.New, secret, nil, leaseSealInfo, chacha20poly1305.KeySize)
	clear(secret)
	if err != nil {
		return nil, fmt.Errorf("gateway: lease seal key: %w", err)
	}
	id.LeaseSeal, err = chacha20poly1305.NewX(key)
	clear(key)
	if err != nil {
		return nil, fmt.Errorf("gateway: lease seal key: %w", err)
	}
	if id.Card, err = wire.LoadCard(filepath.Join(dir, FileCard)); err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	if id.Card.NoiseKey != id.Noise.Public() || id.Card.TLSPin != id.Pin {
		return nil, fmt.Errorf("%w: %s does not match the keys beside it (after an interrupted `tollgate keys switch-transport`, run it again)", ErrIdentityCorrupt, FileCard)
	}
	if id.Transport, err = readTransportKeys(dir); err != nil {
		return nil, err
	}
	if n := id.Transport.Next; id.Card.HasNextNoiseKey() && (n == nil || id.Card.NextNoiseKey != n.Noise.Public() || id.Card.NextTLSPin != n.Pin) {
		return nil, fmt.Errorf("%w: %s announces next transport keys that %s does not hold (restore both from a backup of the data directory)", ErrIdentityCorrupt, FileCard, FileTransportKeys)
	}
	return id, nil
}

func schemeName(s composite.Scheme) string {
	if s == composite.MLDSA65Ed25519 {
		return "mldsa65-ed25519"
	}
	return "mldsa44-ed25519"
}

// ParseScheme reads a lease-signing scheme name as the card and lease.key
// spell it ("mldsa44-ed25519", "mldsa65-ed25519").
func ParseScheme(name string) (composite.Scheme, error) {
	switch strings.ToLower(name) {
	case "mldsa44-ed25519", "mldsa44", "":
		return composite.MLDSA44Ed25519, nil
	case "mldsa65-ed25519", "mldsa65":
		return composite.MLDSA65Ed25519, nil
	}
	return 0, fmt.Errorf("%w: unknown lease scheme %q (use mldsa44-ed25519 or mldsa65-ed25519)", ErrConfig, name)
}

func readLeaseKey(path string) (*composite.PrivateKey, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if len(lines) != 2 || strings.TrimSpace(lines[0]) != "tollgate-lease-key 1" {
		return nil, fmt.Errorf("%w: %s is not a lease key file", ErrIdentityCorrupt, path)
	}
	f := strings.Fields(lines[1])
	if len(f) != 2 {
		return nil, fmt.Errorf("%w: %s: want \"SCHEME BASE64\"", ErrIdentityCorrupt, path)
	}
	s, err := ParseScheme(f[0])
	if err != nil {
		return nil, err
	}
	b, err := base64.StdEncoding.DecodeString(f[1])
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not base64", ErrIdentityCorrupt, path)
	}
	k, err := composite.ParsePrivateKey(s, b)
	if err != nil {
		return nil, fmt.Errorf("gateway: %s: %w", path, err)
	}
	return k, nil
}
