package channel

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base32"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"
)

// certValidity is how long a generated certificate is valid. Clients check
// the pin, not the dates, so the only point of an end is that x509 needs
// one; it is long so that a card never goes stale.
const certValidity = 100 * 365 * 24 * time.Hour

// GenerateCertificate returns a new self-signed ECDSA P-256 certificate for
// the gateway, as a tls.Certificate and PEM encodings of the certificate
// and of its PKCS #8 private key. The card pins its public key (Pin).
func GenerateCertificate() (cert tls.Certificate, certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, nil, fmt.Errorf("channel: generating a TLS key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, nil, nil, fmt.Errorf("channel: generating a serial number: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "tollgate gateway"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(certValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, nil, fmt.Errorf("channel: creating the certificate: %w", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return tls.Certificate{}, nil, nil, fmt.Errorf("channel: encoding the TLS key: %w", err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})
	clear(pkcs8)
	cert, err = tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, nil, nil, fmt.Errorf("channel: loading the certificate: %w", err)
	}
	return cert, certPEM, keyPEM, nil
}

// Pin returns the TLS pin of cert: SHA-256 of its DER-encoded
// SubjectPublicKeyInfo. Pinning the key rather than the certificate lets
// the gateway renew its certificate without a new card. A nil cert has the
// zero pin, which no certificate matches.
func Pin(cert *x509.Certificate) [32]byte {
	if cert == nil {
		return [32]byte{}
	}
	return sha256.Sum256(cert.RawSubjectPublicKeyInfo)
}

// CertificatePin returns the pin of cert's leaf certificate.
func CertificatePin(cert tls.Certificate) ([32]byte, error) {
	if cert.Leaf != nil {
		return Pin(cert.Leaf), nil
	}
	if len(cert.Certificate) == 0 {
		return [32]byte{}, errors.New("channel: TLS certificate has no certificate")
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return [32]byte{}, fmt.Errorf("channel: parsing the TLS certificate: %w", err)
	}
	return Pin(leaf), nil
}

// curves is the only key exchange either side offers or accepts: the
// hybrid of X25519 and ML-KEM-768, so that traffic recorded today stays
// secret from a quantum computer tomorrow. Every client is built from this
// tree, so nothing needs plain X25519; a peer that offers only classical
// groups fails the handshake.
var curves = []tls.CurveID{tls.X25519MLKEM768}

// ServerTLSConfig returns the gateway's TLS configuration: TLS 1.3 only,
// the X25519MLKEM768 key exchange only, ALPN "tollgate/1", presenting
// cert.
func ServerTLSConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{
		Certificates:     []tls.Certificate{cert},
		NextProtos:       []string{ALPN},
		MinVersion:       tls.VersionTLS13,
		CurvePreferences: slices.Clone(curves),
	}
}

// ServerTLSConfigFunc is ServerTLSConfig with the certificate chosen at
// each handshake by choose, which is given the pin the client names in its
// server name (PinServerName), named false when it names none (a client
// built before transport rotation sends the card address's host, or
// nothing). A gateway that holds two certificates during a rotation
// serves each client the one its card pins.
func ServerTLSConfigFunc(choose func(pin [32]byte, named bool) *tls.Certificate) *tls.Config {
	return &tls.Config{
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			pin, named := ParsePinServerName(hello.ServerName)
			if c := choose(pin, named); c != nil {
				return c, nil
			}
			return nil, errors.New("channel: no certificate to present")
		},
		NextProtos:       []string{ALPN},
		MinVersion:       tls.VersionTLS13,
		CurvePreferences: slices.Clone(curves),
	}
}

// pinNameSuffix ends the server name that names a pin. ".invalid" is
// reserved (RFC 2606): the name is never looked up, only read by the
// gateway.
const pinNameSuffix = ".pin.tollgate.invalid"

var pinNameEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// PinServerName returns the TLS server name by which a client names the
// pin it expects: the pin in lowercase base32 (52 characters, one DNS
// label) followed by ".pin.tollgate.invalid". The pin is public (it is in
// the card); the name is sent in the clear in the ClientHello.
func PinServerName(pin [32]byte) string {
	return strings.ToLower(pinNameEncoding.EncodeToString(pin[:])) + pinNameSuffix
}

// ParsePinServerName returns the pin a server name of PinServerName's
// form names, and false for any other name.
func ParsePinServerName(name string) ([32]byte, bool) {
	label, ok := strings.CutSuffix(name, pinNameSuffix)
	if !ok || len(label) != pinNameEncoding.EncodedLen(32) {
		return [32]byte{}, false
	}
	var pin [32]byte
	n, err := pinNameEncoding.Decode(pin[:], []byte(strings.ToUpper(label)))
	if err != nil || n != 32 || PinServerName(pin) != name {
		return [32]byte{}, false
	}
	return pin, true
}

// ClientTLSConfig returns a client TLS configuration that offers only the
// X25519MLKEM768 key exchange and accepts only a server whose
// certificate's public key has pin, or one of more (the card's
// next-tls-pin during a rotation). It names pin in its server name
// (PinServerName), so that a gateway holding two certificates presents
// that one. A handshake with any other server fails with an error
// wrapping ErrPinMismatch.
func ClientTLSConfig(pin [32]byte, more ...[32]byte) *tls.Config {
	pins := append([][32]byte{pin}, more...)
	return &tls.Config{
		// InsecureSkipVerify turns off the Web PKI checks only: a chain to
		// a trusted root, the host name and the validity dates, which a
		// self-signed gateway certificate cannot pass and which the card
		// makes unnecessary. It is not blanket skipping: VerifyConnection
		// runs on every handshake, full or resumed, and fails it unless the
		// leaf certificate's public key hashes to a pin; and TLS 1.3 still
		// requires the server to sign the handshake with that key's private
		// half (CertificateVerify), so presenting a copy of the certificate
		// is not enough. Certificates after the leaf are ignored, not
		// trusted: only the leaf's key signs the handshake.
		InsecureSkipVerify: true,
		ServerName:         PinServerName(pin),
		VerifyConnection: func(cs tls.ConnectionState) error {
			var err error
			for _, p := range pins {
				if err = verifyPin(cs.PeerCertificates, p); err == nil {
					return nil
				}
			}
			return err
		},
		NextProtos:       []string{ALPN},
		MinVersion:       tls.VersionTLS13,
		CurvePreferences: slices.Clone(curves),
	}
}

// verifyPin checks, in constant time, that the leaf certificate's public
// key hashes to pin.
func verifyPin(certs []*x509.Certificate, pin [32]byte) error {
	if len(certs) == 0 {
		return fmt.Errorf("%w: the server sent no certificate", ErrPinMismatch)
	}
	got := Pin(certs[0])
	if pin == ([32]byte{}) || subtle.ConstantTimeCompare(got[:], pin[:]) != 1 {
		return ErrPinMismatch
	}
	return nil
}
