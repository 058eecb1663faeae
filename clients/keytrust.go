package clients

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/tollgate/tollgate/keygen/composite"
	"github.com/tollgate/tollgate/wire"
)

// FileLeaseKeys is the state file of the lease keys learned from key
// statements: "tollgate-lease-keys 1", then one statement a line in
// canonical base64, oldest first. Each line is its own proof (a statement
// signed by a key the card or an earlier line holds), so a line that does
// not verify is dropped and reported, never trusted.
const FileLeaseKeys = "lease-keys"

// MaxLearnedKeys bounds the keys a state directory keeps learned; the
// oldest go first.
const MaxLearnedKeys = 8

const leaseKeysHeader = "tollgate-lease-keys 1"

// errRetired is the error of a new lease signed by a key past its retire
// date; it wraps wire.ErrLeaseKey, so the client reports a wrong card.
var errRetired = fmt.Errorf("%w (the key retired)", wire.ErrLeaseKey)

// keyTrust is the lease keys a client trusts: the card's, and those it
// learned from key statements after the gateway rotated its key, with the
// dates after which each is retired (from the card, and from the
// statements: a statement retires the key that signed it). Safe for
// concurrent use.
type keyTrust struct {
	card *wire.Card
	// now is the trusted clock (Unix seconds) that decides retirement.
	now func() int64
	// learn, if set, is called with each statement learned, under the
	// caller's lock (Licensee's, which then saves it).
	learn func(stmt []byte)

	mu      sync.Mutex
	learned []learnedKey
}

// learnedKey is a key introduced by a statement.
type learnedKey struct {
	key    *composite.PublicKey
	stmt   []byte
	signer [composite.IDSize]byte
	retire int64 // the signer's retire-after date, 0 for none
}

// newKeyTrust returns the trust of card plus the keys the statements
// introduce (oldest first). A statement that does not parse or is not
// signed by a key trusted before it is dropped, and the error (ErrState)
// says so; the others are kept.
func newKeyTrust(card *wire.Card, statements [][]byte, now func() int64) (*keyTrust, error) {
	t := &keyTrust{card: card, now: now}
	var bad int
	for _, s := range statements {
		st, err := wire.VerifyKeyStatement(s, t.keys())
		if err != nil {
			bad++
			continue
		}
		t.add(st, s)
	}
	if bad > 0 {
		return t, fmt.Errorf("%w: %d learned lease key(s) in %s did not verify and were dropped", ErrState, bad, FileLeaseKeys)
	}
	return t, nil
}

// add learns the key of statement st (encoded as raw), unless known.
func (t *keyTrust) add(st wire.KeyStatement, raw []byte) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	id := st.NewKey.ID()
	for _, k := range t.card.LeaseKeys {
		if k.ID() == id {
			return false
		}
	}
	for _, l := range t.learned {
		if l.key.ID() == id {
			return false
		}
	}
	t.learned = append(t.learned, learnedKey{key: st.NewKey, stmt: raw, signer: st.KeyID, retire: st.RetireAfter})
	if len(t.learned) > MaxLearnedKeys {
		t.learned = t.learned[len(t.learned)-MaxLearnedKeys:]
	}
	return true
}

// keys returns every key trusted for leases already held: the card's and
// the learned ones, retired or not.
func (t *keyTrust) keys() []*composite.PublicKey {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := append([]*composite.PublicKey(nil), t.card.LeaseKeys...)
	for _, l := range t.learned {
		out = append(out, l.key)
	}
	return out
}

// statements returns the learned statements, oldest first.
func (t *keyTrust) statements() [][]byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([][]byte, len(t.learned))
	for i, l := range t.learned {
		out[i] = l.stmt
	}
	return out
}

// retired reports whether key id is past its retire date by the trusted
// clock: the earliest date the card or a statement it signed gives.
func (t *keyTrust) retired(id [composite.IDSize]byte) bool {
	date, ok := t.card.RetireAfter(id)
	t.mu.Lock()
	for _, l := range t.learned {
		if l.signer == id && l.retire != 0 && (!ok || l.retire < date) {
			date, ok = l.retire, true
		}
	}
	t.mu.Unlock()
	return ok && t.now() > date
}

// verifySaved verifies a lease kept in the state: signed by any key
// trusted, retired or not (it was new when it was accepted, and stays
// good until it expires).
func (t *keyTrust) verifySaved(b []byte) (wire.Lease, error) {
	return wire.VerifyLease(b, t.keys())
}

// verifyHeld verifies a lease kept in another state (a plug-in's base
// program's): as verifySaved, and a lease of a key this state has not
// learned yet as verifyNew does, through its statement (the base program
// may have learned a rotated key first).
func (t *keyTrust) verifyHeld(b []byte) (wire.Lease, error) {
	l, err := t.verifySaved(b)
	if errors.Is(err, wire.ErrLeaseKey) {
		return t.verifyNew(b)
	}
	return l, err
}

// verifyNew verifies a lease the gateway just sent. Signed by a trusted
// key that has not retired, it is good. Signed by an unknown key, it is
// good when its statement introduces that key and is signed by a trusted
// key that has not retired: the key is then learned (and t.learn told).
// Anything else is wire.ErrLeaseKey or wire.ErrLeaseSignature, which the
// client reports as a wrong card.
func (t *keyTrust) verifyNew(b []byte) (wire.Lease, error) {
	l, err := wire.VerifyLease(b, t.keys())
	if err == nil {
		if t.retired(l.KeyID) {
			return wire.Lease{}, errRetired
		}
		return l, nil
	}
	if !errors.Is(err, wire.ErrLeaseKey) {
		return wire.Lease{}, err
	}
	pl, _, perr := wire.ParseLease(b)
	if perr != nil || len(pl.Statement) == 0 {
		return wire.Lease{}, err
	}
	stmt := pl.Statement
	st, serr := wire.VerifyKeyStatement(stmt, t.keys())
	switch {
	case serr != nil:
		return wire.Lease{}, fmt.Errorf("%w: its key statement: %w", wire.ErrLeaseKey, serr)
	case t.retired(st.KeyID):
		return wire.Lease{}, fmt.Errorf("%w: its key statement is signed by a retired key", wire.ErrLeaseKey)
	case st.NewKey.ID() != pl.KeyID:
		return wire.Lease{}, fmt.Errorf("%w: its key statement introduces another key", wire.ErrLeaseKey)
	}
	l, err = wire.VerifyLease(b, []*composite.PublicKey{st.NewKey})
	if err != nil {
		return wire.Lease{}, err
	}
	// The lease's bytes may be the caller's buffer: keep a copy.
	own := append([]byte(nil), stmt...)
	if t.add(st, own) && t.learn != nil {
		t.learn(own)
	}
	return l, nil
}

// readLeaseKeys reads the learned statements of the state directory dir:
// nil when there is no file, an error wrapping ErrState when it is
// damaged (then nothing of it is used).
func readLeaseKeys(dir string) ([][]byte, error) {
	b, ok := readState(dir, FileLeaseKeys)
	if !ok {
		return nil, nil
	}
	damaged := fmt.Errorf("%w: the %s file is damaged", ErrState, FileLeaseKeys)
	if !strings.HasSuffix(string(b), "\n") {
		return nil, damaged
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if lines[0] != leaseKeysHeader || len(lines) > 1+MaxLearnedKeys {
		return nil, damaged
	}
	var out [][]byte
	for _, line := range lines[1:] {
		raw, err := base64.StdEncoding.Strict().DecodeString(line)
		if err != nil || len(raw) == 0 || len(raw) > wire.MaxLeaseStatement {
			return nil, damaged
		}
		if _, err := wire.ParseKeyStatement(raw); err != nil {
			return nil, damaged
		}
		out = append(out, raw)
	}
	return out, nil
}

// marshalLeaseKeys encodes learned statements as FileLeaseKeys holds them.
func marshalLeaseKeys(stmts [][]byte) []byte {
	var b strings.Builder
	b.WriteString(leaseKeysHeader + "\n")
	for _, s := range stmts {
		b.WriteString(base64.StdEncoding.EncodeToString(s))
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// trustedNow returns the clock retirement is judged by: the later of now
// and the ratchet's trusted time, so that a clock set back does not bring
// a retired key back.
func trustedNow(now func() time.Time, st *State) func() int64 {
	return func() int64 { return max(now().Unix(), st.Trusted) }
}

// licenseeTrust returns the key trust of a Licensee: the card and the
// statements its state directory learned, which it keeps up to date in st
// (saved with the rest of the state).
func licenseeTrust(cfg *LicenseeConfig, st *State) (*keyTrust, error) {
	t, err := newKeyTrust(cfg.Card, st.KeyStatements, trustedNow(cfg.Now, st))
	st.KeyStatements = t.statements()
	t.learn = func([]byte) { st.KeyStatements = t.statements() }
	return t, err
}
