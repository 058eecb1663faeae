package gateway

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tollgate/tollgate/gateway/adminapi"
	"github.com/tollgate/tollgate/internal/atomicfile"
	"github.com/tollgate/tollgate/internal/channel"
	"github.com/tollgate/tollgate/wire"
)

// Transport key rotation: the gateway's Noise static key and TLS key and
// certificate (the card's noise-key and tls-pin) are replaced in three
// steps, each an admin operation that a running gateway applies to new
// connections at once (sessions open go on):
//
//   - announce (AnnounceTransport): a next Noise key and TLS key and
//     certificate are made and kept in FileTransportKeys; the card gains
//     next-noise-key and next-tls-pin lines. The gateway accepts both
//     Noise keys and serves the next certificate to a client that names
//     its pin. The publisher ships this card.
//   - switch (SwitchTransport): the next becomes the current (noise.key,
//     tls.key, tls.crt) and the current becomes the previous, kept in
//     FileTransportKeys; the card names the new keys alone. The gateway
//     still accepts the previous Noise key, and serves the previous
//     certificate to a client that names its pin or names none (a client
//     built before rotation).
//   - retire (RetireTransport): the previous is deleted; apps with a card
//     that names only it are refused (wrong-server).
//
// FileTransportKeys (part of the data directory's format; absent when no
// rotation is under way), mode 0600:
//
//	tollgate-transport-keys 1
//	next|previous <Unix seconds> <base64 Noise private key> <base64 DER certificate> <base64 PKCS #8 DER TLS key>
//
// with one line of each role at most; both only in the middle of a switch,
// which a switch run again completes.

// TransportKey is a Noise static key and a TLS key and certificate the
// gateway holds beside its current ones.
type TransportKey struct {
	Noise channel.PrivateKey
	TLS   tls.Certificate
	Pin   [32]byte
	// Since is when it was announced (next) or switched from (previous),
	// Unix seconds.
	Since int64

	certDER, keyDER []byte
}

// TransportKeys are the gateway's transport keys beside the current ones:
// the announced next, the previous still accepted; nil when none.
type TransportKeys struct {
	Next, Previous *TransportKey
}

const transportHeader = "tollgate-transport-keys 1"

// newTransportKey makes a Noise key and a TLS key and certificate.
func newTransportKey(now time.Time) (*TransportKey, error) {
	nk, err := channel.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("gateway: noise key: %w", err)
	}
	_, certPEM, keyPEM, err := channel.GenerateCertificate()
	if err != nil {
		return nil, fmt.Errorf("gateway: certificate: %w", err)
	}
	defer clear(keyPEM)
	return transportKeyOf(nk, certPEM, keyPEM, now.Unix())
}

// transportKeyOf builds a TransportKey from a Noise key and PEM files.
func transportKeyOf(nk channel.PrivateKey, certPEM, keyPEM []byte, since int64) (*TransportKey, error) {
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("gateway: TLS certificate: %w", err)
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, fmt.Errorf("%w: the TLS key is not PEM", ErrIdentityCorrupt)
	}
	return transportKeyFromDER(nk, cert.Certificate[0], kb.Bytes, since)
}

func transportKeyFromDER(nk channel.PrivateKey, certDER, keyDER []byte, since int64) (*TransportKey, error) {
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	defer clear(keyPEM)
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("TLS key and certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(certDER)
	if err != nil {
		return nil, fmt.Errorf("TLS certificate: %w", err)
	}
	cert.Leaf = leaf
	return &TransportKey{Noise: nk, TLS: cert, Pin: channel.Pin(leaf), Since: since,
		certDER: append([]byte(nil), certDER...), keyDER: append([]byte(nil), keyDER...)}, nil
}

// currentTransportKey reads the current keys of dir (noise.key, tls.crt,
// tls.key).
func currentTransportKey(dir string, since int64) (*TransportKey, error) {
	nk, err := channel.ReadPrivateKeyFile(filepath.Join(dir, FileNoiseKey))
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	certPEM, err := os.ReadFile(filepath.Join(dir, FileTLSCert))
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, FileTLSKey))
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	defer clear(keyPEM)
	return transportKeyOf(nk, certPEM, keyPEM, since)
}

// readTransportKeys reads FileTransportKeys of dir; a missing file is an
// empty set. It is strict: anything else than the lines above is
// ErrIdentityCorrupt, naming the line, never quoting a key.
func readTransportKeys(dir string) (*TransportKeys, error) {
	path := filepath.Join(dir, FileTransportKeys)
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &TransportKeys{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	defer clear(raw)
	corrupt := func(line int, what string) error {
		return fmt.Errorf("%w: %s: line %d: %s (restore it from a backup of the data directory)", ErrIdentityCorrupt, path, line, what)
	}
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	if lines[0] != transportHeader {
		return nil, corrupt(1, "not a transport keys file")
	}
	set := &TransportKeys{}
	dec := base64.StdEncoding.Strict()
	for i, line := range lines[1:] {
		n := i + 2
		f := strings.Split(line, " ")
		if len(f) != 5 {
			return nil, corrupt(n, "want ROLE TIME NOISE CERT KEY")
		}
		since, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil || since <= 0 || strconv.FormatInt(since, 10) != f[1] {
			return nil, corrupt(n, "bad time")
		}
		nb, err := dec.DecodeString(f[2])
		if err != nil || len(nb) != channel.KeySize {
			clear(nb)
			return nil, corrupt(n, "bad Noise key")
		}
		nk := channel.PrivateKey(nb)
		clear(nb)
		cd, err1 := dec.DecodeString(f[3])
		kd, err2 := dec.DecodeString(f[4])
		if err1 != nil || err2 != nil {
			clear(kd)
			return nil, corrupt(n, "the certificate or TLS key is not base64")
		}
		k, err := transportKeyFromDER(nk, cd, kd, since)
		clear(kd)
		if err != nil {
			return nil, corrupt(n, err.Error())
		}
		switch {
		case f[0] == "next" && set.Next == nil:
			set.Next = k
		case f[0] == "previous" && set.Previous == nil:
			set.Previous = k
		default:
			return nil, corrupt(n, "a role other than next or previous, or one twice")
		}
	}
	return set, nil
}

// marshal encodes the set; nil for an empty one (no file).
func (s *TransportKeys) marshal() []byte {
	if s.Next == nil && s.Previous == nil {
		return nil
	}
	enc := base64.StdEncoding
	b := []byte(transportHeader + "\n")
	for _, r := range []struct {
		role string
		k    *TransportKey
	}{{"next", s.Next}, {"previous", s.Previous}} {
		if r.k == nil {
			continue
		}
		b = append(b, r.role+" "+strconv.FormatInt(r.k.Since, 10)+" "...)
		b = enc.AppendEncode(b, r.k.Noise[:])
		b = append(b, ' ')
		b = enc.AppendEncode(b, r.k.certDER)
		b = append(b, ' ')
		b = enc.AppendEncode(b, r.k.keyDER)
		b = append(b, '\n')
	}
	return b
}

// writeTransportKeys replaces FileTransportKeys atomically, or removes it
// for an empty set.
func writeTransportKeys(dir string, s *TransportKeys) error {
	path := filepath.Join(dir, FileTransportKeys)
	b := s.marshal()
	if b == nil {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("gateway: %w", err)
		}
		return nil
	}
	defer clear(b)
	if err := atomicfile.Write(path, b, 0o600); err != nil {
		return fmt.Errorf("gateway: write %s: %w", FileTransportKeys, err)
	}
	return nil
}

// transportState is what a running gateway serves new connections with:
// the current Noise key and certificate, and the next or previous ones.
type transportState struct {
	noise  channel.PrivateKey
	others []channel.PrivateKey // accepted after noise
	cur    *tls.Certificate
	curPin [32]byte
	alt    *tls.Certificate // the next or previous certificate, or nil
	altPin [32]byte
	// altDefault: alt is the previous certificate, presented to clients
	// that name no pin (built before rotation, with the card they have).
	altDefault bool
}

// transportOf returns the state of an identity.
func transportOf(id *Identity) *transportState {
	cur := id.TLS
	t := &transportState{noise: id.Noise, cur: &cur, curPin: id.Pin}
	alt := id.Transport.Next
	if id.Transport.Previous != nil {
		alt, t.altDefault = id.Transport.Previous, true
	}
	if alt != nil {
		t.others = []channel.PrivateKey{alt.Noise}
		c := alt.TLS
		t.alt, t.altPin = &c, alt.Pin
	}
	return t
}

// noiseKeys returns the Noise keys of the state, current first, for the
// service's offline files.
func (t *transportState) noiseKeys() [][32]byte {
	out := [][32]byte{t.noise}
	for _, k := range t.others {
		out = append(out, k)
	}
	return out
}

// choose picks the certificate of a TLS handshake: the one whose pin the
// client names; else, during a switch's overlap, the previous one (what a
// client built before rotation pins); else the current one.
func (t *transportState) choose(pin [32]byte, named bool) *tls.Certificate {
	if named {
		if pin == t.curPin {
			return t.cur
		}
		if t.alt != nil && pin == t.altPin {
			return t.alt
		}
	}
	if t.altDefault {
		return t.alt
	}
	return t.cur
}

// transportHolder holds a running gateway's transport state; the admin
// operations replace it.
type transportHolder struct {
	p atomic.Pointer[transportState]
}

func (h *transportHolder) load() *transportState { return h.p.Load() }

// TransportOptions says when a transport operation happens.
type TransportOptions struct {
	Now time.Time // zero: time.Now
}

func (o TransportOptions) now() time.Time {
	if o.Now.IsZero() {
		return time.Now()
	}
	return o.Now
}

// AnnounceTransport makes the next Noise key and TLS key and certificate
// of the gateway of dir, keeps them in FileTransportKeys, and adds
// next-noise-key and next-tls-pin to its card (written after the keys: a
// card never announces a key the gateway lacks). It returns the identity
// as it now is. Refusals are ErrUsage, saying what to do.
func AnnounceTransport(dir string, o TransportOptions) (*Identity, error) {
	keysMu.Lock()
	defer keysMu.Unlock()
	id, err := LoadIdentity(dir)
	if err != nil {
		return nil, err
	}
	switch {
	case id.Transport.Next != nil && !id.Card.HasNextNoiseKey():
		// An announcement interrupted after the keys were kept: finish it.
		card := *id.Card
		card.NextNoiseKey, card.NextTLSPin = id.Transport.Next.Noise.Public(), id.Transport.Next.Pin
		if err := writeCard(dir, &card); err != nil {
			return nil, err
		}
		return LoadIdentity(dir)
	case id.Transport.Next != nil:
		return nil, fmt.Errorf("%w: a next transport key was announced on %s: ship the card that names it (tollgate card), then run `tollgate keys switch-transport`", ErrUsage, time.Unix(id.Transport.Next.Since, 0).UTC().Format(time.RFC3339))
	case id.Transport.Previous != nil:
		return nil, fmt.Errorf("%w: the previous transport key is still accepted: run `tollgate keys retire-transport` first, once the apps with the card before the switch are updated", ErrUsage)
	}
	next, err := newTransportKey(o.now())
	if err != nil {
		return nil, err
	}
	set := &TransportKeys{Next: next}
	if err := writeTransportKeys(dir, set); err != nil {
		return nil, err
	}
	card := *id.Card
	card.NextNoiseKey, card.NextTLSPin = next.Noise.Public(), next.Pin
	if err := writeCard(dir, &card); err != nil {
		return nil, fmt.Errorf("%w (the next keys are kept: run the command again to finish)", err)
	}
	return LoadIdentity(dir)
}

// SwitchTransport makes the announced next transport keys of dir the
// current ones and the current ones the previous: FileTransportKeys first
// records both, then noise.key, tls.key, tls.crt and the card (its keys
// the new ones, no next-* lines) are replaced, then the next is dropped
// from FileTransportKeys. Each write is atomic; a switch interrupted
// between them is completed by running it again.
func SwitchTransport(dir string, o TransportOptions) (*Identity, error) {
	keysMu.Lock()
	defer keysMu.Unlock()
	set, err := readTransportKeys(dir)
	if err != nil {
		return nil, err
	}
	if set.Next == nil {
		return nil, fmt.Errorf("%w: no next transport key is announced: run `tollgate keys announce-transport`, ship the card it writes, then switch", ErrUsage)
	}
	if set.Previous == nil {
		cur, err := currentTransportKey(dir, o.now().Unix())
		if err != nil {
			return nil, err
		}
		set.Previous = cur
		if err := writeTransportKeys(dir, set); err != nil {
			return nil, err
		}
	}
	n := set.Next
	nb := channel.AppendPrivateKeyFile(nil, n.Noise)
	defer clear(nb)
	kp := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: n.keyDER})
	defer clear(kp)
	for _, f := range []struct {
		name string
		data []byte
	}{
		{FileNoiseKey, nb},
		{FileTLSKey, kp},
		{FileTLSCert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: n.certDER})},
	} {
		if err := atomicfile.Write(filepath.Join(dir, f.name), f.data, FileMode(f.name)); err != nil {
			return nil, fmt.Errorf("gateway: write %s: %w (run the command again to finish the switch)", f.name, err)
		}
	}
	card, err := wire.LoadCard(filepath.Join(dir, FileCard))
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	card.NoiseKey, card.TLSPin = n.Noise.Public(), n.Pin
	card.NextNoiseKey, card.NextTLSPin = [wire.NoiseKeySize]byte{}, [wire.TLSPinSize]byte{}
	if err := writeCard(dir, card); err != nil {
		return nil, fmt.Errorf("%w (run the command again to finish the switch)", err)
	}
	set.Next = nil
	if err := writeTransportKeys(dir, set); err != nil {
		return nil, fmt.Errorf("%w (run the command again to finish the switch)", err)
	}
	return LoadIdentity(dir)
}

// RetireTransport deletes the previous transport keys of dir: from then
// on the gateway accepts only the current ones, and apps whose card names
// only the previous are refused (wrong-server) until they get the new
// card.
func RetireTransport(dir string) (*Identity, error) {
	keysMu.Lock()
	defer keysMu.Unlock()
	id, err := LoadIdentity(dir)
	if err != nil {
		return nil, err
	}
	if id.Transport.Previous == nil {
		if id.Transport.Next != nil {
			return nil, fmt.Errorf("%w: there is no previous transport key to retire; the announced next one is switched to with `tollgate keys switch-transport`", ErrUsage)
		}
		return nil, fmt.Errorf("%w: there is no previous transport key to retire (`tollgate keys transport` shows them)", ErrUsage)
	}
	set := *id.Transport
	set.Previous = nil
	if err := writeTransportKeys(dir, &set); err != nil {
		return nil, err
	}
	return LoadIdentity(dir)
}

// writeCard checks and writes the card of dir atomically.
func writeCard(dir string, card *wire.Card) error {
	text := card.Marshal()
	if _, err := wire.ParseCard(text); err != nil {
		return fmt.Errorf("gateway: the new card does not parse: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(dir, FileCard), text, 0o644); err != nil {
		return fmt.Errorf("gateway: write %s: %w", FileCard, err)
	}
	return nil
}

// TransportList returns the identity's transport keys: public facts only.
func (id *Identity) TransportList() adminapi.TransportKeys {
	out := adminapi.TransportKeys{Keys: []adminapi.TransportKey{{Role: "current", NoiseKey: id.Noise.Public().String(), TLSPin: pinString(id.Pin)}}}
	for _, r := range []struct {
		role string
		k    *TransportKey
	}{{"next", id.Transport.Next}, {"previous", id.Transport.Previous}} {
		if r.k != nil {
			out.Keys = append(out.Keys, adminapi.TransportKey{Role: r.role, NoiseKey: r.k.Noise.Public().String(), TLSPin: pinString(r.k.Pin), Since: r.k.Since})
		}
	}
	return out
}

func pinString(p [32]byte) string { return "sha256/" + base64.StdEncoding.EncodeToString(p[:]) }
