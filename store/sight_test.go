package store

import (
	"errors"
	"reflect"
	"testing"
)

func TestSightingsAddCount(t *testing.T) {
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

func TestSightingsRecord(t *testing.T) {
	s := Sightings{FlaggedAt: 1700000000, Reason: "activated on 4 machines in 30 days, for 1 seat(s)",
		List: []Sighting{{SightMachine, 1<<63 + 5, 1700000000}, {SightNetwork, 7, -1}}}
	rec, err := appendSightings(nil, &s)
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseSightings(rec)
	if err != nil || !reflect.DeepEqual(got, s) {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	for name, b := range map[string][]byte{
		"empty":         nil,
		"short":         rec[:len(rec)-1],
		"trailing":      append(append([]byte(nil), rec...), 0),
		"version":       append([]byte{recordVersionV2 + 1}, rec[1:]...),
		"too many":      {recordVersionV2, 0, 0, 0xff, 0xff, 0x03},
		"unknown kind":  {recordVersionV2, 0, 0, 1, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		"missing items": {recordVersionV2, 0, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		"empty record":  {recordVersionV2, 0, 0, 0},
		"flag, no why":  {recordVersionV2, 2, 0, 0},
		"why, no flag":  {recordVersionV2, 0, 1, 'x', 0},
		"repeated":      {recordVersionV2, 0, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 5, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5, 0},
		"out of order":  {recordVersionV2, 0, 0, 2, 2, 0, 0, 0, 0, 0, 0, 0, 5, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5, 0},
	} {
		if _, err := parseSightings(b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
	for name, bad := range map[string]Sightings{
		"unknown kind": {List: []Sighting{{Kind: 9}}},
		"twice":        {List: []Sighting{{SightMachine, 1, 1}, {SightMachine, 1, 2}}},
		"empty":        {},
		"no reason":    {FlaggedAt: 1},
	} {
		if _, err := appendSightings(nil, &bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: encoded: %v", name, err)
		}
	}
	// Written in the order of kind and hash, whatever the order in memory.
	unsorted := Sightings{List: []Sighting{{SightNetwork, 1, 5}, {SightMachine, 9, 5}, {SightMachine, 2, 5}}}
	rec, err = appendSightings(nil, &unsorted)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := parseSightings(rec); err != nil || got.List[0].Hash != 2 || got.List[2].Kind != SightNetwork {
		t.Fatalf("unsorted sightings: %+v, %v", got, err)
	}
}

// TestSightingsInTx: sightings changed in an update land with it; cleared
// ones are deleted; FlaggedLicenses lists only the flagged, oldest first.
func TestSightingsInTx(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	ls := []License{newLicense(t, 1), newLicense(t, 1), newLicense(t, 1)}
	if err := s.CreateLicenses(ls); err != nil {
		t.Fatal(err)
	}
	sight := func(l License, flagAt int64) {
		t.Helper()
		err := s.Update(l.ID, func(tx *Tx) error {
			sg, err := tx.Sightings()
			if err != nil {
				return err
			}
			sg.Add(SightMachine, 42, 100, 0)
			sg.FlaggedAt = flagAt
			if flagAt != 0 {
				sg.Reason = "too many"
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	sight(ls[0], 500)
	sight(ls[1], 0)
	sight(ls[2], 300)
	fl, err := s.FlaggedLicenses(0)
	if err != nil {
		t.Fatal(err)
	}
	if len(fl) != 2 || fl[0].License.ID != ls[2].ID || fl[1].License.ID != ls[0].ID || fl[0].Sightings.Count(SightMachine, 0) != 1 {
		t.Fatalf("FlaggedLicenses = %+v", fl)
	}
	if fl, _ := s.FlaggedLicenses(1); len(fl) != 1 {
		t.Fatalf("FlaggedLicenses(1) gave %d", len(fl))
	}
	// An update that does not read them leaves them alone.
	if err := s.Update(ls[0].ID, func(tx *Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if sg, err := s.Sightings(ls[0].ID); err != nil || sg.FlaggedAt != 500 {
		t.Fatalf("after an update without them: %+v, %v", sg, err)
	}
	// Cleared, they are deleted.
	err = s.Update(ls[0].ID, func(tx *Tx) error {
		sg, err := tx.Sightings()
		*sg = Sightings{}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s.get(sightingsKey(ls[0].ID)); err != nil || v != nil {
		t.Fatalf("cleared sightings still stored: %x, %v", v, err)
	}
	// A failed update writes none of its sightings.
	errNo := errors.New("no")
	err = s.Update(ls[1].ID, func(tx *Tx) error {
		sg, _ := tx.Sightings()
		sg.FlaggedAt = 1
		return errNo
	})
	if !errors.Is(err, errNo) {
		t.Fatal(err)
	}
	if sg, _ := s.Sightings(ls[1].ID); sg.FlaggedAt != 0 {
		t.Fatal("a failed update flagged the license")
	}
}
