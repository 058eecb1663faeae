// Package store keeps what the gateway must not lose (licenses, activations,
// and later orders, shops, products and the audit log) in Pebble, with a
// ristretto cache in front for the hot validation path.
//
// Contracts:
//   - A license is found by the keyed hash of its key, or by its random
//     license id; a license key is never stored in the clear.
//   - Every change made through Update is on disk (Pebble Sync) before Update
//     returns. Concurrent Updates share fsyncs through Pebble's group commit.
//   - Updates of one license are serialised, so seat accounting is exact.
//   - A change made through Update is seen by the very next Lookup: cache
//     entries carry the epoch of their license's stripe at load time, Update
//     bumps that epoch after its commit, and Lookup ignores an entry whose
//     epoch is stale. Ristretto's asynchronous Set can therefore never bring
//     back an old state.
//   - Last-seen times and counters are written behind: at most
//     Config.WriteBehind (1 s by default) of them is lost in a crash.
//
// The store never imports the transport: it knows Pebble, not QUIC.
package store

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/dgraph-io/ristretto/v2"
	"github.com/tollgate/tollgate/keygen"
	"github.com/tollgate/tollgate/wire"
)

// Config configures a Store.
type Config struct {
	// Dir is the Pebble directory. Required; created if missing.
	Dir string
	// CacheEntries bounds the hot cache, in activations. Zero means 1<<20.
	CacheEntries int64
	// WriteBehind is how often last-seen times and counters are flushed.
	// Zero means one second; more than one second is refused.
	WriteBehind time.Duration
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// Logger receives the store's warnings. Nil means slog.Default().
	Logger *slog.Logger
}

func (c *Config) setDefaults() error {
	if c.Dir == "" {
		return fmt.Errorf("%w: no directory", ErrConfig)
	}
	if c.CacheEntries == 0 {
		c.CacheEntries = 1 << 20
	}
	if c.WriteBehind == 0 {
		c.WriteBehind = time.Second
	}
	if c.WriteBehind < 0 || c.WriteBehind > time.Second {
		return fmt.Errorf("%w: write-behind interval %v is not between 0 and 1s", ErrConfig, c.WriteBehind)
	}
	if c.CacheEntries < 0 {
		return fmt.Errorf("%w: negative cache size", ErrConfig)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

// Key prefixes in Pebble. Part of the on-disk format.
const (
	pfxLicense    = 'l' // l | key hash (32)            -> license record
	pfxLicenseID  = 'i' // i | license id (16)          -> key hash (32), only for an id not IDFor(key hash)
	pfxActivation = 'a' // a | license id | install (32) -> activation record
	pfxSeen       = 't' // t | license id | install      -> last seen (8) | counter (8), written behind
)

const (
	stripes      = 1 << 12 // epoch stripes: 32 KB, which stays in the CPU's cache
	lockStripes  = 1 << 10 // per-license update locks
	syncWrite    = true
	maxBatchKeys = 10000
)

// Store is the gateway's durable state. All methods are safe for concurrent use.
type Store struct {
	cfg   Config
	db    *pebble.DB
	cache *ristretto.Cache[uint64, *Entry]

	locks  [lockStripes]sync.Mutex
	epochs [stripes]atomic.Uint64

	dirtyMu sync.Mutex
	dirty   []*Entry
	// pending holds, by cache key, the entry whose counter and last-seen
	// time are queued and not yet written, so that an entry loaded again
	// meanwhile (after an Update, or an eviction) starts from them rather
	// than from the disk's older values: a counter never goes back.
	pending map[uint64]*Entry

	stop     chan struct{}
	flushed  chan struct{}
	closed   atomic.Bool
	closeErr error
	once     sync.Once

	ext ext // shops, orders and the audit log (shop.go)
}

// Open opens (creating if needed) the store in cfg.Dir. Pebble's lock file
// makes a second Open of the same directory fail, so there is never more than
// one writer.
func Open(cfg Config) (*Store, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: create %s: %w", cfg.Dir, err)
	}
	db, err := pebble.Open(cfg.Dir, pebbleOptions(cfg))
	if err != nil {
		if errors.Is(err, os.ErrExist) || isLocked(err) {
			return nil, fmt.Errorf("%w: %s (%v)", ErrLocked, cfg.Dir, err)
		}
		return nil, fmt.Errorf("store: open %s: %w", cfg.Dir, err)
	}
	cache, err := ristretto.NewCache(&ristretto.Config[uint64, *Entry]{
		NumCounters: cfg.CacheEntries * 10,
		MaxCost:     cfg.CacheEntries,
		BufferItems: 64,
		// Keys are already well mixed (random license ids and hashes).
		KeyToHash:          func(k uint64) (uint64, uint64) { return k, 0 },
		IgnoreInternalCost: true,
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: cache: %w", err)
	}
	s := &Store{cfg: cfg, db: db, cache: cache, stop: make(chan struct{}), flushed: make(chan struct{}), pending: make(map[uint64]*Entry)}
	go s.flushLoop()
	return s, nil
}

// pebbleOptions tunes Pebble for what the store holds (profiled with
// tollgate-bench, see BENCHMARKS.md): records are mostly random bytes and
// hashes, so compression costs CPU and saves nothing; a 10,000-key mint is
// a few megabytes, so memtables of 32 MB flush once per several orders
// instead of once per order; point lookups by key hash go through bloom
// filters and a 64 MB block cache (filled as used, not allocated up front);
// keys are random, so every compaction from L0 rewrites the part of the
// base level it overlaps: L0 is compacted at 8 sublevels rather than 4 and
// the base level holds 256 MB rather than 64 MB, so a burst of mints is
// rewritten less often (126k against 135k keys/s in back-to-back runs).
func pebbleOptions(cfg Config) *pebble.Options {
	opts := &pebble.Options{
		FS:                    newPrivateFS(), // files 0600, directories 0700 (perm.go)
		Logger:                quietLogger{cfg.Logger},
		MemTableSize:          32 << 20,
		CacheSize:             64 << 20,
		L0CompactionThreshold: 8,
		LBaseMaxBytes:         256 << 20,
	}
	opts.ApplyCompressionSettings(func() pebble.DBCompressionSettings { return pebble.DBCompressionNone })
	for i := range opts.Levels {
		opts.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	return opts
}

// isLocked reports whether Pebble's open failed on its lock file: the lock
// is held by another process (flock says EAGAIN or EWOULDBLOCK) or, within
// this process, by another open Store (Pebble says so in its message).
func isLocked(err error) bool {
	if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EWOULDBLOCK) {
		return true
	}
	return err != nil && strings.Contains(err.Error(), "lock")
}

// Close flushes written-behind state, and closes the cache and Pebble. It is
// safe to call more than once.
func (s *Store) Close() error {
	s.once.Do(func() {
		s.closed.Store(true)
		close(s.stop)
		<-s.flushed
		s.cache.Close()
		s.closeErr = s.db.Close()
	})
	return s.closeErr
}

// epochOf returns the epoch stripe of a license.
func (s *Store) epochOf(id LicenseID) *atomic.Uint64 {
	return &s.epochs[binary.BigEndian.Uint16(id[:2])%stripes]
}

func (s *Store) lockOf(id LicenseID) *sync.Mutex {
	return &s.locks[binary.BigEndian.Uint16(id[2:4])%lockStripes]
}

func cacheKey(id LicenseID, install InstallID) uint64 {
	return binary.LittleEndian.Uint64(id[:8]) ^ binary.LittleEndian.Uint64(install[:8])*0x9e3779b97f4a7c15
}

// get reads one value; it returns nil, nil when the key is absent.
func (s *Store) get(key []byte) ([]byte, error) {
	v, closer, err := s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: read: %w", err)
	}
	out := bytes.Clone(v)
	closer.Close()
	return out, nil
}

func licenseKey(h keygen.KeyHash) []byte { return append([]byte{pfxLicense}, h[:]...) }
func licenseIDKey(id LicenseID) []byte   { return append([]byte{pfxLicenseID}, id[:]...) }

func activationKey(pfx byte, id LicenseID, in InstallID) []byte {
	k := make([]byte, 0, 1+len(id)+len(in))
	k = append(k, pfx)
	k = append(k, id[:]...)
	return append(k, in[:]...)
}

// CreateLicenses writes new licenses durably in one batch (one fsync). A key
// hash or license id that already exists is refused with ErrExists and
// nothing is written.
func (s *Store) CreateLicenses(ls []License) error { return s.createLicenses(ls, nil) }

// CreateLicensesAudited is CreateLicenses with the audit entry e written in
// the same commit.
func (s *Store) CreateLicensesAudited(ls []License, e AuditEntry) error {
	return s.createLicenses(ls, &e)
}

func (s *Store) createLicenses(ls []License, audit *AuditEntry) error {
	if len(ls) == 0 {
		return nil
	}
	fill := func(b *pebble.Batch) error {
		for i := range ls {
			l := &ls[i]
			if v, err := s.get(licenseKey(l.KeyHash)); err != nil {
				return err
			} else if v != nil {
				return fmt.Errorf("%w: license %s", ErrExists, l.KeyHash)
			}
			if _, _, _, err := s.licenseByID(l.ID); err == nil {
				return fmt.Errorf("%w: license id %x", ErrExists, l.ID[:4])
			} else if !errors.Is(err, ErrNotFound) {
				return err
			}
		}
		return putLicenses(b, ls)
	}
	if audit != nil {
		return s.commitAudited(*audit, fill)
	}
	b := s.db.NewBatch()
	defer b.Close()
	if err := fill(b); err != nil {
		return err
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// putLicenses puts new licenses in b: their records, in the order of their
// key hashes, then their id index entries, in the order of their ids.
// Pebble inserts a batch into its memtable (a skiplist) in the batch's
// order, and an insert next to the previous one starts from where that one
// ended instead of from the top: in key order, a 10,000-key mint spends
// far less of its time in the memtable (BENCHMARKS.md, mint).
func putLicenses(b *pebble.Batch, ls []License) error {
	// Ids and key hashes are random: sorting by their first 8 bytes is
	// sorting them (a tie would only cost a longer insert).
	type ref struct {
		first uint64
		i     int
	}
	order := make([]ref, len(ls))
	byFirst := func(x, y ref) int { return cmp.Compare(x.first, y.first) }
	for i := range ls {
		order[i] = ref{binary.BigEndian.Uint64(ls[i].ID[:8]), i}
	}
	slices.SortFunc(order, byFirst)
	for _, r := range order {
		if ls[r.i].ID == IDFor(ls[r.i].KeyHash) {
			continue // found by its record's key: no index entry
		}
		if err := b.Set(licenseIDKey(ls[r.i].ID), ls[r.i].KeyHash[:], nil); err != nil {
			return fmt.Errorf("store: batch: %w", err)
		}
	}
	for i := range ls {
		order[i] = ref{binary.BigEndian.Uint64(ls[i].KeyHash[:8]), i}
	}
	slices.SortFunc(order, byFirst)
	rec := make([]byte, 0, 256)
	for _, r := range order {
		var err error
		if rec, err = appendLicenseV2(rec[:0], &ls[r.i], 0); err != nil {
			return err
		}
		if err := b.Set(licenseKey(ls[r.i].KeyHash), rec, nil); err != nil {
			return fmt.Errorf("store: batch: %w", err)
		}
	}
	return nil
}

// LicenseByKeyHash returns the license whose key has hash h, or ErrNotFound.
func (s *Store) LicenseByKeyHash(h keygen.KeyHash) (License, error) {
	l, _, err := s.licenseAt(h)
	return l, err
}

// licenseAt reads the license whose key has hash h, with the number of
// activations its record keeps (unknownActs for an old record).
func (s *Store) licenseAt(h keygen.KeyHash) (License, int, error) {
	v, err := s.get(licenseKey(h))
	if err != nil {
		return License{}, 0, err
	}
	if v == nil {
		return License{}, 0, ErrNotFound
	}
	return decodeLicenseActs(v)
}

// IDFor returns the id a new license with key hash h gets: the first 16
// bytes of h. The record's own key (pfxLicense | h) then finds the license
// by its id as well, so a mint writes one record per key and no index entry
// (half the gateway's CPU per minted key, BENCHMARKS.md). The id says
// nothing of the key: h is a hash keyed with the server's secret. Licenses
// minted before ids were derived keep their random ids and their index
// entries (pfxLicenseID).
func IDFor(h keygen.KeyHash) LicenseID { return LicenseID(h[:16]) }

// LicenseByID returns the license with this id, or ErrNotFound.
func (s *Store) LicenseByID(id LicenseID) (License, error) {
	l, _, _, err := s.licenseByID(id)
	return l, err
}

// licenseByID finds the license with this id: first as the record whose
// key hash begins with the id (IDFor), then through the index entry of an
// id that was not derived. It returns the license, its key hash and its
// number of activations (as licenseAt). New licenses, all derived, take
// the shorter way (BenchmarkLicenseByID on the development machine: about
// 6 µs, and 15 for an older license; the index first took about 9 and 10).
func (s *Store) licenseByID(id LicenseID) (License, keygen.KeyHash, int, error) {
	if l, h, acts, err := s.licenseByPrefix(id); err == nil || !errors.Is(err, ErrNotFound) {
		return l, h, acts, err
	}
	v, err := s.get(licenseIDKey(id))
	if err != nil {
		return License{}, keygen.KeyHash{}, 0, err
	}
	if v == nil {
		return License{}, keygen.KeyHash{}, 0, ErrNotFound
	}
	if len(v) != len(keygen.KeyHash{}) {
		return License{}, keygen.KeyHash{}, 0, fmt.Errorf("%w: index entry of license %x", ErrCorrupt, id[:4])
	}
	h := keygen.KeyHash(v)
	l, acts, err := s.licenseAt(h)
	if err == nil && l.ID != id {
		return License{}, keygen.KeyHash{}, 0, fmt.Errorf("%w: index entry of license %x names another license", ErrCorrupt, id[:4])
	}
	return l, h, acts, err
}

// licenseByPrefix reads the license whose id was derived from its key hash
// (IDFor), or ErrNotFound.
func (s *Store) licenseByPrefix(id LicenseID) (License, keygen.KeyHash, int, error) {
	lower := append([]byte{pfxLicense}, id[:]...)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd(lower)})
	if err != nil {
		return License{}, keygen.KeyHash{}, 0, fmt.Errorf("store: read: %w", err)
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		if len(k) != 1+len(keygen.KeyHash{}) {
			continue
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return License{}, keygen.KeyHash{}, 0, fmt.Errorf("store: read: %w", err)
		}
		l, acts, err := decodeLicenseActs(v)
		if err != nil {
			return License{}, keygen.KeyHash{}, 0, err
		}
		// An older license's random id is not its key hash's first bytes,
		// whatever else begins with them.
		if l.ID == id {
			return l, keygen.KeyHash(k[1:]), acts, nil
		}
	}
	if err := it.Error(); err != nil {
		return License{}, keygen.KeyHash{}, 0, fmt.Errorf("store: read: %w", err)
	}
	return License{}, keygen.KeyHash{}, 0, ErrNotFound
}

// prefixEnd returns the smallest key above every key that begins with p.
func prefixEnd(p []byte) []byte {
	end := bytes.Clone(p)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i]++; end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil // p is all 0xff: no upper bound
}

// Activations returns the license's activations, ordered by install id.
func (s *Store) Activations(id LicenseID) ([]Activation, error) {
	lo := append([]byte{pfxActivation}, id[:]...)
	hi := append([]byte{pfxActivation}, id[:]...)
	hi = append(hi, bytes.Repeat([]byte{0xff}, len(InstallID{})+1)...)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return nil, fmt.Errorf("store: iterate: %w", err)
	}
	defer it.Close()
	var out []Activation
	for it.First(); it.Valid(); it.Next() {
		a, err := decodeActivation(it.Value())
		if err != nil {
			return nil, err
		}
		if seen, err := s.get(activationKey(pfxSeen, a.License, a.Install)); err == nil && len(seen) == 16 {
			if t := int64(binary.BigEndian.Uint64(seen)); t > a.LastSeen {
				a.LastSeen = t
			}
			if c := binary.BigEndian.Uint64(seen[8:]); c > a.Counter {
				a.Counter = c
			}
		}
		out = append(out, a)
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("store: iterate: %w", err)
	}
	return out, nil
}

// Tx is the state of one license inside Update: the license and its
// activations, read under the license's lock. The function given to Update
// changes them through its methods; nothing is written if it returns an error.
type Tx struct {
	License     License
	Activations []Activation
	Now         time.Time
	// Audit, when set, is appended to the audit log in the same durable
	// commit as the change: the change and its record land together or
	// not at all.
	Audit *AuditEntry

	puts  []Activation
	dels  []InstallID
	st    *Store
	sight *Sightings // read by Sightings, written by fill
}

// Activation returns the activation of install, if there is one.
func (tx *Tx) Activation(install InstallID) (Activation, bool) {
	for _, a := range tx.Activations {
		if a.Install == install {
			return a, true
		}
	}
	return Activation{}, false
}

// PutActivation records a (new or changed) activation.
func (tx *Tx) PutActivation(a Activation) {
	a.License = tx.License.ID
	tx.puts = append(tx.puts, a)
	for i := range tx.Activations {
		if tx.Activations[i].Install == a.Install {
			tx.Activations[i] = a
			return
		}
	}
	tx.Activations = append(tx.Activations, a)
}

// DeleteActivation frees the seat held by install.
func (tx *Tx) DeleteActivation(install InstallID) {
	tx.dels = append(tx.dels, install)
	for i := range tx.Activations {
		if tx.Activations[i].Install == install {
			tx.Activations = append(tx.Activations[:i], tx.Activations[i+1:]...)
			return
		}
	}
}

// Update runs fn on the license with this id under the license's lock and
// commits what it changed durably before returning. It returns fn's error
// unchanged (and writes nothing) when fn fails, and ErrNotFound when there is
// no such license.
func (s *Store) Update(id LicenseID, fn func(tx *Tx) error) error {
	return s.update(id, nil, fn)
}

// UpdateLicense is Update of l, a license read before (LicenseByKeyHash):
// under the lock it reads l's record again by its key hash, which spares
// the read of the id index.
func (s *Store) UpdateLicense(l *License, fn func(tx *Tx) error) error {
	return s.update(l.ID, &l.KeyHash, fn)
}

func (s *Store) update(id LicenseID, hash *keygen.KeyHash, fn func(tx *Tx) error) error {
	if s.closed.Load() {
		return ErrClosed
	}
	mu := s.lockOf(id)
	mu.Lock()
	defer mu.Unlock()
	var (
		lic   License
		h     keygen.KeyHash
		nacts int
		err   error
	)
	if hash != nil {
		h = *hash
		lic, nacts, err = s.licenseAt(h)
	} else {
		lic, h, nacts, err = s.licenseByID(id)
	}
	if err != nil {
		return err
	}
	if lic.ID != id {
		return ErrNotFound
	}
	var acts []Activation
	if nacts != 0 {
		// A license record keeps its number of activations, so one that
		// never had any (a fresh key's first activation) is not looked up.
		if acts, err = s.Activations(id); err != nil {
			return err
		}
	}
	tx := &Tx{License: lic, Activations: acts, Now: s.cfg.Now(), st: s}
	if err := fn(tx); err != nil {
		return err
	}
	if tx.License.ID != id || tx.License.KeyHash != lic.KeyHash {
		return fmt.Errorf("%w: an update may not change a license's identity", ErrConfig)
	}
	fill := func(b *pebble.Batch) error { return tx.fill(b, id, lic.KeyHash) }
	if tx.Audit != nil {
		if err := s.commitAudited(*tx.Audit, fill); err != nil {
			return err
		}
	} else {
		b := s.db.NewBatch()
		defer b.Close()
		if err := fill(b); err != nil {
			return err
		}
		if err := b.Commit(pebble.Sync); err != nil {
			return fmt.Errorf("store: commit: %w", err)
		}
	}
	// After the commit: a Lookup that loaded the old state before this point
	// holds the old epoch and will reload.
	s.epochOf(id).Add(1)
	return nil
}

// fill puts the transaction's license and activation changes in b.
func (tx *Tx) fill(b *pebble.Batch, id LicenseID, keyHash keygen.KeyHash) error {
	rec, err := encodeLicense(&tx.License, len(tx.Activations))
	if err != nil {
		return err
	}
	if err := b.Set(licenseKey(keyHash), rec, nil); err != nil {
		return fmt.Errorf("store: batch: %w", err)
	}
	for _, in := range tx.dels {
		if err := b.Delete(activationKey(pfxActivation, id, in), nil); err != nil {
			return fmt.Errorf("store: batch: %w", err)
		}
		if err := b.Delete(activationKey(pfxSeen, id, in), nil); err != nil {
			return fmt.Errorf("store: batch: %w", err)
		}
	}
	for i := range tx.puts {
		a := &tx.puts[i]
		if containsInstall(tx.dels, a.Install) && !hasInstall(tx.Activations, a.Install) {
			continue
		}
		rec, err := encodeActivation(a)
		if err != nil {
			return err
		}
		if err := b.Set(activationKey(pfxActivation, id, a.Install), rec, nil); err != nil {
			return fmt.Errorf("store: batch: %w", err)
		}
	}
	return tx.fillSightings(b, id)
}

func containsInstall(list []InstallID, in InstallID) bool {
	for _, x := range list {
		if x == in {
			return true
		}
	}
	return false
}

func hasInstall(acts []Activation, in InstallID) bool {
	for i := range acts {
		if acts[i].Install == in {
			return true
		}
	}
	return false
}

// Entry is a cached view of one activation and its license, for the hot
// validation path. License and Activation are a snapshot and must not be
// modified; LastSeen and Counter are updated in place (Advance) and written
// behind.
type Entry struct {
	License    License
	Activation Activation
	Expiry     int64 // License.Expiry(), computed once at load

	epoch    uint64
	lastSeen atomic.Int64
	counter  atomic.Uint64
	dirty    atomic.Bool
	matched  atomic.Pointer[FPMatch]
	lease    atomic.Pointer[[]byte]
}

// Lookup returns the current state of the activation of install on the
// license id, from the cache when it is current and from Pebble otherwise.
// It returns ErrNotFound for an unknown license and ErrNotActivated when the
// license has no activation for install.
func (s *Store) Lookup(id LicenseID, install InstallID) (*Entry, error) {
	ep := s.epochOf(id)
	epoch := ep.Load()
	k := cacheKey(id, install)
	if e, ok := s.cache.Get(k); ok && e.epoch == epoch && e.License.ID == id && e.Activation.Install == install {
		return e, nil
	}
	return s.load(id, install, epoch, k)
}

func (s *Store) load(id LicenseID, install InstallID, epoch uint64, k uint64) (*Entry, error) {
	lic, err := s.LicenseByID(id)
	if err != nil {
		return nil, err
	}
	v, err := s.get(activationKey(pfxActivation, id, install))
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, ErrNotActivated
	}
	a, err := decodeActivation(v)
	if err != nil {
		return nil, err
	}
	e := &Entry{License: lic, Activation: a, Expiry: lic.Expiry(), epoch: epoch}
	e.lastSeen.Store(a.LastSeen)
	e.counter.Store(a.Counter)
	if seen, err := s.get(activationKey(pfxSeen, id, install)); err == nil && len(seen) == 16 {
		if t := int64(binary.BigEndian.Uint64(seen)); t > a.LastSeen {
			e.lastSeen.Store(t)
		}
		if c := binary.BigEndian.Uint64(seen[8:]); c > a.Counter {
			e.counter.Store(c)
		}
	}
	s.dirtyMu.Lock()
	if p := s.pending[k]; p != nil && p.License.ID == id && p.Activation.Install == install {
		e.counter.Store(max(e.counter.Load(), p.counter.Load()))
		e.lastSeen.Store(max(e.lastSeen.Load(), p.lastSeen.Load()))
	}
	s.dirtyMu.Unlock()
	s.cache.Set(k, e, 1)
	return e, nil
}

// Advance records that the activation was seen at now presenting counter,
// and reports whether counter is above every counter it presented before.
// When it is not (a copy of the install's state replaying an old counter),
// nothing changes. The counter and time are written behind: no disk access,
// no allocation once the entry is queued.
func (s *Store) Advance(e *Entry, now int64, counter uint64) bool {
	for {
		c := e.counter.Load()
		if counter <= c {
			return false
		}
		if e.counter.CompareAndSwap(c, counter) {
			break
		}
	}
	if e.lastSeen.Load() < now {
		e.lastSeen.Store(now)
	}
	if !e.dirty.Load() && !e.dirty.Swap(true) {
		k := cacheKey(e.License.ID, e.Activation.Install)
		s.dirtyMu.Lock()
		s.dirty = append(s.dirty, e)
		s.pending[k] = e
		s.dirtyMu.Unlock()
	}
	return true
}

// FPMatch is a fingerprint as a client sent it and the outcome of matching
// it against the activation's (the components that changed), kept with a
// cache entry in memory only, so that a client that sends the same
// fingerprint again is matched without hashing it again.
type FPMatch struct {
	Sent    wire.Fingerprint
	Changed uint32
}

// Matched returns the fingerprint the activation was last matched with, or
// nil.
func (e *Entry) Matched() *FPMatch { return e.matched.Load() }

// SetMatched keeps m as the last fingerprint matched (Matched).
func (e *Entry) SetMatched(m *FPMatch) { e.matched.Store(m) }

// OpenedLease returns the activation's lease as SetOpenedLease kept it
// (opened from its sealed form, in memory only), or nil.
func (e *Entry) OpenedLease() []byte {
	if p := e.lease.Load(); p != nil {
		return *p
	}
	return nil
}

// SetOpenedLease keeps the activation's opened lease with the entry.
func (e *Entry) SetOpenedLease(b []byte) { e.lease.Store(&b) }

// LastSeen returns the latest time the activation was seen, Unix seconds.
func (e *Entry) LastSeen() int64 { return e.lastSeen.Load() }

// Counter returns the highest counter the activation presented.
func (e *Entry) Counter() uint64 { return e.counter.Load() }

func (s *Store) flushLoop() {
	defer close(s.flushed)
	t := time.NewTicker(s.cfg.WriteBehind)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := s.Flush(); err != nil {
				s.cfg.Logger.Warn("store: write-behind flush failed; will retry", "err", err)
			}
		case <-s.stop:
			if err := s.Flush(); err != nil {
				s.cfg.Logger.Error("store: final write-behind flush failed", "err", err)
			}
			return
		}
	}
}

// Flush writes the queued last-seen times and counters now, with one fsync.
func (s *Store) Flush() error {
	s.dirtyMu.Lock()
	batch := s.dirty
	s.dirty = nil
	s.dirtyMu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	// In key order, as putLicenses does: the memtable inserts each next to
	// the previous one.
	slices.SortFunc(batch, func(x, y *Entry) int {
		return cmp.Compare(binary.BigEndian.Uint64(x.License.ID[:8]), binary.BigEndian.Uint64(y.License.ID[:8]))
	})
	b := s.db.NewBatch()
	defer b.Close()
	var v [16]byte
	for _, e := range batch {
		e.dirty.Store(false)
		binary.BigEndian.PutUint64(v[:8], uint64(e.lastSeen.Load()))
		binary.BigEndian.PutUint64(v[8:], e.counter.Load())
		if err := b.Set(activationKey(pfxSeen, e.License.ID, e.Activation.Install), v[:], nil); err != nil {
			return fmt.Errorf("store: batch: %w", err)
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		// Put them back so the next flush retries.
		s.dirtyMu.Lock()
		for _, e := range batch {
			if !e.dirty.Swap(true) {
				s.dirty = append(s.dirty, e)
			}
		}
		s.dirtyMu.Unlock()
		return fmt.Errorf("store: write-behind commit: %w", err)
	}
	// Written: a later load reads them from disk. An entry queued again
	// meanwhile stays pending.
	s.dirtyMu.Lock()
	for _, e := range batch {
		if k := cacheKey(e.License.ID, e.Activation.Install); s.pending[k] == e && !e.dirty.Load() {
			delete(s.pending, k)
		}
	}
	s.dirtyMu.Unlock()
	return nil
}

// quietLogger routes Pebble's informational chatter to debug level.
type quietLogger struct{ l *slog.Logger }

func (q quietLogger) Infof(format string, args ...interface{}) {
	q.l.Debug("pebble: " + fmt.Sprintf(format, args...))
}
func (q quietLogger) Errorf(format string, args ...interface{}) {
	q.l.Error("pebble: " + fmt.Sprintf(format, args...))
}
func (q quietLogger) Fatalf(format string, args ...interface{}) {
	q.l.Error("pebble: fatal: " + fmt.Sprintf(format, args...))
	os.Exit(1)
}

var _ io.Closer = (*Store)(nil)

// Stats is what the store holds and owes, for the operator.
type Stats struct {
	DiskBytes      uint64 // Pebble's files on disk
	MemtableBytes  uint64
	L0Sublevels    int32 // past 8 Pebble compacts; past 20 writes slow down
	L0Tables       int64
	CompactionDebt uint64 // bytes Pebble estimates it must still compact
	WriteBehind    int    // activations whose last-seen time is not yet written
}

// Stats returns the store's figures now.
func (s *Store) Stats() Stats {
	if s.closed.Load() {
		return Stats{}
	}
	m := s.db.Metrics()
	s.dirtyMu.Lock()
	wb := len(s.dirty)
	s.dirtyMu.Unlock()
	return Stats{DiskBytes: m.DiskSpaceUsage(), MemtableBytes: m.MemTable.Size, L0Sublevels: m.Levels[0].Sublevels,
		L0Tables: m.Levels[0].TablesCount, CompactionDebt: m.Compact.EstimatedDebt, WriteBehind: wb}
}
