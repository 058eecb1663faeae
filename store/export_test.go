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

// Evict drops the activation's entry from the cache, as ristretto does
// when it evicts it, and waits until the cache has applied it.
func Evict(s *Store, id LicenseID, install InstallID) {
	s.cache.Del(cacheKey(id, install))
	s.cache.Wait()
}

// Untrust reports to s that its backend may have missed a change
// (ChangeUntrusted, as a Watcher does), or that it resynchronised
// (ChangeResync) when trusted is true.
func Untrust(s *Store, trusted bool) {
	if trusted {
		s.changed(Change{Kind: ChangeResync})
	} else {
		s.changed(Change{Kind: ChangeUntrusted})
	}
}
