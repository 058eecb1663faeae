package gateway

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tollgate/tollgate/gateway/adminapi"
	"github.com/tollgate/tollgate/internal/atomicfile"
	"github.com/tollgate/tollgate/keygen/composite"
	"github.com/tollgate/tollgate/service"
	"github.com/tollgate/tollgate/wire"
)

// Lease key rotation. The lease key file (FileLeaseKey) holds the key set:
// the key that signs leases now, the statement that introduced it (signed
// by the key before it), and the public halves of the earlier keys, newest
// first, each with the date after which apps stop trusting it for new
// leases. Version 1 of the file, which gateways wrote before rotation, is a
// set of one key. Version 2 (part of the data directory's format):
//
//	tollgate-lease-key 2
//	<scheme> <base64 of the current private key>
//	statement <base64 of the wire.KeyStatement introducing the current key>
//	earlier <scheme> <base64 of an earlier public key> <retire-after, Unix seconds; 0: none>
//	...
//
// A rotation replaces the file in one atomic write, after the card (which
// lists every key of the set, the new one first): a crash between the two
// leaves a card listing one key more, never a key the card lacks.

// Rotation limits.
const (
	// MaxEarlierLeaseKeys bounds the earlier keys a set keeps (and a card
	// lists): a rotation past it is refused until keys are dropped.
	MaxEarlierLeaseKeys = 8
	// DefaultRetireAfter is how long after a rotation the earlier key
	// retires unless the operator says otherwise.
	DefaultRetireAfter = 90 * 24 * time.Hour
)

// LeaseKeySet is the set of lease keys of a gateway.
type LeaseKeySet struct {
	// Current signs leases.
	Current *composite.PrivateKey
	// Statement introduces Current, signed by Earlier[0]; nil when there
	// was no rotation. From is the statement's start (Unix seconds).
	Statement []byte
	From      int64
	// Earlier are the keys before Current, newest first.
	Earlier []EarlierLeaseKey
}

// EarlierLeaseKey is a key that signed leases before the current one.
type EarlierLeaseKey struct {
	Key *composite.PublicKey
	// RetireAfter is when apps stop trusting it for new leases (Unix
	// seconds); 0 for never.
	RetireAfter int64
}

// signer returns the lease signer of the set: the current key with its
// statement; leases issued before the rotation are re-signed at their next
// validation.
func (s *LeaseKeySet) signer() *service.LeaseSigner {
	return service.NewLeaseSigner(s.Current, s.Statement, s.since())
}

// since is the time before which a lease was signed by an earlier key: one
// second after the rotation (lease times are whole seconds), 0 for none.
func (s *LeaseKeySet) since() int64 {
	if s.Statement == nil {
		return 0
	}
	return s.From + 1
}

// marshal encodes the set in the lease key file's format: version 1 for a
// set of one (as gateways before rotation wrote it), else version 2.
func (s *LeaseKeySet) marshal() []byte {
	enc := base64.StdEncoding
	key := schemeName(s.Current.Scheme()) + " " + enc.EncodeToString(s.Current.Bytes()) + "\n"
	if s.Statement == nil && len(s.Earlier) == 0 {
		return []byte("tollgate-lease-key 1\n" + key)
	}
	var b strings.Builder
	b.WriteString("tollgate-lease-key 2\n" + key)
	b.WriteString("statement " + enc.EncodeToString(s.Statement) + "\n")
	for _, e := range s.Earlier {
		fmt.Fprintf(&b, "earlier %s %s %d\n", schemeName(e.Key.Scheme()), enc.EncodeToString(e.Key.Bytes()), e.RetireAfter)
	}
	return []byte(b.String())
}

// readLeaseKeySet reads the lease key file at path, of either version. It
// is strict: anything but the lines above, a statement that does not
// introduce the current key or is not signed by the newest earlier key, or
// a key twice, is ErrIdentityCorrupt.
func readLeaseKeySet(path string) (*LeaseKeySet, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	corrupt := func(what string) error {
		return fmt.Errorf("%w: %s: %s (restore it from a backup of the data directory)", ErrIdentityCorrupt, path, what)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	head := strings.TrimSpace(lines[0])
	if head == "tollgate-lease-key 1" {
		k, err := readLeaseKey(path)
		if err != nil {
			return nil, err
		}
		return &LeaseKeySet{Current: k}, nil
	}
	if head != "tollgate-lease-key 2" || len(lines) < 4 {
		return nil, fmt.Errorf("%w: %s is not a lease key file", ErrIdentityCorrupt, path)
	}
	f := strings.Fields(lines[1])
	if len(f) != 2 {
		return nil, corrupt(`want "SCHEME BASE64" on line 2`)
	}
	s, ok := fileScheme(f[0])
	if !ok {
		return nil, corrupt("line 2: unknown scheme")
	}
	b, err := base64.StdEncoding.Strict().DecodeString(f[1])
	if err != nil {
		return nil, corrupt("the key is not base64")
	}
	set := &LeaseKeySet{}
	if set.Current, err = composite.ParsePrivateKey(s, b); err != nil {
		return nil, fmt.Errorf("gateway: %s: %w", path, err)
	}
	f = strings.Fields(lines[2])
	if len(f) != 2 || f[0] != "statement" {
		return nil, corrupt("line 3 is not the statement")
	}
	if set.Statement, err = base64.StdEncoding.Strict().DecodeString(f[1]); err != nil {
		return nil, corrupt("the statement is not base64")
	}
	for i, line := range lines[3:] {
		f := strings.Fields(line)
		if len(f) != 4 || f[0] != "earlier" {
			return nil, corrupt(fmt.Sprintf("line %d is not an earlier key", i+4))
		}
		s, ok := fileScheme(f[1])
		if !ok {
			return nil, corrupt(fmt.Sprintf("line %d: unknown scheme", i+4))
		}
		b, err := base64.StdEncoding.Strict().DecodeString(f[2])
		if err != nil {
			return nil, corrupt(fmt.Sprintf("line %d: the key is not base64", i+4))
		}
		k, err := composite.ParsePublicKey(s, b)
		if err != nil {
			return nil, corrupt(fmt.Sprintf("line %d: %v", i+4, err))
		}
		r, err := strconv.ParseInt(f[3], 10, 64)
		if err != nil || r < 0 || strconv.FormatInt(r, 10) != f[3] {
			return nil, corrupt(fmt.Sprintf("line %d: bad retire-after time", i+4))
		}
		if k.Equal(set.Current.Public()) || set.hasEarlier(k.ID()) {
			return nil, corrupt(fmt.Sprintf("line %d: a key listed twice", i+4))
		}
		set.Earlier = append(set.Earlier, EarlierLeaseKey{Key: k, RetireAfter: r})
	}
	if len(set.Earlier) > MaxEarlierLeaseKeys {
		return nil, corrupt("too many earlier keys")
	}
	st, err := wire.VerifyKeyStatement(set.Statement, []*composite.PublicKey{set.Earlier[0].Key})
	if err != nil || !st.NewKey.Equal(set.Current.Public()) {
		return nil, corrupt("the statement does not introduce the key by the one before it")
	}
	set.From = st.From
	return set, nil
}

// fileScheme reads a scheme as the lease key file spells it, exactly.
func fileScheme(name string) (composite.Scheme, bool) {
	for _, s := range []composite.Scheme{composite.MLDSA44Ed25519, composite.MLDSA65Ed25519} {
		if schemeName(s) == name {
			return s, true
		}
	}
	return 0, false
}

func (s *LeaseKeySet) hasEarlier(id [composite.IDSize]byte) bool {
	for _, e := range s.Earlier {
		if e.Key.ID() == id {
			return true
		}
	}
	return false
}

// cardOf returns card with the set's lease keys, the current one first,
// and their retire dates.
func (s *LeaseKeySet) cardOf(card wire.Card) wire.Card {
	card.LeaseKeys = []*composite.PublicKey{s.Current.Public()}
	card.Retire = nil
	for _, e := range s.Earlier {
		card.LeaseKeys = append(card.LeaseKeys, e.Key)
		if e.RetireAfter != 0 {
			card.Retire = append(card.Retire, wire.CardRetire{KeyID: e.Key.ID(), After: e.RetireAfter})
		}
	}
	return card
}

// List returns the keys of the set, the current one first.
func (s *LeaseKeySet) List() adminapi.LeaseKeys {
	pub := s.Current.Public()
	out := []adminapi.LeaseKey{{ID: keyIDHex(pub), Scheme: schemeName(pub.Scheme()), Signing: true, Since: s.From}}
	for _, e := range s.Earlier {
		out = append(out, adminapi.LeaseKey{ID: keyIDHex(e.Key), Scheme: schemeName(e.Key.Scheme()), RetireAfter: e.RetireAfter})
	}
	return adminapi.LeaseKeys{Keys: out}
}

func keyIDHex(k *composite.PublicKey) string {
	id := k.ID()
	return hex.EncodeToString(id[:])
}

// RotateOptions says how RotateLeaseKey rotates.
type RotateOptions struct {
	// Scheme of the new key; zero: the current key's. The statement must
	// fit a lease: ML-DSA-44 keys on both sides (wire.KeyStatementLen).
	Scheme composite.Scheme
	// RetireAfter is when the current key stops being trusted for new
	// leases; zero: DefaultRetireAfter from now. It must not be before
	// now.
	RetireAfter time.Time
	// Now is the clock; zero: time.Now.
	Now time.Time
}

// keysMu serialises the changes to the key sets of this process's data
// directories (rotations and retirements through the admin socket).
var keysMu sync.Mutex

// RotateLeaseKey makes a new lease-signing key for the gateway of dir: the
// new key signs leases from now on, each carrying a statement signed by
// the current key (which becomes an earlier key, trusted for new leases
// until opts.RetireAfter); the card lists both, the new one first. It
// writes the card, then the lease key file, each atomically. A running
// gateway must be told (Admin does it: `tollgate keys rotate` on a
// running gateway goes through its admin socket). Refusals are ErrUsage,
// saying what to do.
func RotateLeaseKey(dir string, opts RotateOptions) (*LeaseKeySet, error) {
	keysMu.Lock()
	defer keysMu.Unlock()
	id, err := LoadIdentity(dir)
	if err != nil {
		return nil, err
	}
	set := id.LeaseKeys
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	scheme := opts.Scheme
	if scheme == 0 {
		scheme = set.Current.Scheme()
	}
	if n := wire.KeyStatementLen(scheme, set.Current.Scheme()); n == 0 || n > wire.MaxLeaseStatement {
		return nil, fmt.Errorf("%w: a key statement from a %s key to a %s key is %d bytes, more than a lease carries (%d): installed apps could not learn the new key. "+
			"Rotation by statement needs mldsa44-ed25519 keys on both sides; with mldsa65-ed25519, make a new data directory and ship its card with the next release instead",
			ErrUsage, schemeName(set.Current.Scheme()), schemeName(scheme), n, wire.MaxLeaseStatement)
	}
	if len(set.Earlier) >= MaxEarlierLeaseKeys {
		return nil, fmt.Errorf("%w: the gateway already keeps %d earlier lease keys, the most it keeps: a further rotation would leave apps that slept through them unable to follow; make a new data directory and ship its card with the next release", ErrUsage, len(set.Earlier))
	}
	retire := opts.RetireAfter
	if retire.IsZero() {
		retire = now.Add(DefaultRetireAfter)
	}
	if retire.Before(now) {
		return nil, fmt.Errorf("%w: --retire-after %s is in the past: apps would refuse the leases the current key signed that they are about to renew; give a date after the longest lease life from now", ErrUsage, retire.UTC().Format(time.RFC3339))
	}
	nk, err := composite.GenerateKey(scheme, rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("gateway: lease key: %w", err)
	}
	st := wire.KeyStatement{NewKey: nk.Public(), From: now.Unix(), RetireAfter: retire.Unix()}
	stmt, err := wire.SignKeyStatement(&st, set.Current)
	if err != nil {
		return nil, fmt.Errorf("gateway: key statement: %w", err)
	}
	next := &LeaseKeySet{
		Current:   nk,
		Statement: stmt,
		From:      st.From,
		Earlier:   append([]EarlierLeaseKey{{Key: set.Current.Public(), RetireAfter: st.RetireAfter}}, set.Earlier...),
	}
	if err := writeLeaseKeySet(dir, id.Card, next); err != nil {
		return nil, err
	}
	return next, nil
}

// RetireLeaseKey dates the retirement of the earlier lease key whose id
// (16 hex digits, or a unique prefix of 4 or more) is keyID: the card
// says it from then on. Apps that learned the current key from a
// statement keep the date the statement gave. The current key cannot be
// retired (rotate first).
func RetireLeaseKey(dir, keyID string, after time.Time) (*LeaseKeySet, error) {
	keysMu.Lock()
	defer keysMu.Unlock()
	id, err := LoadIdentity(dir)
	if err != nil {
		return nil, err
	}
	set := id.LeaseKeys
	keyID = strings.ToLower(keyID)
	if len(keyID) < 4 {
		return nil, fmt.Errorf("%w: name the key by its id, 16 hex digits or at least the first 4, as `tollgate keys list` prints them", ErrUsage)
	}
	if strings.HasPrefix(keyIDHex(set.Current.Public()), keyID) {
		return nil, fmt.Errorf("%w: key %s signs leases now: rotate first (`tollgate keys rotate`), then retire it", ErrUsage, keyIDHex(set.Current.Public()))
	}
	found := -1
	for i, e := range set.Earlier {
		if strings.HasPrefix(keyIDHex(e.Key), keyID) {
			if found >= 0 {
				return nil, fmt.Errorf("%w: %s is the start of more than one key id; give more digits", ErrUsage, keyID)
			}
			found = i
		}
	}
	if found < 0 {
		return nil, fmt.Errorf("%w: no lease key of this gateway has an id starting %s; `tollgate keys list` shows them", ErrUsage, keyID)
	}
	if after.Unix() <= 0 {
		return nil, fmt.Errorf("%w: give the retire date as 2027-03-01 or 2027-03-01T00:00:00Z", ErrUsage)
	}
	next := *set
	next.Earlier = append([]EarlierLeaseKey(nil), set.Earlier...)
	next.Earlier[found].RetireAfter = after.Unix()
	if err := writeLeaseKeySet(dir, id.Card, &next); err != nil {
		return nil, err
	}
	return &next, nil
}

// writeLeaseKeySet writes the card with the set's keys, then the set.
func writeLeaseKeySet(dir string, card *wire.Card, set *LeaseKeySet) error {
	c := set.cardOf(*card)
	text := c.Marshal()
	if _, err := wire.ParseCard(text); err != nil {
		return fmt.Errorf("gateway: the new card does not parse: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(dir, FileCard), text, 0o644); err != nil {
		return fmt.Errorf("gateway: write %s: %w", FileCard, err)
	}
	if err := atomicfile.Write(filepath.Join(dir, FileLeaseKey), set.marshal(), 0o600); err != nil {
		return fmt.Errorf("gateway: write %s: %w (the card already lists the new key; run the command again)", FileLeaseKey, err)
	}
	return nil
}
