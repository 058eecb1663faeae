package store

import (
	"fmt"
	"time"
)

func (s *Store) flushLoop() {
	defer close(s.flushed)
	t := time.NewTicker(s.opts.WriteBehind)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := s.Flush(); err != nil {
				s.opts.Logger.Warn("store: write-behind flush failed; will retry", "err", err)
			}
		case <-s.stop:
			if err := s.Flush(); err != nil {
				s.opts.Logger.Error("store: final write-behind flush failed", "err", err)
			}
			return
		}
	}
}

// Flush writes the queued last-seen times and counters now, in one durable
// commit of the backend (Backend.WriteSeen). When that fails they stay
// queued, and the next flush retries. Flushes run one at a time: when Flush
// returns nil, whatever was queued before it was called is written, also
// when the periodic flush had taken it.
func (s *Store) Flush() error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.dirtyMu.Lock()
	batch := s.dirty
	s.dirty = nil
	s.dirtyMu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	seen := make([]Seen, len(batch))
	for i, e := range batch {
		e.dirty.Store(false)
		seen[i] = Seen{License: e.License.ID, Install: e.Activation.Install, LastSeen: e.lastSeen.Load(), Counter: e.counter.Load()}
	}
	if err := s.b.WriteSeen(seen); err != nil {
		// Put them back so the next flush retries.
		s.dirtyMu.Lock()
		for _, e := range batch {
			if !e.dirty.Swap(true) {
				s.dirty = append(s.dirty, e)
			}
		}
		s.dirtyMu.Unlock()
		return fmt.Errorf("store: write-behind: %w", err)
	}
	// Written: a later load reads them from the backend. An entry queued
	// again meanwhile stays pending.
	s.dirtyMu.Lock()
	for _, e := range batch {
		if k := cacheKey(e.License.ID, e.Activation.Install); s.pending[k] == e && !e.dirty.Load() {
			delete(s.pending, k)
		}
	}
	s.dirtyMu.Unlock()
	return nil
}
