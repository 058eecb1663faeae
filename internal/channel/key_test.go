package channel

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/flynn/noise"
	"github.com/quic-go/quic-go"
)

func TestGenerateKey(t *testing.T) {
	t.Parallel()
	seed := bytes.Repeat([]byte{7}, KeySize)
	k, err := GenerateKey(bytes.NewReader(seed))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k[:], seed) {
		t.Fatalf("GenerateKey did not use its reader")
	}
	// Public agrees with the X25519 that flynn/noise uses.
	kp, err := noise.DH25519.GenerateKeypair(bytes.NewReader(seed))
	if err != nil {
		t.Fatal(err)
	}
	if pub := k.Public(); !bytes.Equal(pub[:], kp.Public) {
		t.Fatalf("Public differs from flynn/noise's public key")
	}
	if _, err := GenerateKey(bytes.NewReader(seed[:5])); err == nil {
		t.Fatalf("GenerateKey with a short reader succeeded")
	}
	a, _ := GenerateKey(nil)
	b, _ := GenerateKey(nil)
	if a.Equal(b) || a.IsZero() {
		t.Fatalf("two random keys are equal or zero")
	}
}

func TestKeyPrinting(t *testing.T) {
	t.Parallel()
	k := testKey(9)
	secret := fmt.Sprintf("%x", k[:])
	for _, s := range []string{
		k.String(), fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %x %X %s %q %d", k, k, k, k, k, k, k, k),
		fmt.Sprintf("%v", Config{Static: k}), fmt.Sprintf("%+v", ServerConfig{Static: k}),
	} {
		if strings.Contains(s, secret) || strings.Contains(s, secret[:8]) || !strings.Contains(s, "noisepriv:REDACTED") {
			t.Errorf("a private key printed as %q", s)
		}
	}
	if _, err := json.Marshal(Config{Static: k}); err == nil {
		t.Errorf("a private key was marshalled to JSON")
	}
	pub := k.Public()
	if s := pub.String(); !strings.HasPrefix(s, "noisepub:") {
		t.Errorf("public key printed as %q", s)
	}
	got, err := ParsePublicKey(pub.String())
	if err != nil || got != pub {
		t.Fatalf("ParsePublicKey(String()): %v", err)
	}
	var viaText PublicKey
	text, _ := pub.MarshalText()
	if err := viaText.UnmarshalText(text); err != nil || viaText != pub {
		t.Fatalf("text round trip: %v", err)
	}
	enc := strings.TrimPrefix(pub.String(), "noisepub:")
	for _, bad := range []string{
		"", enc, "noisepub:", "noisepriv:" + enc, "noisepub:" + enc[:len(enc)-1],
		"noisepub:" + enc + "=", "noisepub:" + enc[:len(enc)-2] + "B=", // padding bits set
		"noisepub:" + enc[:20] + "\n" + enc[21:], "noisepub:" + enc[:20] + "*" + enc[21:],
	} {
		if k, err := ParsePublicKey(bad); !errors.Is(err, ErrKey) {
			t.Errorf("ParsePublicKey(%q) = %v, %v; want ErrKey", bad, k, err)
		}
	}
}

func TestKeyEqualAndID(t *testing.T) {
	t.Parallel()
	a, b := testKey(1), testKey(1)
	if !a.Equal(b) || a.Equal(testKey(2)) {
		t.Fatalf("PrivateKey.Equal is wrong")
	}
	p := a.Public()
	if !p.Equal(b.Public()) || p.Equal(testKey(2).Public()) {
		t.Fatalf("PublicKey.Equal is wrong")
	}
	h := sha256.Sum256(p[:])
	if id := p.ID(); !bytes.Equal(id[:], h[:KeyIDSize]) {
		t.Fatalf("ID is not the first 8 bytes of SHA-256 of the key")
	}
}

func TestPrivateKeyFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "noise.key")
	k := testKey(5)
	if err := WritePrivateKeyFile(path, k); err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
		}
	}
	got, err := ReadPrivateKeyFile(path)
	if err != nil || !got.Equal(k) {
		t.Fatalf("ReadPrivateKeyFile: %v", err)
	}
	if err := WritePrivateKeyFile(path, testKey(6)); !errors.Is(err, os.ErrExist) {
		t.Fatalf("overwriting a key file: %v, want os.ErrExist", err)
	}
	if got, _ := ReadPrivateKeyFile(path); !got.Equal(k) {
		t.Fatalf("the key file changed after a refused overwrite")
	}

	raw, _ := os.ReadFile(path)
	line := raw[bytes.Index(raw, []byte("noisepriv:")):]
	body := strings.TrimSuffix(string(line), "\n")
	for name, content := range map[string]string{
		"crlf":              "# c\r\n\r\n" + body + "\r\n",
		"no final line end": body,
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o600)
		if got, err := ReadPrivateKeyFile(p); err != nil || !got.Equal(k) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, content := range map[string]string{
		"empty":        "",
		"comment only": "# nothing\n",
		"two keys":     body + "\n" + body + "\n",
		"no prefix":    strings.TrimPrefix(body, "noisepriv:") + "\n",
		"public key":   testKey(5).Public().String() + "\n",
		"short":        body[:len(body)-4] + "\n",
		"spaces":       body + " \n",
		"too big":      strings.Repeat("#", 2000) + "\n" + body,
	} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
		os.WriteFile(p, []byte(content), 0o600)
		_, err := ReadPrivateKeyFile(p)
		if !errors.Is(err, ErrKeyFile) {
			t.Errorf("%s: %v, want ErrKeyFile", name, err)
		} else if strings.Contains(err.Error(), strings.TrimPrefix(body, "noisepriv:")[:10]) {
			t.Errorf("%s: the error quotes the key", name)
		}
	}
	if _, err := ReadPrivateKeyFile(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want os.ErrNotExist", err)
	}
}

func TestPin(t *testing.T) {
	t.Parallel()
	cert, certPEM, keyPEM, err := GenerateCertificate()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(certPEM, []byte("BEGIN CERTIFICATE")) || !bytes.Contains(keyPEM, []byte("BEGIN PRIVATE KEY")) {
		t.Fatalf("PEM blocks missing")
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if leaf.NotAfter.Before(time.Now().Add(50 * 365 * 24 * time.Hour)) {
		t.Errorf("certificate expires %v, want a long validity", leaf.NotAfter)
	}
	pin := Pin(leaf)
	if pin != sha256.Sum256(leaf.RawSubjectPublicKeyInfo) {
		t.Fatalf("Pin is not SHA-256 of the SubjectPublicKeyInfo")
	}
	cert.Leaf = nil
	if got, err := CertificatePin(cert); err != nil || got != pin {
		t.Fatalf("CertificatePin: %v", err)
	}
	if err := verifyPin([]*x509.Certificate{leaf}, pin); err != nil {
		t.Fatalf("verifyPin with the right pin: %v", err)
	}
	other, _, _, _ := GenerateCertificate()
	for name, tc := range map[string]struct {
		certs []*x509.Certificate
		pin   [32]byte
	}{
		"no certificate": {nil, pin},
		"other leaf":     {[]*x509.Certificate{other.Leaf, leaf}, pin},
		"zero pin":       {[]*x509.Certificate{leaf}, [32]byte{}},
	} {
		if err := verifyPin(tc.certs, tc.pin); !errors.Is(err, ErrPinMismatch) {
			t.Errorf("%s: %v, want ErrPinMismatch", name, err)
		}
	}
	if Pin(nil) != ([32]byte{}) {
		t.Errorf("Pin(nil) is not zero")
	}
	c := ClientTLSConfig(pin)
	if c.MinVersion != 0x0304 || len(c.NextProtos) != 1 || c.NextProtos[0] != ALPN || c.VerifyConnection == nil {
		t.Errorf("ClientTLSConfig: TLS 1.3 only, ALPN %q and a VerifyConnection callback expected", ALPN)
	}
	s := ServerTLSConfig(cert)
	if s.MinVersion != 0x0304 || len(s.NextProtos) != 1 || s.NextProtos[0] != ALPN {
		t.Errorf("ServerTLSConfig: TLS 1.3 only and ALPN %q expected", ALPN)
	}
}

func TestLimits(t *testing.T) {
	t.Parallel()
	d := Limits{}.WithDefaults()
	want := Limits{5 * time.Second, 60 * time.Second, 16, 1 << 20, 1 << 40, 10 * time.Second, 5 * time.Minute}
	if d != want {
		t.Fatalf("defaults %+v, want %+v", d, want)
	}
	set := Limits{time.Second, time.Minute, 3, 100, 7, time.Second, time.Hour}
	if set.WithDefaults() != set {
		t.Fatalf("WithDefaults changed set fields")
	}
	for _, bad := range []Limits{
		{HandshakeTimeout: -1}, {IdleTimeout: -1}, {MaxStreamsPerConn: -1},
		{MaxFrameSize: -1}, {MaxFrameSize: MaxFrameSize + 1}, {MaxMessages: MaxMessagesCeiling + 1},
		{FrameTimeout: -1}, {SessionIdleTimeout: -1},
	} {
		if err := bad.Validate(); !errors.Is(err, ErrLimits) {
			t.Errorf("Validate(%+v) = %v, want ErrLimits", bad, err)
		}
	}
	if err := (Limits{}).Validate(); err != nil {
		t.Errorf("zero Limits: %v", err)
	}
	q := set.QUICConfig()
	if q.HandshakeIdleTimeout != time.Second || q.MaxIdleTimeout != time.Minute || q.MaxIncomingStreams != 3 || q.MaxIncomingUniStreams != -1 || q.KeepAlivePeriod != 0 {
		t.Errorf("QUICConfig %+v does not follow the limits", q)
	}
	var _ *quic.Config = q
}
