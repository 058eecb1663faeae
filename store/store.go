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
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/dgraph-io/ristretto/v2"
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
