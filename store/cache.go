package store

import (
	"sync/atomic"

	"github.com/tollgate/tollgate/wire"
)

// Entry is a cached view of one activation and its license, for the hot
// validation path. License and Activation are a snapshot and must not be
// modified; LastSeen and Counter are updated in place (Advance) and written
// behind.
type Entry struct {
	License    License
	Activation Activation
	Expiry     int64 // License.Expiry(), computed once at load

	epoch uint64
	// stale: the entry is out of the shared cache (evicted, refused
	// admission, replaced by a newer load, or its Set dropped), so another
	// entry of the same activation may be advanced: a holder must look it
	// up again (Current).
	stale    atomic.Bool
	lastSeen atomic.Int64
	counter  atomic.Uint64
	dirty    atomic.Bool
	matched  atomic.Pointer[FPMatch]
	lease    atomic.Pointer[[]byte]
}

// Lookup returns the current state of the activation of install on the
// license id, from the cache when it is current and from the backend
// otherwise (always from the backend while a shared backend says the cache
// may have missed a change: Watcher). It returns ErrNotFound for an unknown license and
// ErrNotActivated when the license has no activation for install.
func (s *Store) Lookup(id LicenseID, install InstallID) (*Entry, error) {
	ep := s.epochOf(id)
	epoch := ep.Load()
	k := cacheKey(id, install)
	if e, ok := s.cache.Get(k); ok && e.epoch == epoch && e.License.ID == id && e.Activation.Install == install && !e.stale.Load() && !s.untrusted.Load() {
		return e, nil
	}
	return s.load(id, install, epoch, k)
}

// load reads the activation from the backend into a new entry, which
// supersedes any earlier entry of its cache key: that one is marked stale
// at once, before the new one is returned, so at most one entry of an
// activation is current (Current) at any time, whether or not ristretto
// has yet applied, refused or dropped the new entry's Set.
func (s *Store) load(id LicenseID, install InstallID, epoch uint64, k uint64) (*Entry, error) {
	lic, err := s.b.LicenseByID(id)
	if err != nil {
		return nil, err
	}
	a, err := s.b.Activation(id, install)
	if err != nil {
		return nil, err
	}
	s.latestSeen(&a)
	e := &Entry{License: lic, Activation: a, Expiry: lic.Expiry(), epoch: epoch}
	e.lastSeen.Store(a.LastSeen)
	e.counter.Store(a.Counter)
	s.liveMu.Lock()
	if prev := s.live[k]; prev != nil {
		prev.stale.Store(true)
	}
	s.live[k] = e
	s.liveMu.Unlock()
	if !s.cache.Set(k, e, 1) {
		// Dropped (ristretto's buffer was full): never in the cache, so
		// no callback will see it leave.
		s.exited(e)
	}
	return e, nil
}

// Current reports whether e, an entry a caller kept from an earlier Lookup
// of (id, install), may be used again in place of a new Lookup: no later
// load of the activation superseded it and it never left the shared cache
// (evicted, refused admission, replaced), so no other entry of the
// activation can be advanced meanwhile; no change to the license was
// committed or reported since it was loaded (its epoch); and the backend is
// trusted (Watcher). A nil e is not current.
func (s *Store) Current(e *Entry, id LicenseID, install InstallID) bool {
	return e != nil && !e.stale.Load() && e.License.ID == id && e.Activation.Install == install &&
		e.epoch == s.epochOf(id).Load() && !s.untrusted.Load()
}

// exited marks an entry that left the shared cache stale and forgets it
// as its key's latest: ristretto calls it (OnExit) when it evicts an entry,
// refuses to admit it, replaces it by a newer Set of the same key, or
// deletes it.
func (s *Store) exited(e *Entry) {
	if e == nil {
		return
	}
	e.stale.Store(true)
	k := cacheKey(e.License.ID, e.Activation.Install)
	s.liveMu.Lock()
	if s.live[k] == e {
		delete(s.live, k)
	}
	s.liveMu.Unlock()
}

// latestSeen raises a's last-seen time and counter to those of an entry
// whose values are queued and not yet written (pending); the backend has
// already raised them to the written-behind ones. Every read of an
// activation goes through it, so a counter never goes back, whether the
// activation is read for the cache (Lookup) or for an Update (whose lease
// then carries the highest counter: a client that lost its own resumes
// from it).
func (s *Store) latestSeen(a *Activation) {
	s.dirtyMu.Lock()
	if p := s.pending[cacheKey(a.License, a.Install)]; p != nil && p.License.ID == a.License && p.Activation.Install == a.Install {
		a.LastSeen = max(a.LastSeen, p.lastSeen.Load())
		a.Counter = max(a.Counter, p.counter.Load())
	}
	s.dirtyMu.Unlock()
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
