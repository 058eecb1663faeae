// Package pebblestore is the embedded backend of package store: one Pebble
// directory that one gateway holds.
//
// Contracts (beyond store.Backend's):
//   - Every write is on disk (Pebble Sync) before it returns. Concurrent
//     Updates share fsyncs through Pebble's group commit.
//   - Updates of one license are serialised by a lock stripe of its id, so
//     seat accounting is exact.
//   - Pebble's lock file makes a second Open of the same directory fail
//     with store.ErrLocked, so there is never more than one writer.
//   - The key layout (keys.go) and the records (records.go, recbin.go) are
//     the on-disk format: a directory written by an earlier gateway opens
//     and reads.
package pebblestore

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/tollgate/tollgate/store"
)

// Config configures a Backend.
type Config struct {
	// Dir is the Pebble directory. Required; created if missing.
	Dir string
	// Now is the clock (new records, audit entries, the quota's day). Nil
	// means time.Now.
	Now func() time.Time
	// Logger receives Pebble's messages. Nil means slog.Default().
	Logger *slog.Logger
}

const lockStripes = 1 << 10 // per-license update locks

// Backend is the store's state in Pebble. All methods are safe for
// concurrent use.
type Backend struct {
	cfg    Config
	db     *pebble.DB
	closed atomic.Bool
	once   sync.Once
	err    error

	locks     [lockStripes]sync.Mutex // per-license update locks (tx.go)
	shopLocks sync.Map                // shop name -> *sync.Mutex, a shop's mint lock (order.go)
	// catalogueMu serialises the writes of shops and products, so that
	// "no shop of this name or key" and "no product of this code" still
	// hold when the record is written (shop.go, product.go).
	catalogueMu sync.Mutex
	// trialMu serialises StartTrial (trial.go): trials are rare, and one
	// lock makes "no earlier trial of this machine" hold when one is written.
	trialMu sync.Mutex

	// shopEvents holds, by shop name, the *eventHead of its event stream
	// (event.go).
	shopEvents sync.Map

	// The audit chain's head, read once (audit.go).
	auditMu   sync.Mutex
	auditInit bool
	auditSeq  uint64
	auditHead [32]byte
}

var _ store.Backend = (*Backend)(nil)

// Open opens (creating if needed) the store in cfg.Dir. Pebble's lock file
// makes a second Open of the same directory fail (store.ErrLocked), so
// there is never more than one writer.
func Open(cfg Config) (*Backend, error) {
	if cfg.Dir == "" {
		return nil, fmt.Errorf("%w: no directory", store.ErrConfig)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: create %s: %w", cfg.Dir, err)
	}
	db, err := pebble.Open(cfg.Dir, pebbleOptions(cfg))
	if err != nil {
		if errors.Is(err, os.ErrExist) || isLocked(err) {
			return nil, fmt.Errorf("%w: %s (%v)", store.ErrLocked, cfg.Dir, err)
		}
		return nil, fmt.Errorf("store: open %s: %w", cfg.Dir, err)
	}
	return &Backend{cfg: cfg, db: db}, nil
}

// isLocked reports whether Pebble's open failed on its lock file: the lock
// is held by another process (flock says EAGAIN or EWOULDBLOCK) or, within
// this process, by another open Backend (Pebble says so in its message).
func isLocked(err error) bool {
	if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EWOULDBLOCK) {
		return true
	}
	return err != nil && strings.Contains(err.Error(), "lock")
}

// Close closes Pebble. It is safe to call more than once.
func (b *Backend) Close() error {
	b.once.Do(func() {
		b.closed.Store(true)
		b.err = b.db.Close()
	})
	return b.err
}

// get reads one value; it returns nil, nil when the key is absent.
func (b *Backend) get(key []byte) ([]byte, error) {
	if b.closed.Load() {
		return nil, store.ErrClosed
	}
	v, closer, err := b.db.Get(key)
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

// scan calls fn on every key with prefix pfx, in order.
func (b *Backend) scan(pfx []byte, fn func(k, v []byte) error) error {
	if b.closed.Load() {
		return store.ErrClosed
	}
	hi := append([]byte(nil), pfx...)
	hi[len(hi)-1]++
	it, err := b.db.NewIter(&pebble.IterOptions{LowerBound: pfx, UpperBound: hi})
	if err != nil {
		return fmt.Errorf("store: iterate: %w", err)
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		if err := fn(it.Key(), it.Value()); err != nil {
			return err
		}
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("store: iterate: %w", err)
	}
	return nil
}

// commit writes what fill puts in a batch, durably (one fsync).
func (b *Backend) commit(fill func(*pebble.Batch) error) error {
	if b.closed.Load() {
		return store.ErrClosed
	}
	batch := b.db.NewBatch()
	defer batch.Close()
	if err := fill(batch); err != nil {
		return err
	}
	if err := batch.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}
