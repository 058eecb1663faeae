// Package service makes Tollgate's license decisions: activate, validate
// (the hot path and the one that signs a lease), deactivate, mint, the
// shops' and the operator's license operations, flagging of shared keys,
// the limit on key guessing, and the catalogue.
//
// It takes parsed requests and the identity of their sender, reads and
// changes the store through its contract (package store), and returns
// results or refusals (Error, of a Kind). It knows nothing of QUIC, Noise,
// HTTP or Pebble: transports (package gateway's QUIC listener, its admin
// socket) parse, call it and encode; StatusOf is the one place a refusal
// becomes a wire status.
//
// It never logs a license key, and returns only once what it acknowledges
// is durable (store.Store.Update).
package service

import (
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"log/slog"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/keygen/composite"
	"github.com/tollgate/tollgate/store"
)

// Keys are the secrets the decisions need.
type Keys struct {
	Hasher   *keygen.Hasher        // keyed hashes of license keys, fingerprints and sightings
	LeaseKey *composite.PrivateKey // signs leases
	// LeaseSeal seals the leases the store keeps (store.Activation.Private).
	LeaseSeal cipher.AEAD
	// LegacyOrders opens the keys of orders older gateways sealed under a
	// key of their own (read only; new orders are sealed to the shop). Nil:
	// such orders are answered as damaged.
	LegacyOrders cipher.AEAD
	// Noise is the gateway's Noise static private key (X25519): it opens
	// air-gapped machines' activation requests and checks their release
	// proofs (offline.go). Zero: those are refused.
	Noise [32]byte
	// NoiseKeys, when set, returns the Noise keys the gateway holds now,
	// tried in order instead of Noise alone: during a rotation of its
	// transport keys, the announced next or the previous one as well (a
	// request sealed to the card an app has), and after a switch on a
	// running gateway, the new current one.
	NoiseKeys func() [][32]byte
	// Signer, when set, signs leases instead of LeaseKey alone: the key
	// an operator may rotate while the service runs.
	Signer *LeaseSigner
}

// Config configures a Service.
type Config struct {
	Store *store.Store
	Keys  Keys
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// Log receives what the service decided (never a key). Nil means
	// slog.Default().
	Log *slog.Logger
	// DefaultLeaseSeconds is the life of a lease whose product sets none.
	DefaultLeaseSeconds uint32
	// GuessBurst failed key lookups an address may make at once, then one
	// each GuessRefill. A zero GuessRefill means no limit.
	GuessBurst  int
	GuessRefill time.Duration
	// Flag says when a key is flagged as shared. Zero: never.
	Flag FlagPolicy
	// SelfServiceResets is how many self-service seat resets (SeatReset)
	// a license has in any ResetWindow. Zero means
	// DefaultSelfServiceResets; negative turns them off.
	SelfServiceResets int
	// LeaseBatch is the most leases signed with one signature when leases
	// wait for a signature (leaseBatcher; wire.SignLeaseBatch): a lease
	// that finds no signature under way is signed alone, at once; those
	// that queue behind one are signed together when it ends. Zero means
	// wire.MaxLeaseBatch (64), as does more than that; 1 signs every lease
	// alone, concurrently.
	LeaseBatch int
}

// Service makes the decisions. Its methods are safe for concurrent use.
type Service struct {
	st           *store.Store
	keys         Keys
	now          func() time.Time
	log          *slog.Logger
	defaultLease uint32
	guesses      *guessLimiter // nil: no limit
	trials       *guessLimiter // new keyless trials per source address
	msgCache     messageCache  // products' encoded message overrides (lease_messages.go)
	flag         FlagPolicy
	clones       *cloneFlagger // nil: clones refused, not flagged
	leasesSigned atomic.Int64
	signer       *LeaseSigner
	batch        *leaseBatcher // signs with signer
	resets       int           // self-service seat resets per ResetWindow; negative: off
}

// New returns a Service over cfg.Store. Close stops what it runs in the
// background; the store is the caller's to close, after.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	s := &Service{st: cfg.Store, keys: cfg.Keys, now: cfg.Now, log: cfg.Log, defaultLease: cfg.DefaultLeaseSeconds, flag: cfg.Flag, signer: cfg.Keys.signer(), resets: cfg.SelfServiceResets}
	s.batch = newLeaseBatcher(s.signer, cfg.LeaseBatch)
	if s.resets == 0 {
		s.resets = DefaultSelfServiceResets
	}
	if cfg.GuessRefill > 0 {
		s.guesses = newGuessLimiter(cfg.GuessBurst, cfg.GuessRefill)
	}
	s.trials = newGuessLimiter(TrialBurst, TrialRefill)
	s.clones = newCloneFlagger(s)
	return s
}

// The new keyless trials one source address may start: TrialBurst at
// once, then one per TrialRefill. Each writes a license, an activation, a
// trial mark and an audit entry, and a script can make fresh installs and
// fingerprints at will: without a bound it could grow the store without
// end. A running trial asked for again costs nothing.
const (
	TrialBurst  = 10
	TrialRefill = 6 * time.Minute
)

// Close flags the clones reported so far and stops. Call it after the
// transports that call the service have stopped, before the store closes.
func (s *Service) Close() { s.clones.close() }

// Store returns the store the service decides over.
func (s *Service) Store() *store.Store { return s.st }

// LeasesSigned returns how many signed leases went out (their commit
// succeeded).
func (s *Service) LeasesSigned() int64 { return s.leasesSigned.Load() }

// LeaseSignatures returns how many lease signatures the service made and
// how many leases they signed: their ratio is the mean batch size
// (Config.LeaseBatch). Leases whose commit failed after they were signed
// count too.
func (s *Service) LeaseSignatures() (signatures, leases int64) {
	return s.batch.rounds.Load(), s.batch.signed.Load()
}

// Peer is what the transport established about an app that calls: its
// install, and the address its failed key lookups count against. It also
// keeps the cache entries its validations used (Validate), so a session
// that validates a license again skips the shared cache: calls of Validate
// with the same Peer must not be concurrent (a session's read loop makes
// them one at a time), and a copy of a Peer shares its entries, so only one
// of the copies may validate. The other methods read only Install and
// Addr, which never change, so the gateway's slow routes hand the
// session's Peer to another goroutine while its read loop goes on
// validating.
type Peer struct {
	Install store.InstallID // SHA-256 of the caller's per-install static key
	Addr    netip.Addr      // an IP, or an IPv6 /64; invalid: not limited

	// held is the last validation's entry; others, made when the session
	// validates a second license, every license's (at most maxHeld), by
	// the first 8 bytes of its id (a map of integer keys is the cheaper;
	// two ids that share them take turns). Each is checked on every use
	// (store.Current), its license id included.
	held   *store.Entry
	others map[uint64]*store.Entry
}

// maxHeld bounds the entries a session keeps (Peer.others): each is an
// activation of the session's install, so only an install activated on
// that many licenses reaches it, and goes to the shared cache for the
// licenses past it.
const maxHeld = 4096

func heldKey(id store.LicenseID) uint64 { return binary.LittleEndian.Uint64(id[:8]) }

// entry returns the cache entry of the license id for p's install: one p
// holds while it is current, else the store's (Lookup), which p then
// holds.
func (p *Peer) entry(st *store.Store, id store.LicenseID) (*store.Entry, error) {
	if e := p.held; st.Current(e, id, p.Install) {
		return e, nil
	}
	k := heldKey(id)
	if e := p.others[k]; st.Current(e, id, p.Install) {
		p.held = e
		return e, nil
	}
	e, err := st.Lookup(id, p.Install)
	if err != nil {
		// Nothing of this license is kept: a revoked activation's entry
		// is not held on to by an idle session.
		delete(p.others, k)
		if p.held != nil && p.held.License.ID == id {
			p.held = nil
		}
		return nil, err
	}
	if p.others == nil && p.held != nil && p.held.License.ID != id {
		p.others = map[uint64]*store.Entry{heldKey(p.held.License.ID): p.held}
	}
	if _, ok := p.others[k]; ok || p.others != nil && len(p.others) < maxHeld {
		p.others[k] = e
	}
	p.held = e
	return e, nil
}

// NewPeer returns the peer whose per-install static key is static, calling
// from addr.
func NewPeer(static [32]byte, addr netip.Addr) Peer {
	return Peer{Install: sha256.Sum256(static[:]), Addr: addr}
}

// LicenseRef names a license in logs and audit entries: a prefix of its
// public id, never its key.
func LicenseRef(id store.LicenseID) string {
	const hex = "0123456789abcdef"
	var b [8]byte
	for i := 0; i < 4; i++ {
		b[2*i], b[2*i+1] = hex[id[i]>>4], hex[id[i]&15]
	}
	return string(b[:])
}

// failed logs an error of the gateway's own (not a refusal) that a
// request met, for the operator.
func (s *Service) failed(err error, what string) error {
	if KindOf(err) == KindInternal {
		s.log.Error("request failed", "request", what, "err", err)
	}
	return err
}
