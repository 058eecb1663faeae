package store

import "sync"

// Watcher is implemented by a backend that other processes change too (a
// database shared by several gateways). The Store in front of such a
// backend cannot see those changes as they happen, so the backend tells it:
// Watch is called once, by New, before the Store serves anything, with the
// function the backend calls for every change committed by any process
// (this one included), in commit order as far as the backend knows it.
//
// The Store answers the hot path from its cache only while the backend says
// it can trust it: from a Change of kind ChangeUntrusted until the next
// ChangeResync, every Lookup reads through to the backend. A backend sends
// ChangeUntrusted as soon as it may have missed a change (its notification
// connection broke), and ChangeResync once it is listening again (after
// which everything cached before is treated as stale).
type Watcher interface {
	Watch(fn func(Change))
}

// ChangeKind says what a Change is about.
type ChangeKind uint8

const (
	// ChangeLicense: the license Change.License, or one of its
	// activations, changed (an Update committed).
	ChangeLicense ChangeKind = iota + 1
	// ChangeShops: a shop was added, changed or deleted.
	ChangeShops
	// ChangeProducts: a catalogue entry was added or changed.
	ChangeProducts
	// ChangeUntrusted: changes may have been missed; do not answer from
	// the cache until ChangeResync.
	ChangeUntrusted
	// ChangeResync: the backend is listening again; everything cached
	// before may be stale.
	ChangeResync
)

// Change is one change a Watcher reports.
type Change struct {
	Kind    ChangeKind
	License LicenseID // for ChangeLicense
}

// watch registers the Store with a backend that is a Watcher.
func (s *Store) watch() {
	w, ok := s.b.(Watcher)
	if !ok {
		return
	}
	w.Watch(s.changed)
}

// changed applies a change reported by the backend to the cache, then
// passes it on to OnChange's subscribers.
func (s *Store) changed(c Change) {
	switch c.Kind {
	case ChangeLicense:
		s.epochOf(c.License).Add(1)
	case ChangeProducts:
		s.catalogue.Add(1)
	case ChangeUntrusted:
		s.untrusted.Store(true)
	case ChangeResync:
		for i := range s.epochs {
			s.epochs[i].Add(1)
		}
		s.catalogue.Add(1)
		s.untrusted.Store(false)
	}
	s.subMu.Lock()
	subs := s.subs
	s.subMu.Unlock()
	for _, fn := range subs {
		fn(c)
	}
}

// OnChange calls fn for every change the backend reports as made by any
// process (Watcher), after the cache has taken it into account: the
// gateway reloads its shops on ChangeShops (and ChangeResync). A backend
// that is not a Watcher reports nothing. fn must not block.
func (s *Store) OnChange(fn func(Change)) {
	s.subMu.Lock()
	s.subs = append(s.subs[:len(s.subs):len(s.subs)], fn)
	s.subMu.Unlock()
}

// Shared reports whether the backend is shared with other processes (it is
// a Watcher), so that what this process keeps in memory must follow
// OnChange.
func (s *Store) Shared() bool {
	_, ok := s.b.(Watcher)
	return ok
}

// subscribers of OnChange; kept apart from Store's hot fields.
type subscribers struct {
	subMu sync.Mutex
	subs  []func(Change)
}
