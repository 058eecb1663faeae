package store

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

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
