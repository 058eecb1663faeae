package store

// Pending returns how many entries have counters queued and not yet
// written (the pending map), for the tests of package store_test.
func Pending(s *Store) int {
	s.dirtyMu.Lock()
	defer s.dirtyMu.Unlock()
	return len(s.pending)
}

// WaitCache waits for the cache's buffered Sets.
func WaitCache(s *Store) { s.cache.Wait() }
