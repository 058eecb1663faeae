// Package store keeps what the gateway must not lose (licenses,
// activations, orders, shops, products, sightings and the audit log)
// through a Backend (store/pebblestore embeds Pebble), with a ristretto
// cache in front for the hot validation path. It defines the records, the
// errors and the Backend contract, and knows no backend itself.
//
// Contracts:
//   - A license is found by the keyed hash of its key, or by its random
//     license id; a license key is never stored in the clear.
//   - Every change made through Update is on disk before Update returns
//     (the backend's durable commit; Pebble shares fsyncs of concurrent
//     Updates through its group commit).
//   - Updates of one license are serialised (by the backend), so seat
//     accounting is exact.
//   - A change made through Update is seen by the very next Lookup: cache
//     entries carry the epoch of their license's stripe at load time, Update
//     bumps that epoch after the backend's commit, and Lookup ignores an
//     entry whose epoch is stale. Ristretto's asynchronous Set can therefore
//     never bring back an old state. A change made by another process
//     through a shared backend (Watcher) bumps the epoch when the backend
//     reports it; while the backend may have missed one, Lookup reads
//     through (watch.go).
//   - An entry a caller keeps (a session, between validations) is used
//     again only while Current: its epoch is still its stripe's, the
//     backend is trusted, and it is still the activation's one entry (not
//     evicted, refused, replaced or superseded by a newer load), so the
//     counters of an install cannot advance on two entries apart.
//   - Last-seen times and counters are written behind: at most
//     Options.WriteBehind (1 s by default) of them is lost in a crash.
//
// The store never imports the transport: it knows its backend, not QUIC.
package store

import (
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/ristretto/v2"
	"github.com/tollgate/tollgate/keygen"
)

// Options configures the Store in front of a backend.
type Options struct {
	// CacheEntries bounds the hot cache, in activations. Zero means 1<<20.
	CacheEntries int64
	// WriteBehind is how often last-seen times and counters are flushed.
	// Zero means one second; more than one second is refused.
	WriteBehind time.Duration
	// Now is the clock of Update (Tx.Now). Nil means time.Now.
	Now func() time.Time
	// Logger receives the store's warnings. Nil means slog.Default().
	Logger *slog.Logger
}

func (o *Options) setDefaults() error {
	if o.CacheEntries == 0 {
		o.CacheEntries = 1 << 20
	}
	if o.WriteBehind == 0 {
		o.WriteBehind = time.Second
	}
	if o.WriteBehind < 0 || o.WriteBehind > time.Second {
		return fmt.Errorf("%w: write-behind interval %v is not between 0 and 1s", ErrConfig, o.WriteBehind)
	}
	if o.CacheEntries < 0 {
		return fmt.Errorf("%w: negative cache size", ErrConfig)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return nil
}

const stripes = 1 << 12 // epoch stripes: 32 KB, which stays in the CPU's cache

// Store is the gateway's durable state: a Backend with the hot cache and the
// write-behind of last-seen times and counters in front. All methods are
// safe for concurrent use.
type Store struct {
	opts  Options
	b     Backend
	cache *ristretto.Cache[uint64, *Entry]

	epochs [stripes]atomic.Uint64
	// untrusted: a shared backend may have missed a change (Watcher), so
	// Lookup reads through to it.
	untrusted atomic.Bool
	// catalogue counts the catalogue's changes seen by this process: its
	// own AddProduct and UpdateProduct, and other processes' (Watcher).
	catalogue atomic.Uint64
	subscribers

	flushMu sync.Mutex // one Flush at a time
	dirtyMu sync.Mutex
	dirty   []*Entry
	// pending holds, by cache key, the entry whose counter and last-seen
	// time are queued and not yet written, so that an entry loaded again
	// meanwhile (after an Update, or an eviction) starts from them rather
	// than from the backend's older values: a counter never goes back.
	pending map[uint64]*Entry

	liveMu sync.Mutex
	// live holds, by cache key, the latest entry loaded that has not left
	// the cache: a new load marks it stale (load), so a session holding it
	// (Current) cannot advance it beside the new one.
	live map[uint64]*Entry

	stop     chan struct{}
	flushed  chan struct{}
	closed   atomic.Bool
	closeErr error
	once     sync.Once
}

// New returns the Store in front of b, which it owns from then on: Close
// closes b. On an error b is left open.
func New(b Backend, o Options) (*Store, error) {
	if err := o.setDefaults(); err != nil {
		return nil, err
	}
	var s *Store // set before the cache can call OnExit
	cache, err := ristretto.NewCache(&ristretto.Config[uint64, *Entry]{
		NumCounters: o.CacheEntries * 10,
		MaxCost:     o.CacheEntries,
		BufferItems: 64,
		// Keys are already well mixed (random license ids and hashes).
		KeyToHash:          func(k uint64) (uint64, uint64) { return k, 0 },
		IgnoreInternalCost: true,
		// Every way out of the cache (eviction, refused admission, an
		// update of the key, a delete) marks the entry stale, so that a
		// session holding it looks the activation up again (Current).
		OnExit: func(e *Entry) { s.exited(e) },
	})
	if err != nil {
		return nil, fmt.Errorf("store: cache: %w", err)
	}
	s = &Store{opts: o, b: b, cache: cache, stop: make(chan struct{}), flushed: make(chan struct{}), pending: make(map[uint64]*Entry), live: make(map[uint64]*Entry)}
	s.watch()
	go s.flushLoop()
	return s, nil
}

// Close flushes written-behind state, and closes the cache and the
// backend. It is safe to call more than once.
func (s *Store) Close() error {
	s.once.Do(func() {
		s.closed.Store(true)
		close(s.stop)
		<-s.flushed
		s.cache.Close()
		s.closeErr = s.b.Close()
	})
	return s.closeErr
}

// epochOf returns the epoch stripe of a license.
func (s *Store) epochOf(id LicenseID) *atomic.Uint64 {
	return &s.epochs[binary.BigEndian.Uint16(id[:2])%stripes]
}

func cacheKey(id LicenseID, install InstallID) uint64 {
	return binary.LittleEndian.Uint64(id[:8]) ^ binary.LittleEndian.Uint64(install[:8])*0x9e3779b97f4a7c15
}

// Update runs fn on the license with this id under the license's lock and
// commits what it changed durably before returning. It returns fn's error
// unchanged (and writes nothing) when fn fails, and ErrNotFound when there is
// no such license. The activations fn sees carry the latest last-seen times
// and counters, queued ones included.
func (s *Store) Update(id LicenseID, fn func(tx *Tx) error) error {
	return s.update(id, nil, fn)
}

// UpdateLicense is Update of l, a license read before (LicenseByKeyHash):
// under the lock the backend may read l's record again by its key hash,
// which spares the read of the id index.
func (s *Store) UpdateLicense(l *License, fn func(tx *Tx) error) error {
	return s.update(l.ID, &l.KeyHash, fn)
}

func (s *Store) update(id LicenseID, hash *keygen.KeyHash, fn func(tx *Tx) error) error {
	if s.closed.Load() {
		return ErrClosed
	}
	err := s.b.Update(id, hash, func(tx *Tx) error {
		for i := range tx.Activations {
			s.latestSeen(&tx.Activations[i])
		}
		tx.Now = s.opts.Now()
		return fn(tx)
	})
	if err != nil {
		return err
	}
	// After the commit: a Lookup that loaded the old state before this point
	// holds the old epoch and will reload.
	s.epochOf(id).Add(1)
	return nil
}

// Activations returns the license's activations, ordered by install id,
// with the latest last-seen times and counters, queued ones included.
func (s *Store) Activations(id LicenseID) ([]Activation, error) {
	acts, err := s.b.Activations(id)
	for i := range acts {
		s.latestSeen(&acts[i])
	}
	return acts, err
}

// Stats returns the store's figures now.
func (s *Store) Stats() Stats {
	if s.closed.Load() {
		return Stats{}
	}
	st := s.b.Stats()
	s.dirtyMu.Lock()
	st.PendingWrites = len(s.dirty)
	s.dirtyMu.Unlock()
	return st
}

var _ io.Closer = (*Store)(nil)
