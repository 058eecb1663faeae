package store

import "testing"

// TestCounterSurvivesReload: before its counter is written behind, an
// Update and an entry loaded again (the Update bumped the epoch) read the
// counter in memory, not the older one on disk, so a replayed counter is
// still refused.
func TestCounterSurvivesReload(t *testing.T) {
	s := openTest(t, t.TempDir())
	l := newLicense(t, 1)
	if err := s.CreateLicenses([]License{l}); err != nil {
		t.Fatal(err)
	}
	if err := activate(s, l.ID, install(1), 1); err != nil {
		t.Fatal(err)
	}
	e, err := s.Lookup(l.ID, install(1))
	if err != nil {
		t.Fatal(err)
	}
	for c := uint64(1); c <= 7; c++ {
		if !s.Advance(e, 100, c) {
			t.Fatalf("counter %d refused", c)
		}
	}
	// An Update sees it too: an activation's lease carries the highest
	// counter, from which a client that lost its own resumes.
	if err := s.Update(l.ID, func(tx *Tx) error {
		if a, _ := tx.Activation(install(1)); a.Counter != 7 {
			t.Errorf("the update reads counter %d, want 7", a.Counter)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	again, err := s.Lookup(l.ID, install(1))
	if err != nil {
		t.Fatal(err)
	}
	if again == e {
		t.Fatal("the entry was not loaded again after the update")
	}
	if again.Counter() != 7 || s.Advance(again, 101, 5) || !s.Advance(again, 101, 8) {
		t.Fatalf("after reload: counter %d, want 7 with 5 refused and 8 taken", again.Counter())
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if len(s.pending) != 0 {
		t.Fatalf("%d entries pending after a flush", len(s.pending))
	}
}
