package wire

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"iter"
	"slices"

	"github.com/tollgate/tollgate/keygen/composite"
)

// Lease format constants. Part of the wire format.
const (
	// LeaseMagic opens every encoded lease.
	LeaseMagic = "TGLS"
	// LeaseVersion is the lease version of a lease without messages or a
	// key statement. A lease of a version this package does not know is
	// refused, never guessed at.
	LeaseVersion = 1
	// LeaseVersion2 is the version of a lease that carries the product's
	// messages or a key statement (Lease.Messages, Lease.Statement): the
	// fields of version 1, then those two, each after its 2-byte length.
	LeaseVersion2 = 2
	// MaxLeaseMessages is the most bytes of Lease.Messages.
	MaxLeaseMessages = 6144
	// MaxLeaseStatement is the most bytes of Lease.Statement.
	MaxLeaseStatement = 4096
	// LeaseBatched is the bit of the version byte that marks a
	// batch-signed lease (LeaseProof): the version byte of such a lease
	// is LeaseVersion|LeaseBatched or LeaseVersion2|LeaseBatched. A
	// parser that knows only versions 1 and 2 refuses it as an unknown
	// version.
	LeaseBatched = 0x80
	// LeaseContext is the composite signature context of a lease, so that a
	// lease signature can never be taken for a signature over anything else
	// the same key might sign.
	LeaseContext = "tollgate-lease-v1"
	// MaxBundle is the most further product codes a lease may carry.
	MaxBundle = 15
	// InstallKeyHashSize is the size of the install key hash: SHA-256 of
	// the client's Noise static public key.
	InstallKeyHashSize = 32
)

// leaseFixed is the size of the fixed fields from the magic to the nonce.
const leaseFixed = len(LeaseMagic) + 1 + LicenseIDSize + ProductSize + InstallKeyHashSize +
	8 + 8 + 8 + 1 + 8 + 8 + 8 + 8 + NonceSize

// leaseContext is LeaseContext as the bytes Sign and Verify take.
var leaseContext = []byte(LeaseContext)

// LeaseLevel is a lease's validation level: how much an app may rely on the
// lease alone. The values are part of the wire format.
type LeaseLevel uint8

// Validation levels. Part of the wire format.
const (
	// LevelLeaseOnly: the lease alone is enough until it expires.
	LevelLeaseOnly LeaseLevel = 1
	// LevelCheckWhenOnline: the lease, plus a server check when the server
	// is reachable, at most once a day.
	LevelCheckWhenOnline LeaseLevel = 2
	// LevelCheckRequired: a server check is required by OnlineBy; the app
	// warns its user from WarnFrom.
	LevelCheckRequired LeaseLevel = 3
	// LevelFloating: a floating seat's lease. The seat is checked out
	// until LeaseExpiry and renewed by heartbeats; offline, the lease is
	// good until then and no longer.
	LevelFloating LeaseLevel = 4
)

var leaseLevelNames = [...]string{
	LevelLeaseOnly:       "lease-only",
	LevelCheckWhenOnline: "check-when-online",
	LevelCheckRequired:   "check-required",
	LevelFloating:        "floating",
}

// String returns the level's name, such as "check-required".
func (v LeaseLevel) String() string {
	if v.Known() {
		return leaseLevelNames[v]
	}
	return fmt.Sprintf("LeaseLevel(%d)", uint8(v))
}

// Known reports whether v is a level this version of the protocol defines.
func (v LeaseLevel) Known() bool { return int(v) < len(leaseLevelNames) && leaseLevelNames[v] != "" }

// Lease is the signed offline license file: what an app keeps so that it
// can check its license without the server. The gateway signs it with a
// composite (ML-DSA + Ed25519) key; the app holds only public keys.
//
// Encoding (part of the wire format; integers big-endian, times int64 Unix
// seconds):
//
//	 0       4     5                   21            26                         58
//	+-------+-----+-------------------+-------------+--------------------------+
//	| magic | ver | license id (16)   | product (5) | install key hash (32)    |
//	+-------+-----+-------------------+-------------+--------------------------+
//	 58           66                 74                    82      83
//	+------------+------------------+---------------------+-------+
//	| issued (8) | lease expiry (8) | license expiry (8)  | level |
//	+------------+------------------+---------------------+-------+
//	 83              91               99            107               115           131
//	+---------------+----------------+-------------+-----------------+-------------+
//	| online-by (8) | warn-from (8)  | counter (8) | server time (8) | nonce (16)  |
//	+---------------+----------------+-------------+-----------------+-------------+
//	 131
//	+----+--------------+--------------+-------------+--------+-------------+-----------+
//	| nb | bundle (5nb) | entitlements | fingerprint | scheme | key id (8)  | signature |
//	+----+--------------+--------------+-------------+--------+-------------+-----------+
//	  u8   0..15 codes    see             1+9n          u8                    2484 or 3373
//	                      Entitlements
//
// The magic is LeaseMagic and ver is LeaseVersion. A version 2 lease
// (LeaseVersion2) has two more fields between the fingerprint and the
// scheme: messages and statement, each a 2-byte length and its bytes, not
// both empty; a lease with neither is always version 1. The bundle lists further
// product codes the license covers, in strictly ascending order and without
// the lease's own product, so each bundle has one encoding. The fingerprint
// is the machine's, with its components, so that an app offline applies the
// same majority match as the gateway. Scheme is the composite.Scheme of the
// signature, which fixes its size; key id is the signing key's
// composite.PublicKey.ID. The signature covers every byte before it, from
// the magic to the key id, under the context LeaseContext.
//
// A batch-signed lease (SignLeaseBatch: the gateway signs up to
// MaxLeaseBatch leases with one signature when they arrive faster than it
// signs) has the bit LeaseBatched set in its version byte (0x81 or 0x82),
// which a parser of versions 1 and 2 alone refuses as an unknown version;
// between its key id and its signature comes its proof (LeaseProof: batch
// size, index, path), and its signature is of the batch's Merkle root under
// the context LeaseBatchContext. The flag is a bit beside the version, not
// further version numbers, because the two say different things: what the
// lease holds (1 or 2) and how it is signed. A lease signed alone is
// encoded exactly as before batches existed.
//
// Field rules, checked by ParseLease and Check: product and bundle codes in
// 0-9A-Z; issued > 0; lease expiry > issued; license expiry 0 (perpetual)
// or not before the lease expiry, so that a lease never outlives its
// license; server time > 0; a known level; at levels 1 and 2, online-by and
// warn-from zero (ErrNonCanonical); at level 3, online-by > 0 and warn-from
// either zero (no warning) or in 1..online-by.
type Lease struct {
	LicenseID      [LicenseIDSize]byte
	Product        [ProductSize]byte
	InstallKeyHash [InstallKeyHashSize]byte // SHA-256 of the install's Noise static public key
	Issued         int64                    // when the lease was issued
	LeaseExpiry    int64                    // when the lease stops being good offline
	LicenseExpiry  int64                    // when the license ends; 0 for perpetual
	Level          LeaseLevel
	OnlineBy       int64  // level 3: a server check is required by then; else 0
	WarnFrom       int64  // level 3: warn the user from then; 0 for no warning
	Counter        uint64 // the validation counter this lease answers
	ServerTime     int64  // the server's clock when it signed, for the app's clock ratchet
	Nonce          [NonceSize]byte
	// Bundle holds further product codes, ProductSize bytes each, strictly
	// ascending; see Products and NewLeaseBundle. Parsed, it points into
	// the input.
	Bundle       []byte
	Entitlements Entitlements
	Fingerprint  Fingerprint
	// Messages is the product's localized message overrides (at most
	// MaxLeaseMessages bytes), so that an app offline shows the
	// publisher's words; Statement is a key-rotation statement (at most
	// MaxLeaseStatement bytes) that introduces the key signing this lease.
	// Each is opaque here and may be empty; a lease with either is
	// encoded as version 2. Parsed, they point into the input.
	Messages  []byte
	Statement []byte
	Scheme    composite.Scheme       // set by SignLease
	KeyID     [composite.IDSize]byte // set by SignLease
	// Proof is the lease's place in the batch whose root Sig signs (set
	// by SignLeaseBatch); zero for a lease signed alone.
	Proof LeaseProof
	Sig   []byte // set by SignLease; parsed, it points into the input
}

// ParseLease parses an encoded lease, which must be all of b, and returns it
// with len(b). It checks the structure and the field rules, not the
// signature: use VerifyLease for a lease from anywhere but memory the
// caller just verified. Bundle, Entitlements and Sig point into b. It
// never allocates when it succeeds.
func ParseLease(b []byte) (Lease, int, error) {
	if !bytes.HasPrefix(b, []byte(LeaseMagic)) {
		if len(b) < len(LeaseMagic) && bytes.HasPrefix([]byte(LeaseMagic), b) {
			return Lease{}, 0, ErrShort
		}
		return Lease{}, 0, ErrLeaseMagic
	}
	var l Lease
	d := decoder{b: b, off: len(LeaseMagic)}
	mark := d.u8()
	v := mark &^ LeaseBatched
	if d.err == nil && v != LeaseVersion && v != LeaseVersion2 {
		return Lease{}, 0, fmt.Errorf("%w: lease version %d", ErrUnsupportedVersion, mark)
	}
	d.copy(l.LicenseID[:])
	d.copy(l.Product[:])
	d.copy(l.InstallKeyHash[:])
	l.Issued = d.i64()
	l.LeaseExpiry = d.i64()
	l.LicenseExpiry = d.i64()
	l.Level = LeaseLevel(d.u8())
	l.OnlineBy = d.i64()
	l.WarnFrom = d.i64()
	l.Counter = d.u64()
	l.ServerTime = d.i64()
	d.copy(l.Nonce[:])
	l.Bundle = d.take(int(d.u8()) * ProductSize)
	l.Entitlements = sub(&d, "lease entitlements", ParseEntitlements)
	l.Fingerprint = sub(&d, "lease fingerprint", ParseFingerprint)
	if v == LeaseVersion2 {
		l.Messages = d.take(int(d.u16()))
		l.Statement = d.take(int(d.u16()))
		if d.err == nil && len(l.Messages) == 0 && len(l.Statement) == 0 {
			return Lease{}, 0, fmt.Errorf("%w: version 2 lease without messages or statement", ErrNonCanonical)
		}
	}
	l.Scheme = composite.Scheme(d.u8())
	d.copy(l.KeyID[:])
	if d.err == nil && !l.Scheme.Known() {
		return Lease{}, 0, fmt.Errorf("%w: lease signature scheme %d", ErrInvalidField, uint8(l.Scheme))
	}
	if mark&LeaseBatched != 0 {
		if err := l.Proof.parse(&d); err != nil {
			return Lease{}, 0, err
		}
	}
	l.Sig = d.take(l.Scheme.SignatureSize())
	if err := d.end(); err != nil {
		return Lease{}, 0, err
	}
	if err := l.checkFields(); err != nil {
		return Lease{}, 0, err
	}
	return l, len(b), nil
}

// Check reports whether ParseLease would accept l's encoding: the field
// rules, a well-formed proof if it has one, and a signature of the size its
// scheme gives. It does not verify the signature.
func (l Lease) Check() error {
	if err := l.checkFields(); err != nil {
		return err
	}
	if err := l.Proof.check(); err != nil {
		return err
	}
	if len(l.Sig) != l.Scheme.SignatureSize() {
		return fmt.Errorf("%w: lease signature is %d bytes, %v needs %d", ErrInvalidField, len(l.Sig), l.Scheme, l.Scheme.SignatureSize())
	}
	return nil
}

// checkFields checks every field but Sig.
func (l *Lease) checkFields() error {
	if err := checkKeyChars("lease product", l.Product[:]); err != nil {
		return err
	}
	if err := checkLeaseBundle(l.Bundle, l.Product); err != nil {
		return err
	}
	if err := checkFingerprint(&l.Fingerprint); err != nil {
		return err
	}
	switch {
	case l.Issued <= 0:
		return fmt.Errorf("%w: lease issue time %d", ErrInvalidField, l.Issued)
	case l.LeaseExpiry <= l.Issued:
		return fmt.Errorf("%w: lease expires before it is issued", ErrInvalidField)
	case l.LicenseExpiry != 0 && l.LicenseExpiry < l.LeaseExpiry:
		return fmt.Errorf("%w: lease expires after its license", ErrInvalidField)
	case l.ServerTime <= 0:
		return fmt.Errorf("%w: lease server time %d", ErrInvalidField, l.ServerTime)
	case !l.Level.Known():
		return fmt.Errorf("%w: lease level %d", ErrInvalidField, uint8(l.Level))
	case len(l.Messages) > MaxLeaseMessages:
		return fmt.Errorf("%w: lease messages of %d bytes > %d", ErrInvalidField, len(l.Messages), MaxLeaseMessages)
	case len(l.Statement) > MaxLeaseStatement:
		return fmt.Errorf("%w: lease key statement of %d bytes > %d", ErrInvalidField, len(l.Statement), MaxLeaseStatement)
	case l.Level != LevelCheckRequired && (l.OnlineBy != 0 || l.WarnFrom != 0):
		return fmt.Errorf("%w: lease online-by or warn-from set at level %v", ErrNonCanonical, l.Level)
	case l.Level == LevelCheckRequired && l.OnlineBy <= 0:
		return fmt.Errorf("%w: level %v lease without an online-by time", ErrInvalidField, l.Level)
	case l.Level == LevelCheckRequired && (l.WarnFrom < 0 || l.WarnFrom > l.OnlineBy):
		return fmt.Errorf("%w: lease warn-from after online-by", ErrInvalidField)
	case !l.Scheme.Known():
		return fmt.Errorf("%w: lease signature scheme %d", ErrInvalidField, int(l.Scheme))
	}
	return nil
}

// checkLeaseBundle checks a raw bundle: whole product codes, at most
// MaxBundle, each in 0-9A-Z, strictly ascending and not the lease's own
// product.
func checkLeaseBundle(raw []byte, product [ProductSize]byte) error {
	if len(raw)%ProductSize != 0 || len(raw) > MaxBundle*ProductSize {
		return fmt.Errorf("%w: lease bundle of %d bytes", ErrInvalidField, len(raw))
	}
	if err := checkKeyChars("lease bundle", raw); err != nil {
		return err
	}
	for i := 0; i < len(raw); i += ProductSize {
		code := raw[i : i+ProductSize]
		if string(code) == string(product[:]) {
			return fmt.Errorf("%w: lease bundle repeats the lease's product", ErrNonCanonical)
		}
		if i > 0 && string(raw[i-ProductSize:i]) >= string(code) {
			return fmt.Errorf("%w: lease bundle codes not strictly ascending", ErrNonCanonical)
		}
	}
	return nil
}

// NewLeaseBundle returns the Bundle field for the given product codes, in
// any order. It fails on a code outside 0-9A-Z, a repeated code and more
// than MaxBundle codes; the codes must not include the lease's own product
// (SignLease refuses that). Unlike the parser it allocates: it is for the
// gateway building a lease.
func NewLeaseBundle(codes ...[ProductSize]byte) ([]byte, error) {
	if len(codes) > MaxBundle {
		return nil, fmt.Errorf("%w: %d bundle codes > %d", ErrInvalidField, len(codes), MaxBundle)
	}
	sorted := slices.SortedFunc(slices.Values(codes), func(a, b [ProductSize]byte) int {
		return bytes.Compare(a[:], b[:])
	})
	raw := make([]byte, 0, len(sorted)*ProductSize)
	for i, c := range sorted {
		if i > 0 && c == sorted[i-1] {
			return nil, fmt.Errorf("%w: bundle code repeated", ErrInvalidField)
		}
		raw = append(raw, c[:]...)
	}
	if err := checkKeyChars("lease bundle", raw); err != nil {
		return nil, err
	}
	return raw, nil
}

// Products yields the lease's product, then each bundle code in ascending
// order.
func (l *Lease) Products() iter.Seq[[ProductSize]byte] {
	return func(yield func([ProductSize]byte) bool) {
		if !yield(l.Product) {
			return
		}
		for i := 0; i+ProductSize <= len(l.Bundle); i += ProductSize {
			if !yield([ProductSize]byte(l.Bundle[i : i+ProductSize])) {
				return
			}
		}
	}
}

// HasProduct reports whether the lease covers the product code: its own
// product or one in its bundle.
func (l *Lease) HasProduct(code [ProductSize]byte) bool {
	for c := range l.Products() {
		if c == code {
			return true
		}
	}
	return false
}

// signedLen is the size of the lease's own bytes, from the magic to the
// key id: what the signature covers, or for a batch-signed lease, the leaf.
func (l *Lease) signedLen() int {
	n := leaseFixed + 1 + len(l.Bundle) + l.Entitlements.Len() + l.Fingerprint.Len() + 1 + composite.IDSize
	if l.version() == LeaseVersion2 {
		n += 2 + len(l.Messages) + 2 + len(l.Statement)
	}
	return n
}

// version returns the version l is encoded as, without LeaseBatched.
func (l *Lease) version() uint8 {
	if len(l.Messages) > 0 || len(l.Statement) > 0 {
		return LeaseVersion2
	}
	return LeaseVersion
}

// marker returns the version byte of l's encoding: its version, with
// LeaseBatched when it has a proof.
func (l *Lease) marker() uint8 {
	if l.Proof.Size != 0 {
		return l.version() | LeaseBatched
	}
	return l.version()
}

// Len returns the encoded size.
func (l Lease) Len() int { return l.signedLen() + l.Proof.len() + len(l.Sig) }

// Append appends the encoding of l, proof and signature included, to b.
// It encodes l as it is: check a lease built by hand with Check
// (SignLease does).
func (l Lease) Append(b []byte) []byte {
	return append(l.Proof.append(l.appendSigned(b)), l.Sig...)
}

// appendSigned appends the bytes the signature covers.
func (l *Lease) appendSigned(b []byte) []byte {
	b = append(b, LeaseMagic...)
	b = append(b, l.marker())
	b = append(b, l.LicenseID[:]...)
	b = append(b, l.Product[:]...)
	b = append(b, l.InstallKeyHash[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(l.Issued))
	b = binary.BigEndian.AppendUint64(b, uint64(l.LeaseExpiry))
	b = binary.BigEndian.AppendUint64(b, uint64(l.LicenseExpiry))
	b = append(b, byte(l.Level))
	b = binary.BigEndian.AppendUint64(b, uint64(l.OnlineBy))
	b = binary.BigEndian.AppendUint64(b, uint64(l.WarnFrom))
	b = binary.BigEndian.AppendUint64(b, l.Counter)
	b = binary.BigEndian.AppendUint64(b, uint64(l.ServerTime))
	b = append(b, l.Nonce[:]...)
	b = append(b, byte(len(l.Bundle)/ProductSize))
	b = append(b, l.Bundle...)
	b = l.Entitlements.Append(b)
	b = l.Fingerprint.Append(b)
	if l.version() == LeaseVersion2 {
		b = binary.BigEndian.AppendUint16(b, uint16(len(l.Messages)))
		b = append(b, l.Messages...)
		b = binary.BigEndian.AppendUint16(b, uint16(len(l.Statement)))
		b = append(b, l.Statement...)
	}
	b = append(b, byte(l.Scheme))
	return append(b, l.KeyID[:]...)
}

// SignLease sets l.Scheme and l.KeyID from k, checks l, signs it and returns
// the encoding; l.Sig then points into the encoding. It refuses (with the
// error ParseLease would give) a lease no app could read, so the gateway
// never signs what a client rejects. On error l is unchanged.
func SignLease(l *Lease, k *composite.PrivateKey) ([]byte, error) {
	pub := k.Public()
	if pub == nil {
		return nil, fmt.Errorf("wire: signing lease: %w", composite.ErrNilKey)
	}
	u := *l
	u.Scheme, u.KeyID, u.Proof, u.Sig = pub.Scheme(), pub.ID(), LeaseProof{}, nil
	if err := u.checkFields(); err != nil {
		return nil, err
	}
	b := u.appendSigned(make([]byte, 0, u.signedLen()+u.Scheme.SignatureSize()))
	sig, err := k.Sign(b, leaseContext)
	if err != nil {
		return nil, fmt.Errorf("wire: signing lease: %w", err)
	}
	b = append(b, sig...)
	u.Sig = b[len(b)-len(sig):]
	*l = u
	return b, nil
}

// VerifyLease parses an encoded lease, which must be all of b, finds the
// key that signed it among keys by its ID and verifies the signature: of
// the lease alone, or for a batch-signed lease, of the root its proof
// leads to (LeaseProof). It returns ErrLeaseKey when no key has the
// lease's key id and ErrLeaseSignature when the signature does not
// verify; parse errors as ParseLease. The lease's slices point into b. It
// checks nothing about time, fingerprint or install key: that is the
// caller's policy.
func VerifyLease(b []byte, keys []*composite.PublicKey) (Lease, error) {
	l, n, err := ParseLease(b)
	if err != nil {
		return Lease{}, err
	}
	signed, ctx := b[:n-len(l.Sig)], leaseContext
	if l.Proof.Size != 0 {
		var msg [batchMessageSize]byte
		signed, ctx = l.Proof.message(&msg, b[:l.signedLen()]), leaseBatchContext
	}
	found := false
	for _, k := range keys {
		if k == nil || k.ID() != l.KeyID {
			continue
		}
		found = true
		if k.Verify(signed, ctx, l.Sig) {
			return l, nil
		}
	}
	if !found {
		return Lease{}, ErrLeaseKey
	}
	return Lease{}, ErrLeaseSignature
}
