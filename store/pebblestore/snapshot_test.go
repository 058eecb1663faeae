package pebblestore

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/store/storetest"
)

// TestSnapshot: a snapshot taken while the store is open holds every
// write that returned before it, the last-seen time and counter still
// queued behind included, opens as a store of its own, and is never
// written over an existing directory.
func TestSnapshot(t *testing.T) {
	b := openBackend(t, t.TempDir())
	s, err := store.New(b, store.Options{}) // written behind once a second
	if err != nil {
		b.Close()
		t.Fatal(err)
	}
	defer s.Close()
	l := activatedAhead(t, s, 12345, 7) // queued, not yet written
	dir := filepath.Join(t.TempDir(), "snap")
	if err := s.Snapshot(dir); err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	if err := s.Snapshot(dir); err == nil {
		t.Fatal("a snapshot over an existing directory succeeded")
	}
	if err := activate(s, l.ID, storetest.Install(2), 2); err != nil {
		t.Fatal(err)
	}

	c := openBackend(t, dir)
	defer c.Close()
	a, err := c.Activation(l.ID, storetest.Install(1))
	if err != nil || a.LastSeen != 12345 || a.Counter != 7 {
		t.Fatalf("the snapshot's activation: last seen %d, counter %d, %v; want 12345 and 7", a.LastSeen, a.Counter, err)
	}
	if _, err := c.Activation(l.ID, storetest.Install(2)); !errors.Is(err, store.ErrNotActivated) {
		t.Fatalf("an activation after the snapshot is in it: %v", err)
	}
}

// noSnapshots is a backend that takes no snapshots.
type noSnapshots struct{ store.Backend }

// TestSnapshotUnsupported: a backend that is no Snapshotter makes
// Snapshot say to use the database's own tools.
func TestSnapshotUnsupported(t *testing.T) {
	s, err := store.New(noSnapshots{openBackend(t, t.TempDir())}, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Snapshot(filepath.Join(t.TempDir(), "snap")); !errors.Is(err, store.ErrNoSnapshot) {
		t.Fatalf("Snapshot of a backend without snapshots: %v, want store.ErrNoSnapshot", err)
	}
}
