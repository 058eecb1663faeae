package store

import "testing"

func TestSightingsAddCount(t *testing.T) {
	t.Parallel()
	var s Sightings
	s.Add(SightMachine, 1, 100, 0)
	s.Add(SightMachine, 2, 200, 0)
	s.Add(SightNetwork, 1, 200, 0) // same hash, other kind: another sighting
	s.Add(SightMachine, 1, 300, 0) // seen again: still one
	if got := s.Count(SightMachine, 0); got != 2 {
		t.Fatalf("machines = %d, want 2", got)
	}
	if got := s.Count(SightMachine, 250); got != 1 {
		t.Fatalf("machines since 250 = %d, want 1 (machine 1, seen again at 300)", got)
	}
	if got := s.Count(SightNetwork, 0); got != 1 {
		t.Fatalf("networks = %d, want 1", got)
	}
	// A sighting before since is forgotten by the next Add.
	s.Add(SightMachine, 3, 400, 250)
	if len(s.List) != 2 || s.Count(SightMachine, 0) != 2 {
		t.Fatalf("after forgetting what was seen before 250: %+v", s.List)
	}
	// A clock set back after a sighting far ahead: that one is forgotten.
	s.Add(SightMachine, 5, 100000, 0)
	s.Add(SightMachine, 6, 500, 0)
	if s.Count(SightMachine, 0) != 3 {
		t.Fatalf("after a sighting a day and more ahead of the clock: %+v", s.List)
	}
	// The bound keeps the most recently seen.
	var b Sightings
	for i := range MaxSightings + 10 {
		b.Add(SightMachine, uint64(i), int64(1000+i), 0)
	}
	if len(b.List) != MaxSightings {
		t.Fatalf("%d sightings kept, bound %d", len(b.List), MaxSightings)
	}
	for _, x := range b.List {
		if x.Hash < 10 {
			t.Fatalf("kept sighting %d, one of the ten seen first", x.Hash)
		}
	}
}
